/**
 * The speed layer's facade (Kafka Streams' KafkaStreams): runs a Topology on a Kafka cluster. One
 * consumer group (group id = application id) shares the tasks between instances; each instance keeps
 * local stores backed by compacted changelogs and commits at-least-once or exactly-once.
 *
 * This file holds the configuration, the lifecycle and its state machine (CREATED → REBALANCING ⇄
 * RUNNING → PENDING_SHUTDOWN → NOT_RUNNING, or ERROR), the listeners and the public accessors. The
 * work is done by:
 * - internal-topic-manager.ts: plans, creates and validates repartition topics and changelogs;
 * - global-state.ts: global tables, restored before processing and kept up to date;
 * - stream-thread.ts: the group consumer and the poll → process → commit loop;
 * - task-manager.ts: active tasks and standbys (create, commit, revoke, close);
 * - changelog-reader.ts: restoration and standby updates;
 * - record-collector.ts: buffered outputs and the commit protocols.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { Logger } from 'pino';

import { childLogger } from '../logger.ts';
import type { KafkaAdmin, KafkaClient, KafkaClientConfig } from '../kafka/client.ts';
import { classifyKafkaError, type KafkaErrorKind } from '../kafka/errors.ts';
import { defaultKafkaClientFactory, type KafkaClientFactory } from '../kafka/factory.ts';
import { StreamsMetrics } from '../metrics/metrics.ts';
import { errorHandlingOf } from '../processor/error-handlers.ts';
import { StreamsError } from '../processor/internals/errors.ts';
import type { StreamTask } from '../processor/internals/task.ts';
import { InvalidStateStoreError } from '../state/errors.ts';
import type { StateStore } from '../state/types.ts';
import type { StoreQueryParameters } from './store-query-parameters.ts';
import type { Topology } from '../topology/topology.ts';
import { GlobalStateManager } from './global-state.ts';
import { InternalTopicManager } from './internal-topic-manager.ts';
import type { ProcessingGuarantee } from './record-collector.ts';
import {
  cachingEnabled,
  DEFAULT_STATESTORE_CACHE_MAX_BYTES,
  resolveStreamsConfig,
  StreamsConfigError,
  type StreamsConfigInput,
} from '../streams-config.ts';
import {
  BrokersUnreachableError,
  StreamThread,
  brokersLost,
  cacheSizePerThread,
  type StreamsState,
} from './stream-thread.ts';
import { decodeAssignment } from './task-assignor.ts';
import type { TopicPlan } from './topic-plan.ts';

export type { ProcessingGuarantee } from './record-collector.ts';
export { BrokersUnreachableError, type StreamsState } from './stream-thread.ts';

/**
 * The configuration of `new KafkaStreams(topology, config)`: the StreamsConfig options (Kafka Streams'
 * names, camelCase or dotted; see docs/configuration.md) plus what only a running instance takes.
 */
export interface KafkaStreamsConfig extends StreamsConfigInput {
  /** A ready Kafka port implementation (tests, other clients); default kafkajs on `bootstrapServers`. */
  client?: KafkaClient;
  /** Creates the Kafka client when `client` is not given; default kafkajs (src/kafka/factory.ts). */
  clientFactory?: KafkaClientFactory;
  ssl?: KafkaClientConfig['ssl'];
  sasl?: KafkaClientConfig['sasl'];
  /** How often wall-clock punctuation and idle commits are checked. Default 200 ms. */
  pollIntervalMs?: number;
  metrics?: StreamsMetrics;
  /** Restore progress is logged at most this often. Default 2 s. */
  restoreLogIntervalMs?: number;
  /**
   * How long the consumer may keep failing to reach the brokers (kafkajs restarting it after each
   * round of retries) before the instance gives up and goes to ERROR. Default 30 000 ms.
   */
  brokerUnreachableTimeoutMs?: number;
}

/** An instance runs one stream thread (there is no num.stream.threads). */
const STREAM_THREADS = 1;

/** Kafka Streams' state.dir default, `<tmpdir>/kafka-streams`, under this project's name. */
const DEFAULT_STATE_DIR = path.join(os.tmpdir(), 'lambda-streams');

type ResolvedConfig = ReturnType<typeof resolveStreamsConfig<KafkaStreamsConfig>> & {
  applicationId: string;
  stateDir: string;
};

/** Answers KafkaStreams#store (the serving layer). */
export interface StoreProvider {
  store<T>(parameters: StoreQueryParameters<T>): T;
}

export type StateListener = (newState: StreamsState, oldState: StreamsState) => void;

/** The tasks of one instance; handed to the serving layer and tests. */
export interface TaskView {
  id: string;
  partition: number;
  subtopology: number;
  stores: ReadonlyMap<string, StateStore>;
}

export interface ActiveTaskView {
  id: string;
  partition: number;
  subtopology: number;
  /** Full names of the topics the task reads. */
  sourceTopics: string[];
  task: StreamTask;
  /** Still restoring its stores: not ready to answer queries. */
  restoring: boolean;
}

/** One restoring task of this instance (KafkaStreams#restoration). */
export interface RestorationProgress {
  task: string;
  /** Changelog records to restore when the task was assigned, and restored since. */
  total: number;
  restored: number;
  /** Epoch ms the restoration started. */
  startedAt: number;
  /** Stores still behind their changelogs ("topic:partition"), with the records left. */
  stores: Array<{ store: string; changelog: string; remaining: number }>;
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
  private readonly config: ResolvedConfig;
  private readonly guarantee: ProcessingGuarantee;
  private readonly commitIntervalMs: number;
  private currentState: StreamsState = 'CREATED';
  private readonly listeners: StateListener[] = [];
  private readonly errorListeners: Array<(error: Error) => void> = [];
  private client?: KafkaClient;
  private admin?: KafkaAdmin;
  private global?: GlobalStateManager;
  private thread?: StreamThread;
  private readonly assignmentListeners: Array<() => void> = [];
  private storeProvider: StoreProvider | undefined;
  private closing = false;
  private closed?: Promise<void>;
  /** Pattern sources: the periodic check for new matching topics, and the one running. */
  private patternTimer?: NodeJS.Timeout;
  private patternRefresh?: Promise<void>;
  private fatal?: Error;

  constructor(topology: Topology, input: KafkaStreamsConfig) {
    const resolved = resolveStreamsConfig(input);
    if (!resolved.applicationId)
      throw new StreamsConfigError('KafkaStreams: applicationId (application.id) is required');
    const config: ResolvedConfig = {
      ...resolved,
      applicationId: resolved.applicationId,
      stateDir: resolved.stateDir ?? DEFAULT_STATE_DIR,
    };
    this.topology = topology;
    this.config = config;
    // Kafka Streams hands the configured default serdes to the topology at init.
    topology.configureDefaultSerdes(config);
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
    return [...(this.thread?.tasks.tasks.values() ?? [])].map((t) => ({
      id: t.id,
      partition: t.partition,
      subtopology: t.sub.id,
      stores: t.task.stores,
    }));
  }

  /** Standby replicas kept by this instance (task ids). */
  standbyTasks(): string[] {
    return [...(this.thread?.tasks.standbys.keys() ?? [])].sort();
  }

  /**
   * Restoration in progress on this instance: per restoring active task, the changelog records to
   * restore, restored so far, and the stores still behind (the operator's view: /status, /ui).
   */
  restoration(): RestorationProgress[] {
    const out: RestorationProgress[] = [];
    for (const t of this.thread?.tasks.tasks.values() ?? []) {
      const state = t.restoring;
      if (!state) continue;
      const stores = [...state.ranges].map(([key, r]) => ({
        store: r.store,
        changelog: key,
        remaining: Math.max(0, r.end - Math.min(r.end, t.changelogOffsets.get(key) ?? r.start)),
      }));
      out.push({
        task: t.id,
        total: state.total,
        restored: state.restored,
        startedAt: state.started,
        stores,
      });
    }
    return out;
  }

  /** A global table's store (the same instance every task reads). */
  globalStore<S extends StateStore = StateStore>(name: string): S | undefined {
    return this.global?.views.get(name) as S | undefined;
  }

  /**
   * The active tasks of this instance with their StreamTask (the serving layer reads stores, delta
   * indexes and positions through it). Undefined before start.
   */
  activeTasks(): ActiveTaskView[] {
    return [...(this.thread?.tasks.tasks.values() ?? [])].map((t) => ({
      id: t.id,
      partition: t.partition,
      subtopology: t.sub.id,
      sourceTopics: t.sub.sourceTopics,
      task: t.task,
      restoring: t.restoring !== undefined,
    }));
  }

  /** One active task of this instance by id (a query's partition), or undefined. */
  activeTask(id: string): ActiveTaskView | undefined {
    const t = this.thread?.tasks.tasks.get(id);
    return t
      ? {
          id: t.id,
          partition: t.partition,
          subtopology: t.sub.id,
          sourceTopics: t.sub.sourceTopics,
          task: t.task,
          restoring: t.restoring !== undefined,
        }
      : undefined;
  }

  /** Standby replicas' stores by task id (stale reads). */
  standbyStores(): Map<string, ReadonlyMap<string, StateStore>> {
    return new Map([...(this.thread?.tasks.standbys.values() ?? [])].map((s) => [s.id, s.stores]));
  }

  /** The last high watermark fetched for a source partition of this instance, if any. */
  highWatermark(topic: string, partition: number): number | undefined {
    return this.thread?.highWatermarks.get(`${topic}:${partition}`);
  }

  /**
   * Whether the group has consumed every partition it reads (external sources and repartition
   * topics) to its end and committed that: the input is processed. Undefined when so, else the
   * first partition behind (`topic[p] committed X of end Y`). Other instances of the group count too.
   */
  async partitionBehind(): Promise<string | undefined> {
    const plan = this.thread?.plan;
    if (!plan || this.currentState !== 'RUNNING') return `the instance is ${this.currentState}`;
    const admin = await this.adminClient();
    const topics = [...new Set(plan.subTopologies.flatMap((s) => s.sourceTopics))];
    const committed = new Map(
      (await admin.committedOffsets(this.applicationId, topics)).map((c) => [
        `${c.topic}:${c.partition}`,
        c.offset,
      ]),
    );
    for (const topic of topics) {
      for (const end of await admin.endOffsets(topic)) {
        const at = committed.get(`${topic}:${end.partition}`) ?? -1;
        if (end.high > end.low && at < end.high)
          return `${topic}[${end.partition}] committed ${Math.max(at, 0)} of end ${end.high}`;
      }
    }
    return undefined;
  }

  /** Tasks (partitions) of each sub-topology, once started. */
  subTopologyPartitions(): Map<number, number> {
    return new Map((this.thread?.plan.subTopologies ?? []).map((s) => [s.id, s.partitions]));
  }

  /** The Kafka client in use (the serving layer shares it), once started. */
  get kafkaClient(): KafkaClient | undefined {
    return this.client;
  }

  /**
   * A read-only view of a queryable store across this instance's tasks (Kafka Streams'
   * KafkaStreams#store). The serving layer answers it (startServing() attaches itself): values are the
   * batch view merged with the speed layer's deltas. Throws InvalidStateStoreError while the instance
   * is not running or the store cannot answer yet.
   */
  store<T>(parameters: StoreQueryParameters<T>): T {
    if (!this.storeProvider) {
      throw new InvalidStateStoreError(
        parameters.storeName,
        'cannot be queried: start the serving layer first (startServing(streams, ...)), which answers interactive queries',
      );
    }
    if (this.currentState !== 'RUNNING' && this.currentState !== 'REBALANCING') {
      throw new InvalidStateStoreError(
        parameters.storeName,
        `cannot be queried while the instance is ${this.currentState}`,
      );
    }
    return this.storeProvider.store(parameters);
  }

  /** The serving layer registers itself here to answer store() (see startServing). */
  attachStoreProvider(provider: StoreProvider | undefined): void {
    this.storeProvider = provider;
  }

  /** Runs `fn` in the processing chain (never beside a batch, a commit or a rebalance). */
  runExclusive(fn: () => Promise<void> | void): Promise<void> {
    if (!this.thread) return Promise.resolve().then(fn);
    return this.thread.exclusive(fn);
  }

  /** Called after each rebalance once the new assignment is applied. */
  onAssignment(listener: () => void): void {
    this.assignmentListeners.push(listener);
    this.thread?.assignmentListeners.push(listener);
  }

  /** The named store of every local task that has it. */
  storesNamed<S extends StateStore = StateStore>(name: string): Array<{ taskId: string; store: S }> {
    const out: Array<{ taskId: string; store: S }> = [];
    for (const t of this.thread?.tasks.tasks.values() ?? []) {
      const store = t.task.getStore<S>(name);
      if (store) out.push({ taskId: t.id, store });
    }
    return out;
  }

  /** endpoint → task ids of the whole group, from the assignor's userData (serving layer routing). */
  async taskHosts(): Promise<Record<string, string[]>> {
    return (await this.hostMaps()).active;
  }

  /** endpoint → active task ids and endpoint → standby task ids of the whole group. */
  async hostMaps(): Promise<{ active: Record<string, string[]>; standby: Record<string, string[]> }> {
    const admin = await this.adminClient();
    const members = await admin.groupAssignments(this.applicationId);
    for (const m of members) {
      const info = decodeAssignment(m.userData);
      if (info) return { active: info.hosts, standby: info.standbyHosts ?? {} };
    }
    return { active: {}, standby: {} };
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
    const { config } = this;
    this.client = config.client ?? this.createClient();
    const admin = await this.adminClient();
    const topics = new InternalTopicManager(this.applicationId, this.topology, admin, this.log);
    const plan = await topics.prepare();
    await mkdir(path.join(config.stateDir, this.applicationId), { recursive: true });
    const handling = errorHandlingOf(config);
    if (handling.deadLetterQueueTopic !== undefined)
      await requireDeadLetterTopic(admin, handling.deadLetterQueueTopic);
    await this.startProcessing(plan);
    if (this.topology.subTopologies().some((s) => s.sourcePatterns.length > 0)) {
      this.patternTimer = setInterval(() => {
        this.patternRefresh ??= this.refreshPatternTopics(topics).finally(() => {
          this.patternRefresh = undefined;
        });
      }, config.metadataMaxAgeMs ?? 300_000);
      this.patternTimer.unref();
    }
  }

  /**
   * Pattern sources (Kafka Streams re-evaluates the subscription on every metadata refresh): when the
   * set of matching topics changed, the stream thread stops cleanly (commit, checkpoints, leave the
   * group) and a new one starts on the new plan, so the instance reads the new topics without a
   * restart of the process. Local state stays: the tasks reopen from their checkpoints.
   */
  private async refreshPatternTopics(topics: InternalTopicManager): Promise<void> {
    const thread = this.thread;
    if (!thread || this.closing || this.fatal || this.currentState !== 'RUNNING') return;
    const sourcesOf = (plan: TopicPlan): string[] =>
      [...new Set(plan.subTopologies.flatMap((s) => s.sourceTopics))].sort();
    let next: TopicPlan;
    try {
      next = await topics.plan();
    } catch (error) {
      this.log.warn(
        { err: error },
        `pattern sources: the matching topics could not be read again (${(error as Error).message}); still reading ${sourcesOf(thread.plan).join(', ')}`,
      );
      return;
    }
    const reading = sourcesOf(thread.plan);
    const matching = sourcesOf(next);
    if (reading.join('\0') === matching.join('\0') || this.closing) return;
    const added = matching.filter((t) => !reading.includes(t));
    const gone = reading.filter((t) => !matching.includes(t));
    this.log.info(
      { added, gone },
      `pattern sources: ${added.length ? `new matching topic(s) ${added.join(', ')}` : ''}${added.length && gone.length ? '; ' : ''}${gone.length ? `topic(s) gone ${gone.join(', ')}` : ''}; restarting the stream thread on them`,
    );
    this.setState('REBALANCING');
    const commitError = await thread.shutdown(false);
    this.thread = undefined; // queries see no tasks until the new thread has its assignment
    if (commitError) {
      this.fail(commitError);
      return;
    }
    if (this.closing) return;
    try {
      await this.startProcessing(await topics.prepare());
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /** Starts the global stores (if any) and a stream thread on `plan`. */
  private async startProcessing(plan: TopicPlan): Promise<void> {
    const { config } = this;
    const admin = await this.adminClient();
    const handling = errorHandlingOf(config);
    const restoreLogIntervalMs = config.restoreLogIntervalMs ?? 2_000;
    if (plan.globalSubTopologies.length > 0) {
      this.global = new GlobalStateManager({
        applicationId: this.applicationId,
        stateDir: config.stateDir,
        topology: this.topology,
        subTopologies: plan.globalSubTopologies,
        client: this.client!,
        admin,
        metrics: this.metrics,
        log: this.log,
        errorHandling: handling,
        restoreLogIntervalMs,
      });
    }
    const thread = new StreamThread({
      applicationId: this.applicationId,
      stateDir: config.stateDir,
      topology: this.topology,
      plan,
      client: this.client!,
      admin: () => this.adminClient(),
      ...(this.global ? { global: this.global } : {}),
      metrics: this.metrics,
      log: this.log,
      guarantee: this.guarantee,
      commitIntervalMs: this.commitIntervalMs,
      pollIntervalMs: config.pollIntervalMs ?? 200,
      sessionTimeoutMs: config.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: config.heartbeatIntervalMs ?? 1_000,
      numStandbyReplicas: config.numStandbyReplicas ?? 0,
      ...(config.applicationServer ? { applicationServer: config.applicationServer } : {}),
      errorHandling: handling,
      cachingDisabled: !cachingEnabled(config),
      cacheMaxBytes: cacheSizePerThread(
        config.statestoreCacheMaxBytes ?? DEFAULT_STATESTORE_CACHE_MAX_BYTES,
        STREAM_THREADS,
      ),
      restoreLogIntervalMs,
      brokerUnreachableTimeoutMs: config.brokerUnreachableTimeoutMs ?? 30_000,
      classify: (error) => this.classify(error),
      brokerList: () => this.brokerList(),
      state: () => this.currentState,
      setState: (next) => this.setState(next),
      fail: (error) => this.fail(error),
      closing: () => this.closing,
      failed: () => this.fatal !== undefined,
    });
    this.thread = thread;
    thread.assignmentListeners.push(...this.assignmentListeners);
    if (this.global) {
      // Processing starts only once every global store holds its whole topic.
      await this.global.restore();
      this.global.startUpdating(
        (fn) => thread.exclusive(fn),
        (error) => this.fail(error),
      );
    }
    await thread.start();
  }

  private createClient(): KafkaClient {
    const { config } = this;
    if (!config.bootstrapServers || config.bootstrapServers.length === 0) {
      throw new StreamsConfigError(
        'KafkaStreams: no brokers configured (set bootstrapServers, or pass --brokers / KAFKA_BROKERS to the CLI)',
      );
    }
    return (config.clientFactory ?? defaultKafkaClientFactory)({
      brokers: config.bootstrapServers,
      clientId: config.clientId ?? this.applicationId,
      ...(config.ssl !== undefined ? { ssl: config.ssl } : {}),
      ...(config.sasl ? { sasl: config.sasl } : {}),
    });
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
    if (this.patternTimer) clearInterval(this.patternTimer);
    await this.patternRefresh; // a thread being replaced is closed by the refresh, or started and closed below
    const failed = this.currentState === 'ERROR';
    if (this.currentState !== 'PENDING_SHUTDOWN') this.setState('PENDING_SHUTDOWN');
    if (this.thread) {
      const commitError = await this.thread.shutdown(failed);
      this.fatal ??= commitError;
    } else {
      await this.global?.close(false);
    }
    await this.admin?.close().catch(() => {});
    this.metrics.assignedTasks.set(0);
    this.setState('NOT_RUNNING');
    this.log.info('closed');
  }

  private classify(error: unknown): KafkaErrorKind {
    return classifyKafkaError(error, (e) => this.client?.classifyError?.(e));
  }

  private brokerList(): string {
    return (this.client?.brokers ?? this.config.bootstrapServers ?? []).join(',') || '(none configured)';
  }

  /** Connection errors (a commit or transaction that outlived the client's retries) name the brokers. */
  private describeFailure(error: Error): Error {
    if (error instanceof BrokersUnreachableError || this.classify(error) !== 'connection') return error;
    return brokersLost(this.brokerList(), error.message, error);
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

  private async adminClient(): Promise<KafkaAdmin> {
    this.admin ??= await this.client!.admin();
    return this.admin;
  }
}

/** A dead-letter topic must exist before the first record goes there (as sink topics must). */
async function requireDeadLetterTopic(admin: KafkaAdmin, topic: string): Promise<void> {
  const counts = await admin.partitionCounts([topic]);
  if (!counts.get(topic))
    throw new StreamsError(
      `dead-letter topic '${topic}' does not exist; create it first (kafka-topics.sh --create --topic ${topic}), or leave deadLetterQueueTopic unset`,
    );
}
