import { countersFor, createStoreCounters } from './counters.ts';
import { notOpen } from './errors.ts';
import { afterInnerInit } from './init-chain.ts';
import { toLatin1 } from './key-encoding.ts';
import { contextWithTimestamp } from './store-context.ts';
import { segmentIds, StreamTime, type SegmentedLayer } from './store-layers.ts';
import type { SegmentedKeySchema } from './segmented-key-schema.ts';
import type { RestorableStateStore, StateStoreContext, StoreCounters } from './types.ts';
import { DEFAULT_CACHE_MAX_BYTES, WriteBackCache, type CacheEntry } from './write-back-cache.ts';
import { WrappedStateStore, type ChangelogRecord } from './wrapped-state-store.ts';

/**
 * Told of every dirty entry a caching layer writes down, as the parts of its key (a key-value key;
 * key and window start; key, start and end), so the metered layer can hand typed updates to a DSL
 * processor. Null: no value (oldValue is null too unless old values were asked for).
 */
export type EntryFlushListener<Parts> = (
  parts: Parts,
  newValue: Buffer | null,
  oldValue: Buffer | null,
  timestamp: number,
) => void;

/**
 * Write-back cache over the layer below (Kafka Streams' Caching* stores). Writes stay in the cache,
 * deduplicated per key, until `flushCache()` (the commit) or until the cache outgrows its byte budget
 * while its least recently used entry is dirty; then every dirty entry goes down in the order of its
 * latest write and is handed to the flush listener. Reads fall through to the layer below and are
 * cached clean. While it flushes, the layers below see the timestamp of the entry being written as
 * the current one, so changelog records carry the timestamp of the write they stand for.
 *
 * A kind lays out its cache keys (latin1 strings that sort like the store below), says how the
 * parts of a cache key are read from and written to the layer below, and merges cache and store
 * walks in its scans.
 */
export abstract class CachingStore<
  Inner extends RestorableStateStore,
  Parts,
> extends WrappedStateStore<Inner> {
  protected cache = new WriteBackCache(DEFAULT_CACHE_MAX_BYTES);
  protected counters: StoreCounters = createStoreCounters();
  protected context: StateStoreContext | undefined;
  private listener: EntryFlushListener<Parts> | undefined;
  private sendOldValues = false;
  /** Timestamp of the entry being flushed, seen by the layers below as the current timestamp. */
  private flushTimestamp: number | undefined;
  /** Largest timestamp among the writes the entry being flushed collapsed. */
  private flushLatestWrite: number | undefined;
  private flushing = false;

  /** Calls the listener on each dirty entry written down; old values are read only when asked for. */
  setEntryFlushListener(listener: EntryFlushListener<Parts>, sendOldValues: boolean): void {
    this.listener = listener;
    this.sendOldValues = sendOldValues;
  }

  override init(context: StateStoreContext): Promise<void> {
    this.cache.clear(); // opened again without a close: the old cache's bytes go back to its budget
    this.cache = new WriteBackCache(context.cacheBudget ?? DEFAULT_CACHE_MAX_BYTES);
    this.counters = countersFor(context, this.name);
    const innerInit = this.inner.init(
      contextWithTimestamp(
        context,
        () => this.flushTimestamp,
        () => this.flushLatestWrite,
      ),
    );
    return afterInnerInit(this.inner, innerInit, () => {
      this.context = context;
      this.afterInit();
    });
  }

  override isOpen(): boolean {
    return this.context !== undefined && this.inner.isOpen();
  }

  override flushCache(): void {
    if (this.flushing) return; // a flush listener writing back into this store: next flush takes it
    const dirty = this.cache.takeDirty();
    if (dirty.length > 0) {
      this.flushing = true;
      try {
        for (const entry of dirty) {
          this.flushTimestamp = entry.timestamp;
          this.flushLatestWrite = entry.latestWrite;
          this.flushEntry(entry);
        }
      } finally {
        this.flushing = false;
        this.flushTimestamp = this.flushLatestWrite = undefined;
      }
      this.counters.cacheFlushedEntries += dirty.length;
    }
    this.inner.flushCache();
  }

  override async flush(): Promise<void> {
    this.flushCache();
    await this.inner.flush();
  }

  /** Flushes the cache (forwarding to the listener, as Kafka Streams does), then closes below. */
  override async close(): Promise<void> {
    if (this.context === undefined) return;
    try {
      this.flushCache();
    } finally {
      this.context = undefined;
      this.cache.clear();
      await this.inner.close();
    }
  }

  /** Restores below (which rejects malformed records, naming the store), then drops what the cache held of them. */
  override restoreBatch(records: ReadonlyArray<ChangelogRecord>): void {
    this.inner.restoreBatch(records);
    for (const record of records) this.cache.remove(this.cacheKeyOfChangelog(record.key));
    this.afterRestore();
  }

  /** The parts of a cache key. */
  protected abstract partsOf(cacheKey: string): Parts;

  /** The cache key of a changelog record's key. */
  protected abstract cacheKeyOfChangelog(changelogKey: Buffer): string;

  /** Reads the value of a cache key's parts from the layer below. */
  protected abstract readBelow(parts: Parts): Buffer | undefined;

  /** Writes a formerly dirty entry to the layer below (null: delete). */
  protected abstract writeBelow(parts: Parts, value: Buffer | null): void;

  /** Hook for kinds that read the inner store once it is open. */
  protected afterInit(): void {}

  /** Hook for kinds that read the inner store after a restore. */
  protected afterRestore(): void {}

  /** A read: the cached entry (a hit), else the layer below's value, then cached clean (a miss). */
  protected lookup(cacheKey: string, parts: Parts): Buffer | undefined {
    const entry = this.cache.get(cacheKey);
    if (entry !== undefined) {
      this.counters.cacheHits++;
      return entryValue(entry);
    }
    this.counters.cacheMisses++;
    const value = this.readBelow(parts);
    if (value !== undefined) {
      this.cache.putClean(cacheKey, value, -1);
      this.evictIfNeeded();
    }
    return value;
  }

  protected writeDirty(cacheKey: string, value: Buffer | null): void {
    this.cache.putDirty(cacheKey, value, this.openContext().currentTimestamp());
    this.evictIfNeeded();
  }

  protected openContext(): StateStoreContext {
    if (this.context === undefined) throw notOpen(this.name);
    return this.context;
  }

  /**
   * Writes one formerly dirty entry down and tells the listener. As Kafka Streams: the old value is
   * read only when it is forwarded, or to decide whether a delete is worth forwarding at all
   * (deleting an absent key forwards nothing).
   */
  private flushEntry(entry: CacheEntry): void {
    const parts = this.partsOf(entry.key);
    const { listener, sendOldValues } = this;
    const newValue = entryValue(entry) ?? null;
    const oldValue =
      listener && (newValue === null || sendOldValues) ? (this.readBelow(parts) ?? null) : null;
    this.writeBelow(parts, newValue);
    if (listener && (newValue !== null || oldValue !== null)) {
      listener(parts, newValue, sendOldValues ? oldValue : null, entry.timestamp);
    }
  }

  private evictIfNeeded(): void {
    if (this.flushing) return;
    while (this.cache.overBudget()) {
      const eldest = this.cache.eldest();
      if (eldest === undefined) return;
      // Flushing every dirty entry, not just the eldest, keeps changelog and downstream in write order.
      if (eldest.dirty) {
        this.flushCache();
        // A flush listener that wrote this key back made the entry dirty again: removing it would lose
        // that write. It stays (over budget until the next write) and goes down with the next flush.
        if (eldest.dirty) return;
      }
      this.cache.remove(eldest.key);
      this.counters.cacheEvictions++;
    }
  }
}

/** A cached value as bytes for the caller (a fresh buffer: the cache keeps strings). */
function entryValue(entry: CacheEntry): Buffer | undefined {
  return entry.value === null ? undefined : Buffer.from(entry.value, 'latin1');
}

/**
 * What the window and session caches share: cache keys in the segmented store's layout (so the cache
 * walks in the order of the store below, segment by segment, and scans merge entry by entry), and a
 * stream time of their own (they see puts first) to drop puts into expired windows or sessions and
 * hide expired ones from reads, as the store below would.
 */
export abstract class SegmentedCachingStore<
  Inner extends SegmentedLayer,
  Parts,
  Schema extends SegmentedKeySchema,
> extends CachingStore<Inner, Parts> {
  protected readonly time: StreamTime;

  constructor(
    inner: Inner,
    protected readonly schema: Schema,
  ) {
    super(inner);
    this.time = new StreamTime(inner.retentionPeriod);
  }

  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  get segmentInterval(): number {
    return this.inner.segmentInterval;
  }

  observedStreamTime(): number {
    return this.time.observed;
  }

  protected override afterInit(): void {
    this.time.observed = this.inner.observedStreamTime();
  }

  protected override afterRestore(): void {
    this.time.advance(this.inner.observedStreamTime());
  }

  /** A put at `time` (window start, session end): false, counted, when it is expired. */
  protected admit(time: number): boolean {
    this.time.advance(time);
    if (!this.time.isExpired(time)) return true;
    this.counters.expiredWindowDrops++;
    return false;
  }

  /**
   * Cached entries of the segments of [from, to] (a time range the schema segments by), within the
   * bounds each segment gets, that `accept` takes; in store order.
   */
  protected *walkCache(
    from: number,
    to: number,
    backward: boolean,
    bounds: (segment: number) => [Buffer, Buffer],
    accept: (parts: Parts) => boolean,
  ): Generator<[Parts, CacheEntry]> {
    const { schema } = this;
    for (const segment of segmentIds(schema.segmentId(from), schema.segmentId(to), backward)) {
      const [low, high] = bounds(segment);
      for (const [k, entry] of this.cache.range({
        from: toLatin1(low),
        to: toLatin1(high),
        reverse: backward,
      })) {
        const parts = this.partsOf(k);
        if (accept(parts)) yield [parts, entry];
      }
    }
  }
}
