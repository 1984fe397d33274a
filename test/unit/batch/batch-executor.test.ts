import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  Consumed,
  Grouped,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
} from '../../../src/index.ts';
import type { Topology } from '../../../src/index.ts';
import { DroppingSinks } from '../../../src/batch/kafka-io.ts';
import type { Serde } from '../../../src/serde/serde.ts';
import { exportStoreRecords, type StoreRecord } from '../../../src/state/store-export.ts';
import { defaultPartition } from '../../../src/kafka/partitioner.ts';
import { prng } from '../../differential/generate.ts';
import { partitionInput, runInMemory, type InputRecord } from './in-memory-batch.ts';

const WORDS = ['apple', 'banana', 'cherry', 'date', 'elder', 'fig', 'grape', 'kiwi'];

function wordCount(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream('lines', Consumed.with(Serdes.String(), Serdes.String()))
    .flatMapValues((line) => line.split(' '))
    .groupBy((_k, word) => word, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>('word-counts').withKeySerde(Serdes.String()))
    .toStream()
    .to('word-counts-out', Produced.with(Serdes.String(), Serdes.Long()));
  return builder.build();
}

function windowedCount(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream('views', Consumed.with(Serdes.String(), Serdes.String()))
    .groupBy((_user, page) => page, Grouped.with(Serdes.String(), Serdes.String()))
    .windowedBy(TimeWindows.ofSizeAndGrace(1_000, 200))
    .count(Materialized.as<string, number>('views-per-second').withKeySerde(Serdes.String()))
    .toStream((windowed) => `${windowed.key}@${windowed.window.start}`)
    .to('views-out', Produced.with(Serdes.String(), Serdes.Long()));
  return builder.build();
}

function lines(seed: number, n: number, spanMs: number): InputRecord[] {
  const rnd = prng(seed);
  const out: InputRecord[] = [];
  let ts = 0;
  for (let i = 0; i < n; i++) {
    ts += Math.floor((rnd() * 2 * spanMs) / n);
    const words = Array.from(
      { length: 1 + Math.floor(rnd() * 4) },
      () => WORDS[Math.floor(rnd() * WORDS.length)],
    );
    out.push({
      topic: 'lines',
      key: Buffer.from(`line-${i % 13}`),
      value: Buffer.from(words.join(' ')),
      timestamp: ts,
    });
  }
  return out;
}

/** A store's records as the TopologyTestDriver holds them after the given input. */
async function driverStore(
  topology: Topology,
  input: InputRecord[],
  store: string,
  kind: 'key-value' | 'window' | 'session',
): Promise<StoreRecord[]> {
  const driver = await TopologyTestDriver.create(topology, { statestoreCacheMaxBytes: 0 });
  try {
    const topics = new Map<string, ReturnType<TopologyTestDriver['createInputTopic']>>();
    for (const r of input) {
      let topic = topics.get(r.topic);
      if (!topic)
        topics.set(r.topic, (topic = driver.createInputTopic(r.topic, Serdes.Bytes(), Serdes.Bytes())));
      topic.pipeInput(r.key, r.value, r.timestamp);
    }
    return [...exportStoreRecords(driver.getStateStore(store), kind)];
  } finally {
    await driver.close();
  }
}

const render = (records: Iterable<StoreRecord>): string[] =>
  [...records].map((r) => `${r.key.toString('hex')}=${r.value.toString('hex')}`).sort();

describe('batch executor (no Kafka)', () => {
  it('word count: the view equals the test driver over the records below the boundary', async () => {
    const input = lines(7, 400, 10_000);
    const boundaryMs = 6_000;
    const view = await runInMemory(
      'wc',
      wordCount(),
      partitionInput(input, new Map([['lines', 3]]), prng(1)),
      boundaryMs,
      prng(2),
    );
    const below = input.filter((r) => r.timestamp < boundaryMs);
    const expected = await driverStore(wordCount(), below, 'word-counts', 'key-value');
    const published = [...view.stores.get('word-counts')!.values()].flat();
    expect(render(published)).toEqual(render(expected));
    expect(expected.length).toBeGreaterThan(3);
    // Keys sit in the partition the speed layer's producer would give them (the store's task).
    const repartitions = view.plan.repartition.values().next().value!.partitions;
    for (const [partition, records] of view.stores.get('word-counts')!) {
      for (const r of records) expect(defaultPartition(r.key, repartitions)).toBe(partition);
    }
    expect(view.stats.read).toBe(input.length);
    expect(view.stats.beyondBoundary).toBe(input.length - below.length);
    expect(view.stats.processed).toBe(below.length);
    // Sinks are handed to the sink writer, not dropped silently by the executor.
    expect(view.sinks.every((r) => r.topic === 'word-counts-out')).toBe(true);
  });

  it('gives the same checksums however the partitions interleave', async () => {
    const input = lines(11, 300, 8_000);
    const data = partitionInput(input, new Map([['lines', 4]]), prng(3));
    const checksums = async (seed: number): Promise<string[]> => {
      const view = await runInMemory('wc', wordCount(), data, 5_000, prng(seed));
      return view.partitions
        .get('word-counts')!
        .map((p) => `${p.partition}:${p.records}:${p.checksum}`)
        .sort();
    };
    const first = await checksums(1);
    expect(await checksums(2)).toEqual(first);
    expect(await checksums(99)).toEqual(first);
  });

  it('spills store writes to LevelDB above the memory budget, with the same view', async () => {
    const input = lines(13, 400, 10_000);
    const data = partitionInput(input, new Map([['lines', 2]]), prng(8));
    const inMemory = await runInMemory('wc', wordCount(), data, 7_000, prng(9));
    // A budget no process fits in: every fetched batch flushes (at most once a second).
    const spilled = await runInMemory('wc', wordCount(), data, 7_000, prng(9), { memoryBudgetBytes: 1 });
    expect(spilled.stats.spills).toBeGreaterThanOrEqual(1);
    expect(inMemory.stats.spills).toBe(0);
    expect(spilled.partitions.get('word-counts')).toEqual(inMemory.partitions.get('word-counts'));
  });

  it('windowed count on in-order data: window for window as the test driver', async () => {
    const rnd = prng(5);
    const input: InputRecord[] = [];
    let ts = 0;
    for (let i = 0; i < 500; i++) {
      ts += Math.floor(rnd() * 40);
      input.push({
        topic: 'views',
        key: Buffer.from(`user-${Math.floor(rnd() * 9)}`),
        value: Buffer.from(`page-${Math.floor(rnd() * 5)}`),
        timestamp: ts,
      });
    }
    const boundaryMs = 7_000;
    const view = await runInMemory(
      'pv',
      windowedCount(),
      partitionInput(input, new Map([['views', 2]]), prng(4)),
      boundaryMs,
      prng(6),
    );
    const expected = await driverStore(
      windowedCount(),
      input.filter((r) => r.timestamp < boundaryMs),
      'views-per-second',
      'window',
    );
    expect(render([...view.stores.get('views-per-second')!.values()].flat())).toEqual(render(expected));
  });

  it('windowed count combines per window set before the exchange, window for window as the test driver', async () => {
    // Hopping windows whose size is not a multiple of the advance: records of one advance slot can
    // fall into different window sets, which must not be folded together. Null values count. The
    // grace (and so the retention) spans the input: which windows a store partition still holds
    // depends on that partition's stream time, and the test driver has one partition.
    const hopping = (): Topology => {
      const builder = new StreamsBuilder();
      builder
        .stream('views', Consumed.with(Serdes.String(), Serdes.String()))
        .groupBy((user, page) => page ?? user, Grouped.with(Serdes.String(), Serdes.String()))
        .windowedBy(TimeWindows.ofSizeAndGrace(1_000, 60_000).advanceBy(300))
        .count(Materialized.as<string, number>('views-hopping').withKeySerde(Serdes.String()));
      return builder.build();
    };
    const rnd = prng(11);
    const input: InputRecord[] = [];
    let ts = 0;
    for (let i = 0; i < 2_000; i++) {
      ts += Math.floor(rnd() * 15);
      const page = `page-${Math.floor(rnd() * 3)}`;
      input.push({
        topic: 'views',
        key: Buffer.from(rnd() < 0.1 ? page : `user-${Math.floor(rnd() * 9)}`),
        value: rnd() < 0.1 ? null : Buffer.from(page),
        timestamp: ts,
      });
    }
    const boundaryMs = 20_000;
    const below = input.filter((r) => r.timestamp < boundaryMs);
    const view = await runInMemory(
      'pv-hop',
      hopping(),
      partitionInput(input, new Map([['views', 3]]), prng(12)),
      boundaryMs,
      prng(13),
    );
    const expected = await driverStore(hopping(), below, 'views-hopping', 'window');
    expect(render([...view.stores.get('views-hopping')!.values()].flat())).toEqual(render(expected));
    // One partial crossed the exchange per source partition, key and set of windows, not one per record.
    const windows = TimeWindows.ofSizeAndGrace(1_000, 60_000).advanceBy(300);
    const groups = new Set(
      below.map((r) => {
        const key = r.value?.toString() ?? r.key!.toString();
        const set = windows.windowsFor(r.timestamp).map((w) => w.start);
        return `${defaultPartition(r.key!, 3)}|${key}|${set.join(',')}`;
      }),
    );
    expect(view.stats.repartitioned).toBe(groups.size);
    expect(groups.size).toBeLessThan(below.length / 2);
  });

  it('dropped sinks count their records without serializing them', async () => {
    let serialized = 0;
    const refusing: Serde<number> = {
      serialize: () => {
        serialized++;
        throw new Error('this serde never runs for dropped sinks');
      },
      deserialize: () => 0,
    };
    const topology = (): Topology => {
      const builder = new StreamsBuilder();
      const words = builder
        .stream('lines', Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues((line) => line.split(' '));
      words.mapValues((w) => w.length).to('lengths', Produced.with(Serdes.String(), refusing));
      words
        .groupBy((_k, word) => word, Grouped.with(Serdes.String(), Serdes.String()))
        .count(Materialized.as<string, number>('word-counts').withKeySerde(Serdes.String()));
      return builder.build();
    };
    const input = lines(17, 200, 10_000);
    const data = partitionInput(input, new Map([['lines', 2]]), prng(1));
    const words = input.reduce((n, r) => n + r.value!.toString().split(' ').length, 0);
    const sinks = new DroppingSinks();
    const view = await runInMemory('drop', topology(), data, 20_000, prng(2), { sinks });
    expect(serialized).toBe(0);
    expect(sinks.counts.get('lengths')).toBe(words);
    expect(view.stores.get('word-counts')!.size).toBe(2);
    // A sink writer that writes gets serialized records (and this serde fails the run).
    await expect(runInMemory('write', topology(), data, 20_000, prng(2))).rejects.toThrow(/never runs/);
    expect(serialized).toBe(1);
  });

  it('property: word count over random input, partitions and boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 12_000 }),
        async (seed, partitions, boundaryMs) => {
          const input = lines(seed, 120, 10_000);
          const view = await runInMemory(
            'wc',
            wordCount(),
            partitionInput(input, new Map([['lines', partitions]]), prng(seed + 1)),
            boundaryMs,
            prng(seed + 2),
          );
          const expected = await driverStore(
            wordCount(),
            input.filter((r) => r.timestamp < boundaryMs),
            'word-counts',
            'key-value',
          );
          expect(render([...(view.stores.get('word-counts')?.values() ?? [])].flat())).toEqual(
            render(expected),
          );
        },
      ),
      { numRuns: 15 },
    );
  });
});
