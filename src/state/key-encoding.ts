/**
 * Order-preserving byte encodings for composite store keys. Every encoder here keeps unsigned byte
 * order (Buffer.compare) equal to the natural order of what it encodes, so range scans over the
 * encoded keys are range scans over the values.
 */

const TWO_32 = 0x1_0000_0000;

/**
 * Bytes as a latin1 string, one char per byte. Stores key their maps and trees by these: JS string
 * order equals unsigned byte order, compares run about twice as fast as Buffer.compare, and a
 * string is immutable and owns its memory (see the in-memory store).
 */
export function toLatin1(bytes: Buffer): string {
  return bytes.toString('latin1');
}

export function fromLatin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function assertSafeInteger(n: number, what: string): void {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a safe integer, got ${n}`);
}

/** Writes a safe integer as 8-byte big-endian two's complement (Java's putLong). */
export function writeInt64BE(target: Buffer, n: number, offset: number): void {
  assertSafeInteger(n, 'int64');
  const high = Math.floor(n / TWO_32);
  target.writeInt32BE(high, offset);
  target.writeUInt32BE(n - high * TWO_32, offset + 4);
}

export function readInt64BE(source: Buffer, offset: number): number {
  return source.readInt32BE(offset) * TWO_32 + source.readUInt32BE(offset + 4);
}

/**
 * Writes a safe integer as 8 bytes that sort in numeric order: big-endian two's complement with the
 * sign bit flipped, so negatives sort before positives under unsigned byte order.
 */
export function writeSortableInt64(target: Buffer, n: number, offset: number): void {
  assertSafeInteger(n, 'int64');
  const high = Math.floor(n / TWO_32);
  target.writeUInt32BE((high ^ 0x8000_0000) >>> 0, offset);
  target.writeUInt32BE(n - high * TWO_32, offset + 4);
}

export function readSortableInt64(source: Buffer, offset: number): number {
  return (source.readUInt32BE(offset) ^ 0x8000_0000) * TWO_32 + source.readUInt32BE(offset + 4);
}

export function sortableInt64(n: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  writeSortableInt64(out, n, 0);
  return out;
}

/*
 * Self-delimiting escape encoding: 0x00 → 0x00 0xFF, then the terminator 0x00 0x01. It is
 * prefix-free (no encoding is a prefix of another), so a composite key `enc(k) + suffix` keeps all
 * suffixes of one k contiguous, and it preserves order: a key that is a proper prefix of another
 * ends in 0x00 0x01, which sorts below both 0x00 0xFF and any non-zero byte.
 */
const ESCAPE = 0xff;
const TERMINATOR = 0x01;

export function escapedLength(key: Buffer): number {
  let zeros = 0;
  for (let i = key.indexOf(0); i !== -1; i = key.indexOf(0, i + 1)) zeros++;
  return key.length + zeros + 2;
}

/** Writes enc(key) at offset; returns the offset after it. */
export function writeEscaped(target: Buffer, key: Buffer, offset: number): number {
  let from = 0;
  let at = offset;
  for (let zero = key.indexOf(0); zero !== -1; zero = key.indexOf(0, from)) {
    at += key.copy(target, at, from, zero + 1);
    target[at++] = ESCAPE;
    from = zero + 1;
  }
  at += key.copy(target, at, from);
  target[at++] = 0;
  target[at++] = TERMINATOR;
  return at;
}

export function encodeEscaped(key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(escapedLength(key));
  writeEscaped(out, key, 0);
  return out;
}

/** Reads enc(key) starting at offset; `end` is the offset just after the terminator. */
export function readEscaped(source: Buffer, offset: number): { key: Buffer; end: number } {
  const parts: Buffer[] = [];
  let from = offset;
  for (;;) {
    const zero = source.indexOf(0, from);
    if (zero === -1 || zero + 1 >= source.length) throw new Error('malformed escaped key: no terminator');
    const marker = source[zero + 1];
    if (marker === TERMINATOR) {
      parts.push(source.subarray(from, zero));
      const key = parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts);
      return { key, end: zero + 2 };
    }
    if (marker !== ESCAPE)
      throw new Error(`malformed escaped key: 0x00 followed by 0x${marker?.toString(16)}`);
    parts.push(source.subarray(from, zero + 1));
    from = zero + 2;
  }
}

export function decodeEscaped(encoded: Buffer): Buffer {
  const { key, end } = readEscaped(encoded, 0);
  if (end !== encoded.length) throw new Error('malformed escaped key: trailing bytes');
  return key;
}
