/**
 * A faster drop-in for kafkajs 2.2.4's record decoder (src/protocol/recordBatch/record/v0/decoder.js),
 * the function every fetched record goes through. kafkajs computes each record's offset and timestamp
 * with its BigInt-backed Long: a varlong read byte by byte through Long arithmetic, then per record
 * the batch's first offset and first timestamp parsed from strings, added and printed again. Profiles
 * of the batch layer's replay put those conversions (and the garbage they leave) at a good share of the
 * read. This version does the same arithmetic in numbers where it is exact (|value| < 2^53, which
 * holds for any offset and any epoch-millisecond timestamp), and falls back to kafkajs' own Long code
 * otherwise, so it returns exactly what the original returns: same strings, same object shape.
 *
 * It is installed into Node's require cache before kafkajs loads the original (kafkajs requires it
 * lazily, with the first fetch response); kafkajs is pinned to 2.2.4 in package.json, and any other
 * version keeps its own decoder.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);
const RECORD_DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
const SUPPORTED_VERSION = '2.2.4';

interface Decoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): { add(other: unknown): { toString(): string } };
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(reader: (decoder: Decoder) => T): T[];
}

interface Long {
  fromValue(value: unknown): { add(other: unknown): { toString(): string } };
}

type RecordDecoder = (decoder: Decoder, batchContext?: Record<string, any>) => Record<string, unknown>;

/** Builds the decoder over kafkajs' own helpers (Long, header decoder, timestamp types). */
export function createFastRecordDecoder(): RecordDecoder {
  const Long = require('kafkajs/src/utils/long.js') as Long;
  const HeaderDecoder = require('kafkajs/src/protocol/recordBatch/header/v0/decoder.js') as (
    decoder: Decoder,
  ) => { key: string; value: Buffer | null };
  const TimestampTypes = require('kafkajs/src/protocol/timestampTypes.js') as {
    LOG_APPEND_TIME: number;
  };

  // The batch context is shared by every record of a record batch: parse its strings once.
  let lastContext: object | undefined;
  let firstTimestampNumber = NaN;
  let firstOffsetNumber = NaN;

  const exact = (text: unknown): number => {
    const n = typeof text === 'string' && text.length > 0 ? Number(text) : NaN;
    return Number.isSafeInteger(n) ? n : NaN;
  };

  return (decoder, batchContext = {}) => {
    const {
      firstOffset,
      firstTimestamp,
      magicByte,
      isControlBatch = false,
      timestampType,
      maxTimestamp,
    } = batchContext;
    if (batchContext !== lastContext) {
      lastContext = batchContext;
      firstTimestampNumber = exact(firstTimestamp);
      firstOffsetNumber = exact(firstOffset);
    }
    const attributes = decoder.readInt8();

    // TimestampDelta: a zig-zag varlong. Up to 7 bytes (49 bits) it is exact in a number.
    const buffer = decoder.buffer;
    const start = decoder.offset;
    let pos = start;
    let raw = 0;
    let scale = 1;
    let delta = NaN;
    for (let i = 0; i < 7; i++) {
      const byte = buffer[pos++]!;
      raw += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        delta = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
        break;
      }
      scale *= 128;
    }
    let timestamp: string;
    if (Number.isNaN(delta)) {
      decoder.offset = start;
      const timestampDelta = decoder.readVarLong();
      timestamp =
        timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
          ? maxTimestamp
          : Long.fromValue(firstTimestamp).add(timestampDelta).toString();
    } else {
      decoder.offset = pos;
      if (timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp) timestamp = maxTimestamp;
      else {
        const sum = firstTimestampNumber + delta;
        timestamp = Number.isSafeInteger(sum)
          ? String(sum)
          : Long.fromValue(firstTimestamp).add(Long.fromValue(delta)).toString();
      }
    }

    const offsetDelta = decoder.readVarInt();
    const offsetSum = firstOffsetNumber + offsetDelta;
    const offset = Number.isSafeInteger(offsetSum)
      ? String(offsetSum)
      : Long.fromValue(firstOffset).add(offsetDelta).toString();

    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    let headers: Record<string, unknown>;
    if (buffer[decoder.offset] === 0) {
      decoder.offset++; // no headers (the common case): a zero count
      headers = {};
    } else {
      headers = decoder.readVarIntArray(HeaderDecoder).reduce<Record<string, unknown>>(
        (obj, { key, value }) => ({
          ...obj,
          [key]:
            obj[key] === undefined
              ? value
              : Array.isArray(obj[key])
                ? (obj[key] as unknown[]).concat([value])
                : [obj[key], value],
        }),
        {},
      );
    }

    return {
      magicByte,
      attributes, // Record level attributes are presently unused
      timestamp,
      offset,
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}

let installed: boolean | undefined;

/**
 * Puts the fast decoder where kafkajs will require its record decoder. True when installed (now or
 * before); false when kafkajs is not the supported version or already loaded its own decoder.
 */
export function installFastRecordDecoder(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  try {
    const version = (require('kafkajs/package.json') as { version: string }).version;
    if (version !== SUPPORTED_VERSION) return false;
    const file = require.resolve(RECORD_DECODER);
    if (require.cache[file]) return false;
    const module = new Module(file);
    module.filename = file;
    module.loaded = true;
    module.exports = createFastRecordDecoder();
    require.cache[file] = module;
    installed = true;
  } catch {
    // kafkajs laid out differently: keep its decoder
  }
  return installed;
}
