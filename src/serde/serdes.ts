import { C1, Packr } from 'msgpackr';
import type { Options as PackrOptions } from 'msgpackr';
import type { Serde } from './serde.ts';

/**
 * Built-in serdes, named after Kafka Streams' `Serdes`. The fixed-width ones (Long, Integer, Short,
 * Double, Float, Boolean), String, UUID and ByteArray write exactly the bytes Kafka's Java
 * (de)serializers write, so topics can be shared with Java producers and consumers.
 *
 * As everywhere in lambda-streams, `null` keys and tombstone values never reach a serde.
 */

function define<T>(name: string, serialize: (data: T) => Buffer, deserialize: (data: Buffer) => T): Serde<T> {
  return Object.freeze({ name, serialize, deserialize });
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}

function expectType(serde: string, expected: string, data: unknown): void {
  if (typeof data !== expected) {
    throw new TypeError(`Serdes.${serde}() expects a ${expected}, got ${describeValue(data)}`);
  }
}

function expectSize(serde: string, data: Buffer, size: number): void {
  if (data.length !== size) {
    throw new RangeError(
      `Serdes.${serde}() expects exactly ${size} byte${size === 1 ? '' : 's'}, got ${data.length}` +
        ` (was the data written with a different serde?)`,
    );
  }
}

const TWO_32 = 2 ** 32;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// ---- String -------------------------------------------------------------------------------------

const STRING = define<string>(
  'String',
  (data) => {
    expectType('String', 'string', data);
    return Buffer.from(data, 'utf8');
  },
  (data) => data.toString('utf8'),
);

// ---- Long: int64, big-endian, as Kafka's LongSerializer -----------------------------------------

const LONG = define<number>(
  'Long',
  (data) => {
    expectType('Long', 'number', data);
    if (!Number.isInteger(data)) {
      throw new RangeError(`Serdes.Long() cannot serialize ${data}: it is not an integer`);
    }
    if (!Number.isSafeInteger(data)) {
      throw new RangeError(
        `Serdes.Long() cannot serialize ${data}: beyond ±(2^53 - 1) a JS number cannot hold an int64 exactly;` +
          ` use Serdes.LongBigInt() with bigint values for the full int64 range`,
      );
    }
    const buf = Buffer.allocUnsafe(8);
    const hi = Math.floor(data / TWO_32);
    buf.writeInt32BE(hi, 0);
    buf.writeUInt32BE(data - hi * TWO_32, 4);
    return buf;
  },
  (data) => {
    expectSize('Long', data, 8);
    const hi = data.readInt32BE(0);
    // |hi| < 2^21 keeps the value within ±2^53, where the arithmetic below is exact.
    if (hi >= -(2 ** 21) && hi < 2 ** 21) {
      const value = hi * TWO_32 + data.readUInt32BE(4);
      if (Number.isSafeInteger(value)) return value === 0 ? 0 : value;
    }
    throw new RangeError(
      `Serdes.Long() cannot deserialize ${data.readBigInt64BE(0)}: beyond ±(2^53 - 1) a JS number cannot hold` +
        ` an int64 exactly; use Serdes.LongBigInt() to read it as a bigint`,
    );
  },
);

const LONG_BIGINT = define<bigint>(
  'LongBigInt',
  (data) => {
    expectType('LongBigInt', 'bigint', data);
    if (data < INT64_MIN || data > INT64_MAX) {
      throw new RangeError(`Serdes.LongBigInt() cannot serialize ${data}n: outside the int64 range`);
    }
    const buf = Buffer.allocUnsafe(8);
    buf.writeBigInt64BE(data, 0);
    return buf;
  },
  (data) => {
    expectSize('LongBigInt', data, 8);
    return data.readBigInt64BE(0);
  },
);

// ---- Integer / Short ----------------------------------------------------------------------------

function intSerde(name: string, bytes: 2 | 4): Serde<number> {
  const bits = bytes * 8;
  const min = -(2 ** (bits - 1));
  const max = 2 ** (bits - 1) - 1;
  return define<number>(
    name,
    (data) => {
      expectType(name, 'number', data);
      if (!Number.isInteger(data) || data < min || data > max) {
        throw new RangeError(
          `Serdes.${name}() cannot serialize ${data}: expected an integer in [${min}, ${max}] (int${bits})`,
        );
      }
      const buf = Buffer.allocUnsafe(bytes);
      if (bytes === 4) buf.writeInt32BE(data, 0);
      else buf.writeInt16BE(data, 0);
      return buf;
    },
    (data) => {
      expectSize(name, data, bytes);
      return bytes === 4 ? data.readInt32BE(0) : data.readInt16BE(0);
    },
  );
}

const INTEGER = intSerde('Integer', 4);
const SHORT = intSerde('Short', 2);

// ---- Double / Float -----------------------------------------------------------------------------

const DOUBLE = define<number>(
  'Double',
  (data) => {
    expectType('Double', 'number', data);
    const buf = Buffer.allocUnsafe(8);
    buf.writeDoubleBE(data, 0);
    return buf;
  },
  (data) => {
    expectSize('Double', data, 8);
    return data.readDoubleBE(0);
  },
);

const FLOAT = define<number>(
  'Float',
  (data) => {
    expectType('Float', 'number', data);
    const buf = Buffer.allocUnsafe(4);
    buf.writeFloatBE(data, 0);
    return buf;
  },
  (data) => {
    expectSize('Float', data, 4);
    return data.readFloatBE(0);
  },
);

// ---- Boolean ------------------------------------------------------------------------------------

const TRUE = Buffer.from([1]);
const FALSE = Buffer.from([0]);

const BOOLEAN = define<boolean>(
  'Boolean',
  (data) => {
    expectType('Boolean', 'boolean', data);
    return Buffer.from(data ? TRUE : FALSE);
  },
  (data) => {
    expectSize('Boolean', data, 1);
    if (data[0] === 1) return true;
    if (data[0] === 0) return false;
    throw new RangeError(
      `Serdes.Boolean() expects the byte 0x00 or 0x01, got 0x${data[0]!.toString(16).padStart(2, '0')}`,
    );
  },
);

// ---- Bytes --------------------------------------------------------------------------------------

function bytesSerde(name: string): Serde<Buffer> {
  return define<Buffer>(
    name,
    (data: unknown) => {
      if (Buffer.isBuffer(data)) return data;
      if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      throw new TypeError(`Serdes.${name}() expects a Buffer or Uint8Array, got ${describeValue(data)}`);
    },
    (data) => data,
  );
}

const BYTE_ARRAY = bytesSerde('ByteArray');
const BYTES = bytesSerde('Bytes');

// ---- UUID ---------------------------------------------------------------------------------------

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const UUID = define<string>(
  'UUID',
  (data) => {
    expectType('UUID', 'string', data);
    if (!UUID_RE.test(data)) {
      throw new RangeError(
        `Serdes.UUID() cannot serialize ${describeValue(data)}: expected the 36-character form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
      );
    }
    return Buffer.from(data.toLowerCase(), 'latin1');
  },
  (data) => {
    const s = data.toString('utf8');
    if (!UUID_RE.test(s)) {
      throw new RangeError(`Serdes.UUID() cannot deserialize ${describeValue(s)}: not a UUID string`);
    }
    return s.toLowerCase();
  },
);

// ---- Void ---------------------------------------------------------------------------------------

const EMPTY = Buffer.alloc(0);

const VOID = define<null>(
  'Void',
  (data) => {
    if (data != null)
      throw new TypeError(`Serdes.Void() can only serialize null, got ${describeValue(data)}`);
    return EMPTY;
  },
  (data) => {
    if (data.length !== 0) {
      throw new RangeError(`Serdes.Void() expects no data, got ${data.length} bytes`);
    }
    return null;
  },
);

// ---- JSON ---------------------------------------------------------------------------------------

export interface JsonSerdeOptions {
  /** Passed to JSON.stringify (e.g. to turn bigints into strings). */
  replacer?: (this: unknown, key: string, value: unknown) => unknown;
  /** Passed to JSON.parse (e.g. to revive dates). */
  reviver?: (this: unknown, key: string, value: unknown) => unknown;
}

function json<T>(options: JsonSerdeOptions = {}): Serde<T> {
  const { replacer, reviver } = options;
  return define<T>(
    'JSON',
    (data) => {
      const text = JSON.stringify(data, replacer);
      if (text === undefined) {
        throw new TypeError(
          `Serdes.JSON() cannot serialize ${describeValue(data)}: JSON has no representation for it`,
        );
      }
      return Buffer.from(text, 'utf8');
    },
    (data) => JSON.parse(data.toString('utf8'), reviver) as T,
  );
}

// ---- MsgPack ------------------------------------------------------------------------------------

/**
 * Options of the shared msgpackr instance behind `Serdes.MsgPack()`. The output is plain MessagePack
 * that any language's decoder reads:
 * - `useRecords: false`: no msgpackr record extension; objects are ordinary maps.
 * - `mapsAsObjects: true`: maps decode to plain objects (a JS `Map` therefore comes back as an object
 *   with string keys; a `Set` is written as an array).
 * - `encodeUndefinedAsNil: true`: `undefined` is written as nil and reads back as `null` (as in JSON,
 *   but the property is kept).
 * - `int64AsType: 'auto'`: 64-bit integers decode to numbers when they are safe integers, to bigints
 *   otherwise. A bigint within int64 is written as int64 (so small bigints read back as numbers); a bigint
 *   outside int64 is an error. Integral numbers beyond 32 bits are written as float64 (exact up to 2^53);
 *   -0 is written as the integer 0.
 * - `Date` uses the standard MessagePack timestamp extension (type -1) and reads back as a `Date`.
 * - `copyBuffers: true`: decoded binary fields are copies, not views of the record's buffer.
 * - `moreTypes: false`: no msgpackr-specific extensions for Error, RegExp, typed arrays, etc.
 * - A map key named `__proto__` reads back as `__proto_`: msgpackr's guard against prototype pollution.
 *   Data with such keys needs another serde (JSON keeps them).
 * - Strings are UTF-8: a lone surrogate (invalid UTF-16) reads back as U+FFFD, as with `Serdes.String()`.
 * Keys: use msgpack keys only for values with a deterministic encoding (strings, numbers, arrays of them);
 * two objects with the same fields in different insertion orders encode to different bytes, so they would
 * land in different partitions and store entries.
 */
export const MSGPACK_OPTIONS: Readonly<PackrOptions> = Object.freeze({
  useRecords: false,
  mapsAsObjects: true,
  encodeUndefinedAsNil: true,
  int64AsType: 'auto' as PackrOptions['int64AsType'],
  copyBuffers: true,
  moreTypes: false,
});

/** Whether a decoded value holds msgpackr's marker for the never-used byte 0xc1. */
function holdsC1(value: unknown): boolean {
  if (value === C1) return true;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof Date)
    return false;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (holdsC1(v)) return true;
  return false;
}

/**
 * Decodes exactly one MessagePack value that spans the whole buffer: trailing bytes (plain text such
 * as `hello` starts with a valid one-byte integer) and the never-used byte 0xc1 are errors, which
 * the task hands to the deserialization exception handler, never a silently wrong value.
 */
function unpackStrict(packr: Packr, data: Buffer): unknown {
  let value: unknown;
  try {
    value = packr.unpack(data);
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('Data read, but end of buffer not reached'))
      throw new Error(
        `${data.length} bytes are not one MessagePack value: bytes remain after the value at the start (was it written with another serde, e.g. as plain text or JSON?)`,
      );
    throw error;
  }
  // 0xc1 is rare in real data, so the walk runs only when the byte occurs at all.
  if (data.includes(0xc1) && holdsC1(value))
    throw new Error('invalid MessagePack: byte 0xc1 is never used in MessagePack');
  return value;
}

const sharedPackr = new Packr({ ...MSGPACK_OPTIONS });
const SHARED_MSGPACK = define<unknown>(
  'MsgPack',
  (data) => sharedPackr.pack(data),
  (data) => unpackStrict(sharedPackr, data),
);

function msgPack<T>(options?: PackrOptions): Serde<T> {
  if (options === undefined) return SHARED_MSGPACK as Serde<T>;
  const packr = new Packr({ ...MSGPACK_OPTIONS, ...options });
  return define<T>(
    'MsgPack',
    (data) => packr.pack(data),
    (data) => unpackStrict(packr, data) as T,
  );
}

// ---- Custom -------------------------------------------------------------------------------------

function from<T>(
  serialize: (data: T, topic?: string) => Buffer | Uint8Array,
  deserialize: (data: Buffer, topic?: string) => T,
  name = 'Custom',
): Serde<T> {
  return Object.freeze({
    name,
    serialize(data: T, topic?: string): Buffer {
      const out = serialize(data, topic);
      if (Buffer.isBuffer(out)) return out;
      if (out instanceof Uint8Array) return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      throw new TypeError(
        `the serialize function of serde ${name} returned ${describeValue(out)}, not a Buffer`,
      );
    },
    deserialize,
  });
}

/**
 * The built-in serdes (Kafka Streams' `Serdes`). Every call of a non-generic factory returns the same
 * frozen, stateless instance.
 *
 * | serde | TS type | bytes |
 * | --- | --- | --- |
 * | `String()` | string | UTF-8 |
 * | `Long()` | number | int64 big-endian; safe integers only (±(2^53 - 1)), others throw both ways |
 * | `LongBigInt()` | bigint | int64 big-endian, full range |
 * | `Integer()` / `Short()` | number | int32 / int16 big-endian; out-of-range or non-integers throw |
 * | `Double()` / `Float()` | number | IEEE 754 binary64 / binary32 big-endian (Float rounds to float32) |
 * | `Boolean()` | boolean | one byte, 0x01 / 0x00 |
 * | `ByteArray()` / `Bytes()` | Buffer | passed through (a Uint8Array is wrapped without copying) |
 * | `UUID()` | string | the 36-character lower-case string, UTF-8 (as Kafka's UUIDSerializer) |
 * | `Void()` | null | empty |
 * | `JSON<T>()` | T | JSON.stringify as UTF-8 |
 * | `MsgPack<T>()` | T | plain MessagePack via msgpackr (see MSGPACK_OPTIONS); the project default |
 * | `from(ser, de, name?)` | T | your functions |
 */
export const Serdes = Object.freeze({
  String: (): Serde<string> => STRING,
  Long: (): Serde<number> => LONG,
  LongBigInt: (): Serde<bigint> => LONG_BIGINT,
  Integer: (): Serde<number> => INTEGER,
  Short: (): Serde<number> => SHORT,
  Double: (): Serde<number> => DOUBLE,
  Float: (): Serde<number> => FLOAT,
  Boolean: (): Serde<boolean> => BOOLEAN,
  ByteArray: (): Serde<Buffer> => BYTE_ARRAY,
  Bytes: (): Serde<Buffer> => BYTES,
  UUID: (): Serde<string> => UUID,
  Void: (): Serde<null> => VOID,
  JSON: json,
  MsgPack: msgPack,
  from,
});
