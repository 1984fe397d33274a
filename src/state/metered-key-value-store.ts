import type { Serde } from '../serde/serde.ts';
import { CachingKeyValueBytesStore } from './caching-key-value-store.ts';
import { countersFor, createStoreCounters } from './counters.ts';
import { StateStoreError } from './errors.ts';
import type {
  CachedStore,
  CacheFlushListener,
  KeyValue,
  KeyValueBytesStore,
  KeyValueStore,
  StateStoreContext,
  StoreCounters,
} from './types.ts';

/**
 * The typed face of a key-value store (Kafka Streams' MeteredKeyValueStore): serdes at the top of
 * the wrapper stack, operation counters for metrics, null handling (a null value is a delete;
 * null never reaches a serde).
 */
export class MeteredKeyValueStore<K, V> implements KeyValueStore<K, V>, CachedStore<K, V> {
  /** Live counters of this store (the context's, when it hands them out). */
  counters: StoreCounters = createStoreCounters();

  constructor(
    readonly inner: KeyValueBytesStore,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  init(context: StateStoreContext): Promise<void> {
    this.counters = countersFor(context, this.name);
    return this.inner.init(context);
  }

  isOpen(): boolean {
    return this.inner.isOpen();
  }

  flushCache(): void {
    this.inner.flushCache();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Applies changelog records (bytes, as logged) to the innermost store. */
  restoreBatch(records: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    this.inner.restoreBatch(records);
  }

  /** True when a caching layer will call the listener on each flush of a dirty entry. */
  setFlushListener(listener: CacheFlushListener<K, V>, sendOldValues: boolean): boolean {
    if (!(this.inner instanceof CachingKeyValueBytesStore)) return false;
    this.inner.setFlushListener(
      (key, newValue, oldValue, timestamp) =>
        listener(this.toKey(key), this.toValue(newValue), this.toValue(oldValue), timestamp),
      sendOldValues,
    );
    return true;
  }

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
    return this.typed(this.inner.prefixScan(this.keyBytes(prefix)));
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }

  private scan(from: K | undefined, to: K | undefined, reverse: boolean): IterableIterator<KeyValue<K, V>> {
    this.counters.rangeScans++;
    const fromBytes = from === undefined || from === null ? undefined : this.keyBytes(from);
    const toBytes = to === undefined || to === null ? undefined : this.keyBytes(to);
    return this.typed(this.inner.range(fromBytes, toBytes, reverse));
  }

  private *typed(entries: Iterable<KeyValue<Buffer, Buffer>>): Generator<KeyValue<K, V>> {
    for (const { key, value } of entries) yield { key: this.toKey(key), value: this.toValue(value) as V };
  }

  private keyBytes(key: K): Buffer {
    if (key === null || key === undefined) throw new StateStoreError(this.name, 'key must not be null');
    return this.keySerde.serialize(key);
  }

  private valueBytes(value: V | null): Buffer | null {
    return value === null || value === undefined ? null : this.valueSerde.serialize(value);
  }

  private toKey(bytes: Buffer): K {
    try {
      return this.keySerde.deserialize(bytes);
    } catch (error) {
      throw new StateStoreError(this.name, `cannot deserialize key: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private toValue(bytes: Buffer | null | undefined): V | undefined {
    if (bytes === null || bytes === undefined) return undefined;
    try {
      return this.valueSerde.deserialize(bytes);
    } catch (error) {
      throw new StateStoreError(this.name, `cannot deserialize value: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
