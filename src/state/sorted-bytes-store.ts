import type { BTree } from './btree.ts';
import { countersFor, createStoreCounters } from './counters.ts';
import { notOpen } from './errors.ts';
import { fromLatin1, toLatin1 } from './key-encoding.ts';
import type { KeyScanningBytesStore } from './key-scan.ts';
import { deleteVia, putAllVia, putIfAbsentVia } from './key-value-ops.ts';
import { latin1Bounds, walkRange } from './sorted-range.ts';
import type { KeyValue, StateStoreContext, StoreCounters } from './types.ts';

/**
 * What the innermost bytes stores (in-memory and LevelDB) share: keys held in memory as latin1
 * strings in a B+ tree (string order is unsigned byte order), which scans walk in chunks; the
 * read-then-write operations over the store's own get and put; restoration as plain writes. A store
 * says how it opens, reads and writes, and how a walked key becomes an entry (`V`: what the tree
 * keeps beside each key).
 */
export abstract class SortedBytesStore<V> implements KeyScanningBytesStore {
  abstract readonly persistent: boolean;
  protected counters: StoreCounters = createStoreCounters();

  constructor(readonly name: string) {}

  abstract init(context: StateStoreContext): Promise<void>;
  abstract isOpen(): boolean;
  abstract flush(): Promise<void>;
  abstract close(): Promise<void>;
  abstract get(key: Buffer): Buffer | undefined;
  abstract put(key: Buffer, value: Buffer | null): void;

  flushCache(): void {}

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    return putIfAbsentVia(this, key, value);
  }

  putAll(entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    putAllVia(this, entries);
  }

  delete(key: Buffer): Buffer | undefined {
    return deleteVia(this, key);
  }

  range(
    from: Buffer | undefined,
    to: Buffer | undefined,
    reverse = false,
  ): IterableIterator<KeyValue<Buffer, Buffer>> {
    this.checkOpen();
    return this.entriesOf(walkRange(this.sortedKeys, latin1Bounds(from, to, reverse)));
  }

  /** Keys only, from the in-memory tree: no value reads. */
  *keys(from: Buffer | undefined, to: Buffer | undefined, reverse = false): IterableIterator<Buffer> {
    this.checkOpen();
    for (const [key] of walkRange(this.sortedKeys, latin1Bounds(from, to, reverse))) yield fromLatin1(key);
  }

  prefixScan(prefix: Buffer): IterableIterator<KeyValue<Buffer, Buffer>> {
    this.checkOpen();
    return this.entriesOf(walkRange(this.sortedKeys, { prefix: toLatin1(prefix) }));
  }

  approximateNumEntries(): number {
    this.checkOpen();
    return this.sortedKeys.size;
  }

  /** Lands like any write (for LevelDB in the pending batch; the restorer flushes between large batches). */
  restoreBatch(records: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    this.putAll(records);
    this.counters.restored += records.length;
  }

  /** Every key of the store (latin1), in order. */
  protected abstract get sortedKeys(): BTree<string, V>;

  /** The entries of walked keys, with their values. */
  protected abstract entriesOf(walk: Iterable<[string, V]>): IterableIterator<KeyValue<Buffer, Buffer>>;

  protected useCounters(context: StateStoreContext): void {
    this.counters = countersFor(context, this.name);
  }

  protected checkOpen(): void {
    if (!this.isOpen()) throw notOpen(this.name);
  }
}
