/**
 * The per-bucket delta index of a queryable store (DESIGN.md, "Lambda semantics"): what the speed
 * layer added to each key in each time bucket that no published batch view covers yet, so the serving
 * layer can answer `batch[key] ⊕ Σ_{b ≥ B} delta[key, b]`.
 *
 * - Mergeable stores (count, sum, aggregate with merge) keep a partial aggregate per (key, bucket):
 *   the aggregation processor folds each record into the partial of the record's bucket.
 * - Other stores (tables, reduce and aggregate without merge) keep a marker per (key, bucket) the key
 *   changed in (a tombstone counts): the serving layer then answers the speed value for keys changed
 *   at or after the boundary, the batch value for the others.
 *
 * The index lives in a key-value store of its own (`<store>-delta`, changelogged like any store, so it
 * survives failover), keyed by the bucket (8 bytes, sortable) followed by the store key in changelog
 * form (key-value: the serialized key; window: key + window start + 0; session: key + end + start).
 * Buckets below a swapped-in view's boundary are pruned.
 */
import type { Serde } from '../serde/serde.ts';
import { readSortableInt64, writeSortableInt64 } from './key-encoding.ts';
import { toSessionChangelogKey } from './session-key-schema.ts';
import type { KeyValueStore } from './types.ts';
import { toChangelogKey } from './window-key-schema.ts';

const BUCKET_BYTES = 8;
const MARKER = Buffer.alloc(0);

/** Name of the store that holds the delta index of `store`. */
export function deltaStoreName(store: string): string {
  return `${store}-delta`;
}

export class DeltaIndex<K = unknown, V = unknown> {
  /** Buckets that hold at least one entry, kept in memory (few: those no view covers yet). */
  private readonly present = new Set<number>();
  /** False until the buckets were read from the store (and again after a restore). */
  private loaded = false;
  /** `present`, sorted; rebuilt when a bucket comes or goes. */
  private sorted: number[] | undefined;
  /** The boundary of the view in use: updates below it are already in the view (or late). */
  boundary = Number.NEGATIVE_INFINITY;
  /** Updates for buckets below the boundary (records the view holds, or late records). */
  belowBoundary = 0;
  /**
   * Written since the last flush (index key as latin1 → key and value): a write-back cache, so a
   * record costs a map lookup and a fold, and the store (and its changelog) sees one write per entry
   * and commit. Values are decoded partials (mergeable) or MARKER.
   */
  private readonly dirty = new Map<string, { indexKey: Buffer; value: V | Buffer }>();

  constructor(
    readonly store: string,
    private readonly entries: KeyValueStore<Buffer, Buffer>,
    readonly mergeable: boolean,
    readonly bucketMs: number,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  /** Forgets which buckets exist: read again from the store on next use (after a restore). */
  invalidate(): void {
    this.loaded = false;
  }

  private ensureLoaded(): void {
    if (this.loaded) return;
    this.present.clear();
    for (const { key } of this.entries.all()) this.present.add(readSortableInt64(key, 0));
    this.loaded = true;
    this.sorted = undefined;
  }

  bucketOf(timestamp: number): number {
    return Math.floor(timestamp / this.bucketMs);
  }

  /** Buckets present, ascending. */
  buckets(): number[] {
    this.ensureLoaded();
    this.sorted ??= [...this.present].sort((a, b) => a - b);
    return this.sorted;
  }

  /** Folds an update into the partial of (key, bucket of timestamp). Mergeable stores only. */
  addPartial(key: K, timestamp: number, fold: (previous: V | undefined) => V): void {
    this.addPartialBytes(this.keySerde.serialize(key), timestamp, fold);
  }

  /** Same for one window of a window store. */
  addWindowPartial(
    key: K,
    windowStart: number,
    timestamp: number,
    fold: (previous: V | undefined) => V,
  ): void {
    this.addPartialBytes(toChangelogKey(this.keySerde.serialize(key), windowStart, 0), timestamp, fold);
  }

  /** Notes that a key (in changelog form) changed at `timestamp`. Non-mergeable stores. */
  markChanged(storeKey: Buffer, timestamp: number): void {
    const bucket = this.bucketOf(timestamp);
    if (bucket < this.boundary) this.belowBoundary++;
    this.ensureLoaded();
    const indexKey = this.indexKey(bucket, storeKey);
    this.dirty.set(indexKey.toString('latin1'), { indexKey, value: MARKER });
    this.addBucket(bucket);
  }

  /** Same, for a session (key, start, end). */
  markSessionChanged(key: K, start: number, end: number, timestamp: number): void {
    this.markChanged(toSessionChangelogKey(this.keySerde.serialize(key), start, end), timestamp);
  }

  /** Whether one key (changelog form) has an entry in a bucket >= fromBucket. */
  changedSince(storeKey: Buffer, fromBucket: number): boolean {
    for (const bucket of this.buckets()) {
      if (bucket >= fromBucket && this.read(this.indexKey(bucket, storeKey)) !== undefined) return true;
    }
    return false;
  }

  /** Partials of one key in buckets >= fromBucket, decoded, ascending. Mergeable stores. */
  partialsOf(storeKey: Buffer, fromBucket: number): V[] {
    const out: V[] = [];
    for (const bucket of this.buckets()) {
      if (bucket < fromBucket) continue;
      const value = this.read(this.indexKey(bucket, storeKey));
      if (value !== undefined) out.push(value as V);
    }
    return out;
  }

  /** Writes the entries changed since the last flush to the store (the task's commit calls it). */
  flush(): void {
    for (const { indexKey, value } of this.dirty.values())
      this.entries.put(indexKey, value === MARKER ? MARKER : this.valueSerde.serialize(value as V));
    this.dirty.clear();
  }

  /** Keys (changelog form) with an entry in buckets >= fromBucket, each once, in key order. */
  keysSince(fromBucket: number): Buffer[] {
    const seen = new Map<string, Buffer>();
    for (const bucket of this.buckets()) {
      if (bucket < fromBucket) continue;
      const prefix = Buffer.allocUnsafe(BUCKET_BYTES);
      writeSortableInt64(prefix, bucket, 0);
      for (const { key } of this.entries.prefixScan(prefix)) {
        const storeKey = key.subarray(BUCKET_BYTES);
        seen.set(storeKey.toString('latin1'), Buffer.from(storeKey));
      }
    }
    for (const { indexKey } of this.dirty.values()) {
      if (readSortableInt64(indexKey, 0) < fromBucket) continue;
      const storeKey = indexKey.subarray(BUCKET_BYTES);
      seen.set(storeKey.toString('latin1'), Buffer.from(storeKey));
    }
    return [...seen.values()].sort(Buffer.compare);
  }

  /** Deletes every entry in buckets below `bucket` (a view covering them was swapped in). */
  prune(belowBucket: number): number {
    let deleted = 0;
    for (const bucket of this.buckets()) {
      if (bucket >= belowBucket) continue;
      const prefix = Buffer.allocUnsafe(BUCKET_BYTES);
      writeSortableInt64(prefix, bucket, 0);
      const keys = [...this.entries.prefixScan(prefix)].map((e) => e.key);
      for (const key of keys) this.entries.delete(key);
      deleted += keys.length;
      this.present.delete(bucket);
      this.sorted = undefined;
    }
    for (const [id, { indexKey }] of this.dirty)
      if (readSortableInt64(indexKey, 0) < belowBucket) this.dirty.delete(id);
    return deleted;
  }

  private addPartialBytes(storeKey: Buffer, timestamp: number, fold: (previous: V | undefined) => V): void {
    const bucket = this.bucketOf(timestamp);
    if (bucket < this.boundary) this.belowBoundary++;
    this.ensureLoaded();
    const indexKey = this.indexKey(bucket, storeKey);
    const id = indexKey.toString('latin1');
    const cached = this.dirty.get(id);
    const previous = cached ? (cached.value as V) : (this.read(indexKey) as V | undefined);
    if (cached) cached.value = fold(previous);
    else this.dirty.set(id, { indexKey, value: fold(previous) });
    this.addBucket(bucket);
  }

  private addBucket(bucket: number): void {
    if (this.present.has(bucket)) return;
    this.present.add(bucket);
    this.sorted = undefined;
  }

  /** An entry through the write-back cache: a decoded partial, MARKER, or undefined. */
  private read(indexKey: Buffer): V | Buffer | undefined {
    const cached = this.dirty.get(indexKey.toString('latin1'));
    if (cached) return cached.value;
    const stored = this.entries.get(indexKey);
    if (stored === undefined) return undefined;
    return this.mergeable ? this.valueSerde.deserialize(stored) : MARKER;
  }

  private indexKey(bucket: number, storeKey: Buffer): Buffer {
    const out = Buffer.allocUnsafe(BUCKET_BYTES + storeKey.length);
    writeSortableInt64(out, bucket, 0);
    storeKey.copy(out, BUCKET_BYTES);
    return out;
  }
}
