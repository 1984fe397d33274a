import { SegmentedCachingStore } from './caching-store.ts';
import { StateStoreError } from './errors.ts';
import { toLatin1, fromLatin1 } from './key-encoding.ts';
import { mergeCacheWithStore } from './merge-iterators.ts';
import type { WindowBytesEntry, WindowStoreLayer } from './store-layers.ts';
import {
  checkWindowStart,
  fromChangelogKey,
  WindowKeySchema,
  type WindowKeyParts,
} from './window-key-schema.ts';

/** Bytes-level flush listener of a window store. Null: no value. */
export type WindowBytesFlushListener = (
  key: Buffer,
  windowStart: number,
  newValue: Buffer | null,
  oldValue: Buffer | null,
  timestamp: number,
) => void;

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * Write-back cache over a window store (Kafka Streams' CachingWindowStore): cache keys are the
 * segmented store's keys (sequence number 0), time is the window start. Not for retainDuplicates
 * stores: every duplicate is its own entry there, nothing to deduplicate (Kafka Streams disables
 * it too).
 */
export class CachingWindowBytesStore
  extends SegmentedCachingStore<WindowStoreLayer, WindowKeyParts, WindowKeySchema>
  implements WindowStoreLayer
{
  constructor(inner: WindowStoreLayer) {
    if (inner.retainDuplicates) {
      throw new StateStoreError(inner.name, 'caching cannot be enabled on a store that retains duplicates');
    }
    super(inner, new WindowKeySchema(inner.segmentInterval, false));
  }

  get windowSize(): number {
    return this.inner.windowSize;
  }

  get retainDuplicates(): boolean {
    return false;
  }

  setFlushListener(listener: WindowBytesFlushListener, sendOldValues: boolean): void {
    this.setEntryFlushListener(
      ({ key, windowStart }, newValue, oldValue, timestamp) =>
        listener(key, windowStart, newValue, oldValue, timestamp),
      sendOldValues,
    );
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): void {
    this.putAndReturnSeq(key, value, windowStart);
  }

  putAndReturnSeq(key: Buffer, value: Buffer | null, windowStart: number): number {
    this.openContext();
    checkWindowStart(this.name, windowStart);
    if (!this.admit(windowStart)) return -1;
    this.writeDirty(toLatin1(this.schema.toStoreKey(key, windowStart, 0)), value);
    return 0;
  }

  fetch(key: Buffer, windowStart: number): Buffer | undefined {
    this.openContext();
    checkWindowStart(this.name, windowStart);
    if (this.time.isExpired(windowStart)) return undefined;
    return this.lookup(toLatin1(this.schema.toStoreKey(key, windowStart, 0)), { key, windowStart, seq: 0 });
  }

  fetchRange(
    key: Buffer,
    timeFrom: number,
    timeTo: number,
    backward = false,
  ): IterableIterator<{ windowStart: number; value: Buffer }> {
    this.openContext();
    const live = this.time.liveRange(timeFrom, timeTo);
    if (live === undefined) return [][Symbol.iterator]();
    const [from, to] = live;
    const cached = this.walkCache(
      from,
      to,
      backward,
      (segment) => this.schema.timeRangeBounds(segment, key, from, to),
      (parts) => parts.windowStart >= from && parts.windowStart <= to,
    );
    return mergeCacheWithStore(
      cached,
      this.inner.fetchRange(key, from, to, backward),
      backward,
      ([parts], stored) => parts.windowStart - stored.windowStart,
      ([parts], value) => ({ windowStart: parts.windowStart, value }),
      (stored) => stored,
    );
  }

  fetchKeyRange(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    timeFrom: number,
    timeTo: number,
    backward = false,
  ): IterableIterator<WindowBytesEntry> {
    this.openContext();
    const live = this.time.liveRange(timeFrom, timeTo, keyFrom, keyTo);
    if (live === undefined) return [][Symbol.iterator]();
    const [from, to] = live;
    const { schema } = this;
    const cached = this.walkCache(
      from,
      to,
      backward,
      (segment) => schema.keyRangeBounds(segment, keyFrom, keyTo),
      (parts) => parts.windowStart >= from && parts.windowStart <= to,
    );
    return mergeCacheWithStore(
      cached,
      this.inner.fetchKeyRange(keyFrom, keyTo, from, to, backward),
      backward,
      // The store's order: segment, then key bytes, then window start.
      ([parts], stored) =>
        schema.segmentId(parts.windowStart) - schema.segmentId(stored.windowStart) ||
        Buffer.compare(parts.key, stored.key) ||
        parts.windowStart - stored.windowStart,
      ([parts], value) => ({ key: parts.key, windowStart: parts.windowStart, value }),
      (stored) => stored,
    );
  }

  all(): IterableIterator<WindowBytesEntry> {
    return this.fetchKeyRange(undefined, undefined, MIN_TIME, MAX_TIME);
  }

  protected partsOf(cacheKey: string): WindowKeyParts {
    return this.schema.fromStoreKey(fromLatin1(cacheKey));
  }

  protected cacheKeyOfChangelog(changelogKey: Buffer): string {
    const { key, windowStart } = fromChangelogKey(changelogKey);
    return toLatin1(this.schema.toStoreKey(key, windowStart, 0));
  }

  protected readBelow({ key, windowStart }: WindowKeyParts): Buffer | undefined {
    return this.inner.fetch(key, windowStart);
  }

  protected writeBelow({ key, windowStart }: WindowKeyParts, value: Buffer | null): void {
    this.inner.putAndReturnSeq(key, value, windowStart);
  }
}
