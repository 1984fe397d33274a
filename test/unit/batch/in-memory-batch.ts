/**
 * Runs the batch executor without Kafka: source partitions are arrays, views are collected in memory.
 * The reader interleaves partitions in a seeded random order and honours pause/resume, so tests see
 * that results do not depend on how fetches interleave.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  BatchExecutor,
  type SinkWriter,
  type SourceRange,
  type SourceReader,
} from '../../../src/batch/batch-executor.ts';
import { planBatch, type BatchPlan } from '../../../src/batch/batch-plan.ts';
import { InMemoryExchange } from '../../../src/batch/exchange.ts';
import { StoreChecksum, type ViewStorePartition } from '../../../src/batch/view-manifest.ts';
import type { ConsumedRecord, OutgoingRecord } from '../../../src/kafka/client.ts';
import { defaultPartition } from '../../../src/kafka/partitioner.ts';
import type { StoreRecord } from '../../../src/state/store-export.ts';
import type { Topology } from '../../../src/topology/topology.ts';

export interface InputRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

/** Topic → partitions → records, placed as Kafka's default partitioner places keyed records. */
export function partitionInput(
  records: InputRecord[],
  partitions: Map<string, number>,
  random: () => number = Math.random,
): Map<string, ConsumedRecord[][]> {
  const out = new Map<string, ConsumedRecord[][]>();
  for (const [topic, n] of partitions)
    out.set(
      topic,
      Array.from({ length: n }, () => []),
    );
  for (const r of records) {
    const parts = out.get(r.topic);
    if (!parts) throw new Error(`no partition count for ${r.topic}`);
    const p = r.key ? defaultPartition(r.key, parts.length) : Math.floor(random() * parts.length);
    const list = parts[p]!;
    list.push({ ...r, partition: p, offset: list.length, headers: {} });
  }
  return out;
}

export class ArrayReader implements SourceReader {
  constructor(
    private readonly data: Map<string, ConsumedRecord[][]>,
    private readonly random: () => number,
    private readonly chunk = 7,
  ) {}

  async read(ranges: SourceRange[], handlers: Parameters<SourceReader['read']>[1]): Promise<void> {
    const positions = ranges.map((r) => ({ range: r, at: r.fromOffset, paused: false, done: false }));
    const key = (t: string, p: number): string => `${t}:${p}`;
    const byKey = new Map(positions.map((p) => [key(p.range.topic, p.range.partition), p]));
    const control = {
      pause: (t: string, p: number) => (byKey.get(key(t, p))!.paused = true),
      resume: (t: string, p: number) => (byKey.get(key(t, p))!.paused = false),
    };
    for (const p of positions) {
      if (p.at >= p.range.toOffset) {
        p.done = true;
        handlers.onRangeDone(p.range, control);
      }
    }
    for (;;) {
      const open = positions.filter((p) => !p.done);
      if (open.length === 0) return;
      const runnable = open.filter((p) => !p.paused);
      if (runnable.length === 0) throw new Error('reader deadlock: every open partition is paused');
      const pick = runnable[Math.floor(this.random() * runnable.length)]!;
      const all = this.data.get(pick.range.topic)?.[pick.range.partition] ?? [];
      const end = Math.min(pick.range.toOffset, pick.at + 1 + Math.floor(this.random() * this.chunk));
      const records = all.slice(pick.at, end);
      pick.at = end;
      if (records.length > 0) await handlers.onBatch(records, pick.range, control);
      if (pick.at >= pick.range.toOffset) {
        pick.done = true;
        handlers.onRangeDone(pick.range, control);
      }
    }
  }
}

export interface InMemoryView {
  plan: BatchPlan;
  /** store → partition → records (changelog form, in store order). */
  stores: Map<string, Map<number, StoreRecord[]>>;
  partitions: Map<string, ViewStorePartition[]>;
  sinks: OutgoingRecord[];
  stats: BatchExecutor['stats'];
}

/** Runs a whole batch over in-memory partitions in one process. */
export async function runInMemory(
  applicationId: string,
  topology: Topology,
  data: Map<string, ConsumedRecord[][]>,
  boundaryMs: number,
  random: () => number = Math.random,
  options: { includeInternalStores?: boolean; memoryBudgetBytes?: number; sinks?: SinkWriter } = {},
): Promise<InMemoryView> {
  const counts = new Map([...data].map(([t, parts]) => [t, parts.length]));
  const plan = planBatch(applicationId, topology, counts, 1, {
    ...(options.includeInternalStores ? { includeInternalStores: true } : {}),
  });
  const ranges: SourceRange[] = [];
  for (const topic of [...plan.sourceTopics, ...plan.globalTopics]) {
    const parts = data.get(topic) ?? [];
    parts.forEach((records, partition) =>
      ranges.push({ topic, partition, fromOffset: 0, toOffset: records.length }),
    );
  }
  const stores = new Map<string, Map<number, StoreRecord[]>>();
  const sinks: OutgoingRecord[] = [];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-streams-batch-test-'));
  const executor = new BatchExecutor({
    applicationId,
    topology,
    plan,
    instance: 0,
    ranges,
    boundaryMs,
    stateDir,
    wallClockMs: 0,
    reader: new ArrayReader(data, random),
    exchange: new InMemoryExchange(),
    sinks: options.sinks ?? { send: (r) => sinks.push(r), flush: async () => {} },
    views: {
      write: async (store, partition, records) => {
        const checksum = new StoreChecksum();
        const list: StoreRecord[] = [];
        for (const r of records) {
          checksum.add(r);
          list.push(r);
        }
        let byPartition = stores.get(store.name);
        if (!byPartition) stores.set(store.name, (byPartition = new Map()));
        byPartition.set(partition, list);
        return { partition, records: checksum.records, checksum: checksum.digest() };
      },
    },
    badRecordHandling: 'fail',
    ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
  });
  const partitions = await executor.run();
  return { plan, stores, partitions, sinks, stats: executor.stats };
}
