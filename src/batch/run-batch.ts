/**
 * `runBatch()`: one batch run from snapshot to published view (what `lambda-streams batch` calls).
 *
 * 1. Snapshot: end offsets of every source partition (and global-table topic) now; the run reads
 *    [earliest, end) and never past it. Source topics with finite retention get a warning.
 * 2. Boundary B: `until` rounded down to a bucket, else the last bucket complete at the snapshot
 *    (boundary.ts). Records with bucket(ts) >= B are left to the speed layer.
 * 3. Execution: the executor runs the topology's own processors in stages (batch-executor.ts).
 * 4. Publication: view data topics are written first (one per store, partitioned like its
 *    changelog); then one manifest record in `<applicationId>-batch-views` makes the view visible.
 *    A run that fails or is interrupted publishes no manifest and removes its data; a killed run's
 *    data is removed by the next run. Views beyond `keepViews` are retired.
 *
 * With `instances > 1` several processes share one run (coordination.ts): instance 0 takes the
 * snapshot and publishes; every instance runs its share of the tasks.
 */
import os from 'node:os';
import path from 'node:path';

import type { Logger } from 'pino';

import type { KafkaAdmin, KafkaClient, KafkaClientConfig, KafkaProducer } from '../kafka/client.ts';
import { childLogger } from '../logger.ts';
import { errorHandlingOf, type ErrorHandlingConfig } from '../processor/error-handlers.ts';
import type { BadRecordHandling } from '../processor/internals/task.ts';
import type { Topology } from '../topology/topology.ts';
import {
  BatchExecutor,
  recordsIn,
  type BatchStats,
  type RepartitionExchange,
  type SinkWriter,
} from './batch-executor.ts';
import { planBatch, type BatchPlan } from './batch-plan.ts';
import { BatchThreads, describeErrorHandlers } from './batch-threads.ts';
import { BoundaryError, boundaryFromUntil, defaultBoundary } from './boundary.ts';
import { InMemoryExchange } from './exchange.ts';
import {
  DroppingSinks,
  KafkaExchange,
  KafkaSourceReader,
  KafkaViewWriter,
  RedirectingSinks,
} from './kafka-io.ts';
import { newestEventTimes, retentionWarnings, takeSnapshot } from './snapshot.ts';
import {
  ensureManifestTopic,
  publishManifest,
  readViews,
  removeLeftovers,
  retireViews,
  VIEW_TOPIC_CONFIG,
  viewTopics,
} from './view-catalog.ts';
import {
  MANIFEST_FORMAT,
  newViewId,
  redirectTopic,
  runTopicPrefix,
  viewDataTopic,
  type ViewManifest,
  type ViewStore,
} from './view-manifest.ts';
import { startCoordination, type RunCoordination, type RunSpec } from './coordination.ts';

export type SinkMode = 'drop' | 'redirect';

/**
 * Source records below which `threads: 'auto'` runs on one thread: a worker thread's start (loading
 * the topology, connecting) costs about half a second of a core, as much as a thread processes
 * 100,000 records in.
 */
export const AUTO_THREADS_MIN_RECORDS = 200_000;

/** Whether a value can be sent to a worker thread (a structured clone: plain data, no functions). */
function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

export interface BatchRunOptions {
  topology: Topology;
  applicationId: string;
  /** Name of the topology (file) recorded in the manifest. */
  topologyName: string;
  bucketMs: number;
  client: KafkaClient;
  /** Epoch ms: the boundary is the bucket that contains it (see boundary.ts). Default: last complete bucket. */
  untilMs?: number;
  /** Processes sharing the run, and which one this is (0 takes the snapshot and publishes). */
  instances?: number;
  instanceId?: number;
  /** Sink records: not written (default), or written to `<topic>-batch-<viewId>`. */
  sinks?: SinkMode;
  /** Published views kept; older ones are retired (default 2). */
  keepViews?: number;
  /** Stores flush their writes to LevelDB above this RSS (default: none, all in memory). */
  memoryBudgetBytes?: number;
  /** Where the run's temporary stores live (default: the OS temp dir); removed at the end. */
  stateDir?: string;
  badRecordHandling?: BadRecordHandling;
  /**
   * The application's handlers, as its workers run them (a deserializationExceptionHandler takes
   * precedence over badRecordHandling). A dead-letter topic is not written by batch runs: the workers
   * wrote those records there when they met them.
   */
  errorHandlers?: Omit<ErrorHandlingConfig, 'deadLetterQueueTopic'>;
  signal?: AbortSignal;
  /** Called every `progressIntervalMs` (default 1 s) and once at the end. */
  onProgress?: (stats: BatchStats) => void;
  progressIntervalMs?: number;
  /** Called once every record is processed, before the view is published (a progress bar ends here). */
  onExecuted?: (stats: BatchStats) => void;
  /** Also publish the stores the DSL named itself (internal; for diagnostics and tests). */
  publishInternalStores?: boolean;
  /** Multi-process runs: how long an instance waits for the others (default 10 min). */
  instanceTimeoutMs?: number;
  /**
   * Threads of this process that share the run (batch-threads.ts; default 1, at most one per task of
   * the widest stage). More than one needs `topologyFile` and `clientConfig`, which worker threads load
   * and connect with, and a single process (`instances` 1). `'auto'` (the CLI's default): one per
   * core where more than one is possible, on runs of at least AUTO_THREADS_MIN_RECORDS source records.
   */
  threads?: number | 'auto';
  /** The file the topology was loaded from (worker threads load it again). */
  topologyFile?: string;
  /** How worker threads connect to Kafka (the configuration `client` was made with). */
  clientConfig?: KafkaClientConfig;
  log?: Logger;
  now?: () => number;
}

export interface BatchRunResult {
  /** The published view (instance 0; other instances get it too once it is published). */
  manifest: ViewManifest;
  stats: BatchStats;
  durationMs: number;
  /** Views retired by this run. */
  retired: string[];
  /** Sink records per topic: dropped, or written to the redirect topics. */
  sinks: { mode: SinkMode; counts: Record<string, number> };
  /** Threads this process ran its share on (`threads` asked, at most one per task of the widest stage). */
  threads: number;
}

export class BatchRunError extends Error {
  override name = 'BatchRunError';
}

export async function runBatch(options: BatchRunOptions): Promise<BatchRunResult> {
  const started = Date.now();
  const now = options.now ?? Date.now;
  const instances = options.instances ?? 1;
  const instanceId = options.instanceId ?? 0;
  if (!Number.isInteger(instances) || instances < 1)
    throw new BatchRunError(`--instances must be a positive integer, got ${instances}`);
  if (!Number.isInteger(instanceId) || instanceId < 0 || instanceId >= instances)
    throw new BatchRunError(`--instance-id must be between 0 and ${instances - 1}, got ${instanceId}`);
  const threadErrorHandlers = describeErrorHandlers(options.errorHandlers);
  const autoThreads = options.threads === 'auto';
  const threadsAsked =
    options.threads === 'auto'
      ? instances === 1 &&
        threadErrorHandlers !== undefined &&
        options.topologyFile !== undefined &&
        options.clientConfig !== undefined &&
        cloneable(options.clientConfig)
        ? os.availableParallelism()
        : 1
      : (options.threads ?? 1);
  if (!Number.isInteger(threadsAsked) || threadsAsked < 1)
    throw new BatchRunError(`--threads must be a positive integer or auto, got ${String(options.threads)}`);
  if (threadsAsked > 1 && threadErrorHandlers === undefined)
    throw new BatchRunError(
      '--threads needs the built-in error handlers: an application handler object cannot be sent to another thread',
    );
  if (threadsAsked > 1 && instances > 1)
    throw new BatchRunError(
      '--threads and --instances cannot be combined: a multi-process run uses one thread each',
    );
  if (threadsAsked > 1 && (options.topologyFile === undefined || options.clientConfig === undefined))
    throw new BatchRunError(
      'a threaded batch run needs the topology file and the Kafka client configuration',
    );
  const { client, topology, applicationId } = options;
  const log =
    options.log ??
    childLogger({ component: 'batch', applicationId, ...(instances > 1 ? { instanceId } : {}) });
  const admin = await client.admin();
  let producer: KafkaProducer | undefined;
  let coordination: RunCoordination | undefined;
  let spec: RunSpec | undefined;
  let published = false;
  let threads: BatchThreads | undefined;
  try {
    // Worker threads start now: they load the topology and connect while this thread takes the
    // snapshot. Inside the try: a thread that cannot start must not leave the admin client open (the
    // process would never exit).
    if (threadsAsked > 1)
      threads = new BatchThreads(
        {
          threads: threadsAsked,
          topologyFile: options.topologyFile!,
          applicationId,
          clientConfig: options.clientConfig!,
        },
        log,
      );
    producer = await client.producer({ idempotent: true });
    coordination = await startCoordination({
      client,
      admin,
      producer,
      applicationId,
      instances,
      instanceId,
      log,
      timeoutMs: options.instanceTimeoutMs ?? 600_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (instanceId === 0) spec = await prepareRun(options, admin, log, now);
    spec = await coordination.start(spec);
    const plan = planFor(options, spec, instances);
    if (instanceId === 0) await createRunTopics(admin, options, spec, plan);
    await coordination.topicsReady();

    // Threads beyond the widest stage would have nothing to do; on a small run (auto) their start
    // costs more than they would save.
    if (threads) {
      const useful =
        autoThreads && recordsIn(spec.snapshot.ranges) < AUTO_THREADS_MIN_RECORDS ? 1 : threads.threads;
      await threads.shrink(Math.min(useful, Math.max(1, ...plan.stages.map((stage) => stage.tasks.length))));
      if (threads.threads === 1) {
        await threads.close();
        threads = undefined;
      }
    }
    const execPlan = threads ? planFor(options, spec, threads.threads) : plan;
    const stateDir = path.join(
      options.stateDir ?? os.tmpdir(),
      `lambda-streams-batch-${applicationId}-${spec.runId}-${instanceId}`,
    );
    const exchange: RepartitionExchange = threads
      ? threads.exchangeFor(execPlan)
      : instances === 1
        ? new InMemoryExchange()
        : new KafkaExchange(
            client,
            admin,
            producer,
            (topic) => `${runTopicPrefix(applicationId, spec!.runId)}${stripApp(applicationId, topic)}`,
          );
    const sinkMode = options.sinks ?? 'drop';
    const sinks: SinkWriter & { counts: Map<string, number> } =
      sinkMode === 'redirect'
        ? new RedirectingSinks(producer, (topic) => redirectTopic(topic, spec!.runId))
        : new DroppingSinks();
    threads?.run({
      runId: spec.runId,
      createdAt: spec.createdAt,
      partitionCounts: spec.partitionCounts,
      includeInternalStores: options.publishInternalStores === true,
      ranges: spec.snapshot.ranges,
      boundaryMs: spec.boundaryBucket * spec.bucketMs,
      wallClockMs: spec.snapshot.takenAtMs,
      stateDir,
      badRecordHandling: options.badRecordHandling ?? 'skip',
      errorHandlers: threadErrorHandlers ?? {},
      ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
      sinkMode,
    });
    const signals = [options.signal, threads?.failed].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const executor = new BatchExecutor({
      applicationId,
      topology,
      plan: execPlan,
      instance: threads ? 0 : instanceId,
      ranges: spec.snapshot.ranges,
      boundaryMs: spec.boundaryBucket * spec.bucketMs,
      stateDir,
      wallClockMs: spec.snapshot.takenAtMs,
      reader: new KafkaSourceReader(client),
      exchange,
      sinks,
      views: new KafkaViewWriter(
        producer,
        (store) => viewDataTopic(applicationId, spec!.runId, store),
        Date.parse(spec.createdAt),
      ),
      badRecordHandling: options.badRecordHandling ?? 'skip',
      errorHandling: errorHandlingOf({
        ...options.errorHandlers,
        badRecordHandling: options.badRecordHandling ?? 'skip',
      }),
      ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
      ...(signal ? { signal } : {}),
      log,
    });
    // This process's counters: this thread's and the worker threads' latest.
    const statsNow = (): BatchStats =>
      threads ? sumStats([executor.stats, ...threads.stats()]) : executor.stats;
    const progressTimer = options.onProgress
      ? setInterval(() => options.onProgress!(statsNow()), options.progressIntervalMs ?? 1_000)
      : undefined;
    progressTimer?.unref();
    let partitions: Map<string, ViewStore['partitions']>;
    try {
      partitions = await executor.run(async (stage) => {
        await threads?.barrier(stage);
        await coordination!.afterStage(stage);
      });
    } catch (error) {
      // A worker thread's failure is the cause when it aborted this thread.
      throw threads?.failed.aborted ? threads.failed.reason : error;
    } finally {
      if (progressTimer) clearInterval(progressTimer);
    }
    if (threads) {
      for (const result of await threads.finish()) {
        for (const [store, list] of Object.entries(result.partitions))
          partitions.set(store, [...(partitions.get(store) ?? []), ...list]);
        for (const [topic, n] of Object.entries(result.sinks))
          sinks.counts.set(topic, (sinks.counts.get(topic) ?? 0) + n);
      }
    }
    const processStats = statsNow();
    options.onProgress?.(processStats);
    options.onExecuted?.(processStats);

    const results = await coordination.finish({
      instance: instanceId,
      stats: processStats,
      partitions: Object.fromEntries(partitions),
    });
    let retired: string[] = [];
    let manifest: ViewManifest;
    if (instanceId === 0) {
      manifest = buildManifest(options, spec, plan, results, instances, now);
      await publishManifest(producer, manifest);
      published = true;
      log.info(
        { viewId: manifest.viewId, boundary: manifest.boundaryTime },
        `published view ${manifest.viewId} (buckets < ${manifest.boundaryBucket}, before ${manifest.boundaryTime})`,
      );
      await coordination.published(manifest);
      const views = await readViews(client, admin, applicationId, log);
      retired = await retireViews(admin, producer, views, options.keepViews ?? 2, log);
      if (instances > 1) await deleteRunTopics(admin, applicationId, spec.runId);
    } else {
      manifest = await coordination.awaitPublished();
      published = true;
    }
    const stats = sumStats(results.map((r) => r.stats));
    return {
      manifest,
      stats,
      durationMs: Date.now() - started,
      retired,
      sinks: { mode: sinkMode, counts: Object.fromEntries(sinks.counts) },
      threads: threads?.threads ?? 1,
    };
  } catch (error) {
    await coordination?.fail(error as Error).catch(() => {});
    if (!published && spec && instanceId === 0) {
      // Nothing was published: remove what the run wrote, so nothing of it lingers.
      const leftovers = [...(await viewTopics(admin, applicationId, spec.runId).catch(() => []))];
      await admin.deleteTopics(leftovers).catch(() => {});
      await deleteRunTopics(admin, applicationId, spec.runId).catch(() => {});
    }
    throw error;
  } finally {
    await threads?.close().catch(() => {});
    await coordination?.close().catch(() => {});
    await producer?.close().catch(() => {});
    await admin.close().catch(() => {});
  }
}

/** Instance 0: snapshot, boundary, cleanup of earlier unfinished runs, the run's id. */
async function prepareRun(
  options: BatchRunOptions,
  admin: KafkaAdmin,
  log: Logger,
  now: () => number,
): Promise<RunSpec> {
  const { client, topology, applicationId, bucketMs } = options;
  const counts = await sourcePartitionCounts(admin, topology, applicationId);
  const plan = planBatch(applicationId, topology, counts, options.instances ?? 1);
  const nowMs = now();
  const snapshot = await takeSnapshot(admin, [...plan.sourceTopics, ...plan.globalTopics], nowMs);
  const warnings = retentionWarnings(snapshot);
  for (const warning of warnings) log.warn(warning);
  let boundaryBucket: number;
  if (options.untilMs !== undefined) {
    boundaryBucket = boundaryFromUntil(options.untilMs, bucketMs, nowMs);
  } else {
    const taskRanges = snapshot.ranges.filter((r) => plan.sourceTopics.includes(r.topic));
    boundaryBucket = defaultBoundary(await newestEventTimes(client, topology, taskRanges), bucketMs, nowMs);
  }
  await ensureManifestTopic(admin, applicationId);
  const views = await readViews(client, admin, applicationId, log);
  await removeLeftovers(admin, applicationId, views, [], log);
  const createdAt = new Date(nowMs);
  return {
    runId: newViewId(createdAt),
    createdAt: createdAt.toISOString(),
    boundaryBucket,
    bucketMs,
    instances: options.instances ?? 1,
    partitionCounts: Object.fromEntries(counts),
    snapshot,
    warnings,
  };
}

/** Partition counts of the topics the topology reads (patterns resolved now), for planning. */
async function sourcePartitionCounts(
  admin: KafkaAdmin,
  topology: Topology,
  applicationId: string,
): Promise<Map<string, number>> {
  const subs = topology.subTopologies();
  const named = [...new Set(subs.flatMap((s) => s.sourceTopics).filter((t) => !topology.isInternalTopic(t)))];
  const sinks = [...new Set(subs.flatMap((s) => s.sinkTopics).filter((t) => !topology.isInternalTopic(t)))];
  const patterns = subs.flatMap((s) => s.sourcePatterns);
  const matching =
    patterns.length === 0
      ? []
      : (await admin.listTopics()).filter(
          (t) =>
            !t.startsWith('__') &&
            !t.startsWith(`${applicationId}-`) &&
            patterns.some((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, '')).test(t)),
        );
  return admin.partitionCounts([...named, ...sinks, ...matching]);
}

function planFor(options: BatchRunOptions, spec: RunSpec, instances: number): BatchPlan {
  return planBatch(
    options.applicationId,
    options.topology,
    new Map(Object.entries(spec.partitionCounts)),
    instances,
    { includeInternalStores: options.publishInternalStores === true },
  );
}

/** View data topics (one per store), per-run exchange topics, redirect topics. */
async function createRunTopics(
  admin: KafkaAdmin,
  options: BatchRunOptions,
  spec: RunSpec,
  plan: BatchPlan,
): Promise<void> {
  const { applicationId } = options;
  const topics = plan.stores.map((s) => ({
    name: viewDataTopic(applicationId, spec.runId, s.name),
    partitions: s.partitions,
    config: VIEW_TOPIC_CONFIG,
  }));
  if (spec.instances > 1) {
    for (const route of plan.repartition.values()) {
      if (route.live) continue;
      topics.push({
        name: `${runTopicPrefix(applicationId, spec.runId)}${stripApp(applicationId, route.topic)}`,
        partitions: route.partitions,
        config: VIEW_TOPIC_CONFIG,
      });
    }
  }
  if (options.sinks === 'redirect') {
    const sinkTopics = [
      ...new Set(
        options.topology
          .subTopologies()
          .flatMap((s) => s.sinkTopics)
          .filter((t) => !options.topology.isInternalTopic(t)),
      ),
    ];
    for (const topic of sinkTopics) {
      const partitions = spec.partitionCounts[topic];
      if (partitions === undefined) {
        throw new BatchRunError(
          `--sinks redirect: output topic '${topic}' does not exist, so the partition count of its redirect topic is unknown; create it first`,
        );
      }
      topics.push({ name: redirectTopic(topic, spec.runId), partitions, config: VIEW_TOPIC_CONFIG });
    }
  }
  await admin.createTopics(topics);
}

async function deleteRunTopics(admin: KafkaAdmin, applicationId: string, runId: string): Promise<void> {
  const prefix = runTopicPrefix(applicationId, runId);
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics(topics);
}

export { redirectTopic };

function stripApp(applicationId: string, topic: string): string {
  return topic.startsWith(`${applicationId}-`) ? topic.slice(applicationId.length + 1) : topic;
}

function buildManifest(
  options: BatchRunOptions,
  spec: RunSpec,
  plan: BatchPlan,
  results: Array<{
    instance: number;
    stats: BatchStats;
    partitions: Record<string, ViewStore['partitions']>;
  }>,
  instances: number,
  now: () => number,
): ViewManifest {
  const stores: Record<string, ViewStore> = {};
  for (const store of plan.stores) {
    const partitions = results
      .flatMap((r) => r.partitions[store.name] ?? [])
      .sort((a, b) => a.partition - b.partition);
    if (partitions.length !== store.partitions) {
      throw new BatchRunError(
        `store '${store.name}': ${partitions.length} of ${store.partitions} partitions were computed; not publishing`,
      );
    }
    stores[store.name] = {
      kind: store.kind,
      topic: viewDataTopic(options.applicationId, spec.runId, store.name),
      partitions,
    };
  }
  const total = sumStats(results.map((r) => r.stats));
  return {
    format: MANIFEST_FORMAT,
    viewId: spec.runId,
    applicationId: options.applicationId,
    topology: options.topologyName,
    boundaryBucket: spec.boundaryBucket,
    bucketMs: spec.bucketMs,
    boundaryTime: new Date(spec.boundaryBucket * spec.bucketMs).toISOString(),
    createdAt: spec.createdAt,
    completedAt: new Date(now()).toISOString(),
    instances,
    sources: spec.snapshot.sources,
    stores,
    records: {
      read: total.read,
      processed: total.processed,
      beyondBoundary: total.beyondBoundary,
      skipped: total.skipped,
    },
    warnings: spec.warnings,
  };
}

/** Totals over the instances' stats (instance 0 has everyone's; the others their own). */
function sumStats(all: BatchStats[]): BatchStats {
  const sum = { ...all[0]! };
  for (const key of ['read', 'processed', 'beyondBoundary', 'skipped', 'repartitioned', 'spills'] as const)
    sum[key] = all.reduce((n, s) => n + s[key], 0);
  const firsts = all.flatMap((s) => (s.firstTimestamp === undefined ? [] : [s.firstTimestamp]));
  const lasts = all.flatMap((s) => (s.lastTimestamp === undefined ? [] : [s.lastTimestamp]));
  if (firsts.length > 0) sum.firstTimestamp = Math.min(...firsts);
  if (lasts.length > 0) sum.lastTimestamp = Math.max(...lasts);
  return sum;
}

export { BoundaryError };
