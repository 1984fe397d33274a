/**
 * Restoration and standby updates (Kafka Streams' StoreChangelogReader). One partition reader,
 * outside the application's consumer group, reads the changelog partitions of restoring tasks (from
 * their checkpoint up to the end captured when the restore began) and of standby replicas (without
 * end). Batches run in the stream thread's processing chain, so a restoring task never blocks the
 * group: the consumer keeps polling, heartbeating and processing the other tasks meanwhile.
 */
import type { Logger } from 'pino';

import type {
  ConsumedRecord,
  ConsumerBatch,
  KafkaAdmin,
  KafkaClient,
  PartitionReader,
  TopicPartitionOffset,
} from '../kafka/client.ts';
import type { StreamsMetrics } from '../metrics/metrics.ts';
import type { StreamTask } from '../processor/internals/task.ts';
import type { StateStore } from '../state/types.ts';
import type { ChangelogRecord } from '../state/wrapped-state-store.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { SubTopologyPlan, TopicPlan } from './topic-plan.ts';

interface RestoreRange {
  store: string;
  topic: string;
  start: number;
  end: number;
}

/** A task's restoration in progress. */
export interface RestoreState {
  /** Changelog "topic:partition" → what is left to read. */
  ranges: Map<string, RestoreRange>;
  total: number;
  restored: number;
  started: number;
  lastLog: number;
  /** Source batches fetched before the partitions were paused; processed once restored. */
  pending: ConsumerBatch[];
  /** Records restored since the task's stores last started writing to disk. */
  sinceFlush: number;
  /** The stores' write to disk in flight (awaited before the next starts, and when restored). */
  flushing: Promise<void>;
}

/**
 * Records a restoring task reads between two writes of its stores to disk. Written only at the end,
 * a restore held every changelog record in memory (2.3 GiB for 2M records) and wrote them in one
 * blocking batch; written every so often, LevelDB writes one batch while the next is read.
 */
export const RESTORE_FLUSH_RECORDS = 100_000;

/** What the reader needs of an active task. */
export interface RestoringTask {
  readonly id: string;
  readonly partition: number;
  readonly sub: SubTopologyPlan;
  readonly task: StreamTask;
  readonly changelogOffsets: Checkpoint;
  /** Present while the task's stores catch up with their changelogs (source partitions paused). */
  restoring?: RestoreState;
}

export type RestorableStore = StateStore & { restoreBatch(records: ReadonlyArray<unknown>): void };

/** A warm copy of a task's stores on an instance that does not run the task. */
export interface StandbyTask {
  readonly id: string;
  readonly sub: SubTopologyPlan;
  readonly partition: number;
  readonly dir: string;
  readonly stores: Map<string, RestorableStore>;
  /** Changelog "topic:partition" → store name. */
  readonly storeOfChangelog: Map<string, string>;
  readonly changelogOffsets: Checkpoint;
  dirty: boolean;
}

export interface ChangelogReaderConfig<T extends RestoringTask> {
  client: KafkaClient;
  admin: () => Promise<KafkaAdmin>;
  plan: TopicPlan;
  metrics: StreamsMetrics;
  log: Logger;
  restoreLogIntervalMs: number;
  /** Runs a function in the stream thread's processing chain. */
  run: (fn: () => Promise<void> | void) => Promise<void>;
  onError: (error: Error) => void;
  activeTask: (id: string) => T | undefined;
  standbyTask: (id: string) => StandbyTask | undefined;
  /** Every changelog of the task is read (called inside the chain). */
  onRestored: (task: T) => void;
  /** Records between two writes of a restoring task's stores (default RESTORE_FLUSH_RECORDS). */
  restoreFlushRecords?: number;
}

export class ChangelogReader<T extends RestoringTask = RestoringTask> {
  private readonly config: ChangelogReaderConfig<T>;
  private readonly reader: PartitionReader;
  /** Changelog "topic:partition" → restoring task id or standby id. */
  private readonly owners = new Map<string, { kind: 'active' | 'standby'; id: string }>();

  constructor(config: ChangelogReaderConfig<T>) {
    this.config = config;
    this.reader = config.client.reader({
      isolationLevel: 'read_committed',
      onBatch: (batch) => config.run(() => this.onBatch(batch)),
      onPosition: (topic, partition, next) => void config.run(() => this.onPosition(topic, partition, next)),
      onError: (error) => config.onError(error),
    });
  }

  /**
   * Compares each logged store's checkpoint with its changelog end. Behind: the task is RESTORING
   * (`task.restoring`) and the gap is read in chunks once `sync()` points the reader at it.
   */
  async beginRestore(t: T): Promise<void> {
    const { plan, metrics, log } = this.config;
    const admin = await this.config.admin();
    const ranges = new Map<string, RestoreRange>();
    for (const storeName of t.sub.stores) {
      const topic = plan.changelogs.get(storeName);
      if (!topic) continue;
      const store = t.task.getStore(storeName) as StateStore & { restoreBatch?: unknown };
      if (!store || typeof store.restoreBatch !== 'function') {
        throw new Error(`Store '${storeName}' cannot be restored (no restoreBatch)`);
      }
      const end = (await admin.endOffsets(topic)).find((o) => o.partition === t.partition);
      if (!end) throw new Error(`Changelog ${topic} has no partition ${t.partition}`);
      const key = `${topic}:${t.partition}`;
      const checkpointed = t.changelogOffsets.get(key) ?? end.low;
      if (checkpointed > end.high) {
        throw new Error(
          `Task ${t.id}: checkpoint of ${topic} (${checkpointed}) is beyond the changelog end (${end.high}); delete ${t.task.taskDir}`,
        );
      }
      const from = Math.max(checkpointed, end.low);
      t.changelogOffsets.set(key, from);
      if (from < end.high) ranges.set(key, { store: storeName, topic, start: from, end: end.high });
      else t.changelogOffsets.set(key, end.high);
    }
    if (ranges.size === 0) return;
    const total = [...ranges.values()].reduce((n, r) => n + (r.end - r.start), 0);
    t.restoring = {
      ranges,
      total,
      restored: 0,
      started: Date.now(),
      lastLog: Date.now(),
      pending: [],
      sinceFlush: 0,
      flushing: Promise.resolve(),
    };
    for (const [key, r] of ranges) {
      this.owners.set(key, { kind: 'active', id: t.id });
      metrics.restoreRemaining.set({ store: r.store, task: t.id }, r.end - r.start);
    }
    log.info(
      {
        task: t.id,
        ranges: [...ranges.values()].map((r) => `${r.topic}[${t.partition}] ${r.start}..${r.end}`),
      },
      `restoring ${total} changelog record(s) of task ${t.id}`,
    );
  }

  /**
   * Starts keeping a standby's stores warm: from its checkpoint (or the changelog's start) on, with
   * no end.
   */
  async trackStandby(standby: StandbyTask, checkpoint: Checkpoint): Promise<void> {
    const admin = await this.config.admin();
    for (const name of standby.stores.keys()) {
      const topic = this.config.plan.changelogs.get(name)!;
      const key = `${topic}:${standby.partition}`;
      const end = (await admin.endOffsets(topic)).find((o) => o.partition === standby.partition);
      const from = Math.max(checkpoint.get(key) ?? end?.low ?? 0, end?.low ?? 0);
      standby.storeOfChangelog.set(key, name);
      standby.changelogOffsets.set(key, from);
      this.owners.set(key, { kind: 'standby', id: standby.id });
    }
  }

  /** Stops reading for a task or standby (revoked, closed); `sync()` applies it to the reader. */
  release(kind: 'active' | 'standby', id: string): void {
    for (const [key, owner] of [...this.owners])
      if (owner.kind === kind && owner.id === id) this.owners.delete(key);
  }

  /** Points the partition reader at the changelogs of restoring tasks and standbys. */
  sync(): void {
    const positions: TopicPartitionOffset[] = [];
    for (const [key, owner] of this.owners) {
      const i = key.lastIndexOf(':');
      const topic = key.slice(0, i);
      const partition = Number(key.slice(i + 1));
      const offsets =
        owner.kind === 'active'
          ? this.config.activeTask(owner.id)?.changelogOffsets
          : this.config.standbyTask(owner.id)?.changelogOffsets;
      const offset = offsets?.get(key);
      if (offset !== undefined) positions.push({ topic, partition, offset });
    }
    // Not awaited: the reader waits for its batch in flight, which waits for the processing chain.
    this.reader.assign(positions).catch((error: unknown) => this.config.onError(error as Error));
  }

  /** Stops the reader; call outside the processing chain (it waits for a batch in flight). */
  async close(): Promise<void> {
    await this.reader.close();
  }

  /** Changelog records for a restoring task or a standby replica (inside the chain). */
  private async onBatch(batch: ConsumerBatch): Promise<void> {
    const key = `${batch.topic}:${batch.partition}`;
    const owner = this.owners.get(key);
    if (!owner) return;
    if (owner.kind === 'standby') {
      const standby = this.config.standbyTask(owner.id);
      if (standby) this.updateStandby(standby, key, batch);
      return;
    }
    const t = this.config.activeTask(owner.id);
    const range = t?.restoring?.ranges.get(key);
    if (!t || !range) return;
    const position = t.changelogOffsets.get(key) ?? range.start;
    const { records, read } = changelogRecordsIn(batch.records, position, range.end);
    const state = t.restoring!;
    if (read > 0) {
      const store = t.task.getStore(range.store) as unknown as RestorableStore;
      store.restoreBatch(records);
      state.restored += read;
      state.sinceFlush += read;
      this.config.metrics.restored(range.store, read);
    }
    const next = Math.min(range.end, Math.max(position, batch.nextOffset));
    if (state.sinceFlush >= (this.config.restoreFlushRecords ?? RESTORE_FLUSH_RECORDS) && next < range.end) {
      state.sinceFlush = 0;
      // At most one write in flight: this batch waits for the previous one, the next is read meanwhile.
      await state.flushing;
      state.flushing = t.task.flushStores();
      state.flushing.catch(() => undefined); // surfaced when the restore finishes
    }
    this.advanceRestore(t, key, next);
  }

  private updateStandby(standby: StandbyTask, key: string, batch: ConsumerBatch): void {
    const position = standby.changelogOffsets.get(key) ?? 0;
    const { records } = changelogRecordsIn(batch.records, position, Number.POSITIVE_INFINITY);
    const storeName = standby.storeOfChangelog.get(key)!;
    if (records.length > 0) {
      standby.stores.get(storeName)!.restoreBatch(records);
      this.config.metrics.standbyUpdated(storeName, records.length);
      standby.dirty = true;
    }
    standby.changelogOffsets.set(key, Math.max(position, batch.nextOffset));
  }

  /** The reader moved past records that never reach onBatch (control records, compacted gaps). */
  private onPosition(topic: string, partition: number, next: number): void {
    const key = `${topic}:${partition}`;
    const owner = this.owners.get(key);
    if (!owner) return;
    if (owner.kind === 'standby') {
      const standby = this.config.standbyTask(owner.id);
      if (standby && (standby.changelogOffsets.get(key) ?? 0) < next) standby.changelogOffsets.set(key, next);
      return;
    }
    const t = this.config.activeTask(owner.id);
    const range = t?.restoring?.ranges.get(key);
    if (t && range) this.advanceRestore(t, key, Math.min(range.end, next));
  }

  private advanceRestore(t: T, key: string, position: number): void {
    const state = t.restoring!;
    const range = state.ranges.get(key)!;
    t.changelogOffsets.set(key, Math.max(t.changelogOffsets.get(key) ?? 0, position));
    const left = Math.max(0, range.end - t.changelogOffsets.get(key)!);
    this.config.metrics.restoreRemaining.set({ store: range.store, task: t.id }, left);
    if (Date.now() - state.lastLog >= this.config.restoreLogIntervalMs) {
      state.lastLog = Date.now();
      const progress = restoreProgress(state, t.changelogOffsets);
      this.config.metrics.restoreEta.set({ task: t.id }, progress.etaSeconds ?? 0);
      this.config.log.info(
        { task: t.id, ...progress },
        `restoring task ${t.id}: ${progress.done}/${state.total} records (${Math.floor((100 * progress.done) / state.total)}%), ` +
          `${Math.round(progress.recordsPerSec)} records/s, ETA ${progress.etaSeconds === undefined ? '?' : `${progress.etaSeconds} s`}`,
      );
    }
    if (left === 0) {
      state.ranges.delete(key);
      this.owners.delete(key);
      if (state.ranges.size === 0) this.config.onRestored(t);
    }
  }
}

/**
 * The keyed records of a fetched batch with offsets in [from, to), and how many offsets of that range
 * the batch covered (keyless records count as read; stores skip them). The usual batch lies wholly
 * inside the range with a key on every record: it goes down as fetched, without a copy per record.
 */
function changelogRecordsIn(
  fetched: ConsumedRecord[],
  from: number,
  to: number,
): { records: ReadonlyArray<ChangelogRecord>; read: number } {
  if (
    fetched.length > 0 &&
    fetched[0]!.offset >= from &&
    fetched[fetched.length - 1]!.offset < to &&
    fetched.every((r) => r.key !== null)
  )
    return { records: fetched as ReadonlyArray<ChangelogRecord>, read: fetched.length };
  const records: ChangelogRecord[] = [];
  let read = 0;
  for (const r of fetched) {
    if (r.offset < from || r.offset >= to) continue;
    read++;
    if (r.key !== null) records.push({ key: r.key, value: r.value, timestamp: r.timestamp });
  }
  return { records, read };
}

/** Records read so far over all of a task's changelog ranges, the rate since the restore began, and an ETA. */
export function restoreProgress(
  state: Pick<RestoreState, 'ranges' | 'total' | 'started'>,
  offsets: Checkpoint,
  now = Date.now(),
): { done: number; recordsPerSec: number; etaSeconds?: number } {
  let left = 0;
  for (const [key, r] of state.ranges)
    left += Math.max(0, r.end - Math.max(r.start, offsets.get(key) ?? r.start));
  // Ranges already finished are no longer in `ranges`: whatever is not left is done.
  const done = state.total - left;
  const seconds = (now - state.started) / 1000;
  const recordsPerSec = seconds > 0 ? done / seconds : 0;
  return {
    done,
    recordsPerSec,
    ...(recordsPerSec > 0 ? { etaSeconds: Math.ceil(left / recordsPerSec) } : {}),
  };
}
