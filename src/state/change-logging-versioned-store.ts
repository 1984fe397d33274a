import { ChangeLoggingStore } from './change-logging-store.ts';
import type { VersionedBytesStore, VersionedRecord } from './types.ts';

/**
 * Change logging of a versioned store (Kafka Streams' ChangeLoggingVersionedKeyValueBytesStore):
 * every put and delete is logged with its own timestamp (not the current record's), so restoring
 * replays each version at its time. Like Kafka Streams it logs a put even when the store refused
 * it as too old: restoration refuses it the same way.
 */
export class ChangeLoggingVersionedKeyValueBytesStore
  extends ChangeLoggingStore<VersionedBytesStore>
  implements VersionedBytesStore
{
  get historyRetention(): number {
    return this.inner.historyRetention;
  }

  put(key: Buffer, value: Buffer | null, timestamp: number): number {
    const validTo = this.inner.put(key, value, timestamp);
    this.logAt(key, value, timestamp);
    return validTo;
  }

  delete(key: Buffer, timestamp: number): VersionedRecord<Buffer> | undefined {
    const existing = this.inner.delete(key, timestamp);
    this.logAt(key, null, timestamp);
    return existing;
  }

  get(key: Buffer): VersionedRecord<Buffer> | undefined {
    return this.inner.get(key);
  }

  getAsOf(key: Buffer, asOfTimestamp: number): VersionedRecord<Buffer> | undefined {
    return this.inner.getAsOf(key, asOfTimestamp);
  }

  latestRecords(): IterableIterator<{ key: Buffer; record: VersionedRecord<Buffer> }> {
    return this.inner.latestRecords();
  }

  versionAt(key: Buffer, asOfTimestamp: number): { value: Buffer | null; timestamp: number } | undefined {
    return this.inner.versionAt(key, asOfTimestamp);
  }

  allVersions(): IterableIterator<{ key: Buffer; value: Buffer | null; timestamp: number }> {
    return this.inner.allVersions();
  }

  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }
}
