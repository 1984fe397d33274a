/**
 * Wire formats the @platformatic/kafka adapter handles itself: the consumer protocol's subscription
 * and assignment (ConsumerProtocolSubscription / ConsumerProtocolAssignment, the same layout kafkajs'
 * AssignerProtocol writes: version, topics, userData), and the decoding of fetched record batches with
 * read_committed's filtering of aborted transactions (Java's Fetcher: an aborted transaction's records
 * are skipped from its first offset up to its abort marker, per producer id).
 */
import type { ConsumedRecord, RecordHeaders } from './client.ts';

/** A record batch as @platformatic/kafka's fetch response parses it (the fields used here). */
export interface FetchedRecordsBatch {
  firstOffset: bigint;
  attributes: number;
  lastOffsetDelta: number;
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  records: Array<{
    offsetDelta: number;
    timestampDelta: bigint;
    key: Buffer | null;
    value: Buffer | null;
    headers: Array<[Buffer | null, Buffer | null]>;
  }>;
}

const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;

// ---- consumer protocol ----

class ProtocolWriter {
  private readonly parts: Buffer[] = [];
  int16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  int32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  string(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    this.int16(bytes.length);
    this.parts.push(bytes);
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.parts.push(b);
    return this;
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class ProtocolReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  get remaining(): number {
    return this.buf.length - this.offset;
  }
  int16(): number {
    const n = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return n;
  }
  int32(): number {
    const n = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return n;
  }
  string(): string {
    const length = this.int16();
    const s = this.buf.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return s;
  }
  bytes(): Buffer {
    const length = this.int32();
    if (length < 0) return Buffer.alloc(0);
    const b = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return Buffer.from(b);
  }
}

export interface MemberSubscription {
  version: number;
  topics: string[];
  userData: Buffer;
}

export function encodeSubscription(s: MemberSubscription): Buffer {
  const w = new ProtocolWriter().int16(s.version).int32(s.topics.length);
  for (const t of s.topics) w.string(t);
  return w.bytes(s.userData).buffer();
}

/** Decodes a subscription (later versions' trailing fields, e.g. owned partitions, are ignored). */
export function decodeSubscription(buf: Buffer): MemberSubscription {
  const r = new ProtocolReader(buf);
  const version = r.int16();
  const topics: string[] = [];
  for (let n = r.int32(); n > 0; n--) topics.push(r.string());
  const userData = r.remaining >= 4 ? r.bytes() : Buffer.alloc(0);
  return { version, topics, userData };
}

export interface MemberAssignmentData {
  version: number;
  assignment: Record<string, number[]>;
  userData: Buffer;
}

export function encodeAssignment(a: MemberAssignmentData): Buffer {
  const topics = Object.entries(a.assignment);
  const w = new ProtocolWriter().int16(a.version).int32(topics.length);
  for (const [topic, partitions] of topics) {
    w.string(topic).int32(partitions.length);
    for (const p of partitions) w.int32(p);
  }
  return w.bytes(a.userData).buffer();
}

/** Decodes an assignment; an empty buffer (a member without one) is an empty assignment. */
export function decodeAssignment(buf: Buffer): MemberAssignmentData {
  if (buf.length < 6) return { version: 0, assignment: {}, userData: Buffer.alloc(0) };
  const r = new ProtocolReader(buf);
  const version = r.int16();
  const assignment: Record<string, number[]> = {};
  for (let n = r.int32(); n > 0; n--) {
    const topic = r.string();
    const partitions: number[] = [];
    for (let m = r.int32(); m > 0; m--) partitions.push(r.int32());
    assignment[topic] = partitions;
  }
  const userData = r.remaining >= 4 ? r.bytes() : Buffer.alloc(0);
  return { version, assignment, userData };
}

// ---- fetched records ----

export interface DecodedPartition {
  records: ConsumedRecord[];
  /** Offset after the last batch returned (control and aborted batches included); undefined when none. */
  nextOffset?: number;
}

/**
 * The records of one partition's fetch at or after `fromOffset`, in offset order. Under
 * read_committed, `aborted` lists the aborted transactions the broker reported for the fetched range;
 * their records are dropped. Control batches (commit/abort markers) are never records.
 */
export function decodeBatches(
  topic: string,
  partition: number,
  batches: FetchedRecordsBatch[] | undefined,
  fromOffset: number,
  aborted: Array<{ producerId: bigint; firstOffset: bigint }> | undefined,
): DecodedPartition {
  const records: ConsumedRecord[] = [];
  if (!batches || batches.length === 0) return { records };
  // Aborted transactions in first-offset order; each becomes active once a batch reaches its start.
  const pending = [...(aborted ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
  const active = new Set<bigint>();
  let nextOffset: number | undefined;
  for (const batch of batches) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    nextOffset = Number(lastOffset) + 1;
    while (pending.length > 0 && pending[0]!.firstOffset <= lastOffset)
      active.add(pending.shift()!.producerId);
    if (batch.attributes & IS_CONTROL) {
      // Control record key: version int16, type int16 (0 = abort, 1 = commit).
      const type = batch.records[0]?.key?.readInt16BE(2);
      if (type === 0) active.delete(batch.producerId);
      continue;
    }
    if (batch.attributes & IS_TRANSACTIONAL && active.has(batch.producerId)) continue;
    const base = Number(batch.firstOffset);
    const logAppend = (batch.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    const firstTimestamp = Number(batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = base + record.offsetDelta;
      if (offset < fromOffset) continue;
      const headers: RecordHeaders = {};
      for (const [name, value] of record.headers) {
        if (name !== null) headers[name.toString()] = value ?? undefined;
      }
      records.push({
        topic,
        partition,
        offset,
        key: record.key ?? null,
        value: record.value ?? null,
        timestamp: logAppend ? Number(batch.maxTimestamp) : firstTimestamp + Number(record.timestampDelta),
        headers,
      });
    }
  }
  return { records, ...(nextOffset === undefined ? {} : { nextOffset }) };
}
