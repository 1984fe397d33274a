import { StateStoreError } from './errors.ts';
import { MeteredStore } from './metered-store.ts';
import type { VersionedBytesStore, VersionedKeyValueStore, VersionedRecord } from './types.ts';

/**
 * The typed face of a versioned store (Kafka Streams' MeteredVersionedKeyValueStore): serdes,
 * counters, null handling. Unlike Kafka Streams' typed `get(key, asOf)`, which drops it, the
 * record's `validTo` is kept when the store knows it (Kafka Streams' VersionedKeyQuery returns it).
 */
export class MeteredVersionedKeyValueStore<K, V>
  extends MeteredStore<K, V, VersionedBytesStore, { key: Buffer }, K>
  implements VersionedKeyValueStore<K, V>
{
  get historyRetention(): number {
    return this.inner.historyRetention;
  }

  put(key: K, value: V | null, timestamp: number): number {
    this.counters.puts++;
    return this.inner.put(this.keyBytes(key), this.valueBytes(value), checkTimestamp(this.name, timestamp));
  }

  delete(key: K, timestamp: number): VersionedRecord<V> | undefined {
    this.counters.deletes++;
    return this.typed(this.inner.delete(this.keyBytes(key), checkTimestamp(this.name, timestamp)));
  }

  get(key: K, asOfTimestamp?: number): VersionedRecord<V> | undefined {
    this.counters.gets++;
    const bytes = this.keyBytes(key);
    return this.typed(
      asOfTimestamp === undefined
        ? this.inner.get(bytes)
        : this.inner.getAsOf(bytes, checkTimestamp(this.name, asOfTimestamp)),
    );
  }

  /** The observed stream time of the store (largest timestamp put); -Infinity before the first. */
  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }

  /** Every key's latest version (not tombstones), in key byte order. */
  *latest(): IterableIterator<{ key: K; record: VersionedRecord<V> }> {
    for (const { key, record } of this.inner.latestRecords())
      yield { key: this.toKey(key), record: this.typed(record)! };
  }

  protected typedKey(parts: { key: Buffer }): K {
    return this.toKey(parts.key);
  }

  private typed(record: VersionedRecord<Buffer> | undefined): VersionedRecord<V> | undefined {
    if (record === undefined) return undefined;
    const value = this.toValue(record.value) as V;
    return record.validTo === undefined
      ? { value, timestamp: record.timestamp }
      : { value, timestamp: record.timestamp, validTo: record.validTo };
  }
}

function checkTimestamp(store: string, timestamp: number): number {
  if (!Number.isSafeInteger(timestamp)) {
    throw new StateStoreError(store, `timestamp must be an integer (ms), got ${timestamp}`);
  }
  return timestamp;
}
