import { escapedLength, readSortableInt64, writeEscaped, writeSortableInt64 } from './key-encoding.ts';

export const SEGMENT_BYTES = 8;
/** A time in a key: 8 bytes, sortable in store keys, two's complement in changelog keys. */
export const TIME_BYTES = 8;

/**
 * What the key layouts of the segmented window and session stores share: every store key starts
 * with the segment id of its time (window start, session end) as 8 sortable bytes, then enc(key)
 * (escape-encoded, self-delimiting and order-preserving), then a time suffix of the kind. A whole
 * segment is thus one contiguous key range, and within a segment one key's entries are contiguous.
 */
export abstract class SegmentedKeySchema {
  /** `maxSuffix` sorts after every time suffix: the inclusive upper bound of one key's block. */
  constructor(
    readonly segmentInterval: number,
    private readonly maxSuffix: Buffer,
  ) {}

  segmentId(time: number): number {
    return Math.floor(time / this.segmentInterval);
  }

  segmentPrefix(segmentId: number): Buffer {
    const out = Buffer.allocUnsafe(SEGMENT_BYTES);
    writeSortableInt64(out, segmentId, 0);
    return out;
  }

  segmentOf(storeKey: Buffer): number {
    return readSortableInt64(storeKey, 0);
  }

  /** Inclusive store-key bounds of keys in [keyFrom, keyTo] (undefined: open) within one segment. */
  keyRangeBounds(
    segmentId: number,
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
  ): [Buffer, Buffer] {
    const segment = this.segmentPrefix(segmentId);
    const low = keyFrom === undefined ? segment : withEscaped(segment, keyFrom, Buffer.alloc(0));
    // The next segment's bare prefix is shorter than any real key, so as an inclusive bound it
    // admits exactly this segment.
    const high =
      keyTo === undefined ? this.segmentPrefix(segmentId + 1) : withEscaped(segment, keyTo, this.maxSuffix);
    return [low, high];
  }

  /**
   * A store key (or bound) of this layout: segment id, enc(key), then `suffixBytes` bytes that the
   * caller fills in at the returned offset.
   */
  protected keyWithSuffix(segmentId: number, key: Buffer, suffixBytes: number): [Buffer, number] {
    const out = Buffer.allocUnsafe(SEGMENT_BYTES + escapedLength(key) + suffixBytes);
    writeSortableInt64(out, segmentId, 0);
    return [out, writeEscaped(out, key, SEGMENT_BYTES)];
  }
}

function withEscaped(segment: Buffer, key: Buffer, suffix: Buffer): Buffer {
  const out = Buffer.allocUnsafe(SEGMENT_BYTES + escapedLength(key) + suffix.length);
  segment.copy(out, 0);
  const at = writeEscaped(out, key, SEGMENT_BYTES);
  suffix.copy(out, at);
  return out;
}
