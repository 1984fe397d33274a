import { BTree } from './btree.ts';
import { compareStrings } from './key-encoding.ts';
import { walkRange, type RangeBounds } from './sorted-range.ts';

export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024;
/**
 * Rough per-entry cost beyond key and value bytes: the entry object, its latin1 key and value
 * strings, and its Map and B+ tree slots.
 */
const ENTRY_OVERHEAD = 240;

/**
 * A byte budget that the caches of several stores share, as Kafka Streams' ThreadCache gives a stream
 * thread's share of statestore.cache.max.bytes to all the stores of its tasks: a worker's cache memory
 * is bounded however many tasks and stores it runs. A cache written while the shared total is over
 * the budget evicts its own least recently used entries; a cache cleared (its store closed) gives its
 * bytes back.
 */
export class CacheBudget {
  bytes = 0;
  constructor(readonly maxBytes: number) {}
}

export interface CacheEntry {
  readonly key: string;
  /**
   * The value bytes as a latin1 string (as fast as keeping the caller's buffer, and unlike a
   * buffer cut from a serde's shared slab it pins no 8 KiB slab). Null: deleted (a dirty
   * tombstone) or known absent (clean).
   */
  value: string | null;
  dirty: boolean;
  /** Timestamp of the record that wrote the entry; stamped on what the flush emits. */
  timestamp: number;
  /** Largest timestamp among the writes since the entry became dirty (out-of-order records). */
  latestWrite: number;
  size: number;
  // Two intrusive doubly linked lists: LRU order, and dirty entries in order of latest write.
  lruPrev: CacheEntry | undefined;
  lruNext: CacheEntry | undefined;
  dirtyPrev: CacheEntry | undefined;
  dirtyNext: CacheEntry | undefined;
}

/**
 * The bookkeeping of one store's write-back cache, keyed by latin1 key strings: a Map for lookups,
 * a B+ tree for sorted range merges, and two intrusive linked lists through the entries, one in
 * LRU order and one of the dirty entries in order of their latest write (the flush order, as
 * Kafka Streams' NamedCache). Moving an entry within a list rewrites a few pointers, which is far
 * cheaper in the hot path than re-inserting into an insertion-ordered Map or Set. The caching
 * layers decide what flushing means; this class only tracks.
 */
export class WriteBackCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly sorted = new BTree<string, CacheEntry>(undefined, compareStrings);
  private lruHead: CacheEntry | undefined; // least recently used
  private lruTail: CacheEntry | undefined;
  private dirtyHead: CacheEntry | undefined; // oldest write
  private dirtyTail: CacheEntry | undefined;
  private dirtyEntries = 0;
  private bytes = 0;
  private readonly budget: CacheBudget;

  /** A budget of its own (bytes) or one shared with other caches. */
  constructor(budget: number | CacheBudget) {
    this.budget = typeof budget === 'number' ? new CacheBudget(budget) : budget;
  }

  get maxBytes(): number {
    return this.budget.maxBytes;
  }

  private addBytes(delta: number): void {
    this.bytes += delta;
    this.budget.bytes += delta;
  }

  get size(): number {
    return this.entries.size;
  }

  get dirtyCount(): number {
    return this.dirtyEntries;
  }

  /** Looks up and marks the entry most recently used. */
  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry !== this.lruTail) {
      this.unlinkLru(entry);
      this.appendLru(entry);
    }
    return entry;
  }

  /** A write from the processor: dirty until the next flush. */
  putDirty(key: string, value: Buffer | null, timestamp: number): void {
    const entry = this.set(key, value, timestamp);
    entry.latestWrite = entry.dirty && entry.latestWrite > timestamp ? entry.latestWrite : timestamp;
    if (entry.dirty) {
      if (entry === this.dirtyTail) return;
      this.unlinkDirty(entry);
    } else {
      entry.dirty = true;
      this.dirtyEntries++;
    }
    this.appendDirty(entry);
  }

  /** A value read through from the layer below; never overwrites a dirty entry. */
  putClean(key: string, value: Buffer | null, timestamp: number): void {
    if (this.entries.get(key)?.dirty) return;
    this.set(key, value, timestamp);
  }

  remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.sorted.delete(key);
    this.unlinkLru(entry);
    if (entry.dirty) {
      this.unlinkDirty(entry);
      this.dirtyEntries--;
    }
    this.addBytes(-entry.size);
  }

  /** Hands out the dirty entries in flush order and marks them clean. */
  takeDirty(): CacheEntry[] {
    const out: CacheEntry[] = [];
    for (let entry = this.dirtyHead; entry !== undefined;) {
      const next = entry.dirtyNext;
      entry.dirty = false;
      entry.dirtyPrev = entry.dirtyNext = undefined;
      out.push(entry);
      entry = next;
    }
    this.dirtyHead = this.dirtyTail = undefined;
    this.dirtyEntries = 0;
    return out;
  }

  /** The (shared) budget is exceeded and this cache has entries it could evict. */
  overBudget(): boolean {
    return this.budget.bytes > this.budget.maxBytes && this.entries.size > 0;
  }

  /** Least recently used entry. */
  eldest(): CacheEntry | undefined {
    return this.lruHead;
  }

  range(bounds: RangeBounds): Generator<[string, CacheEntry]> {
    return walkRange(this.sorted, bounds);
  }

  clear(): void {
    this.entries.clear();
    this.sorted.clear();
    this.lruHead = this.lruTail = this.dirtyHead = this.dirtyTail = undefined;
    this.dirtyEntries = 0;
    this.addBytes(-this.bytes);
  }

  private set(key: string, value: Buffer | null, timestamp: number): CacheEntry {
    const size = key.length + (value?.length ?? 0) + ENTRY_OVERHEAD;
    const owned = value === null ? null : value.toString('latin1');
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      this.addBytes(size - entry.size);
      entry.value = owned;
      entry.timestamp = timestamp;
      entry.size = size;
      if (entry !== this.lruTail) {
        this.unlinkLru(entry);
        this.appendLru(entry);
      }
      return entry;
    }
    entry = {
      key,
      value: owned,
      dirty: false,
      timestamp,
      latestWrite: timestamp,
      size,
      lruPrev: undefined,
      lruNext: undefined,
      dirtyPrev: undefined,
      dirtyNext: undefined,
    };
    this.entries.set(key, entry);
    this.sorted.set(key, entry);
    this.appendLru(entry);
    this.addBytes(size);
    return entry;
  }

  private appendLru(entry: CacheEntry): void {
    entry.lruPrev = this.lruTail;
    entry.lruNext = undefined;
    if (this.lruTail) this.lruTail.lruNext = entry;
    else this.lruHead = entry;
    this.lruTail = entry;
  }

  private unlinkLru(entry: CacheEntry): void {
    const { lruPrev: prev, lruNext: next } = entry;
    if (prev) prev.lruNext = next;
    else this.lruHead = next;
    if (next) next.lruPrev = prev;
    else this.lruTail = prev;
    entry.lruPrev = entry.lruNext = undefined;
  }

  private appendDirty(entry: CacheEntry): void {
    entry.dirtyPrev = this.dirtyTail;
    entry.dirtyNext = undefined;
    if (this.dirtyTail) this.dirtyTail.dirtyNext = entry;
    else this.dirtyHead = entry;
    this.dirtyTail = entry;
  }

  private unlinkDirty(entry: CacheEntry): void {
    const { dirtyPrev: prev, dirtyNext: next } = entry;
    if (prev) prev.dirtyNext = next;
    else this.dirtyHead = next;
    if (next) next.dirtyPrev = prev;
    else this.dirtyTail = prev;
    entry.dirtyPrev = entry.dirtyNext = undefined;
  }
}
