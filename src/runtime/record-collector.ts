/**
 * The produce side of the tasks (Kafka Streams' RecordCollector and StreamsProducer). Tasks hand their
 * outputs, repartition and changelog records to a TaskOutput, which buffers them until the commit:
 * the hot path never awaits a send, and a commit produces everything in large batches.
 *
 * - at_least_once: one idempotent producer for the instance. Commit = produce every task's records,
 *   flush the stores, write the checkpoints (changelog offsets taken from the produce responses),
 *   then commit the consumer offsets. A crash in between replays since the last commit.
 * - exactly_once on a client without group-metadata commits (kafkajs, which speaks TxnOffsetCommit
 *   v0–v1 only): one transactional producer per task (`<applicationId>-<taskId>`, Kafka Streams'
 *   first EOS mode). Commit = one transaction with the task's records and its consumer offsets, then
 *   flush the stores. A newer owner of the task fences the old producer (initTransactions).
 * - exactly_once on a client with `supportsGroupMetadataCommit` (@platformatic/kafka): one
 *   transactional producer per instance (`<applicationId>-<processId>`, Kafka Streams' exactly_once_v2,
 *   KIP-447). Commit = one transaction with every task's records and offsets, the offsets carrying
 *   the member's generation: the coordinator rejects those of a member the group moved past, and
 *   then every task of the instance is migrated (closed dirty, as Kafka Streams' TaskMigrated). The
 *   process id is kept in the state directory, so a restarted instance fences its own predecessor
 *   and aborts its open transaction at once.
 * Under exactly_once the checkpoint is written only at a clean close.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from 'pino';

import type {
  ConsumerGroupMetadata,
  KafkaAdmin,
  KafkaClient,
  KafkaProducer,
  OutgoingRecord,
  TopicPartitionOffset,
} from '../kafka/client.ts';
import type { KafkaErrorKind } from '../kafka/errors.ts';
import type { StreamsMetrics } from '../metrics/metrics.ts';
import type { StreamTask } from '../processor/internals/task.ts';
import { writeCheckpoint, type Checkpoint } from './checkpoint.ts';

import type { ProcessingGuarantee } from '../streams-config.ts';
export type { ProcessingGuarantee };

/** One task's records since the last commit, and the consumer offsets it last committed. */
export class TaskOutput {
  private records: OutgoingRecord[] = [];
  /** Offsets last committed per "topic:partition" (to skip empty commits). */
  private readonly committed = new Map<string, number>();

  /** `producer`: the task's own transactional producer under exactly_once. */
  constructor(readonly producer?: KafkaProducer) {}

  send(record: OutgoingRecord): void {
    this.records.push(record);
  }

  /** The buffered records, in order; the buffer starts empty again. */
  take(): OutgoingRecord[] {
    const records = this.records;
    this.records = [];
    return records;
  }

  /** Consumed offsets that differ from what was last committed. */
  offsetsToCommit(consumed: ReadonlyMap<string, number>): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const [key, offset] of consumed) {
      if (this.committed.get(key) === offset) continue;
      const i = key.lastIndexOf(':');
      out.push({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset });
    }
    return out;
  }

  markCommitted(offsets: TopicPartitionOffset[]): void {
    for (const o of offsets) this.committed.set(`${o.topic}:${o.partition}`, o.offset);
  }

  async close(): Promise<void> {
    await this.producer?.close().catch(() => {});
  }
}

/** What the commit protocols need of a task. */
export interface CommittableTask {
  readonly id: string;
  readonly partition: number;
  readonly task: StreamTask;
  readonly output: TaskOutput;
  /** Changelog offsets ("topic:partition" → next offset) the flushed stores reflect: the checkpoint. */
  readonly changelogOffsets: Checkpoint;
}

export interface RecordCollectorConfig {
  applicationId: string;
  guarantee: ProcessingGuarantee;
  client: KafkaClient;
  admin: () => Promise<KafkaAdmin>;
  metrics: StreamsMetrics;
  log: Logger;
  classify: (error: unknown) => KafkaErrorKind;
  /** The group consumer's offset commit (at_least_once). */
  commitOffsets: (offsets: TopicPartitionOffset[]) => Promise<void>;
  /** The group consumer's current metadata (exactly_once with one producer per instance). */
  groupMetadata: () => ConsumerGroupMetadata | undefined;
  /** Where the instance keeps its process id (exactly_once with one producer per instance). */
  stateDir: string;
}

/** The instance's process id (Kafka Streams' processId), kept under the application's state dir. */
async function processId(dir: string): Promise<string> {
  const file = path.join(dir, 'process-id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
  } catch {
    // none yet
  }
  const id = randomUUID();
  await mkdir(dir, { recursive: true });
  await writeFile(file, `${id}\n`);
  return id;
}

export class RecordCollector {
  private readonly config: RecordCollectorConfig;
  /** The instance's producer under at_least_once, and under exactly_once with one producer per instance. */
  private producer?: KafkaProducer;

  constructor(config: RecordCollectorConfig) {
    this.config = config;
  }

  get guarantee(): ProcessingGuarantee {
    return this.config.guarantee;
  }

  /** exactly_once with one transactional producer per instance (KIP-447) instead of one per task. */
  get producerPerInstance(): boolean {
    return this.guarantee === 'exactly_once' && this.config.client.supportsGroupMetadataCommit === true;
  }

  async start(): Promise<void> {
    if (this.guarantee === 'at_least_once') {
      this.producer = await this.config.client.producer({ idempotent: true });
    } else if (this.producerPerInstance) {
      const { applicationId, stateDir } = this.config;
      const id = await processId(path.join(stateDir, applicationId));
      const producer = await this.config.client.producer({ transactionalId: `${applicationId}-${id}` });
      await producer.initTransactions();
      this.producer = producer;
    }
  }

  /** A new task's output. Under exactly_once per task its producer fences older owners of the task first. */
  async createTaskOutput(taskId: string): Promise<TaskOutput> {
    if (this.guarantee !== 'exactly_once' || this.producerPerInstance) return new TaskOutput();
    const producer = await this.config.client.producer({
      transactionalId: `${this.config.applicationId}-${taskId}`,
    });
    await producer.initTransactions();
    return new TaskOutput(producer);
  }

  /**
   * Commits the tasks' records and consumer offsets and flushes their stores (caches are flushed
   * already). Under exactly_once a task whose producer was fenced is handed to `onFenced` (Kafka
   * Streams' TaskMigratedException) and the others commit on.
   */
  async commit<T extends CommittableTask>(tasks: T[], onFenced: (task: T) => Promise<void>): Promise<void> {
    if (this.producerPerInstance) {
      try {
        await this.commitInstanceTransaction(tasks);
      } catch (error) {
        const kind = this.config.classify(error);
        if (kind !== 'fenced' && kind !== 'rebalance') throw error;
        // The group moved past this member (or a newer instance took the process id): every task
        // of the instance belongs elsewhere now.
        this.config.log.warn({ err: error }, 'transaction rejected: the tasks of this instance migrated');
        for (const t of tasks) await onFenced(t);
      }
    } else if (this.guarantee === 'exactly_once') {
      for (const t of tasks) {
        try {
          await this.commitTransaction(t);
        } catch (error) {
          if (this.config.classify(error) !== 'fenced') throw error;
          await onFenced(t);
        }
      }
    } else {
      await this.commitAtLeastOnce(tasks);
    }
  }

  /**
   * The changelog offsets to checkpoint when a task closes cleanly. Under exactly_once nothing is open
   * after the last commit, so the changelog's end is what the stores hold.
   */
  async changelogOffsetsAtClose(t: CommittableTask): Promise<void> {
    if (this.guarantee !== 'exactly_once') return;
    const admin = await this.config.admin();
    for (const key of t.changelogOffsets.keys()) {
      const topic = key.slice(0, key.lastIndexOf(':'));
      const end = (await admin.endOffsets(topic)).find((o) => o.partition === t.partition);
      if (end) t.changelogOffsets.set(key, end.high);
    }
  }

  async close(): Promise<void> {
    await this.producer?.close().catch(() => {});
  }

  private async commitAtLeastOnce(tasks: CommittableTask[]): Promise<void> {
    const records: OutgoingRecord[] = [];
    for (const t of tasks) for (const r of t.output.take()) records.push(r);
    if (records.length > 0) {
      const produced = await this.producer!.send(records);
      this.countProduced(records);
      // Changelog partitions belong to one task each: the produce responses move its checkpoint.
      const ownerOf = new Map<string, CommittableTask>();
      for (const t of tasks) for (const key of t.changelogOffsets.keys()) ownerOf.set(key, t);
      for (const p of produced) {
        if (p.count === undefined || p.baseOffset < 0) continue;
        const key = `${p.topic}:${p.partition}`;
        const t = ownerOf.get(key);
        if (t) t.changelogOffsets.set(key, Math.max(t.changelogOffsets.get(key)!, p.baseOffset + p.count));
      }
    }
    for (const t of tasks) await t.task.flushStores();
    for (const t of tasks)
      if (t.changelogOffsets.size > 0) await writeCheckpoint(t.task.taskDir, t.changelogOffsets);
    const offsets = tasks.map((t) => ({ t, offsets: t.output.offsetsToCommit(t.task.consumedOffsets) }));
    const all = offsets.flatMap((o) => o.offsets);
    if (all.length === 0) return;
    try {
      await this.config.commitOffsets(all);
      for (const { t, offsets: o } of offsets) t.output.markCommitted(o);
    } catch (error) {
      if (this.config.classify(error) !== 'rebalance') throw error;
      // Outputs and changelogs are written; the offsets are retried at the next commit. A task
      // that moves meanwhile may see its last records again (at-least-once).
      this.config.log.warn(
        { partitions: all.length },
        'offset commit rejected because the group is rebalancing; retrying after the rebalance',
      );
    }
  }

  private async commitTransaction(t: CommittableTask): Promise<void> {
    const records = t.output.take();
    const offsets = t.output.offsetsToCommit(t.task.consumedOffsets);
    if (records.length > 0 || offsets.length > 0) {
      const txn = await t.output.producer!.transaction();
      try {
        if (records.length > 0) await txn.send(records);
        await txn.sendOffsets(this.config.applicationId, offsets);
        await txn.commit();
      } catch (error) {
        await txn.abort().catch(() => {});
        throw new Error(`Task ${t.id}: transaction failed: ${(error as Error).message}`, { cause: error });
      }
      this.countProduced(records);
      t.output.markCommitted(offsets);
    }
    await t.task.flushStores();
  }

  /** One transaction for every task: records, then offsets with the member's group metadata. */
  private async commitInstanceTransaction(tasks: CommittableTask[]): Promise<void> {
    const records: OutgoingRecord[] = [];
    for (const t of tasks) for (const r of t.output.take()) records.push(r);
    const offsets = tasks.map((t) => ({ t, offsets: t.output.offsetsToCommit(t.task.consumedOffsets) }));
    const all = offsets.flatMap((o) => o.offsets);
    if (records.length > 0 || all.length > 0) {
      const group = this.config.groupMetadata();
      const txn = await this.producer!.transaction();
      try {
        if (records.length > 0) await txn.send(records);
        await txn.sendOffsets(this.config.applicationId, all, group);
        await txn.commit();
      } catch (error) {
        await txn.abort().catch(() => {});
        throw new Error(`instance transaction of ${tasks.length} tasks failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      this.countProduced(records);
      for (const { t, offsets: o } of offsets) t.output.markCommitted(o);
    }
    for (const t of tasks) await t.task.flushStores();
  }

  private countProduced(records: OutgoingRecord[]): void {
    const byTopic = new Map<string, number>();
    for (const r of records) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
    for (const [topic, n] of byTopic) this.config.metrics.produced(topic, n);
  }
}
