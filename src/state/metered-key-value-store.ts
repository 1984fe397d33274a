import { StateStoreError } from './errors.ts';
import { MeteredStore } from './metered-store.ts';
import type { KeyValue, KeyValueBytesStore, KeyValueStore } from './types.ts';

/** The typed face of a key-value store (Kafka Streams' MeteredKeyValueStore). */
export class MeteredKeyValueStore<K, V>
  extends MeteredStore<K, V, KeyValueBytesStore, { key: Buffer }, K>
  implements KeyValueStore<K, V>
{
  get(key: K): V | undefined {
    this.counters.gets++;
    return this.toValue(this.inner.get(this.keyBytes(key)));
  }

  put(key: K, value: V | null): void {
    this.counters.puts++;
    this.inner.put(this.keyBytes(key), this.valueBytes(value));
  }

  putIfAbsent(key: K, value: V): V | undefined {
    this.counters.puts++;
    const bytes = this.valueBytes(value);
    if (bytes === null) throw new StateStoreError(this.name, 'putIfAbsent needs a non-null value');
    return this.toValue(this.inner.putIfAbsent(this.keyBytes(key), bytes));
  }

  putAll(entries: ReadonlyArray<KeyValue<K, V | null>>): void {
    this.counters.puts += entries.length;
    this.inner.putAll(
      entries.map(({ key, value }) => ({ key: this.keyBytes(key), value: this.valueBytes(value) })),
    );
  }

  delete(key: K): V | undefined {
    this.counters.deletes++;
    return this.toValue(this.inner.delete(this.keyBytes(key)));
  }

  range(from?: K, to?: K): IterableIterator<KeyValue<K, V>> {
    return this.scan(from, to, false);
  }

  reverseRange(from?: K, to?: K): IterableIterator<KeyValue<K, V>> {
    return this.scan(from, to, true);
  }

  all(): IterableIterator<KeyValue<K, V>> {
    return this.scan(undefined, undefined, false);
  }

  reverseAll(): IterableIterator<KeyValue<K, V>> {
    return this.scan(undefined, undefined, true);
  }

  /** Keys whose SERIALIZED form starts with the serialized prefix (meaningful for e.g. string serdes). */
  prefixScan(prefix: K): IterableIterator<KeyValue<K, V>> {
    this.counters.rangeScans++;
    return this.typedEntries(this.inner.prefixScan(this.keyBytes(prefix)));
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }

  protected typedKey(parts: { key: Buffer }): K {
    return this.toKey(parts.key);
  }

  private scan(from: K | undefined, to: K | undefined, reverse: boolean): IterableIterator<KeyValue<K, V>> {
    this.counters.rangeScans++;
    return this.typedEntries(this.inner.range(this.boundBytes(from), this.boundBytes(to), reverse));
  }
}
