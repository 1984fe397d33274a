import { MeteredStore } from './metered-store.ts';
import type { WindowStoreLayer } from './store-layers.ts';
import type { KeyValue, Windowed, WindowStore } from './types.ts';

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

type WindowParts = { key: Buffer; windowStart: number };

/**
 * The typed face of a window store (Kafka Streams' MeteredWindowStore): Windowed<K> keys whose
 * window is [start, start + windowSize). Key-range scans come in the store's order: by time
 * segment, then key bytes, then window start; one key's scans by start.
 */
export class MeteredWindowStore<K, V>
  extends MeteredStore<K, V, WindowStoreLayer, WindowParts, Windowed<K>>
  implements WindowStore<K, V>
{
  get windowSize(): number {
    return this.inner.windowSize;
  }

  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  get retainDuplicates(): boolean {
    return this.inner.retainDuplicates;
  }

  /** Largest window start seen (-Infinity before any): the store's notion of stream time. */
  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }

  put(key: K, value: V | null, windowStart: number): void {
    this.counters.puts++;
    this.inner.put(this.keyBytes(key), this.valueBytes(value), windowStart);
  }

  fetch(key: K, windowStart: number): V | undefined {
    this.counters.gets++;
    return this.toValue(this.inner.fetch(this.keyBytes(key), windowStart));
  }

  fetchRange(key: K, timeFrom: number, timeTo: number): IterableIterator<{ windowStart: number; value: V }> {
    return this.scanKey(key, timeFrom, timeTo, false);
  }

  backwardFetchRange(
    key: K,
    timeFrom: number,
    timeTo: number,
  ): IterableIterator<{ windowStart: number; value: V }> {
    return this.scanKey(key, timeFrom, timeTo, true);
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

  protected typedKey({ key, windowStart }: WindowParts, typed?: K): Windowed<K> {
    return {
      key: typed === undefined ? this.toKey(key) : typed,
      window: { start: windowStart, end: windowStart + this.inner.windowSize },
    };
  }

  private scan(
    keyFrom: K | undefined,
    keyTo: K | undefined,
    timeFrom: number,
    timeTo: number,
    backward: boolean,
  ): IterableIterator<KeyValue<Windowed<K>, V>> {
    this.counters.rangeScans++;
    const from = this.boundBytes(keyFrom);
    return this.typedEntries(
      this.inner.fetchKeyRange(from, this.boundBytes(keyTo), timeFrom, timeTo, backward),
    );
  }

  private scanKey(
    key: K,
    timeFrom: number,
    timeTo: number,
    backward: boolean,
  ): IterableIterator<{ windowStart: number; value: V }> {
    this.counters.rangeScans++;
    return this.values(this.inner.fetchRange(this.keyBytes(key), timeFrom, timeTo, backward));
  }

  private *values(
    entries: Iterable<{ windowStart: number; value: Buffer }>,
  ): Generator<{ windowStart: number; value: V }> {
    for (const { windowStart, value } of entries) yield { windowStart, value: this.toValue(value) as V };
  }
}
