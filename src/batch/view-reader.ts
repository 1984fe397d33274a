/**
 * Reads a published view back: the records of one store partition, verified against the checksum
 * and count in its manifest. The serving layer loads views through this; tests compare them.
 */
import type { KafkaAdmin, KafkaClient } from '../kafka/client.ts';
import type { StoreRecord } from '../state/store-export.ts';
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
  const entry = manifest.stores[store];
  if (!entry) {
    throw new ViewIntegrityError(
      `view ${manifest.viewId} has no store '${store}' (it has ${Object.keys(manifest.stores).join(', ') || 'none'})`,
    );
  }
  const expected = entry.partitions.find((p) => p.partition === partition);
  if (!expected)
    throw new ViewIntegrityError(`view ${manifest.viewId}: store '${store}' has no partition ${partition}`);
  const end = (await admin.endOffsets(entry.topic)).find((o) => o.partition === partition);
  if (!end)
    throw new ViewIntegrityError(
      `view ${manifest.viewId}: topic ${entry.topic} is missing partition ${partition}`,
    );
  const records: StoreRecord[] = [];
  const checksum = new StoreChecksum();
  await client.fetchRanges([{ topic: entry.topic, partition, fromOffset: end.low, toOffset: end.high }], {
    isolationLevel: 'read_committed',
    onBatch: (batch) => {
      for (const r of batch) {
        if (r.key === null || r.value === null) {
          throw new ViewIntegrityError(
            `view ${manifest.viewId}: ${entry.topic}[${partition}]@${r.offset} has a null key or value`,
          );
        }
        const record = { key: r.key, value: r.value };
        checksum.add(record);
        records.push(record);
      }
    },
  });
  const digest = checksum.digest();
  if (checksum.records !== expected.records || digest !== expected.checksum) {
    throw new ViewIntegrityError(
      `view ${manifest.viewId}: ${entry.topic}[${partition}] holds ${checksum.records} records with checksum ${digest.slice(0, 12)}…, ` +
        `the manifest says ${expected.records} with ${expected.checksum.slice(0, 12)}…; the view is damaged, run the batch again`,
    );
  }
  return records;
}
