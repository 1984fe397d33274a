import { countersFor, createStoreCounters } from './counters.ts';
import { notOpen } from './errors.ts';
import { contextWithTimestamp } from './store-context.ts';
import type { StateStore, StateStoreContext, StoreCounters } from './types.ts';
import { DEFAULT_CACHE_MAX_BYTES, WriteBackCache, type CacheEntry } from './write-back-cache.ts';
import { afterInnerInit } from './init-chain.ts';

/**
 * What the key-value and window caching layers share: the cache, flushing its dirty entries in the
 * order of their latest write, eviction past the byte budget, and the timestamp hand-off to the
 * layers below. Subclasses say how one dirty entry goes down (`flushEntry`).
 */
export abstract class CachingLayer<Inner extends StateStore> {
  protected cache = new WriteBackCache(DEFAULT_CACHE_MAX_BYTES);
  protected counters: StoreCounters = createStoreCounters();
  protected context: StateStoreContext | undefined;
  /** Timestamp of the entry being flushed, seen by the layers below as the current timestamp. */
  private flushTimestamp: number | undefined;
  private flushing = false;

  constructor(readonly inner: Inner) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  init(context: StateStoreContext): Promise<void> {
    this.cache = new WriteBackCache(context.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES);
    this.counters = countersFor(context, this.name);
    const innerInit = this.inner.init(contextWithTimestamp(context, () => this.flushTimestamp));
    return afterInnerInit(this.inner, innerInit, () => {
      this.context = context;
      this.afterInit();
    });
  }

  /** Hook for subclasses that read the inner store once it is open. */
  protected afterInit(): void {}

  isOpen(): boolean {
    return this.context !== undefined && this.inner.isOpen();
  }

  flushCache(): void {
    if (this.flushing) return; // a flush listener writing back into this store: next flush takes it
    const dirty = this.cache.takeDirty();
    if (dirty.length > 0) {
      this.flushing = true;
      try {
        for (const entry of dirty) {
          this.flushTimestamp = entry.timestamp;
          this.flushEntry(entry.key, entry);
        }
      } finally {
        this.flushing = false;
        this.flushTimestamp = undefined;
      }
      this.counters.cacheFlushedEntries += dirty.length;
    }
    this.inner.flushCache();
  }

  async flush(): Promise<void> {
    this.flushCache();
    await this.inner.flush();
  }

  /** Flushes the cache (forwarding to the listener, as Kafka Streams does), then closes below. */
  async close(): Promise<void> {
    if (this.context === undefined) return;
    try {
      this.flushCache();
    } finally {
      this.context = undefined;
      this.cache.clear();
      await this.inner.close();
    }
  }

  /** Writes one formerly dirty entry to the layer below and tells the listener. */
  protected abstract flushEntry(key: string, entry: CacheEntry): void;

  protected writeDirty(key: string, value: Buffer | null): void {
    this.cache.putDirty(key, value, this.openContext().currentTimestamp());
    this.evictIfNeeded();
  }

  protected readThrough(key: string, value: Buffer | undefined): void {
    if (value === undefined) return;
    this.cache.putClean(key, value, -1);
    this.evictIfNeeded();
  }

  /** A cached value as bytes for the caller (a fresh buffer: the cache keeps strings). */
  protected static valueOf(entry: CacheEntry): Buffer | undefined {
    return entry.value === null ? undefined : Buffer.from(entry.value, 'latin1');
  }

  protected openContext(): StateStoreContext {
    if (this.context === undefined) throw notOpen(this.name);
    return this.context;
  }

  private evictIfNeeded(): void {
    if (this.flushing) return;
    while (this.cache.overBudget()) {
      const eldest = this.cache.eldest();
      if (eldest === undefined) return;
      // Flushing every dirty entry, not just the eldest, keeps changelog and downstream in write order.
      if (eldest.dirty) this.flushCache();
      this.cache.remove(eldest.key);
      this.counters.cacheEvictions++;
    }
  }
}
