import type { Serde } from '../serde/serde.ts';
import { CachingWindowBytesStore } from './caching-window-store.ts';
import { countersFor, createStoreCounters } from './counters.ts';
import { StateStoreError } from './errors.ts';
import type {
  CachedStore,
  CacheFlushListener,
  KeyValue,
  StateStoreContext,
  StoreCounters,
  Windowed,
  WindowStore,
} from './types.ts';
import type { WindowBytesEntry, WindowStoreLayer } from './window-store-layer.ts';

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * The typed face of a window store (Kafka Streams' MeteredWindowStore): serdes, counters, and
 * Windowed<K> keys whose window is [start, start + windowSize). Key-range scans come in the
 * store's order: by time segment, then key bytes, then window start; one key's scans by start.
 */
export class MeteredWindowStore<K, V> implements WindowStore<K, V>, CachedStore<Windowed<K>, V> {
  counters: StoreCounters = createStoreCounters();

  constructor(
    readonly inner: WindowStoreLayer,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  get windowSize(): number {
    return this.inner.windowSize;
  }

  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  get retainDuplicates(): boolean {
    return this.inner.retainDuplicates;
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
  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    this.inner.restoreBatch(records);
  }

  /** Largest window start seen (-Infinity before any): the store's notion of stream time. */
  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }

  setFlushListener(listener: CacheFlushListener<Windowed<K>, V>, sendOldValues: boolean): boolean {
    if (!(this.inner instanceof CachingWindowBytesStore)) return false;
    this.inner.setFlushListener(
      (key, windowStart, newValue, oldValue, timestamp) =>
        listener(this.windowed(key, windowStart), this.toValue(newValue), this.toValue(oldValue), timestamp),
      sendOldValues,
    );
    return true;
  }

  put(key: K, value: V | null, windowStart: number): void {
    this.counters.puts++;
    const bytes = value === null || value === undefined ? null : this.valueSerde.serialize(value);
    this.inner.put(this.keyBytes(key), bytes, windowStart);
  }

  fetch(key: K, windowStart: number): V | undefined {
    this.counters.gets++;
    return this.toValue(this.inner.fetch(this.keyBytes(key), windowStart));
  }

  fetchRange(key: K, timeFrom: number, timeTo: number): IterableIterator<{ windowStart: number; value: V }> {
    this.counters.rangeScans++;
    return this.values(this.inner.fetchRange(this.keyBytes(key), timeFrom, timeTo, false));
  }

  backwardFetchRange(
    key: K,
    timeFrom: number,
    timeTo: number,
  ): IterableIterator<{ windowStart: number; value: V }> {
    this.counters.rangeScans++;
    return this.values(this.inner.fetchRange(this.keyBytes(key), timeFrom, timeTo, true));
  }

  fetchKeyRange(
    keyFrom: K | undefined,
    keyTo: K | undefined,
    timeFrom: number,
    timeTo: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.scan(keyFrom, keyTo, timeFrom, timeTo, false);
  }

  backwardFetchKeyRange(
    keyFrom: K | undefined,
    keyTo: K | undefined,
    timeFrom: number,
    timeTo: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.scan(keyFrom, keyTo, timeFrom, timeTo, true);
  }

  fetchAll(timeFrom: number, timeTo: number): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.scan(undefined, undefined, timeFrom, timeTo, false);
  }

  backwardFetchAll(timeFrom: number, timeTo: number): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.scan(undefined, undefined, timeFrom, timeTo, true);
  }

  all(): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.scan(undefined, undefined, MIN_TIME, MAX_TIME, false);
  }

  backwardAll(): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.scan(undefined, undefined, MIN_TIME, MAX_TIME, true);
  }

  private scan(
    keyFrom: K | undefined,
    keyTo: K | undefined,
    timeFrom: number,
    timeTo: number,
    backward: boolean,
  ): IterableIterator<KeyValue<Windowed<K>, V>> {
    this.counters.rangeScans++;
    const from = keyFrom === undefined || keyFrom === null ? undefined : this.keyBytes(keyFrom);
    const to = keyTo === undefined || keyTo === null ? undefined : this.keyBytes(keyTo);
    return this.entries(this.inner.fetchKeyRange(from, to, timeFrom, timeTo, backward));
  }

  private *values(
    entries: Iterable<{ windowStart: number; value: Buffer }>,
  ): Generator<{ windowStart: number; value: V }> {
    for (const { windowStart, value } of entries) yield { windowStart, value: this.toValue(value) as V };
  }

  private *entries(entries: Iterable<WindowBytesEntry>): Generator<KeyValue<Windowed<K>, V>> {
    for (const { key, windowStart, value } of entries) {
      yield { key: this.windowed(key, windowStart), value: this.toValue(value) as V };
    }
  }

  private windowed(key: Buffer, windowStart: number): Windowed<K> {
    let typed: K;
    try {
      typed = this.keySerde.deserialize(key);
    } catch (error) {
      throw new StateStoreError(this.name, `cannot deserialize key: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return { key: typed, window: { start: windowStart, end: windowStart + this.inner.windowSize } };
  }

  private keyBytes(key: K): Buffer {
    if (key === null || key === undefined) throw new StateStoreError(this.name, 'key must not be null');
    return this.keySerde.serialize(key);
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
