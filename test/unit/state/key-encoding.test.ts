import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEscaped,
  encodeEscaped,
  readInt64BE,
  readSortableInt64,
  sortableInt64,
  writeInt64BE,
} from '../../../src/state/key-encoding.ts';
import { fromChangelogKey, toChangelogKey, WindowKeySchema } from '../../../src/state/window-key-schema.ts';
import { b } from './helpers.ts';

const bytes = fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a));
/** Bytes biased to 0x00, 0x01 and 0xff, where escape encodings break. */
const edgyBytes = fc
  .array(fc.constantFrom(0x00, 0x01, 0x02, 0xfe, 0xff), { maxLength: 8 })
  .map((a) => Buffer.from(a));
const anyBytes = fc.oneof(bytes, edgyBytes);
const safeInt = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const time = fc.oneof(safeInt, fc.integer({ min: -5, max: 5 }), fc.integer({ min: 0, max: 2_000_000 }));
const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

describe('escape encoding', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(anyBytes, (key) => {
        expect(decodeEscaped(encodeEscaped(key))).toEqual(key);
      }),
    );
  });

  it('preserves unsigned byte order, prefixes included', () => {
    fc.assert(
      fc.property(anyBytes, anyBytes, (x, y) => {
        expect(sign(Buffer.compare(encodeEscaped(x), encodeEscaped(y)))).toBe(sign(Buffer.compare(x, y)));
      }),
    );
  });

  it('is prefix-free, so suffixes never let one key interleave with another', () => {
    fc.assert(
      fc.property(anyBytes, anyBytes, (x, y) => {
        fc.pre(!x.equals(y));
        const ex = encodeEscaped(x);
        expect(encodeEscaped(y).subarray(0, ex.length).equals(ex)).toBe(false);
      }),
    );
  });

  it('encodes zero bytes and terminates as documented', () => {
    expect(encodeEscaped(b())).toEqual(b(0x00, 0x01));
    expect(encodeEscaped(b(0x61, 0x00, 0x00))).toEqual(b(0x61, 0x00, 0xff, 0x00, 0xff, 0x00, 0x01));
    expect(() => decodeEscaped(b(0x61))).toThrow(/terminator/);
    expect(() => decodeEscaped(b(0x00, 0x05))).toThrow(/malformed/);
  });
});

describe('64-bit integers', () => {
  it('sortable encoding round-trips and sorts numerically', () => {
    fc.assert(
      fc.property(time, time, (x, y) => {
        expect(readSortableInt64(sortableInt64(x), 0)).toBe(x);
        expect(sign(Buffer.compare(sortableInt64(x), sortableInt64(y)))).toBe(sign(x - y));
      }),
    );
  });

  it('two-complement encoding matches BigInt and round-trips', () => {
    fc.assert(
      fc.property(safeInt, (n) => {
        const out = Buffer.alloc(8);
        writeInt64BE(out, n, 0);
        expect(out.readBigInt64BE(0)).toBe(BigInt(n));
        expect(readInt64BE(out, 0)).toBe(n);
      }),
    );
  });

  it('rejects numbers that are not safe integers', () => {
    expect(() => sortableInt64(1.5)).toThrow(RangeError);
    expect(() => sortableInt64(2 ** 60)).toThrow(RangeError);
  });
});

describe('window key schema', () => {
  const schema = new WindowKeySchema(300_000, false);
  const dups = new WindowKeySchema(60_000, true);

  it('orders store keys by segment, then key bytes, then window start, then seq', () => {
    const entry = fc.record({ key: anyBytes, start: time, seq: fc.integer({ min: 0, max: 2 ** 32 - 1 }) });
    fc.assert(
      fc.property(entry, entry, (x, y) => {
        for (const s of [schema, dups]) {
          const expected =
            sign(s.segmentId(x.start) - s.segmentId(y.start)) ||
            sign(Buffer.compare(x.key, y.key)) ||
            sign(x.start - y.start) ||
            (s.retainDuplicates ? sign(x.seq - y.seq) : 0);
          const kx = s.toStoreKey(x.key, x.start, x.seq);
          const ky = s.toStoreKey(y.key, y.start, y.seq);
          expect(sign(Buffer.compare(kx, ky))).toBe(expected);
          expect(s.fromStoreKey(kx)).toEqual({
            key: x.key,
            windowStart: x.start,
            seq: s.retainDuplicates ? x.seq : 0,
          });
          expect(s.windowStartOf(kx)).toBe(x.start);
        }
      }),
    );
  });

  it('bounds a key range within a segment exactly', () => {
    fc.assert(
      fc.property(
        anyBytes,
        anyBytes,
        anyBytes,
        fc.integer({ min: 0, max: 299_999 }),
        (key, from, to, start) => {
          const k = schema.toStoreKey(key, start, 0);
          const [low, high] = schema.keyRangeBounds(0, from, to);
          const inside = Buffer.compare(k, low) >= 0 && Buffer.compare(k, high) <= 0;
          expect(inside).toBe(Buffer.compare(key, from) >= 0 && Buffer.compare(key, to) <= 0);
          const [openLow, openHigh] = schema.keyRangeBounds(0, undefined, undefined);
          expect(Buffer.compare(k, openLow) > 0 && Buffer.compare(k, openHigh) < 0).toBe(true);
        },
      ),
    );
  });

  it('bounds one key time range within a segment exactly', () => {
    fc.assert(
      fc.property(
        anyBytes,
        anyBytes,
        fc.nat(59_999),
        fc.nat(59_999),
        fc.nat(59_999),
        (key, other, t, from, to) => {
          const [low, high] = dups.timeRangeBounds(0, key, from, to);
          for (const seq of [0, 2 ** 32 - 1]) {
            const k = dups.toStoreKey(other, t, seq);
            const inside = Buffer.compare(k, low) >= 0 && Buffer.compare(k, high) <= 0;
            expect(inside).toBe(other.equals(key) && t >= from && t <= to);
          }
        },
      ),
    );
  });

  it('changelog keys are raw key + 8-byte start + 4-byte seq, and round-trip', () => {
    expect(toChangelogKey(b(0x61), 1, 2)).toEqual(b(0x61, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2));
    fc.assert(
      fc.property(anyBytes, time, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (key, start, seq) => {
        expect(fromChangelogKey(toChangelogKey(key, start, seq))).toEqual({ key, windowStart: start, seq });
      }),
    );
    expect(() => fromChangelogKey(b(1, 2, 3))).toThrow(/too short/);
  });
});
