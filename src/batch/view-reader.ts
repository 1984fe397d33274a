/**
 * Reads a published view back: the records of one store partition, verified against the checksum
 * and count in its manifest. The serving layer loads views through this; tests compare them.
 */
import type { FetchRange, KafkaAdmin, KafkaClient } from '../kafka/client.ts';
import { fromSessionChangelogKey } from '../state/session-key-schema.ts';
import { decodeVersionedViewRecord, type StoreRecord } from '../state/store-export.ts';
import { timestampedSerde, type ValueAndTimestamp } from '../state/timestamped-serde.ts';
import { fromChangelogKey as fromWindowChangelogKey } from '../state/window-key-schema.ts';
import type { Topology } from '../topology/topology.ts';
import { StoreChecksum, type ViewManifest } from './view-manifest.ts';

export class ViewIntegrityError extends Error {
  override name = 'ViewIntegrityError';
}

/** Every record of one partition of a view's store, in the order they were published. */
export async function readViewPartition(
  client: KafkaClient,
  admin: KafkaAdmin,
  manifest: ViewManifest,
  store: string,
  partition: number,
): Promise<StoreRecord[]> {
  const read = await readViewPartitions(client, admin, manifest, [{ store, partition }]);
  return read.get(`${store}:${partition}`)!;
}

/**
 * The records of several store partitions of a view, read in one pass (one consumer), each verified
 * against the record count and checksum of its manifest. Keyed "store:partition".
 */
export async function readViewPartitions(
  client: KafkaClient,
  admin: KafkaAdmin,
  manifest: ViewManifest,
  wanted: Array<{ store: string; partition: number }>,
): Promise<Map<string, StoreRecord[]>> {
  const ranges: FetchRange[] = [];
  const parts = new Map<
    string,
    { store: string; partition: number; records: StoreRecord[]; checksum: StoreChecksum }
  >();
  const ends = new Map<string, Awaited<ReturnType<KafkaAdmin['endOffsets']>>>();
  for (const { store, partition } of wanted) {
    const entry = manifest.stores[store];
    if (!entry) {
      throw new ViewIntegrityError(
        `view ${manifest.viewId} has no store '${store}' (it has ${Object.keys(manifest.stores).join(', ') || 'none'})`,
      );
    }
    if (!entry.partitions.some((p) => p.partition === partition))
      throw new ViewIntegrityError(`view ${manifest.viewId}: store '${store}' has no partition ${partition}`);
    if (!ends.has(entry.topic)) ends.set(entry.topic, await admin.endOffsets(entry.topic));
    const end = ends.get(entry.topic)!.find((o) => o.partition === partition);
    if (!end)
      throw new ViewIntegrityError(
        `view ${manifest.viewId}: topic ${entry.topic} is missing partition ${partition}`,
      );
    parts.set(`${entry.topic}:${partition}`, {
      store,
      partition,
      records: [],
      checksum: new StoreChecksum(),
    });
    ranges.push({ topic: entry.topic, partition, fromOffset: end.low, toOffset: end.high });
  }
  await client.fetchRanges(ranges, {
    isolationLevel: 'read_committed',
    onBatch: (batch, range) => {
      const part = parts.get(`${range.topic}:${range.partition}`)!;
      for (const r of batch) {
        if (r.key === null || r.value === null) {
          throw new ViewIntegrityError(
            `view ${manifest.viewId}: ${range.topic}[${range.partition}]@${r.offset} has a null key or value`,
          );
        }
        const record = { key: r.key, value: r.value };
        part.checksum.add(record);
        part.records.push(record);
      }
    },
  });
  const out = new Map<string, StoreRecord[]>();
  for (const [id, part] of parts) {
    const expected = manifest.stores[part.store]!.partitions.find((p) => p.partition === part.partition)!;
    const digest = part.checksum.digest();
    if (part.checksum.records !== expected.records || digest !== expected.checksum) {
      throw new ViewIntegrityError(
        `view ${manifest.viewId}: ${id} holds ${part.checksum.records} records with checksum ${digest.slice(0, 12)}…, ` +
          `the manifest says ${expected.records} with ${expected.checksum.slice(0, 12)}…; the view is damaged, run the batch again`,
      );
    }
    out.set(`${part.store}:${part.partition}`, part.records);
  }
  return out;
}

/** A view record decoded with the store's serdes (windowed stores: the window start too). */
export interface DecodedViewRecord {
  key: unknown;
  value: unknown;
  /**
   * Timestamp of the record that last wrote the value (DSL key-value and window stores); versioned
   * stores: the version's timestamp (one decoded record per version, a null value a tombstone).
   */
  timestamp?: number;
  /** Window stores: the window's start; session stores: the session's start and end. */
  windowStart?: number;
  sessionEnd?: number;
}

/** Decodes a store's records as the topology's serdes wrote them. */
export function decodeViewRecords(
  topology: Topology,
  store: string,
  records: StoreRecord[],
): DecodedViewRecord[] {
  const meta = topology.storeMetadata.get(store);
  if (!meta) throw new ViewIntegrityError(`the topology has no store '${store}' to decode a view with`);
  const keySerde = meta.keySerde ?? topology.defaultKeySerde;
  const valueSerde = meta.timestamped
    ? timestampedSerde(meta.valueSerde ?? topology.defaultValueSerde)
    : (meta.valueSerde ?? topology.defaultValueSerde);
  if (meta.versioned) {
    const valueOnly = meta.valueSerde ?? topology.defaultValueSerde;
    return records.map((record) => {
      const version = decodeVersionedViewRecord(record);
      return {
        key: keySerde.deserialize(version.key),
        value: version.value === null ? null : (valueOnly.deserialize(version.value) as unknown),
        timestamp: version.timestamp,
      };
    });
  }
  return records.map((record) => {
    let keyBytes = record.key;
    const out: Partial<DecodedViewRecord> = {};
    if (meta.kind === 'window') {
      const parts = fromWindowChangelogKey(record.key);
      keyBytes = parts.key;
      out.windowStart = parts.windowStart;
    } else if (meta.kind === 'session') {
      const parts = fromSessionChangelogKey(record.key);
      keyBytes = parts.key;
      out.windowStart = parts.start;
      out.sessionEnd = parts.end;
    }
    const value = valueSerde.deserialize(record.value) as unknown;
    if (meta.timestamped) {
      const stamped = value as ValueAndTimestamp<unknown>;
      return {
        ...out,
        key: keySerde.deserialize(keyBytes),
        value: stamped.value,
        timestamp: stamped.timestamp,
      };
    }
    return { ...out, key: keySerde.deserialize(keyBytes), value };
  });
}
