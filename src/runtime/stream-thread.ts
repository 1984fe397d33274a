/**
 * The stream thread (Kafka Streams' StreamThread): the group consumer and the loop it drives. A
 * fetched batch runs synchronously through its task (no per-record await) and the tasks commit once
 * the commit interval has passed; assignments and re-joins reach the task manager; a wall-clock tick
 * punctuates and commits idle instances; and the thread decides when missing brokers stop the
 * instance.
 *
 * Everything that touches tasks runs one at a time in one promise chain (`exclusive`): batches of
 * the group consumer and of the changelog and global readers, assignments, ticks and commits.
 */
import type { Logger } from 'pino';

import type {
  ConsumerBatch,
  KafkaAdmin,
  KafkaClient,
  KafkaConsumer,
  MemberInfo,
  TopicPartitionOffset,
} from '../kafka/client.ts';
import type { KafkaErrorKind } from '../kafka/errors.ts';
import type { StreamsMetrics } from '../metrics/metrics.ts';
import type { ErrorHandling } from '../processor/error-handlers.ts';
import { CacheBudget, DEFAULT_CACHE_MAX_BYTES } from '../state/write-back-cache.ts';
import type { Topology } from '../topology/topology.ts';
import type { GlobalStateManager } from './global-state.ts';
import { RecordCollector, type ProcessingGuarantee } from './record-collector.ts';
import { TaskAssignor } from './task-assignor.ts';
import { TaskManager } from './task-manager.ts';
import type { TopicPlan } from './topic-plan.ts';

/** Records of a fetched batch processed before its outputs may go out (see onBatch). */
const PROCESS_SLICE_RECORDS = 5_000;

/** A batch as consecutive slices; only the last carries the batch's committable offset. */
export function sliceBatch(batch: ConsumerBatch, size: number): ConsumerBatch[] {
  if (batch.records.length <= size) return [batch];
  const slices: ConsumerBatch[] = [];
  for (let i = 0; i < batch.records.length; i += size) {
    const records = batch.records.slice(i, i + size);
    const last = i + size >= batch.records.length;
    const { committableOffset, ...rest } = batch;
    slices.push({
      ...rest,
      records,
      ...(last && committableOffset !== undefined ? { committableOffset } : {}),
      // The offset after a slice is the next record's; the last keeps the batch's (control records).
      nextOffset: last ? batch.nextOffset : records[records.length - 1]!.offset + 1,
    });
  }
  return slices;
}

/**
 * A stream thread's share of statestore.cache.max.bytes, as Kafka Streams divides it: the total is
 * per instance, split evenly among its stream threads. (Kafka Streams counts its global thread too;
 * here global stores are not cached.)
 */
export function cacheSizePerThread(totalBytes: number, streamThreads: number): number {
  return streamThreads > 0 ? Math.floor(totalBytes / streamThreads) : totalBytes;
}

export type StreamsState =
  'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

/** The instance gave up because no broker answers (see brokerUnreachableTimeoutMs). */
export class BrokersUnreachableError extends Error {
  override name = 'BrokersUnreachableError';
}

/** The one line that names the brokers and says what to do. */
export function brokersLost(brokers: string, detail: string, cause: unknown): BrokersUnreachableError {
  return new BrokersUnreachableError(
    `lost the connection to Kafka brokers ${brokers} (${detail}); the instance stops: ` +
      `restart it when the brokers are back — committed offsets and changelogs make the restart safe`,
    { cause },
  );
}

export interface StreamThreadConfig {
  applicationId: string;
  stateDir: string;
  topology: Topology;
  plan: TopicPlan;
  client: KafkaClient;
  admin: () => Promise<KafkaAdmin>;
  global?: GlobalStateManager;
  metrics: StreamsMetrics;
  log: Logger;
  guarantee: ProcessingGuarantee;
  commitIntervalMs: number;
  pollIntervalMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  numStandbyReplicas: number;
  applicationServer?: string;
  /** Deserialization, processing and sink-serialization handlers, and the dead-letter topic. */
  errorHandling: ErrorHandling;
  cachingDisabled: boolean;
  /** This thread's share of statestore.cache.max.bytes (cacheSizePerThread). Default 10 MiB. */
  cacheMaxBytes?: number;
  restoreLogIntervalMs: number;
  brokerUnreachableTimeoutMs: number;
  classify: (error: unknown) => KafkaErrorKind;
  /** The brokers, for messages. */
  brokerList: () => string;
  // The facade's state machine.
  state: () => StreamsState;
  setState: (next: StreamsState) => void;
  fail: (error: Error) => void;
  /** close() has begun. */
  closing: () => boolean;
  /** The instance failed (ERROR). */
  failed: () => boolean;
}

export class StreamThread {
  readonly tasks: TaskManager;
  /** The budget all the caching stores of this thread's tasks share (Kafka Streams' ThreadCache). */
  readonly cacheBudget: CacheBudget;
  private readonly config: StreamThreadConfig;
  private readonly collector: RecordCollector;
  private consumer?: KafkaConsumer;
  private chain: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  /** True from the moment the consumer re-joins until the new assignment is applied. */
  private rebalancing = false;
  /** Since when the consumer keeps crashing because no broker answers (reset by a join or a batch). */
  private unreachableSince?: number;
  private lastConnectionError?: Error;

  constructor(config: StreamThreadConfig) {
    this.config = config;
    this.collector = new RecordCollector({
      applicationId: config.applicationId,
      guarantee: config.guarantee,
      client: config.client,
      admin: config.admin,
      metrics: config.metrics,
      log: config.log,
      classify: config.classify,
      commitOffsets: (offsets: TopicPartitionOffset[]) => this.consumer!.commitOffsets(offsets),
      groupMetadata: () => this.consumer?.groupMetadata?.(),
      stateDir: config.stateDir,
    });
    this.cacheBudget = new CacheBudget(config.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES);
    this.tasks = new TaskManager({
      applicationId: config.applicationId,
      stateDir: config.stateDir,
      topology: config.topology,
      plan: config.plan,
      client: config.client,
      collector: this.collector,
      admin: config.admin,
      metrics: config.metrics,
      log: config.log,
      ...(config.global ? { global: config.global } : {}),
      errorHandling: config.errorHandling,
      cachingDisabled: config.cachingDisabled,
      cacheBudget: this.cacheBudget,
      numStandbyReplicas: config.numStandbyReplicas,
      restoreLogIntervalMs: config.restoreLogIntervalMs,
      run: (fn) => this.exclusive(fn),
      onError: (error) => config.fail(error),
      pause: (partitions) => this.consumer?.pause(partitions),
      resume: (partitions) => this.consumer?.resume(partitions),
      seek: (topic, partition, offset) => this.consumer?.seek?.(topic, partition, offset),
      canSeek: () => typeof this.consumer?.seek === 'function',
      reviveTimeoutMs: config.brokerUnreachableTimeoutMs,
      onBrokersUnreachable: (error) => this.onBrokersUnreachable(error),
      onRestored: () => {
        if (this.tasks.restoringTasks.length === 0 && !this.rebalancing) config.setState('RUNNING');
      },
    });
  }

  /**
   * Runs `fn` after everything queued before it. Nothing runs once the instance closes or failed,
   * except the shutdown itself (`evenWhenClosing`). A failure of `fn` fails the instance.
   */
  /** The topics and sub-topologies this thread runs (partition counts for the serving layer). */
  get plan(): TopicPlan {
    return this.config.plan;
  }

  /** Last high watermark seen per "topic:partition" of the assigned source partitions (lag). */
  readonly highWatermarks = new Map<string, number>();
  /** Called after each assignment is applied (the serving layer loads views for new tasks). */
  readonly assignmentListeners: Array<() => void> = [];

  exclusive(fn: () => Promise<void> | void, evenWhenClosing = false): Promise<void> {
    const run = async (): Promise<void> => {
      if ((this.config.closing() || this.config.failed()) && !evenWhenClosing) return;
      try {
        await fn();
      } catch (error) {
        this.config.fail(error as Error);
      }
    };
    const next = this.chain.then(run);
    this.chain = next;
    return next;
  }

  /** Joins the group and starts consuming. */
  async start(): Promise<void> {
    const { config, tasks } = this;
    await this.collector.start();
    const assignor = new TaskAssignor(
      config.plan.taskSpecs,
      () => ({
        version: 1,
        tasks: [...tasks.tasks.keys()],
        standbys: [...tasks.standbys.keys()],
        ...(config.applicationServer ? { endpoint: config.applicationServer } : {}),
      }),
      config.numStandbyReplicas,
    );
    this.consumer = config.client.consumer({
      groupId: config.applicationId,
      isolationLevel: config.guarantee === 'exactly_once' ? 'read_committed' : 'read_uncommitted',
      assignor,
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      fromBeginning: true,
    });
    const topics = [...new Set(config.plan.subTopologies.flatMap((s) => s.sourceTopics))];
    await this.consumer.subscribe(topics);
    await this.consumer.run((batch) => this.exclusive(() => this.onBatch(batch)), {
      onAssignment: (assignment, member) => {
        // Batches of partitions outside this set are stale from now on.
        tasks.setAssignedPartitions(assignment);
        void this.exclusive(() => this.onAssignment(assignment, member));
      },
      onRebalancing: () => {
        if (config.closing()) return;
        this.rebalancing = true;
        if (config.state() === 'RUNNING') config.setState('REBALANCING');
        // Commit before re-joining, so the next owner of a task starts where this one stopped.
        return this.exclusive(() => tasks.commitAll());
      },
      onCrash: (error, restarting) => {
        if (!restarting) config.fail(error);
        else if (config.classify(error) === 'connection') this.onBrokersUnreachable(error);
        else config.log.warn({ err: error }, 'consumer crashed; the Kafka client restarts it');
      },
    });
    this.timer = setInterval(() => {
      // Outside the chain: a commit stuck on a dead broker must not delay giving up.
      this.checkBrokersUnreachable();
      void this.exclusive(() => this.onTick());
    }, config.pollIntervalMs);
    this.timer.unref();
    const subs = config.plan.subTopologies.length;
    config.log.info(
      { guarantee: config.guarantee, commitIntervalMs: config.commitIntervalMs, topics },
      `started: ${subs} sub-topolog${subs === 1 ? 'y' : 'ies'}`,
    );
  }

  /**
   * Stops: readers first (outside the chain: closing one waits for its batch in flight), then, in the
   * chain, the final commit and the tasks' close, while still in the group; then the consumer leaves.
   * Clean (commit, checkpoints) unless the instance failed. Returns the final commit's error.
   */
  async shutdown(failedBefore: boolean): Promise<Error | undefined> {
    const { config } = this;
    if (this.timer) clearInterval(this.timer);
    await this.tasks.changelogReader.close().catch(() => {});
    await config.global?.stopUpdating().catch(() => {});
    let commitError: Error | undefined;
    await this.exclusive(async () => {
      const clean = !failedBefore && !config.failed();
      if (clean) {
        try {
          await this.tasks.commitAll();
        } catch (error) {
          config.log.error({ err: error }, 'final commit failed; closing tasks dirty');
          commitError = error as Error;
        }
      }
      const stillClean = clean && !commitError && !config.failed();
      await this.tasks.closeAll(stillClean);
      await config.global?.close(stillClean);
    }, true);
    await this.consumer?.close().catch((err: unknown) => config.log.warn({ err }, 'consumer close failed'));
    await this.collector.close();
    return commitError;
  }

  // ---- consumer callbacks (always inside exclusive) ----

  private async onAssignment(assignment: Map<string, number[]>, member: MemberInfo): Promise<void> {
    this.config.metrics.rebalanced();
    this.unreachableSince = undefined;
    this.rebalancing = false;
    await this.tasks.handleAssignment(assignment, member);
    if (this.tasks.restoringTasks.length === 0) this.config.setState('RUNNING');
    for (const listener of this.assignmentListeners) listener();
  }

  private async onBatch(batch: ConsumerBatch): Promise<void> {
    this.unreachableSince = undefined;
    const t = this.tasks.taskFor(batch.topic, batch.partition);
    if (!t) return;
    this.highWatermarks.set(`${batch.topic}:${batch.partition}`, batch.highWatermark);
    this.config.metrics.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, batch.highWatermark - batch.nextOffset),
    );
    if (t.restoring) {
      t.restoring.pending.push(batch);
      return;
    }
    // A large fetch (tens of thousands of small records per partition) runs in slices, so its outputs
    // go out while the rest is processed and what is in flight stays within the collector's budget.
    for (const slice of sliceBatch(batch, PROCESS_SLICE_RECORDS)) {
      if (this.config.failed() || this.tasks.tasks.get(t.id) !== t) return;
      this.tasks.process(t, slice);
      await this.collector.backpressure(this.tasks.tasks.values());
    }
    if (this.commitDue() || t.task.needsCommit) await this.tasks.commitAll();
  }

  private async onTick(): Promise<void> {
    const { tasks } = this;
    // Tasks whose commit failed for want of a broker come back once it answers again.
    if (tasks.corruptedTasks.length > 0 && !this.rebalancing) await tasks.reviveCorrupted();
    if (tasks.tasks.size === 0 && tasks.standbys.size === 0 && !this.config.global) return;
    tasks.punctuate();
    // A commit during a re-join would be rejected: the re-join commits itself (onRebalancing).
    if (!this.rebalancing && this.commitDue()) await tasks.commitAll();
  }

  private commitDue(): boolean {
    return Date.now() - this.tasks.lastCommit >= this.config.commitIntervalMs;
  }

  // ---- brokers going away ----

  /** The consumer crashed for want of a broker; the Kafka client restarts it. Gives up after the timeout. */
  private onBrokersUnreachable(error: Error): void {
    const { brokerUnreachableTimeoutMs: timeoutMs, brokerList, log } = this.config;
    this.unreachableSince ??= Date.now();
    this.lastConnectionError = error;
    const elapsed = Date.now() - this.unreachableSince;
    if (elapsed >= timeoutMs) {
      this.checkBrokersUnreachable();
      return;
    }
    log.warn(
      { err: error, brokers: brokerList() },
      `cannot reach Kafka brokers ${brokerList()} (${error.message}); the consumer restarts and ` +
        `retries, the instance stops in ${Math.ceil((timeoutMs - elapsed) / 1000)} s unless they come back`,
    );
  }

  private checkBrokersUnreachable(): void {
    const { config } = this;
    if (this.unreachableSince === undefined || config.failed() || config.closing()) return;
    const elapsed = Date.now() - this.unreachableSince;
    if (elapsed < config.brokerUnreachableTimeoutMs) return;
    const cause = this.lastConnectionError;
    config.fail(
      brokersLost(
        config.brokerList(),
        `${cause?.message ?? 'no broker answers'}; unreachable for ${Math.round(elapsed / 1000)} s`,
        cause,
      ),
    );
  }
}
