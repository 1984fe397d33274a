/**
 * The speed layer: runs a Topology on a Kafka cluster like Kafka Streams' KafkaStreams. One consumer
 * group (group id = application id) with a task assignor; one StreamTask per (sub-topology, partition);
 * stores restored from compacted changelogs; commits at-least-once (produce, flush, checkpoint, commit
 * offsets) or exactly-once (one transactional producer per task: outputs, changelog records and
 * consumer offsets in one transaction — Kafka Streams' first EOS mode, since kafkajs speaks
 * TxnOffsetCommit v0–v1 only).
 *
 * Hot path: a fetched batch runs synchronously through its task (no per-record await); outputs are
 * buffered and produced in large batches at commit time.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from 'pino';

import { childLogger } from '../logger.ts';
import type {
  ConsumedRecord,
  ConsumerBatch,
  FetchRange,
  KafkaAdmin,
  KafkaClient,
  KafkaClientConfig,
  KafkaConsumer,
  KafkaProducer,
  OutgoingRecord,
  TopicPartitionOffset,
} from '../kafka/client.ts';
import { createKafkaClient } from '../kafka/kafkajs-client.ts';
import { StreamsMetrics } from '../metrics/metrics.ts';
import { StreamTask, type BadRecordHandling } from '../processor/internals/task.ts';
import type { StateStore } from '../state/types.ts';
import type { Topology } from '../topology/topology.ts';
import { deleteCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.ts';
import { TaskAssignor, decodeAssignment, parseTaskId, taskId as makeTaskId } from './task-assignor.ts';
import { internalTopicName, planTopics, type SubTopologyPlan, type TopicPlan } from './topic-plan.ts';

export type StreamsState =
  'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';
export type ProcessingGuarantee = 'at_least_once' | 'exactly_once';

export interface KafkaStreamsConfig {
  applicationId: string;
  /** Bootstrap brokers; required unless `client` is given (see resolveBrokers for env/local fallbacks). */
  brokers?: string[];
  /** A ready Kafka port implementation (tests, other clients); default kafkajs on `brokers`. */
  client?: KafkaClient;
  /** Root of local state: `<stateDir>/<applicationId>/<taskId>/`. */
  stateDir: string;
  processingGuarantee?: ProcessingGuarantee;
  /** Default 100 ms under exactly_once, 30 000 ms under at_least_once (Kafka Streams' defaults). */
  commitIntervalMs?: number;
  /** host:port of this instance's serving layer; shared with the group through the assignor. */
  applicationServer?: string;
  clientId?: string;
  ssl?: KafkaClientConfig['ssl'];
  sasl?: KafkaClientConfig['sasl'];
  /** What to do with records that fail to deserialize (default 'fail', as Kafka Streams' LogAndFail). */
  badRecordHandling?: BadRecordHandling;
  cachingDisabled?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How often wall-clock punctuation and idle commits are checked. Default 200 ms. */
  pollIntervalMs?: number;
  metrics?: StreamsMetrics;
  /** Restore progress is logged at most this often. Default 2 s. */
  restoreLogIntervalMs?: number;
}

export type StateListener = (newState: StreamsState, oldState: StreamsState) => void;

/** The tasks of one instance; handed to the serving layer and tests. */
export interface TaskView {
  id: string;
  partition: number;
  subtopology: number;
  stores: ReadonlyMap<string, StateStore>;
}

interface TaskHandle {
  id: string;
  sub: SubTopologyPlan;
  partition: number;
  task: StreamTask;
  /** Outputs and changelog records since the last commit, in order. */
  buffer: OutgoingRecord[];
  /** Offsets last committed per "topic:partition" (to skip empty commits). */
  committed: Map<string, number>;
  /** Changelog offsets the local stores reflect (checkpoint). */
  changelogOffsets: Checkpoint;
  producer?: KafkaProducer;
}

const VALID_TRANSITIONS: Record<StreamsState, StreamsState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  REBALANCING: ['RUNNING', 'REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING'],
  NOT_RUNNING: [],
  ERROR: ['PENDING_SHUTDOWN'],
};

export class KafkaStreams {
  readonly applicationId: string;
  readonly topology: Topology;
  readonly metrics: StreamsMetrics;
  readonly log: Logger;
  private readonly config: KafkaStreamsConfig;
  private readonly guarantee: ProcessingGuarantee;
  private readonly commitIntervalMs: number;
  private currentState: StreamsState = 'CREATED';
  private readonly listeners: StateListener[] = [];
  private client!: KafkaClient;
  private admin?: KafkaAdmin;
  private consumer?: KafkaConsumer;
  private producer?: KafkaProducer;
  private plan!: TopicPlan;
  private readonly tasks = new Map<string, TaskHandle>();
  /** "topic:partition" → task id. */
  private readonly taskOfPartition = new Map<string, string>();
  private readonly subOfTopic = new Map<string, SubTopologyPlan>();
  private chain: Promise<void> = Promise.resolve();
  private lastCommit = Date.now();
  private timer?: NodeJS.Timeout;
  private closing = false;
  private closed?: Promise<void>;
  private fatal?: Error;
  private readonly errorListeners: Array<(error: Error) => void> = [];
  /** Tasks closed because another instance fenced their producer; ignored until the next assignment. */
  private readonly migrated = new Set<string>();

  constructor(topology: Topology, config: KafkaStreamsConfig) {
    this.topology = topology;
    this.config = config;
    this.applicationId = config.applicationId;
    this.guarantee = config.processingGuarantee ?? 'at_least_once';
    this.commitIntervalMs = config.commitIntervalMs ?? (this.guarantee === 'exactly_once' ? 100 : 30_000);
    this.metrics = config.metrics ?? new StreamsMetrics({ application: config.applicationId });
    this.log = childLogger({ component: 'kafka-streams', applicationId: config.applicationId });
  }

  get state(): StreamsState {
    return this.currentState;
  }

  /** Registers a listener for state transitions (Kafka Streams' setStateListener). */
  onStateChange(listener: StateListener): void {
    this.listeners.push(listener);
  }

  /** Registers a listener for the fatal error that moves the instance to ERROR. */
  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener);
  }

  /** The error that stopped processing, if any. */
  get error(): Error | undefined {
    return this.fatal;
  }

  /** Tasks currently owned by this instance. */
  localTasks(): TaskView[] {
    return [...this.tasks.values()].map((h) => ({
      id: h.id,
      partition: h.partition,
      subtopology: h.sub.id,
      stores: h.task.stores,
    }));
  }

  /** The named store of every local task that has it. */
  storesNamed<S extends StateStore = StateStore>(name: string): Array<{ taskId: string; store: S }> {
    const out: Array<{ taskId: string; store: S }> = [];
    for (const h of this.tasks.values()) {
      const store = h.task.getStore<S>(name);
      if (store) out.push({ taskId: h.id, store });
    }
    return out;
  }

  /** endpoint → task ids of the whole group, from the assignor's userData (serving layer routing). */
  async taskHosts(): Promise<Record<string, string[]>> {
    const admin = await this.adminClient();
    const members = await admin.groupAssignments(this.applicationId);
    for (const m of members) {
      const info = decodeAssignment(m.userData);
      if (info) return info.hosts;
    }
    return {};
  }

  async start(): Promise<void> {
    if (this.currentState !== 'CREATED')
      throw new Error(`KafkaStreams.start(): already ${this.currentState}`);
    this.setState('REBALANCING');
    try {
      await this.startInternal();
    } catch (error) {
      this.fail(error as Error);
      await this.close();
      throw error;
    }
  }

  private async startInternal(): Promise<void> {
    if (this.config.client) this.client = this.config.client;
    else {
      if (!this.config.brokers || this.config.brokers.length === 0) {
        throw new Error(
          'KafkaStreams: no brokers configured (set brokers, KAFKA_BROKERS, or start a local broker)',
        );
      }
      this.client = createKafkaClient({
        brokers: this.config.brokers,
        clientId: this.config.clientId ?? this.applicationId,
        ...(this.config.ssl !== undefined ? { ssl: this.config.ssl } : {}),
        ...(this.config.sasl ? { sasl: this.config.sasl } : {}),
      });
    }
    const admin = await this.adminClient();
    const subs = this.topology.subTopologies();
    const external = [
      ...new Set(subs.flatMap((s) => s.sourceTopics).filter((t) => !this.topology.isInternalTopic(t))),
    ];
    const sinkTopics = [
      ...new Set(subs.flatMap((s) => s.sinkTopics).filter((t) => !this.topology.isInternalTopic(t))),
    ];
    const existing = await admin.partitionCounts([...external, ...sinkTopics]);
    this.plan = planTopics(this.applicationId, this.topology, existing);
    const created = await admin.createTopics(this.plan.internalTopics);
    if (created.length > 0) this.log.info({ topics: created }, `created ${created.length} internal topic(s)`);
    // Existing internal topics must have the planned partition counts.
    const actual = await admin.partitionCounts(this.plan.internalTopics.map((t) => t.name));
    for (const t of this.plan.internalTopics) {
      const n = actual.get(t.name);
      if (n !== undefined && n !== t.partitions) {
        throw new Error(
          `Internal topic ${t.name} has ${n} partitions but the topology needs ${t.partitions}; ` +
            `reset the application (delete its internal topics) after changing source partition counts`,
        );
      }
    }
    for (const sub of this.plan.subTopologies) for (const t of sub.sourceTopics) this.subOfTopic.set(t, sub);
    await mkdir(path.join(this.config.stateDir, this.applicationId), { recursive: true });

    if (this.guarantee === 'at_least_once') this.producer = await this.client.producer({ idempotent: true });

    const assignor = new TaskAssignor(this.plan.taskSpecs, () => ({
      version: 1,
      tasks: [...this.tasks.keys()],
      ...(this.config.applicationServer ? { endpoint: this.config.applicationServer } : {}),
    }));
    this.consumer = this.client.consumer({
      groupId: this.applicationId,
      isolationLevel: this.guarantee === 'exactly_once' ? 'read_committed' : 'read_uncommitted',
      assignor,
      sessionTimeoutMs: this.config.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs ?? 1_000,
      fromBeginning: true,
    });
    const topics = [...new Set(this.plan.subTopologies.flatMap((s) => s.sourceTopics))];
    await this.consumer.subscribe(topics);
    await this.consumer.run((batch) => this.exclusive(() => this.onBatch(batch)), {
      onAssignment: (assignment) => void this.exclusive(() => this.onAssignment(assignment)),
      onRebalancing: () => {
        if (this.closing) return;
        if (this.currentState === 'RUNNING') this.setState('REBALANCING');
        // Commit before re-joining, so the next owner of a task starts where this one stopped.
        return this.exclusive(() => this.commitAll());
      },
      onCrash: (error, restarting) => {
        if (!restarting) this.fail(error);
        else this.log.warn({ err: error }, 'consumer crashed; kafkajs restarts it');
      },
    });
    const pollMs = this.config.pollIntervalMs ?? 200;
    this.timer = setInterval(() => void this.exclusive(() => this.onTick()), pollMs);
    this.timer.unref();
    this.log.info(
      { guarantee: this.guarantee, commitIntervalMs: this.commitIntervalMs, topics },
      `started: ${this.plan.subTopologies.length} sub-topolog${this.plan.subTopologies.length === 1 ? 'y' : 'ies'}`,
    );
  }

  /**
   * Stops processing: commits what was processed, writes checkpoints, closes tasks and producers and
   * leaves the group. Safe to call more than once and from signal handlers.
   */
  close(): Promise<void> {
    this.closed ??= this.closeInternal();
    return this.closed;
  }

  private async closeInternal(): Promise<void> {
    this.closing = true;
    const failed = this.currentState === 'ERROR';
    if (this.currentState !== 'PENDING_SHUTDOWN') this.setState('PENDING_SHUTDOWN');
    if (this.timer) clearInterval(this.timer);
    // Commit and close tasks while still in the group, then leave.
    await this.exclusive(async () => {
      const clean = !failed && !this.fatal;
      if (clean) {
        try {
          await this.commitAll();
        } catch (error) {
          this.log.error({ err: error }, 'final commit failed; closing tasks dirty');
          this.fatal ??= error as Error;
        }
      }
      for (const handle of [...this.tasks.values()]) await this.closeTask(handle, clean && !this.fatal);
    }, true);
    await this.consumer?.close().catch((err: unknown) => this.log.warn({ err }, 'consumer close failed'));
    await this.producer?.close().catch(() => {});
    await this.admin?.close().catch(() => {});
    this.metrics.assignedTasks.set(0);
    this.setState('NOT_RUNNING');
    this.log.info('closed');
  }

  // ---- serialisation of processing, commits and rebalances ----

  private exclusive(fn: () => Promise<void> | void, evenWhenClosing = false): Promise<void> {
    const run = async (): Promise<void> => {
      if ((this.closing && !evenWhenClosing) || (this.fatal && !evenWhenClosing)) return;
      try {
        await fn();
      } catch (error) {
        this.fail(error as Error);
      }
    };
    const next = this.chain.then(run);
    this.chain = next;
    return next;
  }

  private fail(error: Error): void {
    if (this.fatal) return;
    this.fatal = error;
    this.log.error({ err: error }, `stream processing failed: ${error.message}`);
    if (this.currentState !== 'PENDING_SHUTDOWN' && this.currentState !== 'NOT_RUNNING')
      this.setState('ERROR');
    for (const listener of this.errorListeners) listener(error);
  }

  private setState(next: StreamsState): void {
    const previous = this.currentState;
    if (previous === next && next !== 'REBALANCING') return;
    if (!VALID_TRANSITIONS[previous].includes(next)) {
      this.log.debug(`ignoring state transition ${previous} → ${next}`);
      return;
    }
    this.currentState = next;
    this.log.info(`state ${previous} → ${next}`);
    for (const listener of this.listeners) listener(next, previous);
  }

  // ---- consumer callbacks (always inside exclusive) ----

  private async onAssignment(assignment: Map<string, number[]>): Promise<void> {
    this.metrics.rebalanced();
    this.migrated.clear();
    const wanted = new Set<string>();
    for (const [topic, partitions] of assignment) {
      const sub = this.subOfTopic.get(topic);
      if (!sub) continue;
      for (const p of partitions) wanted.add(makeTaskId(sub.id, p));
    }
    const revoked = [...this.tasks.values()].filter((h) => !wanted.has(h.id));
    if (revoked.length > 0) {
      // Commit what they processed, then close them (checkpointed) so their new owner restores little.
      await this.commitAll();
      for (const handle of revoked) await this.closeTask(handle, true);
    }
    for (const id of [...wanted].sort()) if (!this.tasks.has(id)) await this.createTask(id);
    // kafkajs resumes retained partitions from the committed offsets; commit so nothing is re-fetched.
    await this.commitAll();
    this.metrics.assignedTasks.set(this.tasks.size);
    this.log.info(
      { tasks: [...this.tasks.keys()], revoked: revoked.map((h) => h.id) },
      `assigned ${this.tasks.size} task(s)`,
    );
    this.setState('RUNNING');
  }

  private async onBatch(batch: ConsumerBatch): Promise<void> {
    const key = `${batch.topic}:${batch.partition}`;
    let id = this.taskOfPartition.get(key);
    if (id === undefined) {
      const sub = this.subOfTopic.get(batch.topic);
      if (!sub) return;
      id = makeTaskId(sub.id, batch.partition);
      if (this.migrated.has(id)) return; // another instance owns it now; our rebalance is coming
      if (!this.tasks.has(id)) await this.createTask(id);
    }
    const handle = this.tasks.get(id)!;
    this.metrics.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, batch.highWatermark - batch.nextOffset),
    );
    // After a rebalance kafkajs may re-deliver records this task already processed: skip them.
    const position = handle.task.consumedOffsets.get(key) ?? -1;
    const records: ConsumedRecord[] =
      position < 0 || batch.records.length === 0 || batch.records[0]!.offset >= position
        ? batch.records
        : batch.records.filter((r) => r.offset >= position);
    if (records.length > 0) {
      this.metrics.consumed(batch.topic, records.length);
      const started = process.hrtime.bigint();
      handle.task.addRecords(records);
      handle.task.processAll();
      this.metrics.processLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
    if (Date.now() - this.lastCommit >= this.commitIntervalMs || handle.task.needsCommit)
      await this.commitAll();
  }

  private async onTick(): Promise<void> {
    if (this.tasks.size === 0) return;
    for (const handle of this.tasks.values()) handle.task.maybePunctuateSystemTime();
    if (Date.now() - this.lastCommit >= this.commitIntervalMs) await this.commitAll();
  }

  // ---- tasks ----

  private taskDir(id: string): string {
    return path.join(this.config.stateDir, this.applicationId, id);
  }

  private async createTask(id: string): Promise<void> {
    const { subtopology, partition } = parseTaskId(id);
    const sub = this.plan.subTopologies.find((s) => s.id === subtopology);
    if (!sub) throw new Error(`Unknown task ${id}`);
    const dir = this.taskDir(id);
    let producer: KafkaProducer | undefined;
    if (this.guarantee === 'exactly_once') {
      // Fence zombies (an older owner of this task) before reading the changelog.
      producer = await this.client.producer({ transactionalId: `${this.applicationId}-${id}` });
      await producer.initTransactions();
    }
    // Without a checkpoint the local state may be ahead of or beside the changelog: start from scratch.
    // Under exactly-once the checkpoint exists only after a clean close, and is removed while running.
    let checkpoint = await readCheckpoint(dir);
    if (!checkpoint) {
      await rm(dir, { recursive: true, force: true });
      checkpoint = new Map();
    } else if (this.guarantee === 'exactly_once') {
      await deleteCheckpoint(dir);
    }
    const handle: TaskHandle = {
      id,
      sub,
      partition,
      task: undefined as unknown as StreamTask,
      buffer: [],
      committed: new Map(),
      changelogOffsets: new Map(checkpoint),
      ...(producer ? { producer } : {}),
    };
    const changelogs = this.plan.changelogs;
    const partitionCounts = this.plan.partitionCounts;
    handle.task = new StreamTask({
      applicationId: this.applicationId,
      taskId: id,
      stateDir: this.config.stateDir,
      topology: this.topology,
      nodes: sub.nodes,
      collector: {
        send: (record) => {
          handle.buffer.push(record);
        },
        partitionsFor: (topic) => partitionCounts.get(topic),
      },
      resolveTopic: (topic) =>
        this.topology.isInternalTopic(topic) ? internalTopicName(this.applicationId, topic) : topic,
      logChange: (storeName, key, value, timestamp) => {
        const topic = changelogs.get(storeName);
        if (topic) handle.buffer.push({ topic, partition, key, value, timestamp });
      },
      wallClock: () => Date.now(),
      defaultKeySerde: this.topology.defaultSerde,
      defaultValueSerde: this.topology.defaultSerde,
      badRecordHandling: this.config.badRecordHandling ?? 'fail',
      metrics: this.metrics,
      ...(this.config.cachingDisabled ? { cachingDisabled: true } : {}),
    });
    await mkdir(dir, { recursive: true });
    await handle.task.init();
    await this.restore(handle);
    this.tasks.set(id, handle);
    for (const topic of sub.sourceTopics) this.taskOfPartition.set(`${topic}:${partition}`, id);
    // Start from the group's committed offsets (the consumer does); remember them to skip empty commits.
  }

  /** Replays each logged store's changelog partition from the checkpoint to the current end. */
  private async restore(handle: TaskHandle): Promise<void> {
    const admin = await this.adminClient();
    const ranges: Array<FetchRange & { store: string }> = [];
    const storeOfTopic = new Map<string, StateStore & { restoreBatch?: (records: unknown[]) => void }>();
    for (const storeName of handle.sub.stores) {
      const topic = this.plan.changelogs.get(storeName);
      if (!topic) continue;
      const store = handle.task.getStore(storeName) as StateStore & {
        restoreBatch?: (records: unknown[]) => void;
      };
      if (!store || typeof store.restoreBatch !== 'function') {
        throw new Error(`Store '${storeName}' cannot be restored (no restoreBatch)`);
      }
      const end = (await admin.endOffsets(topic)).find((o) => o.partition === handle.partition);
      if (!end) throw new Error(`Changelog ${topic} has no partition ${handle.partition}`);
      const key = `${topic}:${handle.partition}`;
      let from = handle.changelogOffsets.get(key) ?? end.low;
      if (from > end.high) {
        this.log.warn(
          { task: handle.id, topic, checkpoint: from, end: end.high },
          'checkpoint beyond changelog end; restoring from scratch',
        );
        throw new Error(
          `Task ${handle.id}: checkpoint of ${topic} (${from}) is beyond the changelog end (${end.high}); delete ${this.taskDir(handle.id)}`,
        );
      }
      from = Math.max(from, end.low);
      storeOfTopic.set(topic, store);
      handle.changelogOffsets.set(key, end.high);
      if (from < end.high)
        ranges.push({
          topic,
          partition: handle.partition,
          fromOffset: from,
          toOffset: end.high,
          store: storeName,
        });
    }
    if (ranges.length === 0) return;
    const total = ranges.reduce((n, r) => n + (r.toOffset - r.fromOffset), 0);
    const started = Date.now();
    let restored = 0;
    let lastLog = started;
    const remaining = new Map(ranges.map((r) => [r.topic, r.toOffset - r.fromOffset]));
    for (const r of ranges)
      this.metrics.restoreRemaining.set({ store: r.store, task: handle.id }, r.toOffset - r.fromOffset);
    this.log.info(
      {
        task: handle.id,
        ranges: ranges.map((r) => `${r.topic}[${r.partition}] ${r.fromOffset}..${r.toOffset}`),
      },
      `restoring ${total} changelog offset(s)`,
    );
    await this.client.fetchRanges(ranges, {
      isolationLevel: 'read_committed',
      onBatch: (records, range) => {
        const store = storeOfTopic.get(range.topic)!;
        const storeName = ranges.find((r) => r.topic === range.topic)!.store;
        store.restoreBatch!(
          records.filter((r) => r.key !== null).map((r) => ({ key: r.key, value: r.value })),
        );
        restored += records.length;
        this.metrics.restored(storeName, records.length);
        const left = Math.max(0, range.toOffset - (records[records.length - 1]!.offset + 1));
        remaining.set(range.topic, left);
        this.metrics.restoreRemaining.set({ store: storeName, task: handle.id }, left);
        if (Date.now() - lastLog >= (this.config.restoreLogIntervalMs ?? 2_000)) {
          lastLog = Date.now();
          this.log.info(
            { task: handle.id, restored, remaining: [...remaining.values()].reduce((a, b) => a + b, 0) },
            'restoring',
          );
        }
      },
    });
    for (const r of ranges) this.metrics.restoreRemaining.set({ store: r.store, task: handle.id }, 0);
    await handle.task.flushStores();
    if (this.guarantee === 'at_least_once')
      await writeCheckpoint(handle.task.taskDir, handle.changelogOffsets);
    this.log.info({ task: handle.id, restored, ms: Date.now() - started }, `restored ${restored} record(s)`);
  }

  private async closeTask(handle: TaskHandle, clean: boolean): Promise<void> {
    this.tasks.delete(handle.id);
    for (const topic of handle.sub.sourceTopics) this.taskOfPartition.delete(`${topic}:${handle.partition}`);
    try {
      await handle.task.close();
      if (clean && this.guarantee === 'exactly_once') {
        // Nothing is open after the last commit: the changelog end is what the stores hold.
        const admin = await this.adminClient();
        for (const key of handle.changelogOffsets.keys()) {
          const topic = key.slice(0, key.lastIndexOf(':'));
          const end = (await admin.endOffsets(topic)).find((o) => o.partition === handle.partition);
          if (end) handle.changelogOffsets.set(key, end.high);
        }
      }
      if (clean) await writeCheckpoint(handle.task.taskDir, handle.changelogOffsets);
    } catch (error) {
      this.log.warn({ err: error, task: handle.id }, 'task close failed');
    }
    await handle.producer?.close().catch(() => {});
  }

  // ---- commit ----

  private offsetsToCommit(handle: TaskHandle): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const [key, offset] of handle.task.consumedOffsets) {
      if (handle.committed.get(key) === offset) continue;
      const i = key.lastIndexOf(':');
      out.push({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset });
    }
    return out;
  }

  private markCommitted(handle: TaskHandle, offsets: TopicPartitionOffset[]): void {
    for (const o of offsets) handle.committed.set(`${o.topic}:${o.partition}`, o.offset);
  }

  private countProduced(records: OutgoingRecord[]): void {
    const byTopic = new Map<string, number>();
    for (const r of records) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
    for (const [topic, n] of byTopic) this.metrics.produced(topic, n);
  }

  /** Commits every task (Kafka Streams' commit): see the module comment for the protocol. */
  private async commitAll(): Promise<void> {
    this.lastCommit = Date.now();
    if (this.tasks.size === 0) return;
    const started = process.hrtime.bigint();
    const handles = [...this.tasks.values()];
    for (const h of handles) h.task.flushCaches();
    if (this.guarantee === 'exactly_once') {
      for (const h of handles) {
        try {
          await this.commitTransactional(h);
        } catch (error) {
          if (!isFencedError(error)) throw error;
          // Kafka Streams' TaskMigratedException: a newer owner fenced this task. Its transaction is
          // aborted, so drop the local state and the task; the group will move it for good.
          this.log.warn(
            { task: h.id },
            'task migrated to another instance (producer fenced); closing it dirty',
          );
          this.migrated.add(h.id);
          await this.closeTask(h, false);
          await rm(this.taskDir(h.id), { recursive: true, force: true });
        }
      }
    } else {
      const records: OutgoingRecord[] = [];
      for (const h of handles) {
        for (const r of h.buffer) records.push(r);
        h.buffer = [];
      }
      if (records.length > 0) {
        const produced = await this.producer!.send(records);
        this.countProduced(records);
        for (const p of produced) {
          if (p.count === undefined || p.baseOffset < 0) continue;
          const id = makeTaskId(this.subOfChangelog(p.topic) ?? -1, p.partition);
          const h = this.tasks.get(id);
          const key = `${p.topic}:${p.partition}`;
          if (h && h.changelogOffsets.has(key)) {
            h.changelogOffsets.set(key, Math.max(h.changelogOffsets.get(key)!, p.baseOffset + p.count));
          }
        }
      }
      for (const h of handles) await h.task.flushStores();
      for (const h of handles)
        if (h.changelogOffsets.size > 0) await writeCheckpoint(h.task.taskDir, h.changelogOffsets);
      const offsets = handles.map((h) => ({ h, offsets: this.offsetsToCommit(h) }));
      const all = offsets.flatMap((o) => o.offsets);
      if (all.length > 0) {
        await this.consumer!.commitOffsets(all);
        for (const { h, offsets: o } of offsets) this.markCommitted(h, o);
      }
    }
    for (const h of handles) {
      for (const [name, store] of h.task.stores) {
        const entries = (store as { approximateNumEntries?: () => number }).approximateNumEntries?.();
        if (entries !== undefined) this.metrics.storeEntries.set({ store: name, task: h.id }, entries);
      }
    }
    this.metrics.committed(Number(process.hrtime.bigint() - started) / 1e9);
  }

  private async commitTransactional(h: TaskHandle): Promise<void> {
    const records = h.buffer;
    h.buffer = [];
    const offsets = this.offsetsToCommit(h);
    if (records.length > 0 || offsets.length > 0) {
      const txn = await h.producer!.transaction();
      try {
        if (records.length > 0) await txn.send(records);
        await txn.sendOffsets(this.applicationId, offsets);
        await txn.commit();
      } catch (error) {
        await txn.abort().catch(() => {});
        throw new Error(`Task ${h.id}: transaction failed: ${(error as Error).message}`, { cause: error });
      }
      this.countProduced(records);
      this.markCommitted(h, offsets);
    }
    await h.task.flushStores();
  }

  private subOfChangelog(topic: string): number | undefined {
    for (const sub of this.plan.subTopologies) {
      for (const store of sub.stores) if (this.plan.changelogs.get(store) === topic) return sub.id;
    }
    return undefined;
  }

  private async adminClient(): Promise<KafkaAdmin> {
    this.admin ??= await this.client.admin();
    return this.admin;
  }
}

const FENCED_ERROR_TYPES = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** True when a Kafka error (or one it wraps) says the transactional producer was fenced. */
export function isFencedError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && FENCED_ERROR_TYPES.has(type)) return true;
    if (/fenced|INVALID_PRODUCER_EPOCH/i.test(String((e as { message?: unknown }).message ?? '')))
      return true;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}
