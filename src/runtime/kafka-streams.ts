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
 *
 * Restoration does not block the group: a task whose stores lag behind their changelog is RESTORING
 * (its source partitions paused) while a partition reader outside the group replays the changelog
 * in chunks through the processing chain; the consumer keeps polling and heartbeating meanwhile.
 * The same reader keeps standby replicas warm. Global stores are restored before processing starts
 * and then kept up to date by a reader of their own (global-state.ts).
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from 'pino';

import { childLogger } from '../logger.ts';
import type {
  ConsumedRecord,
  ConsumerBatch,
  KafkaAdmin,
  KafkaClient,
  KafkaClientConfig,
  KafkaConsumer,
  KafkaProducer,
  MemberInfo,
  OutgoingRecord,
  PartitionReader,
  TopicPartitionOffset,
} from '../kafka/client.ts';
import { RebalanceInProgressError } from '../kafka/client.ts';
import { createKafkaClient, isBrokerConnectionError } from '../kafka/kafkajs-client.ts';
import { StreamsMetrics } from '../metrics/metrics.ts';
import { StreamTask, type BadRecordHandling } from '../processor/internals/task.ts';
import type { StateStore } from '../state/types.ts';
import type { Topology } from '../topology/topology.ts';
import { deleteCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.ts';
import { GlobalStateManager } from './global-state.ts';
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
  /**
   * What to do with records that fail to deserialize (default 'fail', as Kafka Streams'
   * LogAndFailExceptionHandler; the worker CLI defaults to 'skip': logged with topic, partition and
   * offset, counted as dropped, the record stays in its topic).
   */
  badRecordHandling?: BadRecordHandling;
  cachingDisabled?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How often wall-clock punctuation and idle commits are checked. Default 200 ms. */
  pollIntervalMs?: number;
  metrics?: StreamsMetrics;
  /** Restore progress is logged at most this often. Default 2 s. */
  restoreLogIntervalMs?: number;
  /** Standby replicas per task, kept warm on other instances (Kafka Streams' num.standby.replicas). Default 0. */
  numStandbyReplicas?: number;
  /**
   * How long the consumer may keep failing to reach the brokers (kafkajs restarting it after each
   * round of retries) before the instance gives up and goes to ERROR. Default 30 000 ms.
   */
  brokerUnreachableTimeoutMs?: number;
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
  /** Present while the task's stores catch up with their changelogs (source partitions paused). */
  restoring?: RestoreState;
}

interface RestoreRange {
  store: string;
  topic: string;
  start: number;
  end: number;
}

interface RestoreState {
  /** Changelog "topic:partition" → what is left to read. */
  ranges: Map<string, RestoreRange>;
  total: number;
  restored: number;
  started: number;
  lastLog: number;
  /** Source batches fetched before the partitions were paused; processed once restored. */
  pending: ConsumerBatch[];
}

/** A warm copy of a task's stores on an instance that does not run the task. */
interface StandbyHandle {
  id: string;
  sub: SubTopologyPlan;
  partition: number;
  dir: string;
  stores: Map<string, StateStore & { restoreBatch(records: unknown[]): void }>;
  /** Changelog "topic:partition" → store name. */
  storeOfChangelog: Map<string, string>;
  changelogOffsets: Checkpoint;
  dirty: boolean;
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
  /** "topic:partition" of the group assignment (batches of other partitions are stale). */
  private assigned = new Set<string>();
  /** True from the moment the consumer re-joins until the new assignment is applied. */
  private rebalancing = false;
  private readonly standbys = new Map<string, StandbyHandle>();
  /** Changelog "topic:partition" → restoring task id or standby id. */
  private readonly changelogOwner = new Map<string, { kind: 'active' | 'standby'; id: string }>();
  private changelogReader?: PartitionReader;
  private global?: GlobalStateManager;
  /** Since when the consumer keeps crashing because no broker answers (reset by a join or a batch). */
  private unreachableSince?: number;
  private lastConnectionError?: Error;

  constructor(topology: Topology, config: KafkaStreamsConfig) {
    this.topology = topology;
    this.config = config;
    this.applicationId = config.applicationId;
    this.guarantee = config.processingGuarantee ?? 'at_least_once';
    this.commitIntervalMs = config.commitIntervalMs ?? (this.guarantee === 'exactly_once' ? 100 : 30_000);
    this.metrics = config.metrics ?? new StreamsMetrics({ application: config.applicationId });
    this.log = childLogger({
      component: 'kafka-streams',
      applicationId: config.applicationId,
      ...(config.clientId ? { clientId: config.clientId } : {}),
      ...(config.applicationServer ? { endpoint: config.applicationServer } : {}),
    });
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

  /** Standby replicas kept by this instance (task ids). */
  standbyTasks(): string[] {
    return [...this.standbys.keys()].sort();
  }

  /** A global table's store (the same instance every task reads). */
  globalStore<S extends StateStore = StateStore>(name: string): S | undefined {
    return this.global?.views.get(name) as S | undefined;
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
    const patterns = subs.flatMap((s) => s.sourcePatterns);
    // Pattern sources read the topics that match when the instance starts.
    const matching =
      patterns.length === 0
        ? []
        : (await admin.listTopics()).filter(
            (t) =>
              !t.startsWith('__') &&
              patterns.some((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, '')).test(t)),
          );
    const existing = await admin.partitionCounts([...external, ...sinkTopics, ...matching]);
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

    if (this.plan.globalSubTopologies.length > 0) {
      this.global = new GlobalStateManager({
        applicationId: this.applicationId,
        stateDir: this.config.stateDir,
        topology: this.topology,
        subTopologies: this.plan.globalSubTopologies,
        client: this.client,
        admin,
        metrics: this.metrics,
        log: this.log,
        badRecordHandling: this.config.badRecordHandling ?? 'fail',
        restoreLogIntervalMs: this.config.restoreLogIntervalMs ?? 2_000,
      });
      // Processing starts only once every global store holds its whole topic.
      await this.global.restore();
      this.global.startUpdating(
        (fn) => this.exclusive(fn),
        (error) => this.fail(error),
      );
    }
    this.changelogReader = this.client.reader({
      isolationLevel: 'read_committed',
      onBatch: (batch) => this.exclusive(() => this.onChangelogBatch(batch)),
      onPosition: (topic, partition, next) =>
        void this.exclusive(() => this.onChangelogPosition(topic, partition, next)),
      onError: (error) => this.fail(error),
    });

    if (this.guarantee === 'at_least_once') this.producer = await this.client.producer({ idempotent: true });

    const assignor = new TaskAssignor(
      this.plan.taskSpecs,
      () => ({
        version: 1,
        tasks: [...this.tasks.keys()],
        standbys: [...this.standbys.keys()],
        ...(this.config.applicationServer ? { endpoint: this.config.applicationServer } : {}),
      }),
      this.config.numStandbyReplicas ?? 0,
    );
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
      onAssignment: (assignment, member) => {
        // Batches of partitions outside this set are stale from now on.
        this.assigned = new Set([...assignment].flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)));
        void this.exclusive(() => this.onAssignment(assignment, member));
      },
      onRebalancing: () => {
        if (this.closing) return;
        this.rebalancing = true;
        if (this.currentState === 'RUNNING') this.setState('REBALANCING');
        // Commit before re-joining, so the next owner of a task starts where this one stopped.
        return this.exclusive(() => this.commitAll());
      },
      onCrash: (error, restarting) => {
        if (!restarting) this.fail(error);
        else if (isBrokerConnectionError(error)) this.onBrokersUnreachable(error);
        else this.log.warn({ err: error }, 'consumer crashed; kafkajs restarts it');
      },
    });
    const pollMs = this.config.pollIntervalMs ?? 200;
    this.timer = setInterval(() => {
      // Outside the chain: a commit stuck on a dead broker must not delay giving up.
      this.checkBrokersUnreachable();
      void this.exclusive(() => this.onTick());
    }, pollMs);
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
    // Readers first, outside the processing chain (closing one waits for its batch in flight).
    await this.changelogReader?.close().catch(() => {});
    await this.global?.stopUpdating().catch(() => {});
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
      for (const standby of [...this.standbys.values()])
        await this.closeStandby(standby, clean && !this.fatal);
      await this.global?.close(clean && !this.fatal);
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

  private brokerList(): string {
    return (this.client?.brokers ?? this.config.brokers ?? []).join(',') || '(none configured)';
  }

  /** The consumer crashed for want of a broker; kafkajs restarts it. Gives up after the timeout. */
  private onBrokersUnreachable(error: Error): void {
    this.unreachableSince ??= Date.now();
    this.lastConnectionError = error;
    const timeoutMs = this.config.brokerUnreachableTimeoutMs ?? 30_000;
    const elapsed = Date.now() - this.unreachableSince;
    if (elapsed >= timeoutMs) {
      this.checkBrokersUnreachable();
      return;
    }
    this.log.warn(
      { err: error, brokers: this.brokerList() },
      `cannot reach Kafka brokers ${this.brokerList()} (${error.message}); the consumer restarts and ` +
        `retries, the instance stops in ${Math.ceil((timeoutMs - elapsed) / 1000)} s unless they come back`,
    );
  }

  private checkBrokersUnreachable(): void {
    if (this.unreachableSince === undefined || this.fatal || this.closing) return;
    const timeoutMs = this.config.brokerUnreachableTimeoutMs ?? 30_000;
    const elapsed = Date.now() - this.unreachableSince;
    if (elapsed < timeoutMs) return;
    const cause = this.lastConnectionError;
    this.fail(
      this.brokersLost(
        `${cause?.message ?? 'no broker answers'}; unreachable for ${Math.round(elapsed / 1000)} s`,
        cause,
      ),
    );
  }

  /** The one line that names the brokers and says what to do. */
  private brokersLost(detail: string, cause: unknown): Error {
    return new BrokersUnreachableError(
      `lost the connection to Kafka brokers ${this.brokerList()} (${detail}); the instance stops: ` +
        `restart it when the brokers are back — committed offsets and changelogs make the restart safe`,
      { cause },
    );
  }

  /** Connection errors (a commit or transaction that outlived kafkajs' retries) get that line too. */
  private describeFailure(error: Error): Error {
    if (error instanceof BrokersUnreachableError || !isBrokerConnectionError(error)) return error;
    return this.brokersLost(error.message, error);
  }

  private fail(failure: Error): void {
    if (this.fatal) return;
    const error = this.describeFailure(failure);
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

  private async onAssignment(assignment: Map<string, number[]>, member: MemberInfo): Promise<void> {
    this.metrics.rebalanced();
    this.unreachableSince = undefined;
    this.migrated.clear();
    this.rebalancing = false;
    const wanted = new Set<string>();
    for (const [topic, partitions] of assignment) {
      const sub = this.subOfTopic.get(topic);
      if (!sub) continue;
      for (const p of partitions) wanted.add(makeTaskId(sub.id, p));
    }
    const wantedStandbys = new Set((await this.assignedStandbys(member)).filter((id) => !wanted.has(id)));
    const revoked = [...this.tasks.values()].filter((h) => !wanted.has(h.id));
    if (revoked.length > 0) {
      // Commit what they processed, then close them (checkpointed) so their new owner restores little.
      await this.commitAll();
      for (const handle of revoked) await this.closeTask(handle, true);
    }
    for (const standby of [...this.standbys.values()]) {
      if (!wantedStandbys.has(standby.id)) await this.closeStandby(standby, true);
    }
    for (const id of [...wanted].sort()) if (!this.tasks.has(id)) await this.createTask(id);
    for (const id of [...wantedStandbys].sort()) if (!this.standbys.has(id)) await this.createStandby(id);
    this.syncChangelogReader();
    this.syncPausedPartitions();
    // kafkajs resumes retained partitions from the committed offsets; commit so nothing is re-fetched.
    await this.commitAll();
    this.metrics.assignedTasks.set(this.tasks.size);
    this.metrics.standbyTasks.set(this.standbys.size);
    const restoring = [...this.tasks.values()].filter((h) => h.restoring).map((h) => h.id);
    this.log.info(
      {
        tasks: [...this.tasks.keys()],
        standbys: [...this.standbys.keys()],
        restoring,
        revoked: revoked.map((h) => h.id),
      },
      `assigned ${this.tasks.size} task(s)` +
        (this.standbys.size > 0 ? ` and ${this.standbys.size} standby replica(s)` : '') +
        (restoring.length > 0 ? `; restoring ${restoring.length}` : ''),
    );
    if (restoring.length === 0) this.setState('RUNNING');
  }

  /** This member's standby tasks, from its assignment userData (read back through the group description). */
  private async assignedStandbys(member: MemberInfo): Promise<string[]> {
    if ((this.config.numStandbyReplicas ?? 0) <= 0) return [];
    try {
      const admin = await this.adminClient();
      const members = await admin.groupAssignments(this.applicationId);
      const mine = members.find((m) => m.memberId === member.memberId);
      return (mine && decodeAssignment(mine.userData)?.standbys) || [];
    } catch (error) {
      this.log.warn(
        { err: error },
        'could not read the standby assignment; keeping no standbys until the next rebalance',
      );
      return [];
    }
  }

  private async onBatch(batch: ConsumerBatch): Promise<void> {
    this.unreachableSince = undefined;
    const key = `${batch.topic}:${batch.partition}`;
    if (!this.assigned.has(key)) return; // fetched before a rebalance took the partition away
    const id = this.taskOfPartition.get(key);
    if (id === undefined) return; // migrated (fenced) task: the group will move it
    const handle = this.tasks.get(id)!;
    this.metrics.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, batch.highWatermark - batch.nextOffset),
    );
    if (handle.restoring) {
      handle.restoring.pending.push(batch);
      return;
    }
    this.processBatch(handle, batch);
    if (Date.now() - this.lastCommit >= this.commitIntervalMs || handle.task.needsCommit)
      await this.commitAll();
  }

  private processBatch(handle: TaskHandle, batch: ConsumerBatch): void {
    // After a rebalance kafkajs may re-deliver records this task already processed: skip them.
    const position = handle.task.consumedOffset(batch.topic, batch.partition);
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
    // Commit past transaction markers too (EOS inputs), so a caught-up consumer group shows lag 0.
    if (batch.committableOffset !== undefined) {
      handle.task.advanceConsumed(batch.topic, batch.partition, batch.committableOffset);
    }
  }

  private async onTick(): Promise<void> {
    if (this.tasks.size === 0 && this.standbys.size === 0 && !this.global) return;
    for (const handle of this.tasks.values()) if (!handle.restoring) handle.task.maybePunctuateSystemTime();
    // A commit during a re-join would be rejected: the re-join commits itself (onRebalancing).
    if (!this.rebalancing && Date.now() - this.lastCommit >= this.commitIntervalMs) await this.commitAll();
  }

  // ---- tasks ----

  private taskDir(id: string): string {
    return path.join(this.config.stateDir, this.applicationId, id);
  }

  /** Stores a task shares with the instance (global tables it joins with). */
  private sharedStores(sub: SubTopologyPlan): Map<string, StateStore> | undefined {
    if (!this.global) return undefined;
    const shared = new Map<string, StateStore>();
    for (const name of sub.nodes) {
      const def = this.topology.node(name);
      if (def.kind !== 'processor') continue;
      for (const store of def.stores) {
        const view = this.global.views.get(store);
        if (view) shared.set(store, view);
      }
    }
    return shared.size > 0 ? shared : undefined;
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
    const shared = this.sharedStores(sub);
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
      ...(shared ? { stores: shared } : {}),
    });
    await mkdir(dir, { recursive: true });
    await handle.task.init();
    this.tasks.set(id, handle);
    for (const topic of sub.sourceTopics) this.taskOfPartition.set(`${topic}:${partition}`, id);
    await this.beginRestore(handle);
  }

  /**
   * Compares each logged store's checkpoint with its changelog end. Behind: the task is RESTORING,
   * its source partitions are paused, and the changelog reader replays the gap in chunks.
   */
  private async beginRestore(handle: TaskHandle): Promise<void> {
    const admin = await this.adminClient();
    const ranges = new Map<string, RestoreRange>();
    for (const storeName of handle.sub.stores) {
      const topic = this.plan.changelogs.get(storeName);
      if (!topic) continue;
      const store = handle.task.getStore(storeName) as StateStore & { restoreBatch?: unknown };
      if (!store || typeof store.restoreBatch !== 'function') {
        throw new Error(`Store '${storeName}' cannot be restored (no restoreBatch)`);
      }
      const end = (await admin.endOffsets(topic)).find((o) => o.partition === handle.partition);
      if (!end) throw new Error(`Changelog ${topic} has no partition ${handle.partition}`);
      const key = `${topic}:${handle.partition}`;
      const checkpointed = handle.changelogOffsets.get(key) ?? end.low;
      if (checkpointed > end.high) {
        throw new Error(
          `Task ${handle.id}: checkpoint of ${topic} (${checkpointed}) is beyond the changelog end (${end.high}); delete ${this.taskDir(handle.id)}`,
        );
      }
      const from = Math.max(checkpointed, end.low);
      handle.changelogOffsets.set(key, from);
      if (from < end.high) ranges.set(key, { store: storeName, topic, start: from, end: end.high });
      else handle.changelogOffsets.set(key, end.high);
    }
    if (ranges.size === 0) return;
    const total = [...ranges.values()].reduce((n, r) => n + (r.end - r.start), 0);
    handle.restoring = { ranges, total, restored: 0, started: Date.now(), lastLog: Date.now(), pending: [] };
    for (const [key, r] of ranges) {
      this.changelogOwner.set(key, { kind: 'active', id: handle.id });
      this.metrics.restoreRemaining.set({ store: r.store, task: handle.id }, r.end - r.start);
    }
    this.log.info(
      {
        task: handle.id,
        ranges: [...ranges.values()].map((r) => `${r.topic}[${handle.partition}] ${r.start}..${r.end}`),
      },
      `restoring ${total} changelog record(s) of task ${handle.id}`,
    );
  }

  /** Changelog records for a restoring task or a standby replica (inside exclusive). */
  private onChangelogBatch(batch: ConsumerBatch): void {
    const key = `${batch.topic}:${batch.partition}`;
    const owner = this.changelogOwner.get(key);
    if (!owner) return;
    if (owner.kind === 'standby') {
      const standby = this.standbys.get(owner.id);
      if (!standby) return;
      const position = standby.changelogOffsets.get(key) ?? 0;
      const records = batch.records.filter((r) => r.offset >= position && r.key !== null);
      const storeName = standby.storeOfChangelog.get(key)!;
      if (records.length > 0) {
        standby.stores.get(storeName)!.restoreBatch(records.map((r) => ({ key: r.key, value: r.value })));
        this.metrics.standbyUpdated(storeName, records.length);
        standby.dirty = true;
      }
      standby.changelogOffsets.set(key, Math.max(position, batch.nextOffset));
      return;
    }
    const handle = this.tasks.get(owner.id);
    const range = handle?.restoring?.ranges.get(key);
    if (!handle || !range) return;
    const position = handle.changelogOffsets.get(key) ?? range.start;
    const records = batch.records.filter((r) => r.offset >= position && r.offset < range.end);
    if (records.length > 0) {
      const store = handle.task.getStore(range.store) as unknown as { restoreBatch(r: unknown[]): void };
      store.restoreBatch(records.filter((r) => r.key !== null).map((r) => ({ key: r.key, value: r.value })));
      handle.restoring!.restored += records.length;
      this.metrics.restored(range.store, records.length);
    }
    this.advanceRestore(handle, key, Math.min(range.end, Math.max(position, batch.nextOffset)));
  }

  private onChangelogPosition(topic: string, partition: number, next: number): void {
    const key = `${topic}:${partition}`;
    const owner = this.changelogOwner.get(key);
    if (!owner) return;
    if (owner.kind === 'standby') {
      const standby = this.standbys.get(owner.id);
      if (standby && (standby.changelogOffsets.get(key) ?? 0) < next) standby.changelogOffsets.set(key, next);
      return;
    }
    const handle = this.tasks.get(owner.id);
    const range = handle?.restoring?.ranges.get(key);
    if (handle && range) this.advanceRestore(handle, key, Math.min(range.end, next));
  }

  private advanceRestore(handle: TaskHandle, key: string, position: number): void {
    const state = handle.restoring!;
    const range = state.ranges.get(key)!;
    handle.changelogOffsets.set(key, Math.max(handle.changelogOffsets.get(key) ?? 0, position));
    const left = Math.max(0, range.end - handle.changelogOffsets.get(key)!);
    this.metrics.restoreRemaining.set({ store: range.store, task: handle.id }, left);
    if (Date.now() - state.lastLog >= (this.config.restoreLogIntervalMs ?? 2_000)) {
      state.lastLog = Date.now();
      for (const [k, r] of state.ranges) {
        const done = Math.min(r.end, handle.changelogOffsets.get(k) ?? r.start) - r.start;
        this.log.info(
          { task: handle.id },
          `restored ${done}/${r.end - r.start} records of store ${r.store}, partition ${handle.partition}`,
        );
      }
    }
    if (left === 0) {
      state.ranges.delete(key);
      this.changelogOwner.delete(key);
      if (state.ranges.size === 0) this.finishRestore(handle);
    }
  }

  /** All changelogs read: flush, checkpoint, process what waited, resume the source partitions. */
  private finishRestore(handle: TaskHandle): void {
    const state = handle.restoring!;
    // Runs in the chain after the current batch (finishRestore is called from inside exclusive).
    void this.exclusive(async () => {
      if (this.tasks.get(handle.id) !== handle || handle.restoring !== state) return;
      await handle.task.flushStores();
      if (this.guarantee === 'at_least_once')
        await writeCheckpoint(handle.task.taskDir, handle.changelogOffsets);
      handle.restoring = undefined;
      this.log.info(
        { task: handle.id, ms: Date.now() - state.started },
        `restored ${state.restored} record(s) of task ${handle.id}`,
      );
      for (const batch of state.pending) {
        if (this.assigned.has(`${batch.topic}:${batch.partition}`)) this.processBatch(handle, batch);
      }
      this.syncChangelogReader();
      this.syncPausedPartitions();
      if (![...this.tasks.values()].some((h) => h.restoring) && !this.rebalancing) this.setState('RUNNING');
    });
  }

  /** Points the changelog reader at the partitions of restoring tasks and standbys. */
  private syncChangelogReader(): void {
    const positions: TopicPartitionOffset[] = [];
    for (const [key, owner] of this.changelogOwner) {
      const i = key.lastIndexOf(':');
      const topic = key.slice(0, i);
      const partition = Number(key.slice(i + 1));
      const offsets =
        owner.kind === 'active'
          ? this.tasks.get(owner.id)?.changelogOffsets
          : this.standbys.get(owner.id)?.changelogOffsets;
      const offset = offsets?.get(key);
      if (offset !== undefined) positions.push({ topic, partition, offset });
    }
    // Not awaited: the reader waits for its batch in flight, which waits for this chain.
    this.changelogReader?.assign(positions).catch((error: unknown) => this.fail(error as Error));
  }

  /** Source partitions of restoring tasks are paused; all other assigned partitions run. */
  private syncPausedPartitions(): void {
    if (!this.consumer) return;
    const paused = new Map<string, number[]>();
    const running = new Map<string, number[]>();
    for (const handle of this.tasks.values()) {
      const target = handle.restoring ? paused : running;
      for (const topic of handle.sub.sourceTopics)
        target.set(topic, [...(target.get(topic) ?? []), handle.partition]);
    }
    this.consumer.resume([...running].map(([topic, partitions]) => ({ topic, partitions })));
    this.consumer.pause([...paused].map(([topic, partitions]) => ({ topic, partitions })));
  }

  private async closeTask(handle: TaskHandle, clean: boolean): Promise<void> {
    this.tasks.delete(handle.id);
    for (const topic of handle.sub.sourceTopics) this.taskOfPartition.delete(`${topic}:${handle.partition}`);
    for (const [key, owner] of [...this.changelogOwner])
      if (owner.kind === 'active' && owner.id === handle.id) this.changelogOwner.delete(key);
    try {
      await handle.task.close();
      if (clean && this.guarantee === 'exactly_once' && !handle.restoring) {
        // Nothing is open after the last commit: the changelog end is what the stores hold.
        const admin = await this.adminClient();
        for (const key of handle.changelogOffsets.keys()) {
          const topic = key.slice(0, key.lastIndexOf(':'));
          const end = (await admin.endOffsets(topic)).find((o) => o.partition === handle.partition);
          if (end) handle.changelogOffsets.set(key, end.high);
        }
      }
      // A task closed while restoring checkpoints what it restored so far.
      if (clean) await writeCheckpoint(handle.task.taskDir, handle.changelogOffsets);
    } catch (error) {
      this.log.warn({ err: error, task: handle.id }, 'task close failed');
    }
    await handle.producer?.close().catch(() => {});
  }

  // ---- standby replicas ----

  private async createStandby(id: string): Promise<void> {
    const { subtopology, partition } = parseTaskId(id);
    const sub = this.plan.subTopologies.find((s) => s.id === subtopology);
    if (!sub) return;
    const logged = sub.stores.filter((s) => this.plan.changelogs.has(s));
    if (logged.length === 0) return; // nothing to keep warm
    const dir = this.taskDir(id);
    let checkpoint = await readCheckpoint(dir);
    if (!checkpoint) {
      await rm(dir, { recursive: true, force: true });
      checkpoint = new Map();
    }
    const standby: StandbyHandle = {
      id,
      sub,
      partition,
      dir,
      stores: new Map(),
      storeOfChangelog: new Map(),
      changelogOffsets: new Map(),
      dirty: false,
    };
    const admin = await this.adminClient();
    for (const name of logged) {
      const store = this.topology.storeBuilder(name).withCachingDisabled().build() as StateStore & {
        restoreBatch(records: unknown[]): void;
      };
      await store.init({
        applicationId: this.applicationId,
        taskId: id,
        taskDir: dir,
        currentTimestamp: () => -1,
      });
      standby.stores.set(name, store);
      const topic = this.plan.changelogs.get(name)!;
      const key = `${topic}:${partition}`;
      const end = (await admin.endOffsets(topic)).find((o) => o.partition === partition);
      const from = Math.max(checkpoint.get(key) ?? end?.low ?? 0, end?.low ?? 0);
      standby.storeOfChangelog.set(key, name);
      standby.changelogOffsets.set(key, from);
      this.changelogOwner.set(key, { kind: 'standby', id });
    }
    this.standbys.set(id, standby);
    this.log.info(
      { task: id, from: Object.fromEntries(standby.changelogOffsets) },
      `standby replica of task ${id}`,
    );
  }

  private async flushStandby(standby: StandbyHandle): Promise<void> {
    if (!standby.dirty) return;
    standby.dirty = false;
    for (const store of standby.stores.values()) await store.flush();
    await writeCheckpoint(standby.dir, standby.changelogOffsets);
  }

  private async closeStandby(standby: StandbyHandle, clean: boolean): Promise<void> {
    this.standbys.delete(standby.id);
    for (const key of standby.storeOfChangelog.keys()) this.changelogOwner.delete(key);
    try {
      if (clean) {
        standby.dirty = true;
        await this.flushStandby(standby);
      }
      for (const store of standby.stores.values()) await store.close();
    } catch (error) {
      this.log.warn({ err: error, task: standby.id }, 'standby close failed');
    }
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

  /** Commits every running task (Kafka Streams' commit): see the module comment for the protocol. */
  private async commitAll(): Promise<void> {
    this.lastCommit = Date.now();
    await this.global?.commit();
    for (const standby of this.standbys.values()) await this.flushStandby(standby);
    if (this.tasks.size === 0) return;
    const started = process.hrtime.bigint();
    const handles = [...this.tasks.values()].filter((h) => !h.restoring);
    // Restoring tasks keep what they restored so far (ALOS checkpoints are written at every commit).
    for (const h of this.tasks.values()) {
      if (!h.restoring) continue;
      await h.task.flushStores();
      if (this.guarantee === 'at_least_once') await writeCheckpoint(h.task.taskDir, h.changelogOffsets);
    }
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
        try {
          await this.consumer!.commitOffsets(all);
          for (const { h, offsets: o } of offsets) this.markCommitted(h, o);
        } catch (error) {
          if (!(error instanceof RebalanceInProgressError)) throw error;
          // Outputs and changelogs are written; the offsets are retried at the next commit. A task
          // that moves meanwhile may see its last records again (at-least-once).
          this.log.warn(
            { partitions: all.length },
            'offset commit rejected because the group is rebalancing; retrying after the rebalance',
          );
        }
      }
    }
    for (const h of handles) {
      for (const [name, store] of h.task.stores) {
        if (this.topology.globalStores.has(name)) continue;
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

/** The instance gave up because no broker answers (see brokerUnreachableTimeoutMs). */
export class BrokersUnreachableError extends Error {
  override name = 'BrokersUnreachableError';
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
