/**
 * Global state (Kafka Streams' GlobalStateManager + GlobalStreamThread): the stores of global tables,
 * which every instance keeps in full. Before processing starts they are restored from ALL partitions
 * of their source topics (the topic is the changelog) up to the end offsets; afterwards a partition
 * reader outside the consumer group keeps them up to date. Records go through the global
 * sub-topology (source → store updater), so deserialization and timestamps are those of processing.
 * Offsets are checkpointed in `<stateDir>/<applicationId>/global/.checkpoint` at each commit.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from 'pino';

import type { ConsumerBatch, FetchRange, KafkaAdmin, KafkaClient, PartitionReader } from '../kafka/client.ts';
import type { StreamsMetrics } from '../metrics/metrics.ts';
import type { ErrorHandling } from '../processor/error-handlers.ts';
import { StreamTask } from '../processor/internals/task.ts';
import type { StateStore } from '../state/types.ts';
import type { Topology } from '../topology/topology.ts';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.ts';
import type { GlobalSubTopologyPlan } from './topic-plan.ts';

export const GLOBAL_TASK_ID = 'global';

/** A view of a shared store for tasks: they read and write it, but never open, flush or close it. */
export function sharedStoreView<S extends StateStore>(store: S): S {
  const noop = (): Promise<void> => Promise.resolve();
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'init' || prop === 'close' || prop === 'flush') return noop;
      if (prop === 'flushCache') return () => {};
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export interface GlobalStateConfig {
  applicationId: string;
  stateDir: string;
  topology: Topology;
  subTopologies: GlobalSubTopologyPlan[];
  client: KafkaClient;
  admin: KafkaAdmin;
  metrics: StreamsMetrics;
  log: Logger;
  errorHandling: ErrorHandling;
  restoreLogIntervalMs: number;
}

export class GlobalStateManager {
  private readonly config: GlobalStateConfig;
  private task?: StreamTask;
  /** "topic:partition" → next offset the stores reflect. */
  private readonly offsets: Checkpoint = new Map();
  private reader?: PartitionReader;
  private dirty = false;
  /** Store name → the view tasks get. */
  readonly views = new Map<string, StateStore>();

  constructor(config: GlobalStateConfig) {
    this.config = config;
  }

  get dir(): string {
    return path.join(this.config.stateDir, this.config.applicationId, GLOBAL_TASK_ID);
  }

  get topics(): string[] {
    return [...new Set(this.config.subTopologies.flatMap((s) => s.sourceTopics))];
  }

  /** Opens the global stores and restores them to the current end of their topics. */
  async restore(): Promise<void> {
    const { config } = this;
    const checkpoint = await readCheckpoint(this.dir);
    if (!checkpoint) await rm(this.dir, { recursive: true, force: true });
    const nodes = new Set(config.subTopologies.flatMap((s) => [...s.nodes]));
    this.task = new StreamTask({
      applicationId: config.applicationId,
      taskId: GLOBAL_TASK_ID,
      stateDir: config.stateDir,
      topology: config.topology,
      nodes,
      collector: {
        send: (record) => {
          throw new Error(`global sub-topologies do not produce (record for ${record.topic})`);
        },
      },
      resolveTopic: (topic) => topic,
      wallClock: () => Date.now(),
      defaultKeySerde: config.topology.defaultKeySerde,
      defaultValueSerde: config.topology.defaultValueSerde,
      errorHandling: config.errorHandling,
      metrics: config.metrics,
      cachingDisabled: true,
    });
    await this.task.init();
    for (const [name, store] of this.task.stores) this.views.set(name, sharedStoreView(store));

    const ranges: FetchRange[] = [];
    for (const topic of this.topics) {
      for (const end of await config.admin.endOffsets(topic)) {
        const key = `${topic}:${end.partition}`;
        const from = checkpoint?.get(key) ?? end.low;
        if (from > end.high) {
          throw new Error(
            `Global state: checkpoint of ${key} (${from}) is beyond the topic's end (${end.high}); ` +
              `the topic was recreated? delete ${this.dir}`,
          );
        }
        this.offsets.set(key, end.high);
        if (Math.max(from, end.low) < end.high)
          ranges.push({
            topic,
            partition: end.partition,
            fromOffset: Math.max(from, end.low),
            toOffset: end.high,
          });
      }
    }
    const stores = [...this.task.stores.keys()].join(', ');
    if (ranges.length > 0) {
      const total = ranges.reduce((n, r) => n + r.toOffset - r.fromOffset, 0);
      const started = Date.now();
      config.log.info(
        { stores, ranges: ranges.map((r) => `${r.topic}[${r.partition}] ${r.fromOffset}..${r.toOffset}`) },
        `restoring global store(s) ${stores}: ${total} record(s)`,
      );
      const done = new Map<string, number>();
      let lastLog = started;
      await config.client.fetchRanges(ranges, {
        isolationLevel: 'read_committed',
        onBatch: (records, range) => {
          const task = this.task!;
          task.addRecords(records);
          task.processAll();
          for (const store of task.stores.keys()) config.metrics.restored(store, records.length);
          const key = `${range.topic}:${range.partition}`;
          done.set(key, Math.min(range.toOffset, records[records.length - 1]!.offset + 1) - range.fromOffset);
          if (Date.now() - lastLog >= config.restoreLogIntervalMs) {
            lastLog = Date.now();
            for (const r of ranges) {
              const k = `${r.topic}:${r.partition}`;
              config.log.info(
                `restored ${done.get(k) ?? 0}/${r.toOffset - r.fromOffset} records of global store ${stores}, partition ${r.partition} of ${r.topic}`,
              );
            }
          }
        },
      });
      config.log.info({ ms: Date.now() - started }, `restored global store(s) ${stores}: ${total} record(s)`);
    }
    await this.task.flushStores();
    await writeCheckpoint(this.dir, this.offsets);
  }

  /** Keeps the stores up to date; `apply` runs each batch where processing runs (serialized). */
  startUpdating(apply: (fn: () => void) => Promise<void>, onError: (error: Error) => void): void {
    this.reader = this.config.client.reader({
      isolationLevel: 'read_committed',
      onBatch: (batch) => apply(() => this.update(batch)),
      onPosition: (topic, partition, next) => {
        const key = `${topic}:${partition}`;
        if ((this.offsets.get(key) ?? -1) < next) this.offsets.set(key, next);
      },
      onError,
    });
    const positions = [...this.offsets].map(([key, offset]) => {
      const i = key.lastIndexOf(':');
      return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset };
    });
    this.reader.assign(positions).catch(onError);
  }

  private update(batch: ConsumerBatch): void {
    const key = `${batch.topic}:${batch.partition}`;
    const position = this.offsets.get(key) ?? 0;
    const records = batch.records.filter((r) => r.offset >= position);
    if (records.length > 0) {
      this.task!.addRecords(records);
      this.task!.processAll();
      this.dirty = true;
    }
    this.offsets.set(key, Math.max(position, batch.nextOffset));
  }

  /** Flushes the stores and writes the checkpoint (at each commit). */
  async commit(): Promise<void> {
    if (!this.task || !this.dirty) return;
    this.dirty = false;
    await this.task.flushStores();
    await writeCheckpoint(this.dir, this.offsets);
  }

  /** Stops the reader; call outside the processing chain (it waits for a batch in flight). */
  async stopUpdating(): Promise<void> {
    await this.reader?.close();
  }

  async close(clean: boolean): Promise<void> {
    if (!this.task) return;
    try {
      if (clean) await this.commit();
      await this.task.close();
    } catch (error) {
      this.config.log.warn({ err: error }, 'closing global stores failed');
    }
    this.task = undefined;
  }
}
