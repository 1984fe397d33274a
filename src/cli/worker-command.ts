/**
 * `lambda-streams worker <topology-file>`: runs a topology as a speed-layer worker on Kafka until
 * SIGTERM/SIGINT, then finishes the current batch, commits, writes checkpoints and leaves the group.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';

import type { KafkaStreams, ProcessingGuarantee } from '../runtime/kafka-streams.ts';

export interface WorkerOptions {
  brokers?: string;
  stateDir: string;
  guarantee: ProcessingGuarantee;
  commitInterval?: number;
  applicationServer?: string;
  applicationId?: string;
  metricsPort?: number;
  onBadRecord?: 'skip' | 'fail';
  numStandbyReplicas?: number;
}

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

/** Serves GET /metrics (Prometheus text) and GET /health on the given port; returns a closer. */
export async function serveMetrics(streams: KafkaStreams, port: number): Promise<() => Promise<void>> {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.method === 'GET' && req.url === '/metrics') {
        const body = await streams.metrics.scrape();
        res.writeHead(200, { 'content-type': streams.metrics.contentType });
        res.end(body);
      } else if (req.method === 'GET' && req.url === '/health') {
        const ok = streams.state === 'RUNNING' || streams.state === 'REBALANCING';
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ state: streams.state, tasks: streams.localTasks().map((t) => t.id) }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: `no route ${req.method} ${req.url}; try GET /metrics or GET /health` }),
        );
      }
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  const address = server.address();
  info(`metrics on http://localhost:${typeof address === 'object' && address ? address.port : port}/metrics`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Runs a worker until a signal (or a fatal error); resolves with the exit code. Exported for the demo
 * and tests.
 */
export async function runWorker(file: string, options: WorkerOptions): Promise<number> {
  const [{ loadTopologyFile }, { KafkaStreams }] = await Promise.all([
    import('./load-topology.ts'),
    import('../runtime/kafka-streams.ts'),
  ]);
  const { definition, topology } = await loadTopologyFile(file);
  const broker = await resolveBrokers(options.brokers);
  const streams = new KafkaStreams(topology, {
    applicationId: options.applicationId ?? definition.applicationId,
    brokers: broker.brokers,
    stateDir: options.stateDir,
    processingGuarantee: options.guarantee,
    ...(options.commitInterval !== undefined ? { commitIntervalMs: options.commitInterval } : {}),
    ...(options.applicationServer ? { applicationServer: options.applicationServer } : {}),
    // A worker keeps going past a record it cannot read: logged with topic, partition and offset,
    // counted as lambda_streams_dropped_records_total{reason="deserialization"}; the record stays in
    // its topic. --on-bad-record fail stops instead (Kafka Streams' LogAndFail).
    badRecordHandling: options.onBadRecord ?? 'skip',
    ...(options.numStandbyReplicas !== undefined ? { numStandbyReplicas: options.numStandbyReplicas } : {}),
  });
  let stopMetrics: (() => Promise<void>) | undefined;
  let signalled: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (signalled = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    info(`${signal}: shutting down (commit, checkpoint, leave the group)`);
    signalled(0);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  streams.onError((error) => {
    info(`stopping: ${error.message}`);
    signalled(1);
  });
  try {
    if (options.metricsPort !== undefined) stopMetrics = await serveMetrics(streams, options.metricsPort);
    await streams.start();
    info(`worker ${definition.applicationId} running on ${broker.brokers.join(',')} (${options.guarantee})`);
    const code = await stopped;
    await streams.close();
    return streams.error ? 1 : code;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await streams.close();
    await stopMetrics?.();
    await broker.stop();
  }
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a topology as a speed-layer worker on Kafka (consumer group, local state, changelogs)')
    .argument('<topology-file>', 'a file in topologies/ that exports default defineTopology({...})')
    .option(
      '--brokers <list>',
      'bootstrap brokers host:port,... (default: KAFKA_BROKERS, else the local broker)',
    )
    .option(
      '--state-dir <dir>',
      'local state directory',
      process.env.LAMBDA_STREAMS_STATE_DIR ?? '.lambda-streams/state',
    )
    .addOption(
      new Option('--guarantee <guarantee>', 'processing guarantee')
        .choices(['at_least_once', 'exactly_once'])
        .default(process.env.PROCESSING_GUARANTEE ?? 'at_least_once'),
    )
    .option(
      '--commit-interval <ms>',
      'commit interval (default 100 ms exactly_once, 30 000 ms at_least_once)',
      parsePositiveInt,
    )
    .option('--application-server <host:port>', 'endpoint of this worker for the serving layer')
    .option('--application-id <id>', "override the topology file's application id")
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port', parsePositiveInt)
    .addOption(
      new Option(
        '--on-bad-record <action>',
        'a source record that cannot be deserialized: skip it (logged with topic/partition/offset, counted in lambda_streams_dropped_records_total) or fail the worker',
      )
        .choices(['skip', 'fail'])
        .default('skip'),
    )
    .option(
      '--num-standby-replicas <n>',
      'standby replicas per stateful task, kept warm on other workers (default 0)',
      parsePositiveInt,
    )
    .action(async (file: string, opts: WorkerOptions) => {
      if (!opts.brokers && process.env.KAFKA_BROKERS) opts.brokers = process.env.KAFKA_BROKERS;
      process.exitCode = await runWorker(file, opts);
    });
}
