import type { WindowBytesStore } from './types.ts';

/** An entry of a bytes-level window scan. */
export interface WindowBytesEntry {
  key: Buffer;
  windowStart: number;
  value: Buffer;
}

/**
 * What the layers of a window store stack tell each other beyond the public WindowBytesStore:
 * the segment interval (the cache orders its keys like the segmented store), the stream time
 * (expiry), and the sequence number a put was stored under (the changelog key carries it).
 */
export interface WindowStoreLayer extends WindowBytesStore {
  readonly segmentInterval: number;
  /** Largest window start put or restored so far; -Infinity before the first. */
  observedStreamTime(): number;
  /** put, returning the sequence number used (0 without duplicates), or -1 when nothing was stored. */
  putAndReturnSeq(key: Buffer, value: Buffer | null, windowStart: number): number;
}

/**
 * Window starts that can still hold live data, given the stream time: a window is expired once
 * its start is at or before `observedStreamTime - retentionPeriod` (Kafka Streams' rule), and no
 * stored window starts after the stream time. Undefined when the range is empty.
 */
export function liveTimeRange(
  observedStreamTime: number,
  retentionPeriod: number,
  timeFrom: number,
  timeTo: number,
): [number, number] | undefined {
  if (observedStreamTime === -Infinity) return undefined;
  const from = Math.max(timeFrom, observedStreamTime - retentionPeriod + 1);
  const to = Math.min(timeTo, observedStreamTime);
  return from <= to ? [from, to] : undefined;
}

export function isExpired(windowStart: number, observedStreamTime: number, retentionPeriod: number): boolean {
  return windowStart <= observedStreamTime - retentionPeriod;
}

/** Segment ids from..to, ascending or descending. */
export function* segmentIds(from: number, to: number, backward: boolean): Generator<number> {
  if (backward) for (let id = to; id >= from; id--) yield id;
  else for (let id = from; id <= to; id++) yield id;
}
