/**
 * The records of one repartition partition between two stages of a batch run, kept compactly: bytes
 * in large shared segments, the rest in typed arrays, one run per origin task (no object per record,
 * nothing for the garbage collector to trace). Both exchanges (in memory and over Kafka) collect a
 * partition here, so one process and several read it in the same order:
 *
 *   (timestamp, origin sub-topology, origin partition, origin sequence)
 *
 * A run holds one origin task's records; the task wrote them in sequence order, mostly in time
 * order. Each run is put in (timestamp, sequence) order (a check when it already is, an index sort
 * when not), then the runs are merged k ways with a heap on (timestamp, origin).
 */
import type { Headers } from '../processor/record.ts';
import type { RawRecord } from '../processor/internals/task.ts';

/** Bytes per shared segment; a record larger than this gets a segment of its own size. */
const SEGMENT_BYTES = 256 * 1024;
const INITIAL_CAPACITY = 1024;
/** Key or value length of a null key or value. */
const NULL = -1;

function grow<T extends Float64Array | Int32Array | Uint32Array>(array: T, capacity: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(capacity);
  bigger.set(array);
  return bigger;
}

/** One run as another thread receives it (structured clone keeps typed arrays; buffers transferred). */
export interface ExchangeRunPayload {
  subtopology: number;
  partition: number;
  size: number;
  ordered: boolean;
  timestamps: Float64Array;
  seqs: Float64Array;
  segments: Uint32Array;
  offsets: Uint32Array;
  keyLengths: Int32Array;
  valueLengths: Int32Array;
  headers?: Array<[number, Headers]>;
}

/** A partition's records as another thread receives them. */
export interface ExchangePayload {
  topic: string;
  partition: number;
  segments: ArrayBuffer[];
  runs: ExchangeRunPayload[];
}

/** Header values cross threads as Uint8Arrays (structured clone): Buffers again. */
function asBufferHeaders(headers: Headers): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers) as Array<[string, unknown]>)
    out[name] =
      value instanceof Uint8Array && !Buffer.isBuffer(value)
        ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        : (value as Headers[string]);
  return out;
}

/** The records one origin task wrote to this partition. */
export class ExchangeRun {
  size = 0;
  private capacity = INITIAL_CAPACITY;
  timestamps: Float64Array = new Float64Array(INITIAL_CAPACITY);
  seqs: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** Segment index and byte offset of the record's key; its value follows the key. */
  segments: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  offsets: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  keyLengths: Int32Array = new Int32Array(INITIAL_CAPACITY);
  valueLengths: Int32Array = new Int32Array(INITIAL_CAPACITY);
  /** Non-empty headers by record index (records without headers get a fresh empty object when read). */
  headers: Map<number, Headers> | undefined;
  /** Appended in (timestamp, sequence) order so far: no sort needed. */
  ordered = true;

  constructor(
    readonly subtopology: number,
    readonly partition: number,
  ) {}

  /** Takes another thread's arrays of this run (sizes and segment indexes already set). */
  adopt(part: ExchangeRunPayload): void {
    this.size = part.size;
    this.capacity = part.timestamps.length;
    this.timestamps = part.timestamps;
    this.seqs = part.seqs;
    this.segments = part.segments;
    this.offsets = part.offsets;
    this.keyLengths = part.keyLengths;
    this.valueLengths = part.valueLengths;
    this.ordered = part.ordered;
    if (part.headers)
      this.headers = new Map(part.headers.map(([i, headers]) => [i, asBufferHeaders(headers)]));
  }

  /** Index of the next record, after making room for it. */
  reserve(): number {
    const i = this.size;
    if (i === this.capacity) {
      const capacity = this.capacity * 2;
      this.timestamps = grow(this.timestamps, capacity);
      this.seqs = grow(this.seqs, capacity);
      this.segments = grow(this.segments, capacity);
      this.offsets = grow(this.offsets, capacity);
      this.keyLengths = grow(this.keyLengths, capacity);
      this.valueLengths = grow(this.valueLengths, capacity);
      this.capacity = capacity;
    }
    return i;
  }

  /** Record indexes in (timestamp, sequence) order. */
  order(): Uint32Array | undefined {
    if (this.ordered) return undefined;
    const { timestamps, seqs } = this;
    const index = new Uint32Array(this.size);
    for (let i = 0; i < index.length; i++) index[i] = i;
    return index.sort((a, b) => timestamps[a]! - timestamps[b]! || seqs[a]! - seqs[b]!);
  }
}

/**
 * One repartition partition's records, appended by origin tasks in any interleaving, read once in
 * exchange order through a cursor.
 */
export class ExchangePartition {
  /** Origin sub-topology → origin partition → run. */
  private readonly runs = new Map<number, ExchangeRun[]>();
  private readonly segments: Buffer[] = [];
  /** The segment appends go to (adopted segments of other threads come after it, full). */
  private current: Buffer | undefined;
  private currentIndex = -1;
  private position = 0;
  private count = 0;
  private read = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The run of one origin task (created when missing); writers keep it to append without lookups. */
  runOf(subtopology: number, partition: number): ExchangeRun {
    let bySub = this.runs.get(subtopology);
    if (!bySub) this.runs.set(subtopology, (bySub = []));
    let run = bySub[partition];
    if (!run) bySub[partition] = run = new ExchangeRun(subtopology, partition);
    return run;
  }

  /** Appends a record of `run` (a run of this partition). Bytes are copied: the caller may reuse them. */
  append(
    run: ExchangeRun,
    seq: number,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: Headers | undefined,
  ): void {
    if (this.read)
      throw new Error(`batch exchange: ${this.topic}[${this.partition}] written after it was read`);
    const i = run.reserve();
    const keyLength = key === null ? NULL : key.length;
    const valueLength = value === null ? NULL : value.length;
    const bytes = (key === null ? 0 : keyLength) + (value === null ? 0 : valueLength);
    let segment = this.current;
    if (segment === undefined || this.position + bytes > segment.length) {
      segment = Buffer.allocUnsafeSlow(Math.max(SEGMENT_BYTES, bytes));
      this.currentIndex = this.segments.push(segment) - 1;
      this.current = segment;
      this.position = 0;
    }
    const offset = this.position;
    if (key !== null) segment.set(key, offset);
    if (value !== null) segment.set(value, offset + (key === null ? 0 : keyLength));
    this.position = offset + bytes;
    if (run.ordered && i > 0) {
      const previous = run.timestamps[i - 1]!;
      if (timestamp < previous || (timestamp === previous && seq <= run.seqs[i - 1]!)) run.ordered = false;
    }
    run.timestamps[i] = timestamp;
    run.seqs[i] = seq;
    run.segments[i] = this.currentIndex;
    run.offsets[i] = offset;
    run.keyLengths[i] = keyLength;
    run.valueLengths[i] = valueLength;
    if (headers !== undefined && hasEntries(headers)) (run.headers ??= new Map()).set(i, headers);
    run.size = i + 1;
    this.count++;
  }

  /**
   * The partition as transferable parts (another thread adopts it): the runs' typed arrays and the
   * byte segments move, nothing is copied. The partition is unusable afterwards.
   */
  export(): { payload: ExchangePayload; transfer: ArrayBuffer[] } {
    if (this.read)
      throw new Error(`batch exchange: ${this.topic}[${this.partition}] exported after it was read`);
    this.read = true;
    const runs: ExchangeRunPayload[] = [];
    for (const bySub of this.runs.values())
      for (const run of bySub)
        if (run && run.size > 0)
          runs.push({
            subtopology: run.subtopology,
            partition: run.partition,
            size: run.size,
            ordered: run.ordered,
            timestamps: run.timestamps,
            seqs: run.seqs,
            segments: run.segments,
            offsets: run.offsets,
            keyLengths: run.keyLengths,
            valueLengths: run.valueLengths,
            ...(run.headers ? { headers: [...run.headers] } : {}),
          });
    const payload: ExchangePayload = {
      topic: this.topic,
      partition: this.partition,
      // Segments come from Buffer.allocUnsafeSlow: each owns its whole ArrayBuffer.
      segments: this.segments.map((segment) => segment.buffer as ArrayBuffer),
      runs,
    };
    this.runs.clear();
    this.segments.length = 0;
    this.current = undefined;
    return { payload, transfer: ExchangePartition.transferList(payload) };
  }

  /** Every buffer of a payload (to hand to postMessage's transfer list). */
  static transferList(payload: ExchangePayload): ArrayBuffer[] {
    const buffers = new Set<ArrayBuffer>(payload.segments);
    for (const run of payload.runs)
      for (const array of [
        run.timestamps,
        run.seqs,
        run.segments,
        run.offsets,
        run.keyLengths,
        run.valueLengths,
      ])
        buffers.add(array.buffer as ArrayBuffer);
    return [...buffers];
  }

  /** Takes over the runs another thread exported for this partition (their origins are not here yet). */
  adopt(payload: ExchangePayload): void {
    if (this.read)
      throw new Error(`batch exchange: ${this.topic}[${this.partition}] written after it was read`);
    const base = this.segments.length;
    for (const buffer of payload.segments) this.segments.push(Buffer.from(buffer));
    for (const part of payload.runs) {
      const run = this.runOf(part.subtopology, part.partition);
      if (run.size > 0)
        throw new Error(
          `batch exchange: ${this.topic}[${this.partition}] has records of ${part.subtopology}_${part.partition} twice`,
        );
      for (let i = 0; i < part.size; i++) part.segments[i]! += base;
      run.adopt(part);
      this.count += part.size;
    }
  }

  /** Reads the partition in exchange order (once: the cursor owns the records from now on). */
  cursor(): ExchangeCursor {
    const runs: ExchangeRun[] = [];
    for (const sub of [...this.runs.keys()].sort((a, b) => a - b))
      for (const run of this.runs.get(sub)!) if (run && run.size > 0) runs.push(run);
    this.runs.clear();
    this.current = undefined;
    this.read = true;
    return new ExchangeCursor(this.topic, this.partition, runs, this.segments, this.count);
  }
}

function hasEntries(headers: Headers): boolean {
  for (const _ in headers) return true;
  return false;
}

/**
 * Hands out a partition's records in exchange order, a chunk at a time, as raw records of the
 * repartition topic (offset = position in exchange order). A heap of runs on (timestamp, origin rank).
 */
export class ExchangeCursor {
  private remainingRecords: number;
  private readonly orders: Array<Uint32Array | undefined>;
  private readonly positions: Uint32Array;
  /** Heap of run ranks (runs are ranked by origin: sub-topology, then partition). */
  private readonly heap: number[] = [];
  private offset = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private runs: ExchangeRun[],
    private segments: Buffer[],
    total: number,
  ) {
    this.remainingRecords = total;
    this.orders = runs.map((run) => run.order());
    this.positions = new Uint32Array(runs.length);
    for (let r = 0; r < runs.length; r++) this.push(r);
  }

  get remaining(): number {
    return this.remainingRecords;
  }

  /** The next `max` records at most (none when the partition is read). */
  take(max: number): RawRecord[] {
    const out: RawRecord[] = [];
    const { runs, orders, positions, heap, segments, topic, partition } = this;
    while (out.length < max && heap.length > 0) {
      const r = heap[0]!;
      const run = runs[r]!;
      const order = orders[r];
      const at = positions[r]!;
      const i = order === undefined ? at : order[at]!;
      const segment = segments[run.segments[i]!]!;
      const offset = run.offsets[i]!;
      const keyLength = run.keyLengths[i]!;
      const valueLength = run.valueLengths[i]!;
      const valueStart = keyLength === NULL ? offset : offset + keyLength;
      out.push({
        topic,
        partition,
        offset: this.offset++,
        key: keyLength === NULL ? null : segment.subarray(offset, offset + keyLength),
        value: valueLength === NULL ? null : segment.subarray(valueStart, valueStart + valueLength),
        timestamp: run.timestamps[i]!,
        headers: run.headers?.get(i) ?? {},
      });
      positions[r] = at + 1;
      if (at + 1 < run.size) this.siftDown(0);
      else {
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          this.siftDown(0);
        }
      }
    }
    this.remainingRecords -= out.length;
    if (heap.length === 0) {
      // Everything handed out: let the bytes go.
      this.runs = [];
      this.segments = [];
    }
    return out;
  }

  /** Timestamp of run r's next record. */
  private head(r: number): number {
    const run = this.runs[r]!;
    const order = this.orders[r];
    const at = this.positions[r]!;
    return run.timestamps[order === undefined ? at : order[at]!]!;
  }

  private less(a: number, b: number): boolean {
    const ta = this.head(a);
    const tb = this.head(b);
    return ta < tb || (ta === tb && a < b);
  }

  private push(r: number): void {
    const { heap } = this;
    heap.push(r);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const { heap } = this;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) return;
      const right = left + 1;
      const child = right < heap.length && this.less(heap[right]!, heap[left]!) ? right : left;
      if (!this.less(heap[child]!, heap[i]!)) return;
      [heap[i], heap[child]] = [heap[child]!, heap[i]!];
      i = child;
    }
  }
}
