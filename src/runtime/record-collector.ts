/**
 * The produce side of the tasks (Kafka Streams' RecordCollector and StreamsProducer). Tasks hand their
 * outputs, repartition and changelog records to a TaskOutput. The hot path never awaits a send: once
 * a task has buffered a batch's worth (SEND_AHEAD_*), the collector starts producing it in the
 * background while processing goes on, so downstream sub-topologies see repartitioned records before
 * the commit and a commit only sends the rest. The commit waits for every send it covers.
 *
 * - at_least_once: one idempotent producer for the instance; sends ahead are chained one after the
 *   other (per-partition order). Commit = wait for the sends ahead, produce the rest, flush the stores,
 *   write the checkpoints (changelog offsets taken from the produce responses), then commit the
 *   consumer offsets. A crash in between replays since the last commit.
 * - exactly_once on a client without group-metadata commits (kafkajs, which speaks TxnOffsetCommit
 *   v0–v1 only): one transactional producer per task (`<applicationId>-<taskId>`, Kafka Streams'
 *   first EOS mode). The first send ahead opens the task's transaction; commit = the rest of the
 *   records and the task's consumer offsets in that transaction, commit it, then flush the stores. A
 *   newer owner of the task fences the old producer (initTransactions).
 * - exactly_once on a client with `supportsGroupMetadataCommit` (@platformatic/kafka): one
 *   transactional producer per instance (`<applicationId>-<processId>`, Kafka Streams' exactly_once_v2,
 *   KIP-447). Commit = one transaction with every task's records and offsets, the offsets carrying
 *   the member's generation: the coordinator rejects those of a member the group moved past, and
 *   then every task of the instance is migrated (closed dirty, as Kafka Streams' TaskMigrated). The
 *   process id is kept in the state directory, so a restarted instance fences its own predecessor
 *   and aborts its open transaction at once. Records are not sent ahead in this mode: the one
 *   transaction would then hold records of tasks whose offsets a commit of only some tasks (a
 *   revocation) leaves out, and a crash after it would produce them twice.
 * Under exactly_once the checkpoint is written only at a clean close.
 *
 * A send ahead that fails is reported by the next commit, which fails as the send would have.
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
  KafkaTransaction,
  OutgoingRecord,
  ProducedPartition,
  TopicPartitionOffset,
} from '../kafka/client.ts';
import type { KafkaErrorKind } from '../kafka/errors.ts';
import { withTimeout } from '../kafka/retry.ts';
import type { StreamsMetrics } from '../metrics/metrics.ts';
import type { StreamTask } from '../processor/internals/task.ts';
import { writeCheckpoint, type Checkpoint } from './checkpoint.ts';

import type { ProcessingGuarantee } from '../streams-config.ts';
export type { ProcessingGuarantee };

/** Buffered records (or their memory) of one task that start a send ahead of the commit, whichever comes first. */
export const SEND_AHEAD_RECORDS = 5_000;
export const SEND_AHEAD_BYTES = 1024 * 1024;
/**
 * Memory a worker may hold in records sent ahead and not yet acknowledged before processing waits
 * for them (backpressure against a slow broker: the records stay in memory until acknowledged).
 */
export const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;
/**
 * What a small record costs in memory beyond its key and value bytes: the record object, two Buffer
 * objects and the client's own message copy. Counting only key and value bytes let a million small
 * records (a few dozen bytes each) pile up in flight.
 */
const RECORD_OVERHEAD_BYTES = 256;

function recordBytes(record: OutgoingRecord): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + RECORD_OVERHEAD_BYTES;
}

/** How long a failed commit waits for its transaction's abort. */
const ABORT_DEADLINE_MS = 10_000;

/** One task's records since the last commit (or send ahead), and the consumer offsets it last committed. */
export class TaskOutput {
  private records: OutgoingRecord[] = [];
  private bytes = 0;
  /** Offsets last committed per "topic:partition" (to skip empty commits). */
  private readonly committed = new Map<string, number>();
  /** exactly_once: the transaction a send ahead opened, committed (or aborted) by the next commit. */
  transaction?: KafkaTransaction;
  /** exactly_once: this task's sends ahead, in order. */
  sending: Promise<void> = Promise.resolve();
  /** exactly_once: the first send ahead that failed since the last commit. */
  sendError?: Error;

  /** `producer`: the task's own transactional producer under exactly_once. */
  constructor(readonly producer?: KafkaProducer) {}

  send(record: OutgoingRecord): void {
    this.records.push(record);
    this.bytes += recordBytes(record);
  }

  get bufferedRecords(): number {
    return this.records.length;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  /** The buffered records, in order; the buffer starts empty again. */
  take(): OutgoingRecord[] {
    const records = this.records;
    this.records = [];
    this.bytes = 0;
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

  /** Closes the task's producer; an open transaction (a dirty close) is aborted first. */
  async close(): Promise<void> {
    await this.sending.catch(() => {});
    if (this.transaction)
      await withTimeout(this.transaction.abort(), ABORT_DEADLINE_MS, 'abort').catch(() => {});
    this.transaction = undefined;
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
  /** at_least_once: the sends ahead of all tasks, in order. */
  private sending: Promise<void> = Promise.resolve();
  /** at_least_once: the first send ahead that failed since the last commit. */
  private sendError?: Error;
  /** Bytes sent ahead and not yet acknowledged (all tasks). */
  private inFlightBytes = 0;

  constructor(config: RecordCollectorConfig) {
    this.config = config;
  }

  /** The kind of a Kafka error (the client's classification). */
  classify(error: unknown): KafkaErrorKind {
    return this.config.classify(error);
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
   * Starts producing a task's buffered records once they make a batch (SEND_AHEAD_*), without
   * waiting for it. The next commit waits for it and reports its failure.
   */
  sendAhead(t: CommittableTask): void {
    const out = t.output;
    if (this.producerPerInstance) return; // see the header: the instance transaction waits for the commit
    if (out.bufferedRecords < SEND_AHEAD_RECORDS && out.bufferedBytes < SEND_AHEAD_BYTES) return;
    const bytes = out.bufferedBytes;
    const records = out.take();
    this.inFlightBytes += bytes;
    const done = (): void => {
      this.inFlightBytes -= bytes;
    };
    if (this.guarantee === 'exactly_once') {
      out.sending = out.sending
        .then(async () => {
          if (out.sendError) return; // the commit aborts this transaction anyway
          out.transaction ??= await out.producer!.transaction();
          await out.transaction.send(records);
          this.countProduced(records);
        })
        .catch((error: unknown) => {
          out.sendError ??= error as Error;
        })
        .finally(done);
      return;
    }
    this.sending = this.sending
      .then(async () => {
        if (this.sendError) return;
        const produced = await this.producer!.send(records);
        this.countProduced(records);
        this.advanceChangelogs([t], produced);
      })
      .catch((error: unknown) => {
        this.sendError ??= error as Error;
      })
      .finally(done);
  }

  /** Waits while more than MAX_IN_FLIGHT_BYTES are sent ahead and unacknowledged. */
  async backpressure(tasks: Iterable<CommittableTask>): Promise<void> {
    if (this.inFlightBytes <= MAX_IN_FLIGHT_BYTES) return;
    if (this.guarantee === 'exactly_once') await Promise.all([...tasks].map((t) => t.output.sending));
    else await this.sending;
  }

  /**
   * Commits the tasks' records and consumer offsets and flushes their stores (caches are flushed
   * already). Under exactly_once a task whose producer was fenced is handed to `onFenced` (Kafka
   * Streams' TaskMigratedException) and the others commit on. A commit that failed because a broker
   * went away or answered with a transient error hands its tasks to `onCorrupted` when given (Kafka
   * Streams' TaskCorruptedException: what they did since their last commit is gone or unknown).
   */
  async commit<T extends CommittableTask>(
    tasks: T[],
    onFenced: (task: T) => Promise<void>,
    onCorrupted?: (task: T, error: Error) => Promise<void>,
  ): Promise<void> {
    const transient = (error: unknown): boolean => {
      const kind = this.config.classify(error);
      return onCorrupted !== undefined && (kind === 'connection' || kind === 'retriable');
    };
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
          if (transient(error)) await onCorrupted!(t, error as Error);
          else if (this.config.classify(error) !== 'fenced') throw error;
          else await onFenced(t);
        }
      }
    } else {
      try {
        await this.commitAtLeastOnce(tasks);
      } catch (error) {
        if (!transient(error)) throw error;
        for (const t of tasks) await onCorrupted!(t, error as Error);
      }
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

  /** Changelog partitions belong to one task each: the produce responses move its checkpoint. */
  private advanceChangelogs(tasks: CommittableTask[], produced: ProducedPartition[]): void {
    const ownerOf = new Map<string, CommittableTask>();
    for (const t of tasks) for (const key of t.changelogOffsets.keys()) ownerOf.set(key, t);
    for (const p of produced) {
      if (p.count === undefined || p.baseOffset < 0) continue;
      const key = `${p.topic}:${p.partition}`;
      const t = ownerOf.get(key);
      if (t) t.changelogOffsets.set(key, Math.max(t.changelogOffsets.get(key)!, p.baseOffset + p.count));
    }
  }

  private async commitAtLeastOnce(tasks: CommittableTask[]): Promise<void> {
    await this.sending;
    const failed = this.sendError;
    this.sendError = undefined;
    if (failed)
      throw new Error(`sending records ahead of the commit failed: ${failed.message}`, { cause: failed });
    const records: OutgoingRecord[] = [];
    for (const t of tasks) for (const r of t.output.take()) records.push(r);
    if (records.length > 0) {
      const produced = await this.producer!.send(records);
      this.countProduced(records);
      this.advanceChangelogs(tasks, produced);
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
    const out = t.output;
    await out.sending;
    const records = out.take();
    const offsets = out.offsetsToCommit(t.task.consumedOffsets);
    if (records.length > 0 || offsets.length > 0 || out.transaction) {
      const failed = out.sendError;
      out.sendError = undefined;
      let txn = out.transaction;
      out.transaction = undefined;
      try {
        if (failed) throw failed;
        txn ??= await out.producer!.transaction();
        if (records.length > 0) await txn.send(records);
        await txn.sendOffsets(this.config.applicationId, offsets);
        await txn.commit();
      } catch (error) {
        // Bounded: with the broker gone an abort may wait for it; a newer producer of the task's
        // transactional id (initTransactions) aborts what is left open.
        if (txn) await withTimeout(txn.abort(), ABORT_DEADLINE_MS, 'abort').catch(() => {});
        throw new Error(`Task ${t.id}: transaction failed: ${(error as Error).message}`, { cause: error });
      }
      this.countProduced(records);
      out.markCommitted(offsets);
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
