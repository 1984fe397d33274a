import { StateStoreError } from './errors.ts';
import { SegmentedBytesStore } from './segmented-store.ts';
import { segmentIds, type WindowBytesEntry, type WindowStoreLayer } from './store-layers.ts';
import type { KeyValueBytesStore } from './types.ts';
import {
  checkWindowStart,
  defaultSegmentInterval,
  fromChangelogKey,
  WindowKeySchema,
} from './window-key-schema.ts';

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
 * Window store over a key-value bytes store, keys laid out by WindowKeySchema; time is the window
 * start (segments, expiry and stream time as SegmentedBytesStore). The segments that can hold live
 * data span at most retention / segmentInterval + 2 ids, so scans visit those segment ranges one
 * by one. With retainDuplicates every put is its own entry under a fresh sequence number.
 */
export class SegmentedWindowBytesStore
  extends SegmentedBytesStore<WindowKeySchema>
  implements WindowStoreLayer
{
  readonly windowSize: number;
  readonly retainDuplicates: boolean;
  private nextSeq = 0;

  constructor(inner: KeyValueBytesStore, options: SegmentedWindowOptions) {
    const { retentionPeriod, windowSize, retainDuplicates } = options;
    if (!(windowSize > 0))
      throw new StateStoreError(inner.name, `window size must be positive, got ${windowSize}`);
    if (!(retentionPeriod >= windowSize)) {
      throw new StateStoreError(
        inner.name,
        `retention period (${retentionPeriod} ms) must be no smaller than the window size (${windowSize} ms)`,
      );
    }
    const segmentInterval = options.segmentInterval ?? defaultSegmentInterval(retentionPeriod);
    super(inner, retentionPeriod, new WindowKeySchema(segmentInterval, retainDuplicates));
    this.windowSize = windowSize;
    this.retainDuplicates = retainDuplicates;
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): void {
    this.putAndReturnSeq(key, value, windowStart);
  }

  putAndReturnSeq(key: Buffer, value: Buffer | null, windowStart: number): number {
    this.checkOpen();
    checkWindowStart(this.name, windowStart);
    if (!this.admit(windowStart)) return -1;
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
    checkWindowStart(this.name, windowStart);
    if (this.time.isExpired(windowStart)) return undefined;
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

  /** Changelog keys as toChangelogKey writes them (raw key + window start + seq). */
  protected restoredKey(changelogKey: Buffer): Buffer | undefined {
    const { key, windowStart, seq } = fromChangelogKey(changelogKey);
    if (!this.restoredTime(windowStart)) return undefined;
    if (this.retainDuplicates && seq >= this.nextSeq) this.nextSeq = (seq + 1) >>> 0;
    return this.schema.toStoreKey(key, windowStart, seq);
  }

  /**
   * Stream time of persisted data: the stored one, else the largest window start in the last
   * segment; and the next sequence number, past those in the last segment.
   */
  protected recover(): void {
    this.nextSeq = 0;
    if (this.loadPersisted() && !this.retainDuplicates) return;
    for (const key of this.lastSegmentKeys()) {
      const { windowStart, seq } = this.schema.fromStoreKey(key);
      this.time.advance(windowStart);
      if (seq >= this.nextSeq) this.nextSeq = (seq + 1) >>> 0;
    }
  }

  private *scanKey(
    key: Buffer,
    timeFrom: number,
    timeTo: number,
    backward: boolean,
  ): Generator<{ windowStart: number; value: Buffer }> {
    const live = this.time.liveRange(timeFrom, timeTo);
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
    const live = this.time.liveRange(timeFrom, timeTo, keyFrom, keyTo);
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
}
