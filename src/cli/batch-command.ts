/**
 * `lambda-streams batch <topology-file>`: replays the topology's source topics up to a snapshot and
 * publishes a batch view; `lambda-streams batch views <topology-file>` lists the published views.
 * Progress goes to stderr (a bar on a terminal, a line every few seconds otherwise); the summary goes
 * to stdout, as text or, with --json, as one JSON document.
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
import { InvalidArgumentError, Option, type Command } from 'commander';

import {
  addKafkaClientOption,
  applyKafkaClientOption,
  type KafkaClientFlags,
} from './kafka-client-option.ts';

import type { BatchStats } from '../batch/batch-executor.ts';
import type { BatchRunResult, SinkMode } from '../batch/run-batch.ts';
import type { ViewManifest } from '../batch/view-manifest.ts';

interface BatchOptions extends ErrorHandlerFlags, KafkaSecurityFlags, KafkaClientFlags {
  brokers?: string;
  until?: string;
  instances: number;
  instanceId: number;
  threads: number | 'auto';
  sinks: SinkMode;
  keepViews: number;
  memoryBudget?: number;
  stateDir?: string;
  onBadRecord: 'skip' | 'fail';
  applicationId?: string;
  instanceTimeout: number;
  json?: boolean;
}

interface ViewsOptions extends KafkaSecurityFlags, KafkaClientFlags {
  brokers?: string;
  applicationId?: string;
  json?: boolean;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`not a non-negative integer: ${value}`);
  return n;
}

function positiveInt(value: string): number {
  const n = nonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}

/** --threads: a positive integer or "auto". */
function threadCount(value: string): number | 'auto' {
  return value.trim().toLowerCase() === 'auto' ? 'auto' : positiveInt(value);
}

/** "512MB", "2g", "1048576" → bytes. */
export function parseByteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`not a size: ${value} (e.g. 512MB, 2GB)`);
  const units: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const unit = (match[2] ?? 'b').toLowerCase()[0]!;
  return Math.round(Number(match[1]) * units[unit]!);
}

function info(line: string): void {
  process.stderr.write(`[lambda-streams] ${line}\n`);
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** A bucket size as people say it: 1 h, 15 min, 10 s, 500 ms. */
function formatBucket(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1_000],
  ] as const)
    if (ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

function formatMs(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Progress on stderr: a bar on a terminal, otherwise a line every 5 s. Returns [update, stop]. */
async function progressReporter(): Promise<[(stats: BatchStats) => void, () => void]> {
  const started = Date.now();
  if (process.stderr.isTTY) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format:
          'batch {bar} {percentage}% | {value}/{total} records | {rate} records/s | ETA {eta_formatted} | stage {stage}',
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let begun = false;
    return [
      (stats) => {
        const rate = Math.round(stats.read / Math.max(0.001, (Date.now() - started) / 1000));
        const payload = { rate: fmt(rate), stage: `${stats.stage}/${stats.stages}` };
        if (!begun) {
          bar.start(Math.max(stats.total, 1), stats.read, payload);
          begun = true;
        } else bar.update(stats.read, payload);
      },
      () => {
        if (begun) bar.stop();
        begun = false;
      },
    ];
  }
  let last = 0;
  return [
    (stats) => {
      if (Date.now() - last < 5_000 && stats.read < stats.total) return;
      last = Date.now();
      const seconds = (Date.now() - started) / 1000;
      const rate = stats.read / Math.max(0.001, seconds);
      const left = stats.total - stats.read;
      const eta = rate > 0 && left > 0 ? `, ETA ${formatMs(Math.round((left / rate) * 1000))}` : '';
      const percent = stats.total > 0 ? ` (${Math.floor((stats.read / stats.total) * 100)}%)` : '';
      info(
        `batch: read ${fmt(stats.read)}/${fmt(stats.total)} records${percent}, ${fmt(Math.round(rate))} records/s${eta}, stage ${stats.stage}/${stats.stages}`,
      );
    },
    () => {},
  ];
}

export function formatSummary(result: BatchRunResult, file: string): string {
  const { manifest: m, stats } = result;
  const seconds = result.durationMs / 1000;
  const bucketRange =
    stats.firstTimestamp === undefined
      ? 'none (no record below the boundary)'
      : `${Math.floor(stats.firstTimestamp / m.bucketMs)} … ${m.boundaryBucket - 1} ` +
        `(${new Date(Math.floor(stats.firstTimestamp / m.bucketMs) * m.bucketMs).toISOString()} … ${m.boundaryTime})`;
  const lines = [
    `batch view ${m.viewId} published for ${m.applicationId} (${file})`,
    `  boundary   bucket ${m.boundaryBucket}: records before ${m.boundaryTime} (bucket ${formatBucket(m.bucketMs)})`,
    `  buckets    ${bucketRange}`,
    `  records    ${fmt(stats.read)} read, ${fmt(stats.processed)} processed, ` +
      `${fmt(stats.beyondBoundary)} at or past the boundary, ${fmt(stats.skipped)} skipped (unreadable)`,
    ...Object.entries(m.stores).map(
      ([name, s]) =>
        `  store      ${name} (${s.kind}): ${fmt(s.partitions.reduce((n, p) => n + p.records, 0))} records in ${s.partitions.length} partition(s) of ${s.topic}`,
    ),
    `  sinks      ${result.sinks.mode === 'drop' ? 'not written' : 'redirected'}${
      Object.keys(result.sinks.counts).length > 0
        ? `: ${Object.entries(result.sinks.counts)
            .map(([t, n]) => `${t} ${fmt(n)}`)
            .join(', ')}`
        : ''
    }`,
    `  duration   ${formatMs(result.durationMs)}, ${fmt(Math.round(stats.read / Math.max(seconds, 0.001)))} records/s`,
    ...(result.retired.length > 0 ? [`  retired    ${result.retired.join(', ')}`] : []),
    ...m.warnings.map((w) => `  warning    ${w}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function formatViews(views: ViewManifest[], applicationId: string): string {
  if (views.length === 0) return `no published batch views for ${applicationId}\n`;
  const rows = views.map((v) => {
    const records = Object.values(v.stores).reduce(
      (n, s) => n + s.partitions.reduce((k, p) => k + p.records, 0),
      0,
    );
    return `${v.viewId}  ${v.boundaryTime}  ${String(v.boundaryBucket).padStart(8)}  ${v.completedAt}  ${Object.keys(v.stores).join(',')} (${fmt(records)} records)`;
  });
  return `views of ${applicationId}, newest first (view id, boundary, bucket, completed, stores):\n${rows.join('\n')}\n`;
}

async function runBatchCommand(file: string, opts: BatchOptions): Promise<number> {
  const [
    { loadTopologyFile },
    { resolveBrokers },
    { defaultKafkaClientFactory },
    { runBatch },
    { parseUntil },
  ] = await Promise.all([
    import('./load-topology.ts'),
    import('./worker-command.ts'),
    import('../kafka/factory.ts'),
    import('../batch/run-batch.ts'),
    import('../batch/boundary.ts'),
  ]);
  const path = await import('node:path');
  const { definition, topology, bucketMs, config } = await loadTopologyFile(file);
  const untilMs = opts.until === undefined ? undefined : parseUntil(opts.until);
  const applicationId = opts.applicationId ?? definition.applicationId;
  // Flags override the file's config (its default serdes are already on the topology).
  const broker = await resolveBrokers(opts.brokers ?? config.bootstrapServers?.join(','));
  const stateDir = opts.stateDir ?? config.stateDir;
  // Worker threads (--threads) connect with this very configuration, security settings included.
  const clientConfig = {
    brokers: broker.brokers,
    clientId: `${applicationId}-batch`,
    ...kafkaSecurityFrom(opts),
  };
  const client = defaultKafkaClientFactory(clientConfig);
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    info(`${signal}: stopping the batch run; nothing is published`);
    abort.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const [progress, stopProgress] = await progressReporter();
  try {
    const result = await runBatch({
      topology,
      applicationId,
      topologyName: path.basename(file),
      bucketMs,
      client,
      ...(untilMs !== undefined ? { untilMs } : {}),
      instances: opts.instances,
      instanceId: opts.instanceId,
      threads: opts.threads,
      topologyFile: path.resolve(file),
      clientConfig,
      sinks: opts.sinks,
      keepViews: opts.keepViews,
      ...(opts.memoryBudget !== undefined ? { memoryBudgetBytes: opts.memoryBudget } : {}),
      ...(stateDir ? { stateDir } : {}),
      badRecordHandling: opts.onBadRecord,
      errorHandlers: errorHandlersFrom(opts),
      instanceTimeoutMs: opts.instanceTimeout * 1000,
      signal: abort.signal,
      onProgress: progress,
      // The bar ends before the run logs its publication, so the two never share a line.
      onExecuted: () => stopProgress(),
    });
    stopProgress();
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ ...result.manifest, run: { stats: result.stats, durationMs: result.durationMs, retired: result.retired, sinks: result.sinks, instanceId: opts.instanceId, threads: result.threads } }, null, 2)}\n`
        : formatSummary(result, file),
    );
    return 0;
  } catch (error) {
    stopProgress();
    if (abort.signal.aborted) {
      info('batch run interrupted: no view was published');
      return 130;
    }
    info(`batch run failed, no view was published: ${(error as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await broker.stop();
  }
}

async function listViewsCommand(file: string, opts: ViewsOptions): Promise<number> {
  const [{ loadTopologyFile }, { resolveBrokers }, { defaultKafkaClientFactory }, { readViews }] =
    await Promise.all([
      import('./load-topology.ts'),
      import('./worker-command.ts'),
      import('../kafka/factory.ts'),
      import('../batch/view-catalog.ts'),
    ]);
  const { definition } = await loadTopologyFile(file);
  const applicationId = opts.applicationId ?? definition.applicationId;
  const broker = await resolveBrokers(opts.brokers);
  const client = defaultKafkaClientFactory({
    brokers: broker.brokers,
    clientId: `${applicationId}-views`,
    ...kafkaSecurityFrom(opts),
  });
  const admin = await client.admin();
  try {
    const views = await readViews(client, admin, applicationId);
    process.stdout.write(
      opts.json ? `${JSON.stringify(views, null, 2)}\n` : formatViews(views, applicationId),
    );
    return 0;
  } finally {
    await admin.close().catch(() => {});
    await broker.stop();
  }
}

export function registerBatchCommand(program: Command): void {
  const batch = program
    .command('batch')
    .description('the batch layer: replay source topics through a topology and publish a batch view');
  const run = batch
    .command('run', { isDefault: true })
    .description(
      'replay the source topics up to a snapshot through the topology and publish a batch view (the default: `batch <topology-file>`)',
    )
    .argument('<topology-file>', 'a file in topologies/ that exports default defineTopology({...})')
    .option(
      '--brokers <list>',
      'bootstrap brokers host:port,... (default: KAFKA_BROKERS, else the local broker)',
    )
    .option(
      '--until <time>',
      'boundary: ISO time or epoch ms, rounded down to a bucket; default: the last bucket complete at the snapshot',
    )
    .option(
      '--instances <n>',
      'processes that share this run (start each with its --instance-id)',
      positiveInt,
      1,
    )
    .option(
      '--instance-id <i>',
      'this process in a multi-process run (0 takes the snapshot and publishes)',
      nonNegativeInt,
      0,
    )
    .option(
      '--threads <n|auto>',
      'threads of this process that share the run, at most one per task; auto: one per core on runs of 200,000 source records or more, one with --instances',
      threadCount,
      'auto' as const,
    )
    .addOption(
      new Option(
        '--sinks <mode>',
        'sink topics: drop (default; live topics hold the speed layer output) or redirect to <topic>-batch-<viewId>',
      )
        .choices(['drop', 'redirect'])
        .default('drop'),
    )
    .option('--keep-views <n>', 'published views to keep; older ones are retired', nonNegativeInt, 2)
    .option(
      '--memory-budget <size>',
      'flush store writes to LevelDB when the process uses more (e.g. 512MB)',
      parseByteSize,
    )
    .option('--state-dir <dir>', 'where the run keeps its temporary stores (default: the OS temp dir)')
    .addOption(
      new Option(
        '--on-bad-record <action>',
        'a source record that cannot be deserialized: skip (logged, counted) or fail the run',
      )
        .choices(['skip', 'fail'])
        .default('skip'),
    )
    .option('--application-id <id>', "override the topology file's application id")
    .option(
      '--instance-timeout <s>',
      'multi-process runs: longest wait for another instance',
      positiveInt,
      600,
    )
    .option('--json', 'print the published manifest and run statistics as JSON');
  addKafkaSecurityOptions(run);
  addKafkaClientOption(run);
  addErrorHandlerOptions(run, { deadLetter: false }).action(async (file: string, opts: BatchOptions) => {
    await applyKafkaClientOption(opts);
    if (!opts.brokers && process.env.KAFKA_BROKERS) opts.brokers = process.env.KAFKA_BROKERS;
    process.exitCode = await runBatchCommand(file, opts);
  });
  const views = batch
    .command('views')
    .description('list the published batch views of a topology, newest first')
    .argument('<topology-file>', 'a file in topologies/ that exports default defineTopology({...})')
    .option(
      '--brokers <list>',
      'bootstrap brokers host:port,... (default: KAFKA_BROKERS, else the local broker)',
    )
    .option('--application-id <id>', "override the topology file's application id")
    .option('--json', 'print the manifests as JSON');
  addKafkaSecurityOptions(views);
  addKafkaClientOption(views).action(async (file: string, opts: ViewsOptions) => {
    await applyKafkaClientOption(opts);
    if (!opts.brokers && process.env.KAFKA_BROKERS) opts.brokers = process.env.KAFKA_BROKERS;
    process.exitCode = await listViewsCommand(file, opts);
  });
}
