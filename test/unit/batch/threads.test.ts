/**
 * A run split over instances that hand repartition records to each other in memory (what the
 * threads of a threaded run do, batch-threads.ts), here as executors on one thread: the same view as
 * one executor, records counted once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { BatchExecutor, type BatchStats, type SourceRange } from '../../../src/batch/batch-executor.ts';
import { planBatch } from '../../../src/batch/batch-plan.ts';
import {
  describeErrorHandlers,
  errorHandlersOf,
  profilingExecArgv,
  ThreadExchange,
} from '../../../src/batch/batch-threads.ts';
import {
  ContinueProductionExceptionHandler,
  LogAndContinueExceptionHandler,
  LogAndFailExceptionHandler,
} from '../../../src/processor/error-handlers.ts';
import { StoreChecksum, type ViewStorePartition } from '../../../src/batch/view-manifest.ts';
import type { ConsumedRecord } from '../../../src/kafka/client.ts';
import {
  Consumed,
  Grouped,
  Materialized,
  Serdes,
  StreamsBuilder,
  type Topology,
} from '../../../src/index.ts';
import { prng } from '../../differential/generate.ts';
import { ArrayReader, partitionInput, runInMemory, type InputRecord } from './in-memory-batch.ts';

/** Orders enriched with the customer's region (a global table), counted per region and per word. */
function regions(): Topology {
  const builder = new StreamsBuilder();
  const customers = builder.globalTable('customers', Consumed.with(Serdes.String(), Serdes.String()));
  const orders = builder.stream('orders', Consumed.with(Serdes.String(), Serdes.String()));
  orders
    .join(
      customers,
      (_order, customer) => customer,
      (_customer, region) => region,
    )
    .groupBy((_k, region) => region, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>('orders-per-region').withKeySerde(Serdes.String()));
  orders
    .groupBy((_k, customer) => customer, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>('orders-per-customer').withKeySerde(Serdes.String()));
  return builder.build();
}

function input(seed: number): InputRecord[] {
  const rnd = prng(seed);
  const out: InputRecord[] = [];
  for (let c = 0; c < 12; c++)
    out.push({
      topic: 'customers',
      key: Buffer.from(`c${c}`),
      value: Buffer.from(`region-${c % 4}`),
      timestamp: 1,
    });
  let ts = 10;
  for (let i = 0; i < 600; i++) {
    ts += Math.floor(rnd() * 20);
    out.push({
      topic: 'orders',
      key: Buffer.from(`o${i}`),
      value: Buffer.from(`c${Math.floor(rnd() * 12)}`),
      timestamp: ts,
    });
  }
  return out;
}

/** Runs instances 0 ... n-1 side by side, their exchanges shipping to each other, a barrier per stage. */
async function runSplit(
  topology: () => Topology,
  data: Map<string, ConsumedRecord[][]>,
  boundaryMs: number,
  instances: number,
): Promise<{ partitions: Map<string, ViewStorePartition[]>; stats: BatchStats[] }> {
  const counts = new Map([...data].map(([t, parts]) => [t, parts.length]));
  const plan = planBatch('split', topology(), counts, instances);
  const ranges: SourceRange[] = [];
  for (const topic of [...plan.sourceTopics, ...plan.globalTopics])
    (data.get(topic) ?? []).forEach((records, partition) =>
      ranges.push({ topic, partition, fromOffset: 0, toOffset: records.length }),
    );
  const exchanges: ThreadExchange[] = [];
  for (let i = 0; i < instances; i++)
    exchanges.push(
      new ThreadExchange(plan, i, (to, payload, transfer) =>
        exchanges[to]!.adopt(structuredClone(payload, { transfer })),
      ),
    );
  const arrived = new Map<number, number>();
  const waiting = new Map<number, Array<() => void>>();
  const barrier = (stage: number): Promise<void> =>
    new Promise((resolve) => {
      arrived.set(stage, (arrived.get(stage) ?? 0) + 1);
      waiting.set(stage, [...(waiting.get(stage) ?? []), resolve]);
      if (arrived.get(stage) === instances) for (const go of waiting.get(stage)!) go();
    });
  const executors = exchanges.map(
    (exchange, instance) =>
      new BatchExecutor({
        applicationId: 'split',
        topology: topology(),
        plan,
        instance,
        ranges,
        boundaryMs,
        stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-streams-batch-split-')),
        wallClockMs: 0,
        reader: new ArrayReader(data, prng(instance + 5)),
        exchange,
        sinks: { send: () => {}, flush: async () => {} },
        views: {
          write: async (_store, partition, records) => {
            const checksum = new StoreChecksum();
            for (const r of records) checksum.add(r);
            return { partition, records: checksum.records, checksum: checksum.digest() };
          },
        },
        badRecordHandling: 'fail',
      }),
  );
  const results = await Promise.all(executors.map((e) => e.run((stage) => barrier(stage.index))));
  const partitions = new Map<string, ViewStorePartition[]>();
  for (const result of results)
    for (const [store, list] of result)
      partitions.set(
        store,
        [...(partitions.get(store) ?? []), ...list].sort((a, b) => a.partition - b.partition),
      );
  return { partitions, stats: executors.map((e) => e.stats) };
}

describe('a run split over instances exchanging in memory (threads)', () => {
  for (const instances of [2, 3, 4]) {
    it(`${instances} instances publish the view of one, and count every record once`, async () => {
      const records = input(instances);
      const data = partitionInput(
        records,
        new Map([
          ['orders', 4],
          ['customers', 2],
        ]),
        prng(9),
      );
      const boundaryMs = 5_000;
      const one = await runInMemory('split', regions(), data, boundaryMs, prng(1));
      const split = await runSplit(regions, data, boundaryMs, instances);
      expect(split.partitions).toEqual(one.partitions);
      expect(one.partitions.get('orders-per-region')!.reduce((n, p) => n + p.records, 0)).toBe(4);
      const sum = (key: 'read' | 'processed' | 'beyondBoundary') =>
        split.stats.reduce((n, s) => n + s[key], 0);
      expect(sum('read')).toBe(records.length);
      expect(sum('read')).toBe(one.stats.read);
      expect(sum('processed')).toBe(one.stats.processed);
      expect(sum('beyondBoundary')).toBe(one.stats.beyondBoundary);
      expect(sum('beyondBoundary')).toBeGreaterThan(0);
      // Every instance loaded the global table; only instance 0 counted it.
      const customers = records.filter((r) => r.topic === 'customers').length;
      expect(split.stats[0]!.read).toBeGreaterThanOrEqual(customers);
    });
  }
});

describe('profilingExecArgv (the flags worker threads inherit)', () => {
  it('keeps --cpu-prof flags with their values, in either spelling, and nothing else', () => {
    expect(
      profilingExecArgv([
        '--import',
        'tsx',
        '--cpu-prof',
        '--cpu-prof-dir',
        '/tmp/profiles',
        '--cpu-prof-interval=500',
        '--cpu-prof-name',
        'main.cpuprofile',
        '--max-old-space-size=4096',
      ]),
    ).toEqual(['--cpu-prof', '--cpu-prof-dir', '/tmp/profiles', '--cpu-prof-interval=500']);
    expect(profilingExecArgv(['--cpu-prof-dir=/tmp/p'])).toEqual(['--cpu-prof-dir=/tmp/p']);
    expect(profilingExecArgv(['--enable-source-maps'])).toEqual([]);
  });
});

describe('error handlers for worker threads (by name)', () => {
  it('names the built-in handlers and rebuilds the same classes', () => {
    const names = describeErrorHandlers({
      deserializationExceptionHandler: new LogAndFailExceptionHandler(),
      processingExceptionHandler: new LogAndContinueExceptionHandler(),
      productionExceptionHandler: new ContinueProductionExceptionHandler(),
    });
    expect(names).toEqual({
      deserialization: 'log-and-fail',
      processing: 'log-and-continue',
      production: 'continue-production',
    });
    const rebuilt = errorHandlersOf(structuredClone(names!));
    expect(rebuilt.deserializationExceptionHandler).toBeInstanceOf(LogAndFailExceptionHandler);
    expect(rebuilt.processingExceptionHandler).toBeInstanceOf(LogAndContinueExceptionHandler);
    expect(rebuilt.productionExceptionHandler).toBeInstanceOf(ContinueProductionExceptionHandler);
    expect(describeErrorHandlers(undefined)).toEqual({});
    expect(errorHandlersOf({})).toEqual({});
  });

  it('refuses an application handler (its object cannot cross to another thread)', () => {
    class Mine extends LogAndContinueExceptionHandler {}
    expect(describeErrorHandlers({ processingExceptionHandler: new Mine() })).toBeUndefined();
    expect(
      describeErrorHandlers({ deserializationExceptionHandler: { handle: () => 'CONTINUE' as const } }),
    ).toBeUndefined();
  });
});
