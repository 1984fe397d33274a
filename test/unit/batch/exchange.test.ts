import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { planBatch } from '../../../src/batch/batch-plan.ts';
import { ThreadExchange } from '../../../src/batch/batch-threads.ts';
import { ExchangePartition, type ExchangePayload } from '../../../src/batch/exchange-partition.ts';
import { InMemoryExchange } from '../../../src/batch/exchange.ts';
import { Consumed, Grouped, Serdes, StreamsBuilder } from '../../../src/index.ts';
import type { Headers } from '../../../src/processor/record.ts';
import type { RawRecord } from '../../../src/processor/internals/task.ts';

interface Written {
  sub: number;
  part: number;
  seq: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Headers;
}

/** The exchange order, spelled out: timestamp, origin sub-topology, origin partition, sequence. */
const exchangeOrder = (a: Written, b: Written): number =>
  a.timestamp - b.timestamp || a.sub - b.sub || a.part - b.part || a.seq - b.seq;

function readAll(partition: ExchangePartition, chunks: number[] = [1_000_000]): RawRecord[] {
  const cursor = partition.cursor();
  const out: RawRecord[] = [];
  for (let i = 0; cursor.remaining > 0; i++) {
    const before = cursor.remaining;
    const chunk = cursor.take(chunks[i % chunks.length]!);
    expect(chunk.length).toBe(Math.min(before, chunks[i % chunks.length]!));
    out.push(...chunk);
  }
  expect(cursor.take(10)).toEqual([]);
  return out;
}

const render = (r: { key: Buffer | null; value: Buffer | null; timestamp: number; headers?: Headers }) => ({
  key: r.key === null ? null : r.key.toString('hex'),
  value: r.value === null ? null : r.value.toString('hex'),
  timestamp: r.timestamp,
  headers: r.headers ?? {},
});

/** Records of several origins, each in its own sequence order and mostly in time order. */
const origins = fc.array(
  fc.record({
    sub: fc.integer({ min: 0, max: 3 }),
    part: fc.integer({ min: 0, max: 5 }),
    records: fc.array(
      fc.record({
        // Mostly forward steps, sometimes back: runs that need a sort and runs that do not.
        step: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -5, max: 0 })),
        key: fc.option(fc.uint8Array({ maxLength: 6 }), { nil: null }),
        value: fc.option(fc.uint8Array({ maxLength: 12 }), { nil: null }),
        header: fc.option(fc.string({ maxLength: 3 }), { nil: undefined }),
      }),
      { maxLength: 60 },
    ),
  }),
  { maxLength: 8 },
);

function toWritten(
  generated: Array<{
    sub: number;
    part: number;
    records: Array<{ step: number; key: Uint8Array | null; value: Uint8Array | null; header?: string }>;
  }>,
): Written[][] {
  // One run per distinct origin (the generator may repeat one: its records continue the sequence).
  const byOrigin = new Map<string, Written[]>();
  for (const origin of generated) {
    const id = `${origin.sub}:${origin.part}`;
    const run = byOrigin.get(id) ?? [];
    byOrigin.set(id, run);
    let ts = 1_000 + (run.at(-1)?.timestamp ?? 0);
    for (const r of origin.records) {
      ts = Math.max(0, ts + r.step);
      run.push({
        sub: origin.sub,
        part: origin.part,
        seq: run.length * 3 + 1, // sequences have gaps: a task numbers all it writes, every partition
        key: r.key === null ? null : Buffer.from(r.key),
        value: r.value === null ? null : Buffer.from(r.value),
        timestamp: ts,
        headers: r.header === undefined ? {} : { h: r.header },
      });
    }
  }
  return [...byOrigin.values()];
}

/** Interleaves the runs' records in a pseudo-random order that keeps each run's own order. */
function interleave(runs: Written[][], seed: number): Written[] {
  const positions = runs.map(() => 0);
  const out: Written[] = [];
  let x = seed | 1;
  for (;;) {
    const open = runs.map((r, i) => i).filter((i) => positions[i]! < runs[i]!.length);
    if (open.length === 0) return out;
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const i = open[x % open.length]!;
    out.push(runs[i]![positions[i]!++]!);
  }
}

describe('ExchangePartition (the compact exchange of one repartition partition)', () => {
  it('property: reads every record once, in (timestamp, origin sub-topology, origin partition, seq) order', () => {
    fc.assert(
      fc.property(
        origins,
        fc.integer(),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 4 }),
        (generated, seed, chunks) => {
          const runs = toWritten(generated);
          const partition = new ExchangePartition('t-repartition', 2);
          for (const w of interleave(runs, seed))
            partition.append(partition.runOf(w.sub, w.part), w.seq, w.key, w.value, w.timestamp, w.headers);
          const expected = runs.flat().sort(exchangeOrder);
          expect(partition.size).toBe(expected.length);
          const read = readAll(partition, chunks);
          expect(read.map(render)).toEqual(expected.map(render));
          read.forEach((r, i) => {
            expect(r.topic).toBe('t-repartition');
            expect(r.partition).toBe(2);
            expect(r.offset).toBe(i);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a run appended out of sequence order (as fetched from Kafka) is still read by (timestamp, seq)', () => {
    fc.assert(
      fc.property(origins, fc.integer(), (generated, seed) => {
        const runs = toWritten(generated);
        const partition = new ExchangePartition('t', 0);
        // Shuffle everything, sequence order included.
        const all = runs.flat();
        let x = seed | 1;
        for (let i = all.length - 1; i > 0; i--) {
          x = (x * 1103515245 + 12345) & 0x7fffffff;
          const j = x % (i + 1);
          [all[i], all[j]] = [all[j]!, all[i]!];
        }
        for (const w of all)
          partition.append(partition.runOf(w.sub, w.part), w.seq, w.key, w.value, w.timestamp, w.headers);
        expect(readAll(partition).map(render)).toEqual([...all].sort(exchangeOrder).map(render));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps null and empty keys and values apart, and records larger than a segment whole', () => {
    const partition = new ExchangePartition('t', 0);
    const run = partition.runOf(1, 0);
    const big = Buffer.alloc(600 * 1024, 7);
    const records = [
      { key: null, value: null },
      { key: Buffer.alloc(0), value: Buffer.alloc(0) },
      { key: Buffer.from('k'), value: null },
      { key: null, value: Buffer.from('v') },
      { key: Buffer.from('big'), value: big },
      { key: Buffer.from('after'), value: Buffer.from('big') },
    ];
    records.forEach((r, i) => partition.append(run, i, r.key, r.value, 5, {}));
    const read = readAll(partition);
    const hex = (b: Buffer | null) => (b === null ? null : b.toString('hex'));
    expect(read.map((r) => [hex(r.key), hex(r.value)])).toEqual(
      records.map((r) => [hex(r.key), hex(r.value)]),
    );
    expect(read[4]!.value!.equals(big)).toBe(true);
  });

  it('copies the bytes it is given (writers may reuse their buffers)', () => {
    const partition = new ExchangePartition('t', 0);
    const key = Buffer.from('key-1');
    partition.append(partition.runOf(0, 0), 0, key, key, 1, {});
    key.write('key-2');
    partition.append(partition.runOf(0, 0), 1, key, key, 1, {});
    expect(readAll(partition).map((r) => r.key!.toString())).toEqual(['key-1', 'key-2']);
  });

  it('hands records without headers a fresh headers object each', () => {
    const partition = new ExchangePartition('t', 0);
    const headers = { trace: 'x' };
    partition.append(partition.runOf(0, 0), 0, null, null, 1, headers);
    partition.append(partition.runOf(0, 0), 1, null, null, 1, {});
    partition.append(partition.runOf(0, 0), 2, null, null, 1, {});
    const [a, b, c] = readAll(partition);
    expect(a!.headers).toBe(headers);
    expect(b!.headers).toEqual({});
    expect(b!.headers).not.toBe(c!.headers);
  });

  it('refuses writes after it was read', () => {
    const partition = new ExchangePartition('t', 0);
    partition.cursor();
    expect(() => partition.append(partition.runOf(0, 0), 0, null, null, 1, {})).toThrow(/written after/);
  });
});

describe('InMemoryExchange', () => {
  it('numbers each writer’s records and reads partitions in exchange order', async () => {
    const exchange = new InMemoryExchange();
    const a = exchange.writer({ subtopology: 0, partition: 1 });
    const b = exchange.writer({ subtopology: 0, partition: 0 });
    const c = exchange.writer({ subtopology: 1, partition: 0 });
    const v = (s: string) => Buffer.from(s);
    a.write('r', 0, v('a1'), v('1'), 10, {});
    a.write('r', 1, v('a2'), v('2'), 5, {}); // another partition: takes a sequence number too
    a.write('r', 0, v('a3'), v('3'), 10, {});
    b.write('r', 0, v('b1'), v('4'), 10, {});
    c.write('r', 0, v('c1'), v('5'), 9, {});
    b.write('r', 0, v('b2'), v('6'), 8, {});
    a.write('other', 0, v('a4'), v('7'), 1, {});
    const read = async (topic: string, partition: number) =>
      (await exchange.read(topic, partition)).take(100).map((r) => r.key!.toString());
    expect(await read('r', 0)).toEqual(['b2', 'c1', 'b1', 'a1', 'a3']);
    expect(await read('r', 1)).toEqual(['a2']);
    expect(await read('other', 0)).toEqual(['a4']);
    expect(await read('r', 3)).toEqual([]);
  });
});

/** A payload as another thread receives it: structured clone, buffers transferred. */
function overThreadBoundary(payload: ExchangePayload, transfer: ArrayBuffer[]): ExchangePayload {
  return structuredClone(payload, { transfer });
}

describe('ExchangePartition across threads (export, adopt)', () => {
  it('property: partitions split by origin over threads read back in one exchange order', () => {
    fc.assert(
      fc.property(origins, fc.integer(), fc.integer({ min: 1, max: 3 }), (generated, seed, threads) => {
        const runs = toWritten(generated);
        // Each origin writes in one thread (its task's); the reader's thread is 0.
        const byThread = Array.from({ length: threads }, () => new ExchangePartition('t', 1));
        const threadOf = (w: Written) => (w.sub * 7 + w.part) % threads;
        for (const w of interleave(runs, seed)) {
          const partition = byThread[threadOf(w)]!;
          partition.append(partition.runOf(w.sub, w.part), w.seq, w.key, w.value, w.timestamp, w.headers);
        }
        // The reader writes a little more of its own after adopting (a later stage's writer).
        const reader = byThread[0]!;
        for (const other of byThread.slice(1)) {
          const { payload, transfer } = other.export();
          reader.adopt(overThreadBoundary(payload, transfer));
        }
        const late: Written = {
          sub: 9,
          part: 0,
          seq: 0,
          key: Buffer.from('late'),
          value: null,
          timestamp: 1_500,
          headers: {},
        };
        reader.append(reader.runOf(9, 0), 0, late.key, late.value, late.timestamp, late.headers);
        const expected = [...runs.flat(), late].sort(exchangeOrder);
        expect(reader.size).toBe(expected.length);
        expect(readAll(reader, [5]).map(render)).toEqual(expected.map(render));
      }),
      { numRuns: 200 },
    );
  });

  it('moves its bytes (the exporting side is emptied) and keeps header buffers buffers', () => {
    const partition = new ExchangePartition('t', 0);
    partition.append(partition.runOf(0, 0), 0, Buffer.from('k'), Buffer.from('v'), 5, {
      trace: Buffer.from('abc'),
      name: 'x',
    });
    const { payload, transfer } = partition.export();
    const received = overThreadBoundary(payload, transfer);
    expect(payload.segments[0]!.byteLength).toBe(0); // detached: transferred, not copied
    expect(() => partition.append(partition.runOf(0, 1), 0, null, null, 1, {})).toThrow(/after it was read/);
    const reader = new ExchangePartition('t', 0);
    reader.adopt(received);
    const [record] = readAll(reader);
    expect(Buffer.isBuffer(record!.headers!.trace)).toBe(true);
    expect(record!.headers).toEqual({ trace: Buffer.from('abc'), name: 'x' });
    expect(record!.key!.toString()).toBe('k');
  });

  it('refuses the same origin twice', () => {
    const a = new ExchangePartition('t', 0);
    a.append(a.runOf(0, 0), 0, null, null, 1, {});
    const b = new ExchangePartition('t', 0);
    b.append(b.runOf(0, 0), 1, null, null, 1, {});
    const { payload, transfer } = a.export();
    expect(() => b.adopt(overThreadBoundary(payload, transfer))).toThrow(/twice/);
  });
});

describe('ThreadExchange', () => {
  it('ships each written partition to the thread whose task reads it, once its stage is written', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('lines', Consumed.with(Serdes.String(), Serdes.String()))
      .groupBy((_k, v) => v, Grouped.with(Serdes.String(), Serdes.String()))
      .count();
    const plan = planBatch('app', builder.build(), new Map([['lines', 4]]), 2);
    const [topic, route] = [...plan.repartition][0]!;
    expect(route.partitions).toBe(4);
    const shipped: Array<{ to: number; payload: ExchangePayload }> = [];
    const exchanges = [0, 1].map(
      (thread) =>
        new ThreadExchange(plan, thread, (to, payload, transfer) =>
          shipped.push({ to, payload: overThreadBoundary(payload, transfer) }),
        ),
    );
    // Thread 0 runs the tasks of partitions 0 and 2, thread 1 those of 1 and 3.
    const writer0 = exchanges[0]!.writer({ subtopology: 0, partition: 0 });
    const writer1 = exchanges[1]!.writer({ subtopology: 0, partition: 1 });
    for (let p = 0; p < 4; p++) {
      writer0.write(topic, p, Buffer.from(`from0-${p}`), null, 10, {});
      writer1.write(topic, p, Buffer.from(`from1-${p}`), null, 10, {});
    }
    await exchanges[0]!.stageWritten(plan.stages[0]!);
    await exchanges[1]!.stageWritten(plan.stages[0]!);
    expect(shipped.map((s) => `${s.to}:${s.payload.partition}`).sort()).toEqual(['0:0', '0:2', '1:1', '1:3']);
    for (const { to, payload } of shipped) exchanges[to]!.adopt(payload);
    const keys = async (thread: number, partition: number) =>
      (await exchanges[thread]!.read(topic, partition)).take(10).map((r) => r.key!.toString());
    expect(await keys(0, 0)).toEqual(['from0-0', 'from1-0']);
    expect(await keys(1, 1)).toEqual(['from0-1', 'from1-1']);
    expect(await keys(0, 2)).toEqual(['from0-2', 'from1-2']);
    expect(await keys(1, 3)).toEqual(['from0-3', 'from1-3']);
  });
});
