import { CachingLayer } from './caching-layer.ts';
import { compareStrings, fromLatin1, toLatin1 } from './key-encoding.ts';
import { mergeCacheWithStore } from './merge-iterators.ts';
import type { KeyValue, KeyValueBytesStore } from './types.ts';
import type { CacheEntry } from './write-back-cache.ts';

/** Bytes-level CacheFlushListener; the metered layer wraps it with serdes. Null: no value. */
export type BytesFlushListener = (
  key: Buffer,
  newValue: Buffer | null,
  oldValue: Buffer | null,
  timestamp: number,
) => void;

/**
 * Write-back cache over a key-value bytes store (Kafka Streams' CachingKeyValueStore). Writes stay
 * in the cache, deduplicated per key, until `flushCache()` (the commit) or until the cache outgrows
 * its byte budget while its least recently used entry is dirty; then every dirty entry goes down
 * in the order of its latest write and is handed to the flush listener. Reads fall through to the
 * layer below and are cached clean; scans merge the cache with the layer below.
 */
export class CachingKeyValueBytesStore
  extends CachingLayer<KeyValueBytesStore>
  implements KeyValueBytesStore
{
  private listener: BytesFlushListener | undefined;
  private sendOldValues = false;

  setFlushListener(listener: BytesFlushListener, sendOldValues: boolean): void {
    this.listener = listener;
    this.sendOldValues = sendOldValues;
  }

  get(key: Buffer): Buffer | undefined {
    this.openContext();
    const k = toLatin1(key);
    const entry = this.cache.get(k);
    if (entry !== undefined) {
      this.counters.cacheHits++;
      return CachingLayer.valueOf(entry);
    }
    this.counters.cacheMisses++;
    const value = this.inner.get(key);
    this.readThrough(k, value);
    return value;
  }

  put(key: Buffer, value: Buffer | null): void {
    this.writeDirty(toLatin1(key), value);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const existing = this.get(key);
    if (existing === undefined) this.put(key, value);
    return existing;
  }

  putAll(entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    for (const { key, value } of entries) this.put(key, value);
  }

  delete(key: Buffer): Buffer | undefined {
    const existing = this.get(key);
    this.put(key, null);
    return existing;
  }

  range(
    from: Buffer | undefined,
    to: Buffer | undefined,
    reverse = false,
  ): IterableIterator<KeyValue<Buffer, Buffer>> {
    this.openContext();
    if (from !== undefined && to !== undefined && Buffer.compare(from, to) > 0) return [][Symbol.iterator]();
    const cached = this.cache.range({
      from: from === undefined ? undefined : toLatin1(from),
      to: to === undefined ? undefined : toLatin1(to),
      reverse,
    });
    return merge(cached, this.inner.range(from, to, reverse), reverse);
  }

  prefixScan(prefix: Buffer): IterableIterator<KeyValue<Buffer, Buffer>> {
    this.openContext();
    return merge(this.cache.range({ prefix: toLatin1(prefix) }), this.inner.prefixScan(prefix), false);
  }

  /** The layer below's count: dirty entries not yet flushed are not included. */
  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }

  restoreBatch(records: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    for (const { key } of records) this.cache.remove(toLatin1(key));
    this.inner.restoreBatch(records);
  }

  protected flushEntry(k: string, entry: CacheEntry): void {
    const key = fromLatin1(k);
    const { listener, sendOldValues } = this;
    const newValue = CachingLayer.valueOf(entry) ?? null;
    // As Kafka Streams: read the old value only when it is forwarded, or to decide whether a delete
    // is worth forwarding at all (deleting an absent key forwards nothing).
    const oldValue = listener && (newValue === null || sendOldValues) ? (this.inner.get(key) ?? null) : null;
    this.inner.put(key, newValue);
    if (listener && (newValue !== null || oldValue !== null)) {
      listener(key, newValue, sendOldValues ? oldValue : null, entry.timestamp);
    }
  }
}

function merge(
  cached: Iterator<[string, CacheEntry]>,
  stored: Iterator<KeyValue<Buffer, Buffer>>,
  reverse: boolean,
): IterableIterator<KeyValue<Buffer, Buffer>> {
  return mergeCacheWithStore(
    cached,
    stored,
    reverse,
    ([key], entry) => compareStrings(key, toLatin1(entry.key)),
    ([key], value): KeyValue<Buffer, Buffer> => ({ key: fromLatin1(key), value }),
    (entry) => entry,
  );
}
