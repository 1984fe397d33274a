/**
 * The snapshot a batch run reads: the offsets of every source partition at the start of the run, the
 * retention of the source topics (the master dataset), and the newest event time per partition for
 * the default boundary.
 */
import type { ConsumedRecord, KafkaAdmin, KafkaClient } from '../kafka/client.ts';
import type { SourceNodeDef } from '../topology/nodes.ts';
import type { Topology } from '../topology/topology.ts';
import type { SourceRange } from './batch-executor.ts';
import type { SourceSnapshot } from './view-manifest.ts';

export interface Snapshot {
  takenAtMs: number;
  sources: SourceSnapshot[];
  /** Every partition to read, [earliest, end at the snapshot). */
  ranges: SourceRange[];
}

/** Captures the end offsets (read_committed) and retention of the given topics. */
export async function takeSnapshot(admin: KafkaAdmin, topics: string[], nowMs: number): Promise<Snapshot> {
  const configs = await admin.topicConfigs(topics);
  const sources: SourceSnapshot[] = [];
  const ranges: SourceRange[] = [];
  for (const topic of topics) {
    const offsets = await admin.endOffsets(topic);
    const retention = configs.get(topic)?.['retention.ms'];
    sources.push({
      topic,
      partitions: offsets.map((o) => ({ partition: o.partition, from: o.low, to: o.high })),
      retentionMs: retention === undefined ? null : Number(retention),
    });
    for (const o of offsets)
      ranges.push({ topic, partition: o.partition, fromOffset: o.low, toOffset: o.high });
  }
  return { takenAtMs: nowMs, sources, ranges };
}

/** One line per source topic whose records may expire: the views can then no longer be recomputed. */
export function retentionWarnings(snapshot: Snapshot): string[] {
  return snapshot.sources
    .filter((s) => s.retentionMs !== null && s.retentionMs >= 0)
    .map(
      (s) =>
        `source topic '${s.topic}' has retention.ms=${s.retentionMs} (${formatDuration(s.retentionMs!)}): ` +
        `the source topics are the master dataset the batch layer recomputes from, and records deleted by ` +
        `retention are missing from every later view; set retention.ms=-1 (or tiered storage) on it`,
    );
}

function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  return `${ms} ms`;
}

/**
 * The newest event time of every non-empty partition: the last records of each partition are read
 * and their timestamps taken as the topology's extractor gives them (record time without one).
 * Partitions whose tail holds only transaction markers are searched further back.
 */
export async function newestEventTimes(
  client: KafkaClient,
  topology: Topology,
  ranges: SourceRange[],
): Promise<number[]> {
  const newest = new Map<string, number>();
  let pending = ranges.filter((r) => r.toOffset > r.fromOffset);
  for (let tail = 8; pending.length > 0; tail *= 16) {
    const tails = pending.map((r) => ({ ...r, fromOffset: Math.max(r.fromOffset, r.toOffset - tail) }));
    await client.fetchRanges(tails, {
      isolationLevel: 'read_committed',
      onBatch: (records) => {
        for (const record of records) {
          const ts = eventTime(topology, record);
          const key = `${record.topic}:${record.partition}`;
          if (ts !== undefined && ts > (newest.get(key) ?? -Infinity)) newest.set(key, ts);
        }
      },
    });
    // Whole partition searched, or a timestamp found: done with it.
    pending = pending.filter(
      (r, i) => !newest.has(`${r.topic}:${r.partition}`) && tails[i]!.fromOffset > r.fromOffset,
    );
  }
  return [...newest.values()];
}

/** A record's event time by its source's extractor; undefined when the record cannot be read. */
function eventTime(topology: Topology, record: ConsumedRecord): number | undefined {
  const source = sourceOf(topology, record.topic);
  const extractor = source?.timestampExtractor;
  if (!source || !extractor) return record.timestamp;
  try {
    const keySerde = source.keySerde ?? topology.defaultKeySerde;
    const valueSerde = source.valueSerde ?? topology.defaultValueSerde;
    const ts = extractor(
      {
        key: record.key === null ? null : keySerde.deserialize(record.key, record.topic),
        value: record.value === null ? null : valueSerde.deserialize(record.value, record.topic),
        timestamp: record.timestamp,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
      },
      -1,
    );
    return Number.isFinite(ts) && ts >= 0 ? ts : undefined;
  } catch {
    return undefined; // the run itself reports unreadable records
  }
}

function sourceOf(topology: Topology, topic: string): SourceNodeDef | undefined {
  return topology.sources().find((s) => s.topics.includes(topic) || s.pattern?.test(topic));
}
