/**
 * Tiny executable models of a few scenarios, written from Kafka Streams' documented semantics. They
 * check the reference harness itself (harness.test.ts): if Kafka Streams and the model agree on
 * generated input, the harness pipes, reads and renders records correctly and the generator really
 * exercises late records.
 */
import type { InputRecord } from './generate.ts';
import type { OutputRecord } from './harness.ts';

/** groupByKey().count(): null key or null value → dropped; timestamp = max of the key's records. */
export function countModel(input: readonly InputRecord[], topic: string): OutputRecord[] {
  const state = new Map<string, { count: number; ts: number }>();
  const out: OutputRecord[] = [];
  input.forEach((r, i) => {
    if (r.key === null || r.value === null) return;
    const old = state.get(r.key);
    const next = { count: (old?.count ?? 0) + 1, ts: Math.max(old?.ts ?? r.timestamp, r.timestamp) };
    state.set(r.key, next);
    out.push({ topic, key: r.key, value: next.count, timestamp: next.ts, input: i });
  });
  return out;
}

export interface WindowModelStats {
  /** (record, window) pairs dropped because the window had closed (end + grace <= stream time). */
  lateDrops: number;
  /** Records whose every window had closed. */
  lateRecords: number;
}

/**
 * Windowed aggregation (KStreamWindowAggregate): null keys dropped (null values are aggregated);
 * stream time = max timestamp seen; a window accepts a record while end > streamTime - grace;
 * one update per window, by window start; timestamp = max of the window's records.
 */
export function windowedModel<A>(
  input: readonly InputRecord[],
  topic: string,
  opts: { sizeMs: number; advanceMs: number; graceMs: number },
  init: A,
  agg: (value: string | null, acc: A) => A,
  render: (acc: A) => string | number,
  stats: WindowModelStats = { lateDrops: 0, lateRecords: 0 },
): OutputRecord[] {
  const state = new Map<string, { acc: A; ts: number }>();
  const out: OutputRecord[] = [];
  let streamTime = -Infinity;
  input.forEach((r, i) => {
    if (r.key === null) return;
    streamTime = Math.max(streamTime, r.timestamp);
    const closeTime = streamTime - opts.graceMs;
    let start =
      Math.floor(Math.max(0, r.timestamp - opts.sizeMs + opts.advanceMs) / opts.advanceMs) * opts.advanceMs;
    let accepted = 0;
    for (; start <= r.timestamp; start += opts.advanceMs) {
      if (start + opts.sizeMs <= closeTime) {
        stats.lateDrops++;
        continue;
      }
      accepted++;
      const id = `${r.key}@${start}`;
      const old = state.get(id);
      const next = { acc: agg(r.value, old?.acc ?? init), ts: Math.max(old?.ts ?? r.timestamp, r.timestamp) };
      state.set(id, next);
      out.push({ topic, key: id, value: render(next.acc), timestamp: next.ts, input: i });
    }
    if (accepted === 0) stats.lateRecords++;
  });
  return out;
}
