/**
 * The tasks of one instance (Kafka Streams' TaskManager): one active task per (sub-topology,
 * partition) the group assigned, standby replicas the assignor placed here, and what happens to
 * them at a rebalance (commit, close the revoked ones with a checkpoint, create the new ones and start
 * their restoration), at a commit, when a task is fenced, and at shutdown.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from 'pino';

import type { ConsumedRecord, ConsumerBatch, KafkaAdmin, KafkaClient, MemberInfo } from '../kafka/client.ts';
import type { StreamsMetrics } from '../metrics/metrics.ts';
import type { ErrorHandling } from '../processor/error-handlers.ts';
import { StreamTask } from '../processor/internals/task.ts';
import type { StateStore } from '../state/types.ts';
import type { CacheBudget } from '../state/write-back-cache.ts';
import type { Topology } from '../topology/topology.ts';
import { deleteCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.ts';
import {
  ChangelogReader,
  type RestorableStore,
  type RestoringTask,
  type StandbyTask,
} from './changelog-reader.ts';
import type { GlobalStateManager } from './global-state.ts';
import type { CommittableTask, RecordCollector, TaskOutput } from './record-collector.ts';
import { decodeAssignment, parseTaskId, taskId as makeTaskId } from './task-assignor.ts';
import { internalTopicName, type SubTopologyPlan, type TopicPlan } from './topic-plan.ts';

/** A task this instance runs. */
export interface ActiveTask extends CommittableTask, RestoringTask {
  readonly sub: SubTopologyPlan;
}

export type TopicPartitions = Array<{ topic: string; partitions: number[] }>;

export interface TaskManagerConfig {
  applicationId: string;
  stateDir: string;
  topology: Topology;
  plan: TopicPlan;
  client: KafkaClient;
  collector: RecordCollector;
  admin: () => Promise<KafkaAdmin>;
  metrics: StreamsMetrics;
  log: Logger;
  global?: GlobalStateManager;
  errorHandling: ErrorHandling;
  cachingDisabled: boolean;
  /** The stream thread's budget, shared by the caches of every task created here. */
  cacheBudget: CacheBudget;
  numStandbyReplicas: number;
  restoreLogIntervalMs: number;
  /** Runs a function in the stream thread's processing chain. */
  run: (fn: () => Promise<void> | void) => Promise<void>;
  onError: (error: Error) => void;
  /** Pauses and resumes source partitions of the group consumer. */
  pause: (partitions: TopicPartitions) => void;
  resume: (partitions: TopicPartitions) => void;
  /**
   * Rewinds the group consumer on a source partition. Where the consumer cannot (`canSeek`), a commit
   * that fails for want of a broker stops the instance instead of closing and reviving its tasks.
   */
  seek?: (topic: string, partition: number, offset: number) => void;
  canSeek?: () => boolean;
  /** How long a corrupted task may fail to come back (a transient error) before the instance stops. */
  reviveTimeoutMs?: number;
  /** No broker answers: the stream thread gives up after its timeout (brokerUnreachableTimeoutMs). */
  onBrokersUnreachable?: (error: Error) => void;
  /** A task finished restoring (inside the chain). */
  onRestored: () => void;
}

export class TaskManager {
  readonly tasks = new Map<string, ActiveTask>();
  readonly standbys = new Map<string, StandbyTask>();
  readonly changelogReader: ChangelogReader<ActiveTask>;
  private readonly config: TaskManagerConfig;
  /** "topic:partition" → task id. */
  private readonly taskOfPartition = new Map<string, string>();
  private readonly subOfTopic = new Map<string, SubTopologyPlan>();
  /** "topic:partition" of the group assignment (batches of other partitions are stale). */
  private assigned = new Set<string>();
  private lastCommitAt = Date.now();
  /** Tasks closed because their commit failed (a broker went away), to be created again: id → since. */
  private readonly corrupted = new Map<string, number>();

  constructor(config: TaskManagerConfig) {
    this.config = config;
    for (const sub of config.plan.subTopologies)
      for (const t of sub.sourceTopics) this.subOfTopic.set(t, sub);
    this.changelogReader = new ChangelogReader({
      client: config.client,
      admin: config.admin,
      plan: config.plan,
      metrics: config.metrics,
      log: config.log,
      restoreLogIntervalMs: config.restoreLogIntervalMs,
      run: config.run,
      onError: config.onError,
      activeTask: (id) => this.tasks.get(id),
      standbyTask: (id) => this.standbys.get(id),
      onRestored: (t) => this.finishRestore(t),
    });
  }

  /** When the last commit started. */
  get lastCommit(): number {
    return this.lastCommitAt;
  }

  get restoringTasks(): string[] {
    return [...this.tasks.values()].filter((t) => t.restoring).map((t) => t.id);
  }

  /** The partitions of the group assignment, known before the assignment is applied. */
  setAssignedPartitions(assignment: Map<string, number[]>): void {
    this.assigned = new Set([...assignment].flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)));
  }

  /** The task that owns a source partition; none for partitions no longer assigned. */
  taskFor(topic: string, partition: number): ActiveTask | undefined {
    const key = `${topic}:${partition}`;
    if (!this.assigned.has(key)) return undefined; // fetched before a rebalance took it away
    const id = this.taskOfPartition.get(key);
    return id === undefined ? undefined : this.tasks.get(id); // none: fenced, the group moves it
  }

  /**
   * Applies a new assignment (eager protocol: the full set): commits and closes revoked tasks,
   * closes unwanted standbys, creates new tasks (restoring where their stores lag) and standbys.
   */
  async handleAssignment(assignment: Map<string, number[]>, member: MemberInfo): Promise<void> {
    const wanted = new Set<string>();
    for (const [topic, partitions] of assignment) {
      const sub = this.subOfTopic.get(topic);
      if (!sub) continue;
      for (const p of partitions) wanted.add(makeTaskId(sub.id, p));
    }
    const wantedStandbys = new Set((await this.assignedStandbys(member)).filter((id) => !wanted.has(id)));
    const revoked = [...this.tasks.values()].filter((t) => !wanted.has(t.id));
    // Corrupted tasks still wanted are created below; the new generation's consumer starts them at
    // their committed offsets.
    this.corrupted.clear();
    if (revoked.length > 0) {
      // Commit what they processed, then close them (checkpointed) so their new owner restores little.
      await this.commitAll();
      for (const t of revoked) await this.closeTask(t, true);
    }
    for (const standby of [...this.standbys.values()]) {
      if (!wantedStandbys.has(standby.id)) await this.closeStandby(standby, true);
    }
    const created: ActiveTask[] = [];
    for (const id of [...wanted].sort()) {
      if (this.tasks.has(id)) continue;
      await this.createTask(id);
      created.push(this.tasks.get(id)!);
    }
    await this.startFromCommittedOffsets(created);
    for (const id of [...wantedStandbys].sort()) if (!this.standbys.has(id)) await this.createStandby(id);
    this.changelogReader.sync();
    this.syncPausedPartitions();
    // kafkajs resumes retained partitions from the committed offsets; commit so nothing is re-fetched.
    await this.commitAll();
    this.config.metrics.assignedTasks.set(this.tasks.size);
    this.config.metrics.standbyTasks.set(this.standbys.size);
    const restoring = this.restoringTasks;
    this.config.log.info(
      {
        tasks: [...this.tasks.keys()],
        standbys: [...this.standbys.keys()],
        restoring,
        revoked: revoked.map((t) => t.id),
      },
      `assigned ${this.tasks.size} task(s)` +
        (this.standbys.size > 0 ? ` and ${this.standbys.size} standby replica(s)` : '') +
        (restoring.length > 0 ? `; restoring ${restoring.length}` : ''),
    );
  }

  /** Runs a fetched batch through its task; records the task already processed are skipped. */
  process(t: ActiveTask, batch: ConsumerBatch): void {
    const { metrics } = this.config;
    // After a rebalance kafkajs may re-deliver records this task already processed: skip them.
    const position = t.task.consumedOffset(batch.topic, batch.partition);
    const records: ConsumedRecord[] =
      position < 0 || batch.records.length === 0 || batch.records[0]!.offset >= position
        ? batch.records
        : batch.records.filter((r) => r.offset >= position);
    if (records.length > 0) {
      metrics.consumed(batch.topic, records.length);
      const started = process.hrtime.bigint();
      t.task.addRecords(records);
      t.task.processAll();
      metrics.processLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.config.collector.sendAhead(t);
    }
    // Commit past transaction markers too (EOS inputs), so a caught-up consumer group shows lag 0.
    if (batch.committableOffset !== undefined) {
      t.task.advanceConsumed(batch.topic, batch.partition, batch.committableOffset);
    }
  }

  /** Wall-clock punctuation of the running tasks. */
  punctuate(): void {
    for (const t of this.tasks.values()) if (!t.restoring) t.task.maybePunctuateSystemTime();
  }

  /** Commits every running task (Kafka Streams' commit); see record-collector.ts for the protocols. */
  async commitAll(): Promise<void> {
    const { collector, metrics, topology } = this.config;
    this.lastCommitAt = Date.now();
    await this.config.global?.commit();
    for (const standby of this.standbys.values()) await this.flushStandby(standby);
    if (this.tasks.size === 0) return;
    const started = process.hrtime.bigint();
    const running = [...this.tasks.values()].filter((t) => !t.restoring);
    // Restoring tasks keep what they restored so far (ALOS checkpoints are written at every commit).
    for (const t of this.tasks.values()) {
      if (!t.restoring) continue;
      await t.task.flushStores();
      if (this.checkpointsWhileRunning) await writeCheckpoint(t.task.taskDir, t.changelogOffsets);
    }
    for (const t of running) t.task.flushCaches();
    await collector.commit(
      running,
      (t) => this.onFenced(t),
      this.config.seek && this.config.canSeek?.() ? (t, error) => this.onCorrupted(t, error) : undefined,
    );
    for (const t of running) {
      if (this.tasks.get(t.id) !== t) continue; // fenced and closed above: its stores are gone
      for (const [name, store] of t.task.stores) {
        if (topology.globalStores.has(name)) continue;
        const entries = (store as { approximateNumEntries?: () => number }).approximateNumEntries?.();
        if (entries !== undefined) metrics.storeEntries.set({ store: name, task: t.id }, entries);
      }
    }
    metrics.committed(Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Closes every task and standby: checkpointed when clean, as they are otherwise. */
  async closeAll(clean: boolean): Promise<void> {
    for (const t of [...this.tasks.values()]) await this.closeTask(t, clean);
    for (const standby of [...this.standbys.values()]) await this.closeStandby(standby, clean);
  }

  /**
   * Under exactly_once a checkpoint exists only after a clean close (the stores may hold records of
   * an aborted transaction while running); under at_least_once it is written at every commit.
   */
  private get checkpointsWhileRunning(): boolean {
    return this.config.collector.guarantee === 'at_least_once';
  }

  private taskDir(id: string): string {
    return path.join(this.config.stateDir, this.config.applicationId, id);
  }

  /** Kafka Streams' TaskMigratedException: a newer owner fenced this task's producer. */
  private async onFenced(t: ActiveTask): Promise<void> {
    // Its transaction is aborted, so drop the local state and the task; the group moves it for good.
    this.config.log.warn(
      { task: t.id },
      'task migrated to another instance (producer fenced); closing it dirty',
    );
    await this.closeTask(t, false);
    await rm(this.taskDir(t.id), { recursive: true, force: true });
  }

  /**
   * Under exactly_once, new tasks start at the group's committed offsets as read after their fence.
   *
   * Why: the previous owner commits its last transaction (records, changelog, offsets) just before
   * it re-joins, and EndTxn answers before the commit markers are written. The consumer reads its
   * start offsets right after the join; kafkajs cannot ask for stable offsets (OffsetFetch
   * require_stable, KIP-447), so it may get the offsets from before that transaction while the
   * restore, which starts after the fence, reads the transaction's changelog records: the task would
   * count those input records twice. With a producer per task, fencing (initTransactions of the
   * task's transactional id) waits until the old transaction is complete, so offsets read after it
   * are final; with a producer per instance the read asks for stable offsets (require_stable).
   * Records the consumer delivers below them are skipped by `process`.
   */
  private async startFromCommittedOffsets(created: ActiveTask[], always = false): Promise<void> {
    if (created.length === 0 || (this.checkpointsWhileRunning && !always)) return;
    const topics = [...new Set(created.flatMap((t) => t.sub.sourceTopics))];
    const admin = await this.config.admin();
    const committed = new Map(
      (await admin.committedOffsets(this.config.applicationId, topics, { requireStable: true })).map((o) => [
        `${o.topic}:${o.partition}`,
        o.offset,
      ]),
    );
    for (const t of created) {
      for (const topic of t.sub.sourceTopics) {
        const offset = committed.get(`${topic}:${t.partition}`) ?? -1;
        if (offset < 0) continue;
        t.task.advanceConsumed(topic, t.partition, offset);
        t.output.markCommitted([{ topic, partition: t.partition, offset }]); // nothing new to commit yet
      }
    }
  }

  /**
   * Kafka Streams' TaskCorruptedException: the task's commit failed because a broker went away or
   * answered with a transient error, so what it did since its last commit is lost (at_least_once) or
   * aborted (exactly_once). It is closed dirty, its state wiped (under at_least_once too: the stores
   * may hold updates whose changelog records were never sent, which the replay would count again),
   * and created again by `reviveCorrupted`: restored from the changelog, input rewound to the last
   * committed offsets. The instance keeps running.
   */
  private async onCorrupted(t: ActiveTask, error: Error): Promise<void> {
    this.config.log.warn(
      { err: error, task: t.id },
      `Task ${t.id}: commit failed (${error.message}); closing it dirty, it is created again from its ` +
        `changelog and resumes from its last committed offsets`,
    );
    await this.closeTask(t, false);
    await rm(this.taskDir(t.id), { recursive: true, force: true });
    this.corrupted.set(t.id, Date.now());
    if (this.config.collector.classify(error) === 'connection') this.config.onBrokersUnreachable?.(error);
  }

  /**
   * Creates corrupted tasks again (in the chain, at each tick): fenced producer, restore, and the
   * consumer rewound to the committed offsets. A broker still away leaves the task for the next tick;
   * after `reviveTimeoutMs` the instance stops with the last error.
   */
  async reviveCorrupted(): Promise<void> {
    for (const [id, since] of [...this.corrupted]) {
      const { subtopology, partition } = parseTaskId(id);
      const sub = this.config.plan.subTopologies.find((s) => s.id === subtopology)!;
      if (!sub.sourceTopics.every((topic) => this.assigned.has(`${topic}:${partition}`))) {
        this.corrupted.delete(id); // the group moved it meanwhile
        continue;
      }
      try {
        await this.createTask(id);
        const t = this.tasks.get(id)!;
        await this.startFromCommittedOffsets([t], true);
        await this.rewind(t);
        this.corrupted.delete(id);
        this.config.log.info({ task: id }, `Task ${id}: created again after its failed commit`);
      } catch (error) {
        const half = this.tasks.get(id);
        if (half) await this.closeTask(half, false);
        const kind = this.config.collector.classify(error);
        const timeoutMs = this.config.reviveTimeoutMs ?? 60_000;
        // No broker: the stream thread's own deadline stops the instance with the brokers named.
        if (kind === 'connection' && this.config.onBrokersUnreachable) {
          this.config.onBrokersUnreachable(error as Error);
          continue;
        }
        if (kind !== 'retriable' || Date.now() - since >= timeoutMs) {
          const reason = (error as Error).message;
          throw new Error(`Task ${id}: could not be created again after its failed commit: ${reason}`, {
            cause: error,
          });
        }
        this.config.log.warn(
          { err: error, task: id },
          `Task ${id}: not created again yet (${(error as Error).message}); retrying`,
        );
      }
    }
    this.changelogReader.sync();
    this.syncPausedPartitions();
  }

  /** Points the consumer at a re-created task's committed offsets (or the partition's start). */
  private async rewind(t: ActiveTask): Promise<void> {
    const admin = await this.config.admin();
    for (const topic of t.sub.sourceTopics) {
      let offset = t.task.consumedOffset(topic, t.partition);
      if (offset < 0) {
        const ends = await admin.endOffsets(topic);
        offset = ends.find((o) => o.partition === t.partition)?.low ?? 0;
      }
      this.config.seek!(topic, t.partition, offset);
    }
  }

  /** Tasks waiting to be created again after a failed commit. */
  get corruptedTasks(): string[] {
    return [...this.corrupted.keys()];
  }

  /** This member's standby tasks, from its assignment userData (read back through the group description). */
  private async assignedStandbys(member: MemberInfo): Promise<string[]> {
    if (this.config.numStandbyReplicas <= 0) return [];
    try {
      const admin = await this.config.admin();
      const members = await admin.groupAssignments(this.config.applicationId);
      const mine = members.find((m) => m.memberId === member.memberId);
      return (mine && decodeAssignment(mine.userData)?.standbys) || [];
    } catch (error) {
      this.config.log.warn(
        { err: error },
        'could not read the standby assignment; keeping no standbys until the next rebalance',
      );
      return [];
    }
  }

  /** Stores a task shares with the instance (global tables it joins with). */
  private sharedStores(sub: SubTopologyPlan): Map<string, StateStore> | undefined {
    const { global, topology } = this.config;
    if (!global) return undefined;
    const shared = new Map<string, StateStore>();
    for (const name of sub.nodes) {
      const def = topology.node(name);
      if (def.kind !== 'processor') continue;
      for (const store of def.stores) {
        const view = global.views.get(store);
        if (view) shared.set(store, view);
      }
    }
    return shared.size > 0 ? shared : undefined;
  }

  /**
   * Local state that no checkpoint vouches for may be ahead of or beside the changelog: it is wiped
   * and restored from scratch.
   */
  private async checkpointOrWipe(dir: string): Promise<Checkpoint> {
    const checkpoint = await readCheckpoint(dir);
    if (checkpoint) return checkpoint;
    await rm(dir, { recursive: true, force: true });
    return new Map();
  }

  private async createTask(id: string): Promise<void> {
    const { applicationId, collector, plan, topology } = this.config;
    const { subtopology, partition } = parseTaskId(id);
    const sub = plan.subTopologies.find((s) => s.id === subtopology);
    if (!sub) throw new Error(`Unknown task ${id}`);
    const dir = this.taskDir(id);
    // Under exactly_once this fences zombies (an older owner of this task) before reading the changelog.
    const output: TaskOutput = await collector.createTaskOutput(id);
    const checkpoint = await this.checkpointOrWipe(dir);
    if (!this.checkpointsWhileRunning) await deleteCheckpoint(dir);
    const shared = this.sharedStores(sub);
    const task = new StreamTask({
      applicationId,
      taskId: id,
      stateDir: this.config.stateDir,
      topology,
      nodes: sub.nodes,
      collector: {
        send: (record) => output.send(record),
        partitionsFor: (topic) => plan.partitionCounts.get(topic),
      },
      resolveTopic: (topic) =>
        topology.isInternalTopic(topic) ? internalTopicName(applicationId, topic) : topic,
      logChange: (storeName, key, value, timestamp) => {
        const topic = plan.changelogs.get(storeName);
        if (topic) output.send({ topic, partition, key, value, timestamp });
      },
      wallClock: () => Date.now(),
      defaultKeySerde: topology.defaultKeySerde,
      defaultValueSerde: topology.defaultValueSerde,
      errorHandling: this.config.errorHandling,
      metrics: this.config.metrics,
      ...(this.config.cachingDisabled ? { cachingDisabled: true } : {}),
      cacheBudget: this.config.cacheBudget,
      ...(shared ? { stores: shared } : {}),
      // Workers keep the serving layer's delta index of every queryable store.
      deltaIndexEnabled: true,
    });
    const t: ActiveTask = { id, sub, partition, task, output, changelogOffsets: new Map(checkpoint) };
    await mkdir(dir, { recursive: true });
    try {
      await task.init();
    } catch (error) {
      // Close what did open: its files, and what its caches hold of the thread's budget.
      await task.close().catch(() => {});
      await output.close();
      throw error;
    }
    // Visible (to queries too) only once it is marked restoring: beginRestore awaits the changelog
    // end offsets first, and a query in between would read the empty stores as if they were complete.
    try {
      await this.changelogReader.beginRestore(t);
    } finally {
      this.tasks.set(id, t);
      for (const topic of sub.sourceTopics) this.taskOfPartition.set(`${topic}:${partition}`, id);
    }
  }

  /** All changelogs read: flush, checkpoint, process what waited, resume the source partitions. */
  private finishRestore(t: ActiveTask): void {
    const state = t.restoring!;
    // Runs in the chain after the current batch (this is called from inside the chain).
    void this.config.run(async () => {
      if (this.tasks.get(t.id) !== t || t.restoring !== state) return;
      await state.flushing;
      await t.task.flushStores();
      // Restored delta stores: the indexes read their buckets again.
      for (const delta of t.task.deltaIndexes.values()) delta.invalidate();
      if (this.checkpointsWhileRunning) await writeCheckpoint(t.task.taskDir, t.changelogOffsets);
      t.restoring = undefined;
      const ms = Date.now() - state.started;
      const recordsPerSec = ms > 0 ? Math.round((state.restored * 1000) / ms) : state.restored;
      this.config.metrics.restoreEta.set({ task: t.id }, 0);
      this.config.log.info(
        { task: t.id, ms, records: state.restored, recordsPerSec },
        `restored ${state.restored} record(s) of task ${t.id} in ${ms} ms (${recordsPerSec} records/s)`,
      );
      for (const batch of state.pending) {
        if (this.assigned.has(`${batch.topic}:${batch.partition}`)) this.process(t, batch);
      }
      this.changelogReader.sync();
      this.syncPausedPartitions();
      this.config.onRestored();
    });
  }

  /** Source partitions of restoring tasks are paused; all other assigned partitions run. */
  private syncPausedPartitions(): void {
    const paused = new Map<string, number[]>();
    const running = new Map<string, number[]>();
    for (const t of this.tasks.values()) {
      const target = t.restoring ? paused : running;
      for (const topic of t.sub.sourceTopics) target.set(topic, [...(target.get(topic) ?? []), t.partition]);
    }
    this.config.resume([...running].map(([topic, partitions]) => ({ topic, partitions })));
    this.config.pause([...paused].map(([topic, partitions]) => ({ topic, partitions })));
  }

  private async closeTask(t: ActiveTask, clean: boolean): Promise<void> {
    this.tasks.delete(t.id);
    for (const topic of t.sub.sourceTopics) this.taskOfPartition.delete(`${topic}:${t.partition}`);
    this.changelogReader.release('active', t.id);
    try {
      await t.task.close();
      if (clean && !t.restoring) await this.config.collector.changelogOffsetsAtClose(t);
      // A task closed while restoring checkpoints what it restored so far.
      if (clean) await writeCheckpoint(t.task.taskDir, t.changelogOffsets);
    } catch (error) {
      this.config.log.warn({ err: error, task: t.id }, 'task close failed');
    }
    await t.output.close();
  }

  private async createStandby(id: string): Promise<void> {
    const { plan, topology, applicationId } = this.config;
    const { subtopology, partition } = parseTaskId(id);
    const sub = plan.subTopologies.find((s) => s.id === subtopology);
    if (!sub) return;
    const logged = sub.stores.filter((s) => plan.changelogs.has(s));
    if (logged.length === 0) return; // nothing to keep warm
    const dir = this.taskDir(id);
    const checkpoint = await this.checkpointOrWipe(dir);
    const standby: StandbyTask = {
      id,
      sub,
      partition,
      dir,
      stores: new Map(),
      storeOfChangelog: new Map(),
      changelogOffsets: new Map(),
      dirty: false,
    };
    for (const name of logged) {
      // Caching off, no changelogging: the standby only applies what the active task logged.
      const store = topology.storeBuilder(name).withCachingDisabled().build() as RestorableStore;
      await store.init({ applicationId, taskId: id, taskDir: dir, currentTimestamp: () => -1 });
      standby.stores.set(name, store);
    }
    await this.changelogReader.trackStandby(standby, checkpoint);
    this.standbys.set(id, standby);
    this.config.log.info(
      { task: id, from: Object.fromEntries(standby.changelogOffsets) },
      `standby replica of task ${id}`,
    );
  }

  private async flushStandby(standby: StandbyTask): Promise<void> {
    if (!standby.dirty) return;
    standby.dirty = false;
    for (const store of standby.stores.values()) await store.flush();
    await writeCheckpoint(standby.dir, standby.changelogOffsets);
  }

  private async closeStandby(standby: StandbyTask, clean: boolean): Promise<void> {
    this.standbys.delete(standby.id);
    this.changelogReader.release('standby', standby.id);
    try {
      if (clean) {
        standby.dirty = true;
        await this.flushStandby(standby);
      }
      for (const store of standby.stores.values()) await store.close();
    } catch (error) {
      this.config.log.warn({ err: error, task: standby.id }, 'standby close failed');
    }
  }
}
