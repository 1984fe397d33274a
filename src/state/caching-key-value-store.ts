import { CachingStore } from './caching-store.ts';
import { compareStrings, fromLatin1, toLatin1 } from './key-encoding.ts';
import { mergeCacheWithStore } from './merge-iterators.ts';
import { latin1Bounds } from './sorted-range.ts';
import type { KeyValue, KeyValueBytesStore } from './types.ts';
import type { CacheEntry } from './write-back-cache.ts';
import { putAllVia, putIfAbsentVia } from './key-value-ops.ts';

/** Bytes-level CacheFlushListener; the metered layer wraps it with serdes. Null: no value. */
export type BytesFlushListener = (
  key: Buffer,
  newValue: Buffer | null,
  oldValue: Buffer | null,
  timestamp: number,
) => void;

type KeyParts = { key: Buffer };

/**
 * Write-back cache over a key-value bytes store (Kafka Streams' CachingKeyValueStore): cache keys
 * are the keys; scans merge the cache with the layer below.
 */
export class CachingKeyValueBytesStore
  extends CachingStore<KeyValueBytesStore, KeyParts>
  implements KeyValueBytesStore
{
  setFlushListener(listener: BytesFlushListener, sendOldValues: boolean): void {
    this.setEntryFlushListener(
      ({ key }, newValue, oldValue, timestamp) => listener(key, newValue, oldValue, timestamp),
      sendOldValues,
    );
  }

  get(key: Buffer): Buffer | undefined {
    this.openContext();
    return this.lookup(toLatin1(key), { key });
  }

  put(key: Buffer, value: Buffer | null): void {
    this.writeDirty(toLatin1(key), value);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    return putIfAbsentVia(this, key, value);
  }

  putAll(entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    putAllVia(this, entries);
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
    const cached = this.cache.range(latin1Bounds(from, to, reverse));
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

  protected partsOf(cacheKey: string): KeyParts {
    return { key: fromLatin1(cacheKey) };
  }

  protected cacheKeyOfChangelog(changelogKey: Buffer): string {
    return toLatin1(changelogKey);
  }

  protected readBelow({ key }: KeyParts): Buffer | undefined {
    return this.inner.get(key);
  }

  protected writeBelow({ key }: KeyParts, value: Buffer | null): void {
    this.inner.put(key, value);
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
