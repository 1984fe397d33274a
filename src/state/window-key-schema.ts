import { StateStoreError } from './errors.ts';
import {
  readEscaped,
  readInt64BE,
  readSortableInt64,
  writeInt64BE,
  writeSortableInt64,
} from './key-encoding.ts';
import { SEGMENT_BYTES, SegmentedKeySchema, TIME_BYTES } from './segmented-key-schema.ts';

const SEQ_BYTES = 4;
/** Sorts after any time + sequence suffix: the inclusive upper bound of one key's block. */
const MAX_SUFFIX = Buffer.alloc(TIME_BYTES + SEQ_BYTES, 0xff);
const MAX_SEQ = Buffer.alloc(SEQ_BYTES, 0xff);

/** Kafka Streams' default: max(retention / 2, 60 s). */
export function defaultSegmentInterval(retentionPeriod: number): number {
  return Math.max(Math.floor(retentionPeriod / 2), 60_000);
}

export interface WindowKeyParts {
  key: Buffer;
  windowStart: number;
  seq: number;
}

/**
 * Layout of window store keys in the key-value store below a segmented window store:
 *
 *   segmentId (8 B, sortable) + enc(key) (escape-encoded, self-delimiting) + windowStart (8 B,
 *   sortable) [+ seq (4 B BE), only with retainDuplicates]
 *
 * The segment id comes first so a whole expired segment is one contiguous key range; enc(key) is
 * prefix-free and order-preserving, so within a segment one key's windows are contiguous (never
 * interleaved with a key it is a prefix of) and sorted by start time, and keys sort in byte order.
 */
export class WindowKeySchema extends SegmentedKeySchema {
  private readonly seqBytes: number;

  constructor(
    segmentInterval: number,
    readonly retainDuplicates: boolean,
  ) {
    super(segmentInterval, MAX_SUFFIX);
    this.seqBytes = retainDuplicates ? SEQ_BYTES : 0;
  }

  toStoreKey(key: Buffer, windowStart: number, seq: number): Buffer {
    const [out, at] = this.keyWithSuffix(this.segmentId(windowStart), key, TIME_BYTES + this.seqBytes);
    writeSortableInt64(out, windowStart, at);
    if (this.retainDuplicates) out.writeUInt32BE(seq, at + TIME_BYTES);
    return out;
  }

  fromStoreKey(storeKey: Buffer): WindowKeyParts {
    const { key, end } = readEscaped(storeKey, SEGMENT_BYTES);
    return {
      key,
      windowStart: readSortableInt64(storeKey, end),
      seq: this.retainDuplicates ? storeKey.readUInt32BE(end + TIME_BYTES) : 0,
    };
  }

  /** Window start of a store key without decoding the key part. */
  windowStartOf(storeKey: Buffer): number {
    return readSortableInt64(storeKey, storeKey.length - TIME_BYTES - this.seqBytes);
  }

  /** Inclusive store-key bounds of one key's windows with start in [timeFrom, timeTo], in one segment. */
  timeRangeBounds(segmentId: number, key: Buffer, timeFrom: number, timeTo: number): [Buffer, Buffer] {
    const [low, prefixLength] = this.keyWithSuffix(segmentId, key, TIME_BYTES);
    const high = Buffer.allocUnsafe(prefixLength + TIME_BYTES + this.seqBytes);
    low.copy(high, 0, 0, prefixLength);
    writeSortableInt64(low, timeFrom, prefixLength);
    writeSortableInt64(high, timeTo, prefixLength);
    if (this.retainDuplicates) MAX_SEQ.copy(high, prefixLength + TIME_BYTES);
    return [low, high];
  }
}

/** A window start a window store can hold: a safe integer. */
export function checkWindowStart(storeName: string, windowStart: number): void {
  if (!Number.isSafeInteger(windowStart)) {
    throw new StateStoreError(storeName, `window start must be an integer, got ${windowStart}`);
  }
}

/*
 * Changelog key of a window store record: Kafka Streams' WindowKeySchema.toStoreKeyBinary layout,
 * raw key + windowStart (8 B, two's complement BE) + seq (4 B BE), the same for every store
 * variant. It carries no segment id (the restoring store derives it from windowStart), and the seq
 * keeps duplicates apart under compaction.
 */
export function toChangelogKey(key: Buffer, windowStart: number, seq: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + TIME_BYTES + SEQ_BYTES);
  key.copy(out, 0);
  writeInt64BE(out, windowStart, key.length);
  out.writeUInt32BE(seq, key.length + TIME_BYTES);
  return out;
}

export function fromChangelogKey(changelogKey: Buffer): WindowKeyParts {
  const keyLength = changelogKey.length - TIME_BYTES - SEQ_BYTES;
  if (keyLength < 0) throw new Error(`window changelog key too short (${changelogKey.length} bytes)`);
  return {
    key: Buffer.from(changelogKey.subarray(0, keyLength)),
    windowStart: readInt64BE(changelogKey, keyLength),
    seq: changelogKey.readUInt32BE(keyLength + TIME_BYTES),
  };
}
