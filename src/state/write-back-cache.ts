import { BTree } from './btree.ts';
import { compareStrings, ownedBytes } from './key-encoding.ts';
import { walkRange, type RangeBounds } from './sorted-range.ts';

export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024;
/** Rough per-entry cost beyond key and value bytes (map and tree slots, entry object, buffer header). */
const ENTRY_OVERHEAD = 120;

export interface CacheEntry {
  /** Null: deleted (a dirty tombstone) or known absent (clean). */
  value: Buffer | null;
  dirty: boolean;
  /** Timestamp of the record that wrote the entry; stamped on what the flush emits. */
  timestamp: number;
  size: number;
}

/**
 * The bookkeeping of one store's write-back cache, keyed by latin1 key strings: a Map for lookups
 * whose insertion order is the LRU order, a B+ tree for sorted range merges, and the dirty keys in
 * the order of their latest write (the flush order, as Kafka Streams' NamedCache). The caching
 * layers decide what flushing means; this class only tracks.
 */
export class WriteBackCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly sorted = new BTree<string, CacheEntry>(undefined, compareStrings);
  private dirtyKeys = new Set<string>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  get dirtyCount(): number {
    return this.dirtyKeys.size;
  }

  /** Looks up and marks the entry most recently used. */
  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** A write from the processor: dirty until the next flush. */
  putDirty(key: string, value: Buffer | null, timestamp: number): void {
    this.set(key, value, true, timestamp);
    this.dirtyKeys.delete(key);
    this.dirtyKeys.add(key);
  }

  /** A value read through from the layer below; never overwrites a dirty entry. */
  putClean(key: string, value: Buffer | null, timestamp: number): void {
    if (this.entries.get(key)?.dirty) return;
    this.set(key, value, false, timestamp);
  }

  remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.sorted.delete(key);
    this.dirtyKeys.delete(key);
    this.bytes -= entry.size;
  }

  /** Hands out the dirty entries in flush order and marks them clean. */
  takeDirty(): Array<[string, CacheEntry]> {
    const out: Array<[string, CacheEntry]> = [];
    const keys = this.dirtyKeys;
    this.dirtyKeys = new Set();
    for (const key of keys) {
      const entry = this.entries.get(key)!;
      entry.dirty = false;
      out.push([key, entry]);
    }
    return out;
  }

  overBudget(): boolean {
    return this.bytes > this.maxBytes;
  }

  /** Least recently used entry. */
  eldest(): [string, CacheEntry] | undefined {
    for (const pair of this.entries) return pair;
    return undefined;
  }

  range(bounds: RangeBounds): Generator<[string, CacheEntry]> {
    return walkRange(this.sorted, bounds);
  }

  clear(): void {
    this.entries.clear();
    this.sorted.clear();
    this.dirtyKeys.clear();
    this.bytes = 0;
  }

  private set(key: string, value: Buffer | null, dirty: boolean, timestamp: number): void {
    const size = key.length + (value?.length ?? 0) + ENTRY_OVERHEAD;
    const owned = value === null ? null : ownedBytes(value);
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.bytes += size - entry.size;
      entry.value = owned;
      entry.dirty = dirty;
      entry.timestamp = timestamp;
      entry.size = size;
      this.entries.delete(key);
      this.entries.set(key, entry);
      return;
    }
    const fresh: CacheEntry = { value: owned, dirty, timestamp, size };
    this.entries.set(key, fresh);
    this.sorted.set(key, fresh);
    this.bytes += size;
  }
}
