/**
 * Reads back the batch view that `lambda-streams batch --json` published and turns its count store
 * into canonical key → count, the form the expected counts have (see data.ts), so the batch row is
 * verified exactly like the output topics of the other systems.
 *
 * A view holds its stores in changelog form (src/state/store-export.ts): key-value stores as the key
 * serde's bytes → timestampedSerde(value serde) bytes; window stores with the window changelog key
 * (key bytes, window start, seq). The bench's counts use Serdes.String() keys and count's own value
 * serde, Serdes.Long() (src/dsl/kgrouped-stream.ts).
 */
import { readViewPartition } from '../../src/batch/view-reader.ts';
import type { ViewManifest } from '../../src/batch/view-manifest.ts';
import type { KafkaAdmin, KafkaClient } from '../../src/kafka/client.ts';
import { Serdes } from '../../src/index.ts';
import { fromWindowChangelogKey, timestampedSerde } from '../../src/state/index.ts';
import type { Workload } from './config.ts';
import { windowKey } from './data.ts';

/** The queryable count store of each bench topology (bench/topologies/*.ts). */
export const VIEW_STORE: Record<Workload, string> = {
  'word-count': 'word-counts',
  pageviews: 'pageviews-per-minute',
  'distinct-keys': 'key-counts',
};

/** What `lambda-streams batch --json` prints: the manifest plus the run's own figures. */
export interface BatchJson extends ViewManifest {
  run: {
    stats: { read: number; processed: number; [key: string]: unknown };
    durationMs: number;
    [key: string]: unknown;
  };
}

export interface ViewCounts {
  counts: Map<string, number>;
  /** Records in the store's view partitions. */
  records: number;
  /** Records whose key or value could not be decoded, or that repeat a key (a view holds one per key). */
  bad: string[];
}

/** Reads every partition of the workload's store in the view (checksums verified) and decodes the counts. */
export async function readViewCounts(
  client: KafkaClient,
  admin: KafkaAdmin,
  manifest: ViewManifest,
  workload: Workload,
): Promise<ViewCounts> {
  const store = VIEW_STORE[workload];
  const entry = manifest.stores[store];
  if (!entry) {
    throw new Error(
      `the view has no store '${store}' (it has ${Object.keys(manifest.stores).join(', ') || 'none'})`,
    );
  }
  const expectedKind = workload === 'pageviews' ? 'window' : 'key-value';
  if (entry.kind !== expectedKind)
    throw new Error(`store '${store}' is a ${entry.kind} store in the view, expected ${expectedKind}`);
  const keySerde = Serdes.String();
  const valueSerde = timestampedSerde(Serdes.Long());
  const counts = new Map<string, number>();
  const bad: string[] = [];
  let records = 0;
  for (const { partition } of entry.partitions) {
    for (const record of await readViewPartition(client, admin, manifest, store, partition)) {
      records++;
      let key: string;
      let count: number;
      try {
        if (entry.kind === 'window') {
          const parts = fromWindowChangelogKey(record.key);
          key = windowKey(keySerde.deserialize(parts.key), parts.windowStart);
        } else {
          key = keySerde.deserialize(record.key);
        }
        count = valueSerde.deserialize(record.value).value;
      } catch (error) {
        bad.push(`${entry.topic}[${partition}]: undecodable record (${(error as Error).message})`);
        continue;
      }
      if (counts.has(key)) bad.push(`${entry.topic}[${partition}]: key ${key} appears twice`);
      counts.set(key, count);
    }
  }
  return { counts, records, bad };
}
