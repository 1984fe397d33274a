import { StateStoreError } from './errors.ts';
import {
  readEscaped,
  readInt64BE,
  readSortableInt64,
  writeInt64BE,
  writeSortableInt64,
} from './key-encoding.ts';
import { SEGMENT_BYTES, SegmentedKeySchema, TIME_BYTES } from './segmented-key-schema.ts';

/** Sorts after any end + start suffix: the inclusive upper bound of one key's block. */
const MAX_SUFFIX = Buffer.alloc(2 * TIME_BYTES, 0xff);

export interface SessionKeyParts {
  key: Buffer;
  start: number;
  end: number;
}

/**
 * Layout of session store keys in the key-value store below a segmented session store:
 *
 *   segmentId(end) (8 B, sortable) + enc(key) (escape-encoded, self-delimiting) + end (8 B, sortable)
 *   + start (8 B, sortable)
 *
 * Segments cut time by session end, so expired sessions (by end) are whole key ranges; within a
 * segment one key's sessions are contiguous and sorted by end, then start (Kafka Streams' order).
 */
export class SessionKeySchema extends SegmentedKeySchema {
  constructor(segmentInterval: number) {
    super(segmentInterval, MAX_SUFFIX);
  }

  toStoreKey(key: Buffer, start: number, end: number): Buffer {
    const [out, at] = this.keyWithSuffix(this.segmentId(end), key, 2 * TIME_BYTES);
    writeSortableInt64(out, end, at);
    writeSortableInt64(out, start, at + TIME_BYTES);
    return out;
  }

  fromStoreKey(storeKey: Buffer): SessionKeyParts {
    const { key, end: at } = readEscaped(storeKey, SEGMENT_BYTES);
    return {
      key,
      end: readSortableInt64(storeKey, at),
      start: readSortableInt64(storeKey, at + TIME_BYTES),
    };
  }

  /** End and start of a store key without decoding the key part. */
  timesOf(storeKey: Buffer): { start: number; end: number } {
    return {
      end: readSortableInt64(storeKey, storeKey.length - 2 * TIME_BYTES),
      start: readSortableInt64(storeKey, storeKey.length - TIME_BYTES),
    };
  }

  /** Inclusive store-key bounds of one key's sessions with end in [endFrom, endTo], in one segment. */
  keyBounds(segmentId: number, key: Buffer, endFrom: number, endTo: number): [Buffer, Buffer] {
    const [low, prefixLength] = this.keyWithSuffix(segmentId, key, 2 * TIME_BYTES);
    const high = Buffer.from(low);
    writeSortableInt64(low, endFrom, prefixLength);
    writeSortableInt64(low, Number.MIN_SAFE_INTEGER, prefixLength + TIME_BYTES);
    writeSortableInt64(high, endTo, prefixLength);
    writeSortableInt64(high, Number.MAX_SAFE_INTEGER, prefixLength + TIME_BYTES);
    return [low, high];
  }
}

/** A session window a session store can hold: safe integers, start <= end. */
export function checkSessionWindow(storeName: string, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    throw new StateStoreError(storeName, `invalid session window [${start}, ${end}]`);
  }
}

/*
 * Changelog key of a session store record: Kafka Streams' SessionKeySchema.toBinary layout, raw key
 * + end (8 B, two's complement BE) + start (8 B, two's complement BE).
 */
export function toSessionChangelogKey(key: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + 2 * TIME_BYTES);
  key.copy(out, 0);
  writeInt64BE(out, end, key.length);
  writeInt64BE(out, start, key.length + TIME_BYTES);
  return out;
}

export function fromSessionChangelogKey(changelogKey: Buffer): SessionKeyParts {
  const keyLength = changelogKey.length - 2 * TIME_BYTES;
  if (keyLength < 0) throw new Error(`session changelog key too short (${changelogKey.length} bytes)`);
  return {
    key: Buffer.from(changelogKey.subarray(0, keyLength)),
    end: readInt64BE(changelogKey, keyLength),
    start: readInt64BE(changelogKey, keyLength + TIME_BYTES),
  };
}
