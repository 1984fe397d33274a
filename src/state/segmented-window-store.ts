import { countersFor, createStoreCounters } from './counters.ts';
import { notOpen, StateStoreError } from './errors.ts';
import {
  defaultSegmentInterval,
  fromChangelogKey,
  WindowKeySchema,
  type WindowKeyParts,
} from './window-key-schema.ts';
import {
  isExpired,
  liveTimeRange,
  segmentIds,
  type WindowBytesEntry,
  type WindowStoreLayer,
} from './window-store-layer.ts';
import type { KeyValue, KeyValueBytesStore, StateStoreContext, StoreCounters } from './types.ts';
import { afterInnerInit } from './init-chain.ts';
import { SegmentTime } from './segment-time.ts';

/**
 * Reserved key holding the stream time, written on flush and close: a window store must not forget
 * it on reopen (a tombstone can advance it without leaving a key behind). Empty, so it sorts before
 * every window key (those are at least 18 bytes long).
 */

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

export interface SegmentedWindowOptions {
  retentionPeriod: number;
  windowSize: number;
  retainDuplicates: boolean;
  /** Default: max(retention / 2, 60 s), as Kafka Streams. */
  segmentInterval?: number;
}

/**
 * Window store over a key-value bytes store (in-memory or LevelDB), keys laid out by
 * WindowKeySchema. Time is cut into segments of `segmentInterval`; when the stream time (largest
 * window start seen) moves on, every segment wholly past retention is deleted as one key range.
 * Puts into expired windows are dropped (counted as expiredWindowDrops) and reads never show them.
 * The segments that can hold live data span at most retention / segmentInterval + 2 ids, so scans
 * visit those segment ranges one by one.
 */
export class SegmentedWindowBytesStore implements WindowStoreLayer {
  readonly retentionPeriod: number;
  readonly windowSize: number;
  readonly retainDuplicates: boolean;
  readonly segmentInterval: number;
  readonly schema: WindowKeySchema;
  private readonly time: SegmentTime;
  private nextSeq = 0;
  private open = false;
  private counters: StoreCounters = createStoreCounters();

  constructor(
    readonly inner: KeyValueBytesStore,
    options: SegmentedWindowOptions,
  ) {
    const { retentionPeriod, windowSize, retainDuplicates } = options;
    if (!(windowSize > 0))
      throw new StateStoreError(inner.name, `window size must be positive, got ${windowSize}`);
    if (!(retentionPeriod >= windowSize)) {
      throw new StateStoreError(
        inner.name,
        `retention period (${retentionPeriod} ms) must be no smaller than the window size (${windowSize} ms)`,
      );
    }
    this.retentionPeriod = retentionPeriod;
    this.windowSize = windowSize;
    this.retainDuplicates = retainDuplicates;
    this.segmentInterval = options.segmentInterval ?? defaultSegmentInterval(retentionPeriod);
    this.schema = new WindowKeySchema(this.segmentInterval, retainDuplicates);
    this.time = new SegmentTime(inner, this.schema, retentionPeriod);
  }

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  init(context: StateStoreContext): Promise<void> {
    return afterInnerInit(this.inner, this.inner.init(context), () => {
      this.counters = countersFor(context, this.name);
      this.time.reset();
      this.nextSeq = 0;
      this.recoverStreamTime();
      this.time.dropExpiredSegments();
      this.open = true;
    });
  }

  isOpen(): boolean {
    return this.open && this.inner.isOpen();
  }

  flushCache(): void {
    this.inner.flushCache();
  }

  flush(): Promise<void> {
    if (this.open) this.time.persist();
    return this.inner.flush();
  }

  async close(): Promise<void> {
    if (this.open) this.time.persist();
    this.open = false;
    await this.inner.close();
  }

  observedStreamTime(): number {
    return this.time.observed;
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): void {
    this.putAndReturnSeq(key, value, windowStart);
  }

  putAndReturnSeq(key: Buffer, value: Buffer | null, windowStart: number): number {
    this.checkOpen();
    this.checkTime(windowStart);
    if (windowStart > this.time.observed) {
      this.time.observed = windowStart;
      this.time.dropExpiredSegments();
    }
    if (isExpired(windowStart, this.time.observed, this.retentionPeriod)) {
      this.counters.expiredWindowDrops++;
      return -1;
    }
    let seq = 0;
    if (this.retainDuplicates) {
      // Every put is its own entry, so there is nothing for a null to delete (as Kafka Streams).
      if (value === null) return -1;
      seq = this.nextSeq;
      this.nextSeq = (seq + 1) >>> 0;
    }
    this.inner.put(this.schema.toStoreKey(key, windowStart, seq), value);
    return seq;
  }

  fetch(key: Buffer, windowStart: number): Buffer | undefined {
    this.checkOpen();
    this.checkTime(windowStart);
    if (isExpired(windowStart, this.time.observed, this.retentionPeriod)) return undefined;
    if (!this.retainDuplicates) return this.inner.get(this.schema.toStoreKey(key, windowStart, 0));
    const [low, high] = this.schema.timeRangeBounds(
      this.schema.segmentId(windowStart),
      key,
      windowStart,
      windowStart,
    );
    for (const entry of this.inner.range(low, high)) return entry.value;
    return undefined;
  }

  fetchRange(
    key: Buffer,
    timeFrom: number,
    timeTo: number,
    backward = false,
  ): IterableIterator<{ windowStart: number; value: Buffer }> {
    this.checkOpen();
    return this.scanKey(key, timeFrom, timeTo, backward);
  }

  fetchKeyRange(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    timeFrom: number,
    timeTo: number,
    backward = false,
  ): IterableIterator<WindowBytesEntry> {
    this.checkOpen();
    return this.scanKeys(keyFrom, keyTo, timeFrom, timeTo, backward);
  }

  all(): IterableIterator<WindowBytesEntry> {
    return this.fetchKeyRange(undefined, undefined, MIN_TIME, MAX_TIME);
  }

  /** Records keyed as the changelog has them (see toChangelogKey); expired ones are skipped. */
  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    const batch: Array<KeyValue<Buffer, Buffer | null>> = [];
    for (const record of records) {
      let parts: WindowKeyParts;
      try {
        parts = fromChangelogKey(record.key);
      } catch (error) {
        throw new StateStoreError(this.name, `cannot restore: ${(error as Error).message}`, { cause: error });
      }
      const { key, windowStart, seq } = parts;
      if (windowStart > this.time.observed) this.time.observed = windowStart;
      if (isExpired(windowStart, this.time.observed, this.retentionPeriod)) continue;
      if (this.retainDuplicates && seq >= this.nextSeq) this.nextSeq = (seq + 1) >>> 0;
      batch.push({ key: this.schema.toStoreKey(key, windowStart, seq), value: record.value });
    }
    this.inner.restoreBatch(batch);
    this.time.dropExpiredSegments();
  }

  private *scanKey(
    key: Buffer,
    timeFrom: number,
    timeTo: number,
    backward: boolean,
  ): Generator<{ windowStart: number; value: Buffer }> {
    const live = liveTimeRange(this.time.observed, this.retentionPeriod, timeFrom, timeTo);
    if (live === undefined) return;
    const [from, to] = live;
    const { schema } = this;
    for (const segment of segmentIds(schema.segmentId(from), schema.segmentId(to), backward)) {
      const [low, high] = schema.timeRangeBounds(segment, key, from, to);
      for (const entry of this.inner.range(low, high, backward)) {
        yield { windowStart: schema.windowStartOf(entry.key), value: entry.value };
      }
    }
  }

  private *scanKeys(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    timeFrom: number,
    timeTo: number,
    backward: boolean,
  ): Generator<WindowBytesEntry> {
    if (keyFrom !== undefined && keyTo !== undefined && Buffer.compare(keyFrom, keyTo) > 0) return;
    const live = liveTimeRange(this.time.observed, this.retentionPeriod, timeFrom, timeTo);
    if (live === undefined) return;
    const [from, to] = live;
    const { schema } = this;
    for (const segment of segmentIds(schema.segmentId(from), schema.segmentId(to), backward)) {
      const [low, high] = schema.keyRangeBounds(segment, keyFrom, keyTo);
      for (const entry of this.inner.range(low, high, backward)) {
        const windowStart = schema.windowStartOf(entry.key);
        if (windowStart < from || windowStart > to) continue;
        yield { key: schema.fromStoreKey(entry.key).key, windowStart, value: entry.value };
      }
    }
  }

  /**
   * Stream time of persisted data: the stored one, else the largest window start in the last
   * segment; and the next sequence number, past those in the last segment.
   */
  private recoverStreamTime(): void {
    if (this.time.loadPersisted() && !this.retainDuplicates) return;
    for (const key of this.time.lastSegmentKeys()) {
      const { windowStart, seq } = this.schema.fromStoreKey(key);
      this.time.advance(windowStart);
      if (seq >= this.nextSeq) this.nextSeq = (seq + 1) >>> 0;
    }
  }

  private checkTime(windowStart: number): void {
    if (!Number.isSafeInteger(windowStart)) {
      throw new StateStoreError(this.name, `window start must be an integer, got ${windowStart}`);
    }
  }

  private checkOpen(): void {
    if (!this.open) throw notOpen(this.name);
  }
}
