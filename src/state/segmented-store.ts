import { countersFor, createStoreCounters } from './counters.ts';
import { notOpen, StateStoreError } from './errors.ts';
import { afterInnerInit } from './init-chain.ts';
import { readSortableInt64, sortableInt64 } from './key-encoding.ts';
import { keysOf } from './key-scan.ts';
import type { SegmentedKeySchema } from './segmented-key-schema.ts';
import { StreamTime, type SegmentedLayer } from './store-layers.ts';
import type { KeyValue, KeyValueBytesStore, StateStoreContext, StoreCounters } from './types.ts';
import { WrappedStateStore, type ChangelogRecord } from './wrapped-state-store.ts';

/** Reserved key (sorts first) where a segmented store keeps its stream time. */
const STREAM_TIME_KEY = Buffer.alloc(0);
/** Lower bound of data keys: skips STREAM_TIME_KEY. */
const FIRST_DATA_KEY = Buffer.alloc(1);

/**
 * What the segmented window and session stores share, over a key-value bytes store (in-memory or
 * LevelDB) whose keys their schema lays out segment first. The stream time is the largest time seen
 * (window start, session end); data at or before `streamTime - retention` is expired: puts into it
 * are dropped (counted as expiredWindowDrops), reads skip it, and whole segments of it are deleted
 * as one key range when the stream time moves on. The stream time is persisted under a reserved key
 * on flush and close, so that expired data stays expired after a reopen (a tombstone can advance
 * the stream time without leaving a key behind). A kind adds its key schema, reads and restoration.
 */
export abstract class SegmentedBytesStore<Schema extends SegmentedKeySchema>
  extends WrappedStateStore<KeyValueBytesStore>
  implements SegmentedLayer
{
  readonly segmentInterval: number;
  protected counters: StoreCounters = createStoreCounters();
  protected readonly time: StreamTime;
  private persisted = -Infinity;
  /** Every segment below this id has been deleted. */
  private liveFromSegment = -Infinity;
  private open = false;

  constructor(
    inner: KeyValueBytesStore,
    readonly retentionPeriod: number,
    readonly schema: Schema,
  ) {
    super(inner);
    this.segmentInterval = schema.segmentInterval;
    this.time = new StreamTime(retentionPeriod);
  }

  override init(context: StateStoreContext): Promise<void> {
    return afterInnerInit(this.inner, this.inner.init(context), () => {
      this.counters = countersFor(context, this.name);
      this.time.observed = this.persisted = this.liveFromSegment = -Infinity;
      this.recover();
      this.dropExpiredSegments();
      this.open = true;
    });
  }

  override isOpen(): boolean {
    return this.open && this.inner.isOpen();
  }

  override flush(): Promise<void> {
    if (this.open) this.persist();
    return this.inner.flush();
  }

  override async close(): Promise<void> {
    if (this.open) this.persist();
    this.open = false;
    await this.inner.close();
  }

  observedStreamTime(): number {
    return this.time.observed;
  }

  /** Records keyed as the changelog has them; expired ones are skipped. */
  override restoreBatch(records: ReadonlyArray<ChangelogRecord>): void {
    const batch: Array<KeyValue<Buffer, Buffer | null>> = [];
    for (const record of records) {
      let storeKey: Buffer | undefined;
      try {
        storeKey = this.restoredKey(record.key);
      } catch (error) {
        throw new StateStoreError(this.name, `cannot restore: ${(error as Error).message}`, { cause: error });
      }
      if (storeKey !== undefined) batch.push({ key: storeKey, value: record.value });
    }
    this.inner.restoreBatch(batch);
    this.dropExpiredSegments();
  }

  /**
   * The store key of a changelog key, or undefined when it is expired (see `restoredTime`); throws
   * when the changelog key is malformed.
   */
  protected abstract restoredKey(changelogKey: Buffer): Buffer | undefined;

  /**
   * Recovers the kind's state of persisted data at init: the stream time, from `loadPersisted()` or
   * else from the keys of the newest segment (`lastSegmentKeys()`).
   */
  protected abstract recover(): void;

  /** Advances the stream time to a restored record's time; false when that time is expired. */
  protected restoredTime(time: number): boolean {
    this.time.advance(time);
    return !this.time.isExpired(time);
  }

  /**
   * A put at `time`: advances the stream time (deleting segments that fell out of retention);
   * false, counted as an expired-window drop, when the time is expired and nothing may be stored.
   */
  protected admit(time: number): boolean {
    if (this.time.advance(time)) this.dropExpiredSegments();
    if (!this.time.isExpired(time)) return true;
    this.counters.expiredWindowDrops++;
    return false;
  }

  protected checkOpen(): void {
    if (!this.open) throw notOpen(this.name);
  }

  /** Loads the persisted stream time; false when none was written. */
  protected loadPersisted(): boolean {
    const stored = this.inner.get(STREAM_TIME_KEY);
    if (stored === undefined) return false;
    this.time.observed = this.persisted = readSortableInt64(stored, 0);
    return true;
  }

  /** Keys of the newest segment, to derive the state of data written before it was persisted. */
  protected *lastSegmentKeys(): Generator<Buffer> {
    let lastSegment: number | undefined;
    for (const key of keysOf(this.inner, FIRST_DATA_KEY, undefined, true)) {
      lastSegment = this.schema.segmentOf(key);
      break;
    }
    if (lastSegment === undefined) return;
    const [low, high] = this.schema.keyRangeBounds(lastSegment, undefined, undefined);
    yield* keysOf(this.inner, low, high);
  }

  /** Writes the stream time if it moved since the last write. */
  private persist(): void {
    const { observed } = this.time;
    if (observed === this.persisted) return;
    this.inner.put(STREAM_TIME_KEY, sortableInt64(observed));
    this.persisted = observed;
  }

  /** Deletes every segment wholly older than stream time - retention. */
  private dropExpiredSegments(): void {
    const { observed } = this.time;
    if (observed === -Infinity) return;
    const firstLive = this.schema.segmentId(observed - this.retentionPeriod);
    if (firstLive <= this.liveFromSegment) return;
    // Collected first: not every store iterator tolerates writes while it walks. The bare prefix of
    // the first live segment is shorter than its keys: an exclusive bound.
    const expired = [...keysOf(this.inner, FIRST_DATA_KEY, this.schema.segmentPrefix(firstLive))];
    for (const key of expired) this.inner.put(key, null);
    this.liveFromSegment = firstLive;
  }
}
