import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Serdes, serdeName } from '../../../src/serde/index.ts';
import type { Serde } from '../../../src/serde/index.ts';

const hex = (b: Buffer): string => b.toString('hex');
const roundTrip = <T>(serde: Serde<T>, value: T): T => serde.deserialize(serde.serialize(value));

describe('Kafka byte compatibility', () => {
  // Vectors are what org.apache.kafka.common.serialization.*Serializer write.
  it.each([
    [0, '0000000000000000'],
    [1, '0000000000000001'],
    [-1, 'ffffffffffffffff'],
    [256, '0000000000000100'],
    [1234567890123, '0000011f71fb04cb'],
    [-1234567890123, 'fffffee08e04fb35'],
    [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
    [2 ** 32, '0000000100000000'],
    [-(2 ** 32), 'ffffffff00000000'],
  ])('Long %d = %s', (n, bytes) => {
    expect(hex(Serdes.Long().serialize(n))).toBe(bytes);
    expect(Serdes.Long().deserialize(Buffer.from(bytes, 'hex'))).toBe(n);
  });

  it.each([
    [0, '00000000'],
    [1, '00000001'],
    [-1, 'ffffffff'],
    [2 ** 31 - 1, '7fffffff'],
    [-(2 ** 31), '80000000'],
  ])('Integer %d = %s', (n, bytes) => {
    expect(hex(Serdes.Integer().serialize(n))).toBe(bytes);
    expect(Serdes.Integer().deserialize(Buffer.from(bytes, 'hex'))).toBe(n);
  });

  it.each([
    [1, '0001'],
    [-2, 'fffe'],
    [32767, '7fff'],
    [-32768, '8000'],
  ])('Short %d = %s', (n, bytes) => {
    expect(hex(Serdes.Short().serialize(n))).toBe(bytes);
    expect(Serdes.Short().deserialize(Buffer.from(bytes, 'hex'))).toBe(n);
  });

  it.each([
    [1.0, '3ff0000000000000'],
    [-2.5, 'c004000000000000'],
    [0, '0000000000000000'],
    [-0, '8000000000000000'],
    [NaN, '7ff8000000000000'],
    [Infinity, '7ff0000000000000'],
    [0.1, '3fb999999999999a'],
  ])('Double %d = %s', (n, bytes) => {
    expect(hex(Serdes.Double().serialize(n))).toBe(bytes);
    expect(Object.is(Serdes.Double().deserialize(Buffer.from(bytes, 'hex')), n)).toBe(true);
  });

  it.each([
    [1.0, '3f800000'],
    [-2.5, 'c0200000'],
    [0.1, '3dcccccd'],
  ])('Float %d = %s', (n, bytes) => {
    expect(hex(Serdes.Float().serialize(n))).toBe(bytes);
    expect(Serdes.Float().deserialize(Buffer.from(bytes, 'hex'))).toBe(Math.fround(n));
  });

  it('Boolean is one byte, 0x01 / 0x00', () => {
    expect(hex(Serdes.Boolean().serialize(true))).toBe('01');
    expect(hex(Serdes.Boolean().serialize(false))).toBe('00');
    expect(Serdes.Boolean().deserialize(Buffer.from([1]))).toBe(true);
    expect(Serdes.Boolean().deserialize(Buffer.from([0]))).toBe(false);
  });

  it('String is UTF-8', () => {
    expect(hex(Serdes.String().serialize('héllo €'))).toBe('68c3a96c6c6f20e282ac');
    expect(Serdes.String().deserialize(Buffer.from('68c3a96c6c6f20e282ac', 'hex'))).toBe('héllo €');
    expect(Serdes.String().serialize('').length).toBe(0);
  });

  it('UUID is the lower-case 36-character string, as UUID.toString() writes it', () => {
    const id = '123E4567-E89B-12D3-A456-426614174000';
    expect(Serdes.UUID().serialize(id).toString('utf8')).toBe(id.toLowerCase());
    expect(Serdes.UUID().deserialize(Buffer.from(id))).toBe(id.toLowerCase());
  });

  it('Long reads what Kafka writes for Long.MAX_VALUE only through LongBigInt', () => {
    const max = Buffer.from('7fffffffffffffff', 'hex');
    expect(Serdes.LongBigInt().deserialize(max)).toBe(2n ** 63n - 1n);
    expect(hex(Serdes.LongBigInt().serialize(-(2n ** 63n)))).toBe('8000000000000000');
    expect(() => Serdes.Long().deserialize(max)).toThrow(/9223372036854775807.*Serdes\.LongBigInt\(\)/);
  });
});

describe('round trips', () => {
  it('String', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => roundTrip(Serdes.String(), s) === s));
  });

  it('Long (safe integers), byte-identical to writeBigInt64BE', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const bytes = Serdes.Long().serialize(n);
        const ref = Buffer.alloc(8);
        ref.writeBigInt64BE(BigInt(n));
        expect(hex(bytes)).toBe(hex(ref));
        expect(Serdes.Long().deserialize(bytes)).toBe(n === 0 ? 0 : n);
      }),
    );
  });

  it('LongBigInt (full int64)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        (n) => roundTrip(Serdes.LongBigInt(), n) === n,
      ),
    );
  });

  it('Integer and Short', () => {
    fc.assert(fc.property(fc.integer(), (n) => roundTrip(Serdes.Integer(), n) === n));
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32767 }), (n) => roundTrip(Serdes.Short(), n) === n),
    );
  });

  it('Double (including NaN, ±0, ±Infinity)', () => {
    fc.assert(fc.property(fc.double(), (n) => Object.is(roundTrip(Serdes.Double(), n), n)));
  });

  it('Float (float32 values round-trip exactly; others round to float32)', () => {
    fc.assert(fc.property(fc.float(), (n) => Object.is(roundTrip(Serdes.Float(), n), n)));
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (n) => Object.is(roundTrip(Serdes.Float(), n), Math.fround(n))),
    );
  });

  it('Boolean', () => {
    fc.assert(fc.property(fc.boolean(), (b) => roundTrip(Serdes.Boolean(), b) === b));
  });

  it('ByteArray and Bytes pass buffers through', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (arr) => {
        for (const serde of [Serdes.ByteArray(), Serdes.Bytes()]) {
          const out = roundTrip(serde, Buffer.from(arr));
          expect(Buffer.isBuffer(out)).toBe(true);
          expect([...out]).toEqual([...arr]);
          // A Uint8Array is wrapped, not copied.
          expect([...serde.serialize(arr as Buffer)]).toEqual([...arr]);
        }
      }),
    );
    const buf = Buffer.from('abc');
    expect(Serdes.ByteArray().serialize(buf)).toBe(buf);
  });

  it('UUID', () => {
    fc.assert(fc.property(fc.uuid(), (id) => roundTrip(Serdes.UUID(), id) === id.toLowerCase()));
  });

  it('Void', () => {
    expect(Serdes.Void().serialize(null).length).toBe(0);
    expect(Serdes.Void().deserialize(Buffer.alloc(0))).toBeNull();
  });

  it('JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(roundTrip(Serdes.JSON(), v)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('MsgPack', () => {
    // fast-check also generates "__proto__" keys, which msgpackr renames by design (tested below).
    const hasProtoKey = (v: unknown): boolean =>
      typeof v === 'object' &&
      v !== null &&
      (Object.hasOwn(v, '__proto__') || Object.values(v).some(hasProtoKey));
    fc.assert(
      fc.property(
        fc.jsonValue().filter((v) => !hasProtoKey(v)),
        (v) => {
          // -0 is written as the integer 0, as JSON does.
          expect(roundTrip(Serdes.MsgPack(), v)).toEqual(JSON.parse(JSON.stringify(v)));
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.record({
          id: fc.maxSafeInteger(),
          at: fc.date({ noInvalidDate: true }),
          tags: fc.array(fc.string()),
          blob: fc.uint8Array().map((a) => Buffer.from(a)),
          score: fc.double({ noNaN: true }).filter((x) => !Object.is(x, -0)),
        }),
        (v) => {
          expect(roundTrip(Serdes.MsgPack(), v)).toEqual(v);
        },
      ),
    );
  });

  it('from() builds a custom serde', () => {
    const point = Serdes.from<{ x: number; y: number }>(
      (p) => Buffer.from(`${p.x},${p.y}`),
      (b) => {
        const [x, y] = b.toString().split(',').map(Number);
        return { x: x!, y: y! };
      },
      'Point',
    );
    expect(point.name).toBe('Point');
    expect(roundTrip(point, { x: 1, y: -2 })).toEqual({ x: 1, y: -2 });
    const u8 = Serdes.from<string>(
      (s) => new TextEncoder().encode(s),
      (b) => b.toString(),
    );
    expect(Buffer.isBuffer(u8.serialize('hi'))).toBe(true);
    expect(u8.name).toBe('Custom');
  });
});

describe('MsgPack interoperability', () => {
  it('renames a "__proto__" key instead of touching the prototype (msgpackr guard, documented)', () => {
    const mp = Serdes.MsgPack<Record<string, unknown>>();
    const back = mp.deserialize(mp.serialize(JSON.parse('{"__proto__":{"polluted":true}}')));
    expect(Object.keys(back)).toEqual(['__proto_']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  // Bytes as other languages' MessagePack encoders write them.
  it('reads plain msgpack maps, ints and timestamps', () => {
    const mp = Serdes.MsgPack<unknown>();
    expect(mp.deserialize(Buffer.from('82a16101a162c3', 'hex'))).toEqual({ a: 1, b: true });
    // uint64 2^40 and int64 -2^40 as a Java/Python encoder may write them decode to numbers...
    expect(mp.deserialize(Buffer.from('cf0000010000000000', 'hex'))).toBe(2 ** 40);
    expect(mp.deserialize(Buffer.from('d3ffffff0000000000', 'hex'))).toBe(-(2 ** 40));
    // ...and to bigints beyond 2^53.
    expect(mp.deserialize(Buffer.from('cf7fffffffffffffff', 'hex'))).toBe(2n ** 63n - 1n);
    // timestamp 32 (ext -1): 1700000000 s
    expect(mp.deserialize(Buffer.from('d6ff6553f100', 'hex'))).toEqual(new Date(1_700_000_000_000));
  });

  it('writes no msgpackr-specific record extension', () => {
    const bytes = Serdes.MsgPack().serialize({ a: 1 });
    // map16 with one entry, "a", 1: plain msgpack
    expect(hex(bytes)).toBe('de0001a16101');
    expect(hex(Serdes.MsgPack().serialize([{ a: 1 }, { a: 2 }]))).toBe('92de0001a16101de0001a16102');
  });

  it('documents its lossy corners: Map → object, Set → array, undefined → null, small bigint → number', () => {
    const mp = Serdes.MsgPack<unknown>();
    expect(roundTrip(mp, new Map([['k', 1]]))).toEqual({ k: 1 });
    expect(roundTrip(mp, new Set([1, 2]))).toEqual([1, 2]);
    expect(roundTrip(mp, { u: undefined })).toEqual({ u: null });
    expect(roundTrip(mp, 5n)).toBe(5);
    expect(roundTrip(mp, 2n ** 62n)).toBe(2n ** 62n);
    expect(() => mp.serialize(2n ** 64n)).toThrow(RangeError);
  });

  it('accepts msgpackr options for a separate instance', () => {
    const withRecords = Serdes.MsgPack<{ a: number }>({ int64AsType: 'bigint' });
    expect(withRecords).not.toBe(Serdes.MsgPack());
    expect(roundTrip(withRecords, { a: 1 })).toEqual({ a: 1 });
    expect(Serdes.MsgPack()).toBe(Serdes.MsgPack());
  });
});

describe('invalid input', () => {
  it.each([
    [
      'Long',
      () => Serdes.Long().serialize(1.5),
      /Serdes\.Long\(\) cannot serialize 1\.5: it is not an integer/,
    ],
    [
      'Long',
      () => Serdes.Long().serialize(2 ** 53),
      /cannot serialize 9007199254740992: beyond ±\(2\^53 - 1\).*LongBigInt/,
    ],
    ['Long', () => Serdes.Long().serialize(NaN), /not an integer/],
    [
      'Long',
      () => Serdes.Long().serialize('1' as unknown as number),
      /Serdes\.Long\(\) expects a number, got "1"/,
    ],
    ['Long', () => Serdes.Long().serialize(1n as unknown as number), /expects a number, got 1n/],
    ['Long', () => Serdes.Long().deserialize(Buffer.from('0001', 'hex')), /expects exactly 8 bytes, got 2/],
    ['LongBigInt', () => Serdes.LongBigInt().serialize(2n ** 63n), /outside the int64 range/],
    [
      'Integer',
      () => Serdes.Integer().serialize(2 ** 31),
      /expected an integer in \[-2147483648, 2147483647\]/,
    ],
    ['Integer', () => Serdes.Integer().deserialize(Buffer.alloc(8)), /expects exactly 4 bytes, got 8/],
    ['Short', () => Serdes.Short().serialize(40000), /int16/],
    ['Double', () => Serdes.Double().deserialize(Buffer.alloc(4)), /expects exactly 8 bytes, got 4/],
    [
      'Boolean',
      () => Serdes.Boolean().deserialize(Buffer.from([2])),
      /expects the byte 0x00 or 0x01, got 0x02/,
    ],
    ['Boolean', () => Serdes.Boolean().deserialize(Buffer.alloc(0)), /expects exactly 1 byte, got 0/],
    [
      'String',
      () => Serdes.String().serialize(42 as unknown as string),
      /Serdes\.String\(\) expects a string, got 42/,
    ],
    ['UUID', () => Serdes.UUID().serialize('nope'), /expected the 36-character form/],
    ['UUID', () => Serdes.UUID().deserialize(Buffer.from('nope')), /not a UUID string/],
    ['Void', () => Serdes.Void().serialize(0 as unknown as null), /can only serialize null/],
    ['Void', () => Serdes.Void().deserialize(Buffer.from([1])), /expects no data, got 1 bytes/],
    [
      'ByteArray',
      () => Serdes.ByteArray().serialize('x' as unknown as Buffer),
      /expects a Buffer or Uint8Array/,
    ],
    ['JSON', () => Serdes.JSON().serialize(undefined), /JSON has no representation/],
    ['JSON', () => Serdes.JSON().deserialize(Buffer.from('{oops')), /JSON/],
    // Plain text starts with a valid one-byte integer ('h' = 104): the rest must not be ignored.
    [
      'MsgPack',
      () => Serdes.MsgPack().deserialize(Buffer.from('hello')),
      /5 bytes are not one MessagePack value/,
    ],
    [
      'MsgPack',
      () =>
        Serdes.MsgPack().deserialize(Buffer.concat([Serdes.MsgPack().serialize({ a: 1 }), Buffer.from([0])])),
      /bytes remain after the value/,
    ],
    ['MsgPack', () => Serdes.MsgPack().deserialize(Buffer.from([0xc1])), /0xc1 is never used/],
    ['MsgPack', () => Serdes.MsgPack().deserialize(Buffer.from([0x92, 0x01, 0xc1])), /0xc1 is never used/],
    [
      'MsgPack',
      () => Serdes.MsgPack({ int64AsType: 'bigint' }).deserialize(Buffer.from('{"a":1}')),
      /not one MessagePack value/,
    ],
    ['MsgPack', () => Serdes.MsgPack().deserialize(Buffer.from([0x92, 0x01])), /Unexpected end/],
  ])('%s: %s', (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe('names', () => {
  it('every serde has a name for describe() and error messages', () => {
    expect(
      [
        Serdes.String(),
        Serdes.Long(),
        Serdes.LongBigInt(),
        Serdes.Integer(),
        Serdes.Short(),
        Serdes.Double(),
        Serdes.Float(),
        Serdes.Boolean(),
        Serdes.ByteArray(),
        Serdes.Bytes(),
        Serdes.UUID(),
        Serdes.Void(),
        Serdes.JSON(),
        Serdes.MsgPack(),
        Serdes.from(
          () => Buffer.alloc(0),
          () => 1,
          'Mine',
        ),
      ].map((s) => serdeName(s as Serde<unknown>)),
    ).toEqual([
      'String',
      'Long',
      'LongBigInt',
      'Integer',
      'Short',
      'Double',
      'Float',
      'Boolean',
      'ByteArray',
      'Bytes',
      'UUID',
      'Void',
      'JSON',
      'MsgPack',
      'Mine',
    ]);
  });

  it('falls back to the class name of a hand-written serde', () => {
    class PointSerde {
      serialize(): Buffer {
        return Buffer.alloc(0);
      }
      deserialize(): number {
        return 0;
      }
    }
    expect(serdeName(new PointSerde())).toBe('PointSerde');
    expect(serdeName({ serialize: () => Buffer.alloc(0), deserialize: () => 0 })).toBe('custom');
  });
});
