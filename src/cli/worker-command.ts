/**
 * `lambda-streams worker <topology-file>`: runs a topology as a speed-layer worker on Kafka, with
 * the serving layer (batch views merged with its state) behind an HTTP API, until SIGTERM/SIGINT;
 * then finishes the current batch, commits, writes checkpoints and leaves the group.
 */
import {
  addKafkaSecurityOptions,
  kafkaSecurityFrom,
  type KafkaSecurityFlags,
} from './kafka-security-options.ts';
import {
  addErrorHandlerOptions,
  errorHandlersFrom,
  type ErrorHandlerFlags,
} from './error-handler-options.ts';
import { InvalidArgumentError, Option } from 'commander';

import {
  addKafkaClientOption,
  applyKafkaClientOption,
  type KafkaClientFlags,
} from './kafka-client-option.ts';
import type { Command } from 'commander';

import type { KafkaStreams, ProcessingGuarantee } from '../runtime/kafka-streams.ts';
import { mergeStreamsConfigs, type ResolvedStreamsConfig } from '../streams-config.ts';

/** How long a worker that failed may take to close before it exits anyway. */
const FAILED_STOP_DEADLINE_MS = 30_000;
export interface WorkerOptions extends ErrorHandlerFlags, KafkaSecurityFlags, KafkaClientFlags {
  brokers?: string;
  /** Default: the file's config, else LAMBDA_STREAMS_STATE_DIR, else .lambda-streams/state. */
  stateDir?: string;
  /** Default: the file's config, else PROCESSING_GUARANTEE, else at_least_once. */
  guarantee?: ProcessingGuarantee;
  commitInterval?: number;
  applicationServer?: string;
  applicationId?: string;
  /** Port of the worker's HTTP API (queries, /metrics, /health); 0: any free port. */
  httpPort?: number;
  /** Bind address of the HTTP API (default 127.0.0.1). */
  httpHost?: string;
  httpToken?: string;
  /** false: no HTTP API (--no-http). */
  http?: boolean;
  /** Old name of --http-port. */
  metricsPort?: number;
  onBadRecord?: 'skip' | 'fail';
  numStandbyReplicas?: number;
  /** statestore.cache.max.bytes (0: caching off). */
  cacheMaxBytes?: number;
  /** Exit 0 once the group has consumed every input partition to its end and committed. */
  untilCaughtUp?: boolean;
}

/** How often --until-caught-up compares the group's committed offsets with the end offsets. */
const CAUGHT_UP_CHECK_MS = 1_000;

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`not a non-negative integer: ${value}`);
  return n;
}

function info(line: string): void {
  process.stderr.write(`[lambda-streams] ${line}\n`);
}

/** Brokers from the flag, else KAFKA_BROKERS / the local broker file / a newly started local broker. */
export async function resolveBrokers(
  flag: string | undefined,
): Promise<{ brokers: string[]; stop: () => Promise<void> }> {
  const list = (flag ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length > 0) return { brokers: list, stop: async () => {} };
  const { ensureBroker } = await import('../kafka/local-broker.ts');
  const broker = await ensureBroker({ log: info });
  return { brokers: broker.brokers, stop: () => broker.stop() };
}

/**
 * Runs a worker until a signal (or a fatal error); resolves with the exit code. Exported for the demo
 * and tests.
 */
export async function runWorker(file: string, options: WorkerOptions): Promise<number> {
  const [
    { loadTopologyFile },
    { KafkaStreams },
    { startServing },
    { createServingServer },
    { DeferredQueryService },
    { StreamsMetrics },
    { topologyGraph },
    { WorkerStatus },
  ] = await Promise.all([
    import('./load-topology.ts'),
    import('../runtime/kafka-streams.ts'),
    import('../serving/serving.ts'),
    import('../serving/http/server.ts'),
    import('../serving/deferred-query-service.ts'),
    import('../metrics/metrics.ts'),
    import('../topology/graph.ts'),
    import('../serving/worker-status.ts'),
  ]);
  const { DEFAULT_HTTP_PORT } = await import('../serving/http/limits.ts');
  const { definition, topology, bucketMs, config: fileConfig } = await loadTopologyFile(file);
  const applicationId = options.applicationId ?? definition.applicationId;
  // Made before the HTTP server, so /metrics has request latencies from the first request on.
  const metrics = new StreamsMetrics({ application: applicationId });
  const security = kafkaSecurityFrom(options); // before anything starts: a half setup fails here
  const config = workerConfig(fileConfig, options);
  const broker = await resolveBrokers(config.bootstrapServers?.join(','));
  const httpEnabled = options.http !== false;
  const httpHost = options.httpHost ?? '127.0.0.1';
  let streams: InstanceType<typeof KafkaStreams> | undefined;
  let serving: Awaited<ReturnType<typeof startServing>> | undefined;
  let server: Awaited<ReturnType<typeof createServingServer>> | undefined;
  let status: InstanceType<typeof WorkerStatus> | undefined;
  let signalled: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (signalled = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    info(`${signal}: shutting down (commit, checkpoint, leave the group)`);
    signalled(0);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    // The HTTP API listens first: the group must learn this worker's application.server, and a port
    // of 0 is only known once bound. Queries answer 503 until the worker has started.
    const deferred = new DeferredQueryService(options.applicationServer);
    let applicationServer = options.applicationServer;
    if (httpEnabled) {
      server = await createServingServer({
        service: deferred,
        host: httpHost,
        port: options.httpPort ?? options.metricsPort ?? DEFAULT_HTTP_PORT,
        ...(options.httpToken ? { token: options.httpToken } : {}),
        scrapeMetrics: async () => ({ contentType: metrics.contentType, body: await metrics.scrape() }),
        metricsRegistry: metrics.registry,
        ui: {
          topology: topologyGraph(topology, applicationId, bucketMs),
          status: () => status?.document(),
        },
        health: () => ({
          ok: streams?.state === 'RUNNING' || streams?.state === 'REBALANCING',
          state: streams?.state ?? 'STARTING',
          tasks: streams?.localTasks().map((t) => t.id) ?? [],
          view: serving?.views.current?.ref ?? null,
        }),
      });
      const port = new URL(server.url).port;
      applicationServer ??= `${httpHost === '0.0.0.0' || httpHost === '::' ? (await import('node:os')).hostname() : httpHost}:${port}`;
      info(
        `HTTP API on ${server.url} (application.server ${applicationServer}); metrics on ${server.url}/metrics`,
      );
    }
    streams = new KafkaStreams(topology, {
      ...config,
      applicationId,
      bootstrapServers: broker.brokers,
      metrics,
      ...(applicationServer ? { applicationServer } : {}),
      ...security,
    });
    streams.onError((error) => {
      info(`stopping: ${error.message}`);
      signalled(1);
      // A failed worker must exit: its supervisor restarts it only then. A Kafka call that never
      // returns during the close (seen once with kafkajs after a broker restart mid-transaction, in
      // the chaos suite's broker-restart scenario) would otherwise keep it alive and idle for good.
      setTimeout(() => {
        info(
          `stopping took longer than ${FAILED_STOP_DEADLINE_MS / 1_000} s; exiting with code 1 without a clean close (committed offsets and changelogs make the restart safe)`,
        );
        process.exit(1);
      }, FAILED_STOP_DEADLINE_MS).unref();
    });
    await streams.start();
    serving = await startServing(streams, {
      stateDir: config.stateDir,
      ...(applicationServer ? { endpoint: applicationServer } : {}),
    });
    const queries = serving.queries;
    // The engine knows this worker by its application.server; the deferred one answers through it.
    deferred.resolve(queries);
    status = new WorkerStatus({
      streams,
      queries,
      views: serving.views,
      ...(applicationServer ? { endpoint: applicationServer } : {}),
    }).start();
    info(
      `worker ${definition.applicationId} running on ${broker.brokers.join(',')} (${config.processingGuarantee})`,
    );
    const caughtUpWatch = options.untilCaughtUp ? watchCaughtUp(streams, signalled) : undefined;
    const code = await stopped;
    clearInterval(caughtUpWatch);
    status.stop();
    await serving.close();
    await streams.close();
    return streams.error ? 1 : code;
  } finally {
    status?.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await serving?.close().catch(() => {});
    await streams?.close();
    await server?.close();
    await broker.stop();
  }
}

/**
 * The worker's StreamsConfig: the CLI's defaults, then the topology file's config, then the flags
 * (each flag overrides the option it names). A worker keeps going past a record it cannot read by
 * default (logged with topic, partition and offset, counted as
 * lambda_streams_dropped_records_total{reason="deserialization"}; the record stays in its topic);
 * --on-bad-record fail stops instead (Kafka Streams' LogAndFail).
 */
export function workerConfig(
  fileConfig: ResolvedStreamsConfig,
  options: WorkerOptions,
): ResolvedStreamsConfig & { stateDir: string; processingGuarantee: ProcessingGuarantee } {
  const merged = mergeStreamsConfigs(
    {
      stateDir: process.env.LAMBDA_STREAMS_STATE_DIR ?? '.lambda-streams/state',
      processingGuarantee:
        (process.env.PROCESSING_GUARANTEE as ProcessingGuarantee | undefined) ?? 'at_least_once',
      badRecordHandling: 'skip',
    },
    fileConfig,
    {
      ...(options.brokers ? { bootstrapServers: options.brokers } : {}),
      ...(options.stateDir ? { stateDir: options.stateDir } : {}),
      ...(options.guarantee ? { processingGuarantee: options.guarantee } : {}),
      ...(options.commitInterval !== undefined ? { commitIntervalMs: options.commitInterval } : {}),
      ...(options.applicationServer ? { applicationServer: options.applicationServer } : {}),
      ...(options.onBadRecord ? { badRecordHandling: options.onBadRecord } : {}),
      ...(options.numStandbyReplicas !== undefined ? { numStandbyReplicas: options.numStandbyReplicas } : {}),
      ...(options.cacheMaxBytes !== undefined ? { statestoreCacheMaxBytes: options.cacheMaxBytes } : {}),
      ...errorHandlersFrom(options),
    },
  );
  return merged as typeof merged & { stateDir: string; processingGuarantee: ProcessingGuarantee };
}

/**
 * --until-caught-up: stops the worker (exit 0) once the group has committed the end of every
 * partition it reads, seen in two checks in a row (a rebalance in between would show a partition
 * behind again).
 */
function watchCaughtUp(streams: KafkaStreams, stop: (code: number) => void): NodeJS.Timeout {
  let streak = 0;
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    streams
      .partitionBehind()
      .then((behind) => {
        if (behind === undefined) {
          if (++streak < 2) return;
          info(
            'caught up: the group has committed the end of every input partition; stopping (--until-caught-up)',
          );
          clearInterval(timer);
          stop(0);
          return;
        }
        streak = 0;
      })
      .catch((error: unknown) => {
        streak = 0;
        info(`--until-caught-up: could not compare offsets (${(error as Error).message}); trying again`);
      })
      .finally(() => {
        checking = false;
      });
  }, CAUGHT_UP_CHECK_MS);
  return timer;
}

export function registerWorkerCommand(program: Command): void {
  const command = program
    .command('worker')
    .description('run a topology as a speed-layer worker on Kafka (consumer group, local state, changelogs)')
    .argument('<topology-file>', 'a file in topologies/ that exports default defineTopology({...})')
    .option(
      '--brokers <list>',
      'bootstrap brokers host:port,... (default: KAFKA_BROKERS, else the local broker)',
    )
    .option(
      '--state-dir <dir>',
      "local state directory (state.dir; default: the file's config, else LAMBDA_STREAMS_STATE_DIR, else .lambda-streams/state)",
    )
    .addOption(
      new Option(
        '--guarantee <guarantee>',
        "processing guarantee (processing.guarantee; default: the file's config, else PROCESSING_GUARANTEE, else at_least_once)",
      ).choices(['at_least_once', 'exactly_once']),
    )
    .option(
      '--commit-interval <ms>',
      'commit interval (commit.interval.ms; default 100 ms exactly_once, 30 000 ms at_least_once)',
      parsePositiveInt,
    )
    .option(
      '--cache-max-bytes <bytes>',
      'write-back cache bytes of the worker, shared by all its caching stores (statestore.cache.max.bytes; 0: caching off; default 10 MiB)',
      parsePositiveInt,
    )
    .option(
      '--application-server <host:port>',
      'how other workers reach this one (default: the HTTP API address; set it when binding 0.0.0.0 behind NAT)',
    )
    .option('--application-id <id>', "override the topology file's application id")
    .option(
      '--http-port <port>',
      "port of the worker's HTTP API: queries, /metrics, /health (default 7070; 0: any free port)",
      parsePositiveInt,
    )
    .option('--http-host <host>', 'bind address of the HTTP API (default 127.0.0.1: this machine only)')
    .option(
      '--http-token <token>',
      'require Authorization: Bearer <token> on every route but /health (default: LAMBDA_STREAMS_HTTP_TOKEN)',
    )
    .option('--no-http', 'no HTTP API (no queries, no /metrics)')
    .option('--metrics-port <port>', 'old name of --http-port', parsePositiveInt)
    .addOption(
      new Option(
        '--on-bad-record <action>',
        "a source record that cannot be deserialized: skip it (logged with topic/partition/offset, counted in lambda_streams_dropped_records_total) or fail the worker (default: the file's config, else skip)",
      ).choices(['skip', 'fail']),
    )
    .option(
      '--num-standby-replicas <n>',
      'standby replicas per stateful task, kept warm on other workers (default 0)',
      parsePositiveInt,
    )
    .option(
      '--until-caught-up',
      'exit 0 once the group has consumed every input partition (sources and repartition topics) to its end and committed',
    );
  addKafkaSecurityOptions(command);
  addKafkaClientOption(command);
  addErrorHandlerOptions(command, { deadLetter: true }).action(async (file: string, opts: WorkerOptions) => {
    await applyKafkaClientOption(opts);
    if (!opts.brokers && process.env.KAFKA_BROKERS) opts.brokers = process.env.KAFKA_BROKERS;
    if (!opts.httpToken && process.env.LAMBDA_STREAMS_HTTP_TOKEN)
      opts.httpToken = process.env.LAMBDA_STREAMS_HTTP_TOKEN;
    process.exitCode = await runWorker(file, opts);
  });
}
