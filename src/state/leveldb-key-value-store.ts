import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { BTree } from './btree.ts';
import { notOpen, StateStoreError } from './errors.ts';
import { compareStrings, fromLatin1, toLatin1 } from './key-encoding.ts';
import { SortedBytesStore } from './sorted-bytes-store.ts';
import type { KeyValue, StateStoreContext } from './types.ts';
import { UnwrittenRestore } from './unwritten-restore.ts';

type Db = ClassicLevel<Buffer, Buffer>;

const KEY_LOAD_CHUNK = 1000;
const NO_WRITES: ReadonlyMap<string, string | null> = new Map();

/**
 * Persistent bytes store on LevelDB (classic-level), opened at `<taskDir>/<storeName>`.
 *
 * Trade-off: all KEYS live in memory in a sorted index, loaded at init. That keeps every read
 * synchronous: point reads of absent keys never touch the disk, and range and prefix scans walk the
 * index and read values with `db.getSync`. It costs memory per key (the key as a latin1 string plus
 * B+ tree overhead, roughly key length + 40 bytes) and an init time linear in the key count, so
 * stores with very many keys want the values to be the large part.
 *
 * Writes go to a pending map, visible to reads at once, and reach LevelDB as one `db.batch()` on
 * `flush()` (the commit). While a batch is being written, its entries stay readable from `flushing`;
 * flushes run one after another (a restoration flushes while it goes on reading).
 *
 * Restored changelog records skip the pending map: they are kept as LevelDB operations on the
 * record's own buffers (no latin1 copies, no map entry per record) and written first at the next
 * flush. They are older than any pending write, since restoreBatch takes this path only while nothing
 * is pending. Reads still see them: the few reads made during a restoration (a standby's stale
 * reads) index them on first use (UnwrittenRestore).
 */
export class LevelDbKeyValueBytesStore extends SortedBytesStore<undefined> {
  readonly persistent = true;
  private db: Db | undefined;
  private index = new BTree<string, undefined>(undefined, compareStrings);
  /**
   * Writes since the last flush, values as latin1 strings (no aliasing of the caller's buffers, no
   * pinning of the slabs serde output is cut from); null marks a delete.
   */
  private pending = new Map<string, string | null>();
  private flushing: ReadonlyMap<string, string | null> = NO_WRITES;
  /** Restored records not yet written, and those of the batch being written. */
  private restored = new UnwrittenRestore();
  private flushingRestored: UnwrittenRestore | undefined;
  /** Background open of a store created in a fresh directory (see init). */
  private opening: Promise<void> | undefined;
  /** The last flush: the next one starts after it, so `flushing` is always the batch in flight. */
  private flushes: Promise<void> = Promise.resolve();

  init(context: StateStoreContext): Promise<void> {
    if (this.db) return Promise.reject(new StateStoreError(this.name, 'is already open'));
    this.useCounters(context);
    const location = join(context.taskDir, this.name);
    const db: Db = new ClassicLevel<Buffer, Buffer>(location, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    const failed = (error: unknown): StateStoreError =>
      new StateStoreError(this.name, `cannot open LevelDB at ${location}: ${(error as Error).message}`, {
        cause: error,
      });
    if (!existsSync(location)) {
      // Nothing on disk: the store starts empty and is usable at once; LevelDB opens in the background
      // and no read needs it until the first flush has written something (flush and close wait for it).
      this.pending = new Map();
      this.index = new BTree<string, undefined>(undefined, compareStrings);
      this.db = db;
      this.opening = mkdir(context.taskDir, { recursive: true })
        .then(() => db.open())
        .catch(async (error: unknown) => {
          if (this.db === db) this.db = undefined;
          await db.close().catch(() => undefined);
          throw failed(error);
        });
      const opened = this.opening;
      opened.catch(() => undefined); // surfaced by init's promise, flush and close
      return opened;
    }
    return (async () => {
      try {
        await mkdir(context.taskDir, { recursive: true });
        await db.open();
        this.index = await loadKeyIndex(db);
      } catch (error) {
        await db.close().catch(() => undefined);
        throw failed(error);
      }
      this.pending = new Map();
      this.db = db;
    })();
  }

  isOpen(): boolean {
    return this.db !== undefined;
  }

  async flush(): Promise<void> {
    const db = this.openDb();
    const flush = this.flushes.then(() => this.writePending(db));
    this.flushes = flush.catch(() => undefined);
    return flush;
  }

  private async writePending(db: Db): Promise<void> {
    await this.opening;
    if (this.pending.size === 0 && this.restored.size === 0) return;
    const writes = this.pending;
    const restored = this.restored;
    // Restored records first: every pending write is newer (see restoreBatch).
    const ops = restored.ops.slice();
    for (const [key, value] of writes) {
      ops.push(
        value === null
          ? { type: 'del', key: fromLatin1(key) }
          : { type: 'put', key: fromLatin1(key), value: fromLatin1(value) },
      );
    }
    this.flushing = writes;
    this.flushingRestored = restored;
    this.pending = new Map();
    this.restored = new UnwrittenRestore();
    try {
      await db.batch(ops);
    } catch (error) {
      // Keep the unwritten entries under any newer writes made meanwhile (restored records, then
      // writes): the restored ones before those restored since, the pending ones unless overtaken.
      const since = this.restored;
      this.restored = UnwrittenRestore.concat(restored, since);
      for (const [key, value] of writes)
        if (!this.pending.has(key) && since.lookup(key) === undefined) this.pending.set(key, value);
      throw new StateStoreError(this.name, `LevelDB batch write failed: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      this.flushing = NO_WRITES;
      this.flushingRestored = undefined;
    }
  }

  /**
   * Restored records as LevelDB operations on their own buffers (see the class comment); while
   * writes are pending, as writes (a restored record must not overtake a newer pending one).
   */
  override restoreBatch(records: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    this.openDb();
    if (this.pending.size > 0) return super.restoreBatch(records);
    for (const { key, value } of records) {
      const k = toLatin1(key);
      this.restored.add(k, key, value);
      if (value === null) this.index.delete(k);
      else this.index.set(k, undefined);
    }
    this.counters.restored += records.length;
  }

  /** Writes what is pending, then closes LevelDB. */
  async close(): Promise<void> {
    if (!this.db) return;
    try {
      await this.flush();
    } finally {
      const db = this.db;
      this.db = undefined;
      this.opening = undefined;
      this.index = new BTree<string, undefined>(undefined, compareStrings);
      this.pending = new Map();
      this.restored = new UnwrittenRestore();
      await db.close();
    }
  }

  get(key: Buffer): Buffer | undefined {
    this.openDb();
    return this.read(toLatin1(key));
  }

  put(key: Buffer, value: Buffer | null): void {
    this.openDb();
    const k = toLatin1(key);
    this.pending.set(k, value === null ? null : value.toString('latin1'));
    if (value === null) this.index.delete(k);
    else this.index.set(k, undefined);
  }

  /** Keys come from the in-memory index; values from the pending writes or LevelDB. */
  protected get sortedKeys(): BTree<string, undefined> {
    return this.index;
  }

  protected *entriesOf(keys: Iterable<[string, undefined]>): Generator<KeyValue<Buffer, Buffer>> {
    for (const [key] of keys) {
      if (!this.db) throw notOpen(this.name);
      const value = this.read(key);
      if (value !== undefined) yield { key: fromLatin1(key), value };
    }
  }

  private openDb(): Db {
    if (!this.db) throw notOpen(this.name);
    return this.db;
  }

  private read(key: string): Buffer | undefined {
    const pending = this.pending.get(key);
    if (pending !== undefined) return pending === null ? undefined : fromLatin1(pending);
    if (!this.index.has(key)) return undefined;
    // Newest first: restored (never newer than pending), then the batch being written.
    if (this.restored.size > 0) {
      const restored = this.restored.lookup(key);
      if (restored != null) return restored;
    }
    const flushing = this.flushing.get(key);
    if (flushing != null) return fromLatin1(flushing);
    const flushingRestored = this.flushingRestored?.lookup(key);
    if (flushingRestored != null) return flushingRestored;
    return this.db!.getSync(fromLatin1(key));
  }
}

async function loadKeyIndex(db: Db): Promise<BTree<string, undefined>> {
  const index = new BTree<string, undefined>(undefined, compareStrings);
  const keys = db.keys();
  try {
    for (;;) {
      const chunk = await keys.nextv(KEY_LOAD_CHUNK);
      if (chunk.length === 0) break;
      // LevelDB yields keys in order, so appending is cheap for the B+ tree.
      for (const key of chunk) index.set(toLatin1(key), undefined);
    }
  } finally {
    await keys.close();
  }
  return index;
}
