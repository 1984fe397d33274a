import { readSortableInt64, sortableInt64 } from './key-encoding.ts';
import { keysOf } from './key-scan.ts';
import type { KeyValueBytesStore } from './types.ts';

/** Reserved key (sorts first) where a segmented store keeps its stream time. */
export const STREAM_TIME_KEY = Buffer.alloc(0);
/** Lower bound of data keys: skips STREAM_TIME_KEY. */
export const FIRST_DATA_KEY = Buffer.alloc(1);

/** What SegmentTime needs of a key schema whose keys start with their segment id. */
export interface SegmentedKeySchema {
  segmentId(time: number): number;
  segmentOf(storeKey: Buffer): number;
  segmentPrefix(segmentId: number): Buffer;
  keyRangeBounds(segmentId: number, keyFrom: undefined, keyTo: undefined): [Buffer, Buffer];
}

/**
 * Stream time and segment expiry shared by the segmented window and session stores: the largest
 * time seen (window start, session end), persisted under a reserved key on flush so that expired
 * data stays expired after a reopen, and deletion of whole segments that fell out of retention.
 */
export class SegmentTime {
  /** Largest time seen; -Infinity before any. */
  observed = -Infinity;
  private persisted = -Infinity;
  /** Every segment below this id has been deleted. */
  private liveFromSegment = -Infinity;

  constructor(
    private readonly inner: KeyValueBytesStore,
    private readonly schema: SegmentedKeySchema,
    private readonly retentionPeriod: number,
  ) {}

  reset(): void {
    this.observed = this.persisted = this.liveFromSegment = -Infinity;
  }

  advance(time: number): void {
    if (time > this.observed) this.observed = time;
  }

  /** Writes the stream time if it moved since the last write. */
  persist(): void {
    if (this.observed === this.persisted) return;
    this.inner.put(STREAM_TIME_KEY, sortableInt64(this.observed));
    this.persisted = this.observed;
  }

  /** Loads the persisted stream time; false when none was written. */
  loadPersisted(): boolean {
    const stored = this.inner.get(STREAM_TIME_KEY);
    if (stored === undefined) return false;
    this.observed = this.persisted = readSortableInt64(stored, 0);
    return true;
  }

  /** Keys of the newest segment, to derive the stream time of data written before it was persisted. */
  *lastSegmentKeys(): Generator<Buffer> {
    let lastSegment: number | undefined;
    for (const key of keysOf(this.inner, FIRST_DATA_KEY, undefined, true)) {
      lastSegment = this.schema.segmentOf(key);
      break;
    }
    if (lastSegment === undefined) return;
    const [low, high] = this.schema.keyRangeBounds(lastSegment, undefined, undefined);
    yield* keysOf(this.inner, low, high);
  }

  /** Deletes every segment wholly older than stream time - retention. */
  dropExpiredSegments(): void {
    if (this.observed === -Infinity) return;
    const firstLive = this.schema.segmentId(this.observed - this.retentionPeriod);
    if (firstLive <= this.liveFromSegment) return;
    // Collected first: not every store iterator tolerates writes while it walks. The bare prefix of
    // the first live segment is shorter than its keys: an exclusive bound.
    const expired = [...keysOf(this.inner, FIRST_DATA_KEY, this.schema.segmentPrefix(firstLive))];
    for (const key of expired) this.inner.put(key, null);
    this.liveFromSegment = firstLive;
  }
}
