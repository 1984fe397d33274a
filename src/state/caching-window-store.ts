import { CachingLayer } from './caching-layer.ts';
import { StateStoreError } from './errors.ts';
import { fromLatin1, toLatin1 } from './key-encoding.ts';
import { mergeCacheWithStore } from './merge-iterators.ts';
import { fromChangelogKey, WindowKeySchema, type WindowKeyParts } from './window-key-schema.ts';
import {
  isExpired,
  liveTimeRange,
  segmentIds,
  type WindowBytesEntry,
  type WindowStoreLayer,
} from './window-store-layer.ts';
import type { CacheEntry } from './write-back-cache.ts';

/** Bytes-level flush listener of a window store. Null: no value. */
export type WindowBytesFlushListener = (
  key: Buffer,
  windowStart: number,
  newValue: Buffer | null,
  oldValue: Buffer | null,
  timestamp: number,
) => void;

type Cached = [WindowKeyParts, CacheEntry];

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * Write-back cache over a window store (Kafka Streams' CachingWindowStore). Cache keys use the
 * segmented store's key layout, so the cache walks in the order the store below does and scans
 * merge entry by entry. It keeps its own stream time (it sees puts first) to drop puts into
 * expired windows and hide expired windows from reads. Not for retainDuplicates stores: every
 * duplicate is its own entry there, nothing to deduplicate (Kafka Streams disables it too).
 */
export class CachingWindowBytesStore extends CachingLayer<WindowStoreLayer> implements WindowStoreLayer {
  private readonly schema: WindowKeySchema;
  private observed = -Infinity;
  private listener: WindowBytesFlushListener | undefined;
  private sendOldValues = false;

  constructor(inner: WindowStoreLayer) {
    super(inner);
    if (inner.retainDuplicates) {
      throw new StateStoreError(inner.name, 'caching cannot be enabled on a store that retains duplicates');
    }
    this.schema = new WindowKeySchema(inner.segmentInterval, false);
  }

  get windowSize(): number {
    return this.inner.windowSize;
  }

  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  get retainDuplicates(): boolean {
    return false;
  }

  get segmentInterval(): number {
    return this.inner.segmentInterval;
  }

  protected override afterInit(): void {
    this.observed = this.inner.observedStreamTime();
  }

  setFlushListener(listener: WindowBytesFlushListener, sendOldValues: boolean): void {
    this.listener = listener;
    this.sendOldValues = sendOldValues;
  }

  observedStreamTime(): number {
    return this.observed;
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): void {
    this.putAndReturnSeq(key, value, windowStart);
  }

  putAndReturnSeq(key: Buffer, value: Buffer | null, windowStart: number): number {
    this.openContext();
    this.checkTime(windowStart);
    if (windowStart > this.observed) this.observed = windowStart;
    if (isExpired(windowStart, this.observed, this.retentionPeriod)) {
      this.counters.expiredWindowDrops++;
      return -1;
    }
    this.writeDirty(toLatin1(this.schema.toStoreKey(key, windowStart, 0)), value);
    return 0;
  }

  fetch(key: Buffer, windowStart: number): Buffer | undefined {
    this.openContext();
    this.checkTime(windowStart);
    if (isExpired(windowStart, this.observed, this.retentionPeriod)) return undefined;
    const k = toLatin1(this.schema.toStoreKey(key, windowStart, 0));
    const entry = this.cache.get(k);
    if (entry !== undefined) {
      this.counters.cacheHits++;
      return CachingLayer.valueOf(entry);
    }
    this.counters.cacheMisses++;
    const value = this.inner.fetch(key, windowStart);
    this.readThrough(k, value);
    return value;
  }

  fetchRange(
    key: Buffer,
    timeFrom: number,
    timeTo: number,
    backward = false,
  ): IterableIterator<{ windowStart: number; value: Buffer }> {
    this.openContext();
    const live = liveTimeRange(this.observed, this.retentionPeriod, timeFrom, timeTo);
    if (live === undefined) return [][Symbol.iterator]();
    const [from, to] = live;
    const cached = this.walkCache(from, to, backward, (segment) =>
      this.schema.timeRangeBounds(segment, key, from, to),
    );
    return mergeCacheWithStore(
      cached,
      this.inner.fetchRange(key, from, to, backward),
      backward,
      ([parts], stored) => parts.windowStart - stored.windowStart,
      ([parts], value) => ({ windowStart: parts.windowStart, value }),
      (stored) => stored,
    );
  }

  fetchKeyRange(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    timeFrom: number,
    timeTo: number,
    backward = false,
  ): IterableIterator<WindowBytesEntry> {
    this.openContext();
    if (keyFrom !== undefined && keyTo !== undefined && Buffer.compare(keyFrom, keyTo) > 0) {
      return [][Symbol.iterator]();
    }
    const live = liveTimeRange(this.observed, this.retentionPeriod, timeFrom, timeTo);
    if (live === undefined) return [][Symbol.iterator]();
    const [from, to] = live;
    const { schema } = this;
    const cached = this.walkCache(from, to, backward, (segment) =>
      schema.keyRangeBounds(segment, keyFrom, keyTo),
    );
    return mergeCacheWithStore(
      cached,
      this.inner.fetchKeyRange(keyFrom, keyTo, from, to, backward),
      backward,
      // The store's order: segment, then key bytes, then window start.
      ([parts], stored) =>
        schema.segmentId(parts.windowStart) - schema.segmentId(stored.windowStart) ||
        Buffer.compare(parts.key, stored.key) ||
        parts.windowStart - stored.windowStart,
      ([parts], value) => ({ key: parts.key, windowStart: parts.windowStart, value }),
      (stored) => stored,
    );
  }

  all(): IterableIterator<WindowBytesEntry> {
    return this.fetchKeyRange(undefined, undefined, MIN_TIME, MAX_TIME);
  }

  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    this.inner.restoreBatch(records); // first: it rejects malformed keys, naming the store
    for (const record of records) {
      const { key, windowStart } = fromChangelogKey(record.key);
      this.cache.remove(toLatin1(this.schema.toStoreKey(key, windowStart, 0)));
    }
    this.observed = Math.max(this.observed, this.inner.observedStreamTime());
  }

  protected flushEntry(k: string, entry: CacheEntry): void {
    const { key, windowStart } = this.schema.fromStoreKey(fromLatin1(k));
    const { listener, sendOldValues } = this;
    const newValue = CachingLayer.valueOf(entry) ?? null;
    const oldValue =
      listener && (newValue === null || sendOldValues) ? (this.inner.fetch(key, windowStart) ?? null) : null;
    this.inner.putAndReturnSeq(key, newValue, windowStart);
    if (listener && (newValue !== null || oldValue !== null)) {
      listener(key, windowStart, newValue, sendOldValues ? oldValue : null, entry.timestamp);
    }
  }

  private checkTime(windowStart: number): void {
    if (!Number.isSafeInteger(windowStart)) {
      throw new StateStoreError(this.name, `window start must be an integer, got ${windowStart}`);
    }
  }

  /** Cached entries segment by segment, window starts filtered to [from, to]. */
  private *walkCache(
    from: number,
    to: number,
    backward: boolean,
    bounds: (segment: number) => [Buffer, Buffer],
  ): Generator<Cached> {
    const { schema } = this;
    for (const segment of segmentIds(schema.segmentId(from), schema.segmentId(to), backward)) {
      const [low, high] = bounds(segment);
      for (const [k, entry] of this.cache.range({
        from: toLatin1(low),
        to: toLatin1(high),
        reverse: backward,
      })) {
        const parts = schema.fromStoreKey(fromLatin1(k));
        if (parts.windowStart >= from && parts.windowStart <= to) yield [parts, entry];
      }
    }
  }
}
