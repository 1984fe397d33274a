/**
 * `npm run bench`: one run of the benchmark (see bench/README.md).
 *
 *   1. starts (or reuses) the local Kafka broker;
 *   2. loads the input once: sentences for the word count, page views for the windowed count, one
 *      record per key for the distinct-keys count;
 *   3. measures, each in its own child process, from process start to the last committed result:
 *      the raw kafkajs consumer (the read ceiling), Kafka Streams (bench/peers/kafka-streams) and
 *      lambda-streams' worker, under at-least-once and exactly-once, and checks every result against
 *      the known input; then lambda-streams' batch layer (`lambda-streams batch`, start → view
 *      published), whose view is read back and checked the same way; after the distinct-keys worker,
 *      a fresh worker restores its stores from the changelogs (the restoration row);
 *   4. writes bench/results/bench-<time>.{json,md} and prints the table;
 *   5. stops what it started, also on Ctrl-C and errors.
 *
 * Fails (exit 1) only when a system produced wrong results or none; never on a timing.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { KafkaAdmin, KafkaClient } from '../src/kafka/client.ts';
import { createKafkaClient } from '../src/kafka/kafkajs-client.ts';
import type { KafkaClientName } from '../src/kafka/factory.ts';
import { ensureBroker, type RunningBroker } from '../src/kafka/local-broker.ts';
import {
  killAllChildrenNow,
  runToEnd,
  spawnTracked,
  stopAllChildren,
  type TrackedChild,
} from './lib/children.ts';
import { readViewCounts, type BatchJson } from './lib/batch-view.ts';
import { readConfig, USAGE, type BenchConfig, type Guarantee, type Workload } from './lib/config.ts';
import {
  PageViewGenerator,
  SentenceGenerator,
  WORDS_PER_SENTENCE,
  parseWindowedOutputKey,
} from './lib/data.ts';
import {
  KEYS_TOPIC,
  PAGEVIEWS_TOPIC,
  SENTENCES_TOPIC,
  distinctKey,
  loadDistinctKeys,
  loadPageViews,
  loadSentences,
  recreateTopic,
} from './lib/load.ts';
import { GroupJoinWatcher } from './lib/group-join.ts';
import { OutputWatcher, verifyCounts } from './lib/output-watcher.ts';
import { measureQueries, type QueryMeasurement } from './lib/query.ts';
import { addRatios, markdown, type Measurement, type Report } from './lib/report.ts';
import { measureRestore, type RestoreMeasurement } from './lib/restore.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url)).replace(/\/$/, '');
const BENCH = path.join(ROOT, 'bench');
const PEER_DIR = path.join(BENCH, 'peers', 'kafka-streams');
const PEER_JAR = path.join(PEER_DIR, 'target', 'kafka-streams-peer.jar');

const say = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

interface Expected {
  topic: string;
  records: number;
  /** Canonical output key → final count. */
  counts: Map<string, number>;
  total: number;
  canonicalKey: (key: string) => string | undefined;
}

// ---- the Kafka Streams peer ------------------------------------------------------------------------

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'target') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

async function buildPeer(logDir: string): Promise<void> {
  if (existsSync(PEER_JAR) && statSync(PEER_JAR).mtimeMs >= newestMtime(PEER_DIR)) {
    say('Kafka Streams peer is up to date');
    return;
  }
  say('building the Kafka Streams peer (mvn -q -B package)');
  const logFile = path.join(logDir, 'mvn-peer.log');
  const code = await runToEnd('mvn', 'mvn', ['-q', '-B', 'package'], { cwd: PEER_DIR, logFile });
  if (code !== 0 || !existsSync(PEER_JAR)) {
    throw new Error(`building bench/peers/kafka-streams failed (exit ${code}); see ${logFile}`);
  }
}

// ---- measuring -------------------------------------------------------------------------------------

async function measureRaw(
  config: BenchConfig,
  brokers: string[],
  expected: Expected,
  workload: Workload,
  logDir: string,
): Promise<Measurement> {
  const logFile = path.join(logDir, `raw-${expected.topic}.log`);
  say(`raw kafkajs consume of ${expected.topic} (${expected.records} records)`);
  const started = Date.now();
  const child = spawnTracked(
    'raw',
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(BENCH, 'raw-consume.ts'),
      brokers.join(','),
      expected.topic,
      String(expected.records),
    ],
    { cwd: ROOT, logFile },
  );
  const base: Measurement = {
    system: 'raw',
    workload,
    inputTopic: expected.topic,
    inputRecords: expected.records,
    status: 'failed',
    logFile,
  };
  const timer = setTimeout(() => void child.stop(1_000), config.timeoutMs);
  const exit = await child.exited;
  clearTimeout(timer);
  const durationMs = Date.now() - started;
  const out = readFileSync(logFile, 'utf8');
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (exit.code !== 0 || !line) {
    return { ...base, problems: [`exit ${exit.code ?? exit.signal}`] };
  }
  const parsed = JSON.parse(line) as { records: number; peakRss?: number; sinceJoinMs?: number };
  return {
    ...base,
    status: parsed.records === expected.records ? 'ok' : 'wrong',
    ...(parsed.records !== expected.records
      ? { problems: [`read ${parsed.records} records, expected ${expected.records}`] }
      : {}),
    durationMs,
    recordsPerSec: expected.records / (durationMs / 1000),
    ...(parsed.sinceJoinMs !== undefined
      ? {
          joinMs: Math.max(0, durationMs - parsed.sinceJoinMs),
          afterJoinRecordsPerSec: expected.records / (parsed.sinceJoinMs / 1000),
        }
      : {}),
    ...(parsed.peakRss !== undefined ? { peakRssBytes: parsed.peakRss } : {}),
  };
}

interface SystemRun {
  system: 'kafka-streams' | 'lambda-streams';
  workload: Workload;
  guarantee: Guarantee;
  /** lambda-streams: the Kafka client behind the port. */
  kafkaClient?: KafkaClientName;
}

/** Records in an application's changelog topics (what a restore from scratch reads). */
async function changelogRecords(admin: KafkaAdmin, applicationId: string): Promise<number> {
  const topics = (await admin.listTopics()).filter(
    (t) => t.startsWith(`${applicationId}-`) && t.endsWith('-changelog'),
  );
  let records = 0;
  for (const topic of topics) for (const end of await admin.endOffsets(topic)) records += end.high - end.low;
  return records;
}

function systemApplicationId(
  runTag: string,
  system: SystemRun['system'],
  workload: Workload,
  guarantee: Guarantee,
  kafkaClient?: KafkaClientName,
): string {
  const short = guarantee === 'at_least_once' ? 'alos' : 'eos';
  const client = kafkaClient && kafkaClient !== 'kafkajs' ? `-${kafkaClient}` : '';
  return `bench-${runTag}-${system === 'kafka-streams' ? 'ks' : 'ls'}${client}-${workload}-${short}`;
}

async function measureSystem(
  config: BenchConfig,
  brokers: string[],
  admin: KafkaAdmin,
  expected: Expected,
  run: SystemRun,
  runTag: string,
  logDir: string,
  cleanup: string[],
): Promise<Measurement> {
  const applicationId = systemApplicationId(runTag, run.system, run.workload, run.guarantee, run.kafkaClient);
  const short = run.guarantee === 'at_least_once' ? 'alos' : 'eos';
  const client = run.kafkaClient && run.kafkaClient !== 'kafkajs' ? `-${run.kafkaClient}` : '';
  const output = `${applicationId}-output`;
  cleanup.push(applicationId);
  const commitIntervalMs = config.commitIntervalMs[run.guarantee];
  const logFile = path.join(logDir, `${run.system}${client}-${run.workload}-${short}.log`);
  const stateDir = path.join(os.tmpdir(), `lambda-streams-bench-${applicationId}`);
  const base: Measurement = {
    system: run.system,
    ...(run.kafkaClient ? { kafkaClient: run.kafkaClient } : {}),
    workload: run.workload,
    guarantee: run.guarantee,
    inputTopic: expected.topic,
    inputRecords: expected.records,
    commitIntervalMs,
    status: 'failed',
    logFile,
  };
  say(`${run.system} ${run.workload} ${run.guarantee} (application id ${applicationId})`);

  await recreateTopic(admin, output, config.partitions, { 'retention.ms': '-1' });
  const watcher = new OutputWatcher(brokers, output, expected.total, expected.canonicalKey);
  let child: TrackedChild | undefined;
  let groupWatch: GroupJoinWatcher | undefined;
  try {
    await watcher.start();
    const env = { ...process.env };
    let command: string;
    let args: string[];
    if (run.system === 'kafka-streams') {
      command = 'java';
      args = [
        ...config.javaOptions,
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-Dorg.slf4j.simpleLogger.showDateTime=true',
        '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
        '-cp',
        `${PEER_JAR}:${path.join(PEER_DIR, 'target', 'lib')}/*`,
        'dev.lambdastreams.bench.BenchApp',
        run.workload,
        brokers.join(','),
        applicationId,
        expected.topic,
        output,
        run.guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once',
        String(commitIntervalMs),
        stateDir,
        String(config.graceMs),
      ];
    } else {
      command = process.execPath;
      args = [
        // BENCH_WORKER_CPU_PROF=1: CPU profiles of the lambda-streams workers, in the run's log directory.
        ...(process.env.BENCH_WORKER_CPU_PROF === '1' ? ['--cpu-prof', '--cpu-prof-dir', logDir] : []),
        path.join(ROOT, 'bin', 'lambda-streams.js'),
        'worker',
        path.join(BENCH, 'topologies', `${run.workload}.ts`),
        '--brokers',
        brokers.join(','),
        '--state-dir',
        stateDir,
        '--guarantee',
        run.guarantee,
        '--commit-interval',
        String(commitIntervalMs),
        '--application-id',
        applicationId,
        '--http-port',
        '0',
        '--kafka-client',
        run.kafkaClient ?? 'kafkajs',
      ];
      env.BENCH_INPUT_TOPIC = expected.topic;
      env.BENCH_OUTPUT_TOPIC = output;
      env.BENCH_GRACE_MS = String(config.graceMs);
      env.LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
    }
    watcher.markStart();
    const startedAt = Date.now();
    child = spawnTracked(run.system, command, args, { env, cwd: ROOT, logFile });
    groupWatch = new GroupJoinWatcher(brokers, applicationId);
    const spawned = child;
    void spawned.exited.then((exit) =>
      watcher.fail(
        new Error(`${run.system} exited (${exit.code ?? exit.signal}) before its output was complete`),
      ),
    );
    const timer = setTimeout(
      () => watcher.fail(new Error(`no complete result within ${config.timeoutMs / 1000} s`)),
      config.timeoutMs,
    );
    // RSS is a high-water mark; sampling keeps the last value should the process die.
    const sampler = setInterval(() => spawned.peakRss(), 500);
    let durationMs: number | undefined;
    let failure: Error | undefined;
    try {
      durationMs = await watcher.done;
    } catch (error) {
      failure = error as Error;
    } finally {
      clearTimeout(timer);
      clearInterval(sampler);
    }
    const peakRssBytes = spawned.peakRss();
    const joinedAt = await Promise.race([groupWatch.joined, Promise.resolve(undefined)]);
    await groupWatch.stop();
    const joinMs = joinedAt === undefined ? undefined : joinedAt - startedAt;
    const exit = await spawned.stop(30_000);
    // Java exits 143 (128 + SIGTERM) after its shutdown hook; Node exits 0 after a graceful close.
    if (exit.code !== 0 && exit.code !== 143 && exit.signal !== 'SIGTERM' && !failure) {
      say(`${run.system} exited with ${exit.code ?? exit.signal} on SIGTERM (see ${logFile})`);
    }
    // Whatever a clean stop still flushed must not change the counts either.
    await watcher.drain();
    const lagAfterStop = await groupLag(admin, applicationId, expected.topic).catch(() => undefined);
    const watched = watcher.result();
    const problems = failure ? [failure.message] : [];
    const mismatches = verifyCounts(watcher.last, expected.counts);
    if (watcher.badKeys > 0)
      mismatches.unshift(`${watcher.badKeys} output record(s) with a malformed key or value`);
    const status: Measurement['status'] =
      mismatches.length === 0 && !failure
        ? 'ok'
        : failure && watched.sum < expected.total
          ? 'failed'
          : 'wrong';
    if (status !== 'ok') problems.push(...mismatches);
    return {
      ...base,
      status,
      ...(problems.length > 0 ? { problems } : {}),
      ...(durationMs !== undefined && status === 'ok'
        ? { durationMs, recordsPerSec: expected.records / (durationMs / 1000) }
        : {}),
      ...(durationMs !== undefined && status === 'ok' && joinMs !== undefined && joinMs < durationMs
        ? { joinMs, afterJoinRecordsPerSec: expected.records / ((durationMs - joinMs) / 1000) }
        : {}),
      ...(peakRssBytes !== undefined ? { peakRssBytes } : {}),
      ...(watched.firstOutputAt !== undefined ? { firstOutputMs: watched.firstOutputAt } : {}),
      outputRecords: watched.outputRecords,
      ...(lagAfterStop ? { lagAfterStop } : {}),
    };
  } finally {
    await child?.stop(5_000);
    await groupWatch?.stop();
    await watcher.stop();
    await rm(stateDir, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * The batch layer: `lambda-streams batch <topology> --until <now> --json` as a user runs it, timed from
 * process start to exit (the view is published when it exits 0). The topology's buckets are 1 ms
 * (BENCH_BUCKET_MS=1) and --until is the moment the batch starts, so the boundary bucket is that very
 * millisecond and the view covers every record loaded before the run (with the topologies' usual 1 h
 * buckets the boundary would be the start of the current hour, and a view can only end at a bucket
 * that has begun). The view is then read back partition by partition (checksums verified by
 * readViewPartition) and its counts compared with the expected ones.
 */
async function measureBatch(
  config: BenchConfig,
  brokers: string[],
  client: KafkaClient,
  admin: KafkaAdmin,
  expected: Expected,
  workload: Workload,
  runTag: string,
  logDir: string,
  cleanup: string[],
  kafkaClient: KafkaClientName,
): Promise<Measurement> {
  const system = 'lambda-streams-batch';
  const suffix = kafkaClient === 'kafkajs' ? '' : `-${kafkaClient}`;
  const applicationId = `bench-${runTag}-batch${suffix}-${workload}`;
  cleanup.push(applicationId);
  const logFile = path.join(logDir, `${system}${suffix}-${workload}.log`);
  const jsonFile = path.join(logDir, `${system}${suffix}-${workload}.json`);
  const base: Measurement = {
    system,
    kafkaClient,
    workload,
    inputTopic: expected.topic,
    inputRecords: expected.records,
    status: 'failed',
    logFile,
  };
  say(`${system} ${workload} (application id ${applicationId})`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_INPUT_TOPIC: expected.topic,
    // Sinks are dropped by default (the live output belongs to the speed layer): never written.
    BENCH_OUTPUT_TOPIC: `${applicationId}-output`,
    BENCH_GRACE_MS: String(config.graceMs),
    BENCH_BUCKET_MS: '1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  };
  const untilMs = Date.now();
  const args = [
    ...(config.batchCpuProf ? ['--cpu-prof', '--cpu-prof-dir', logDir] : []),
    path.join(ROOT, 'bin', 'lambda-streams.js'),
    'batch',
    path.join(BENCH, 'topologies', `${workload}.ts`),
    '--brokers',
    brokers.join(','),
    '--application-id',
    applicationId,
    '--until',
    String(untilMs),
    '--json',
    '--threads',
    String(config.batchThreads),
    '--kafka-client',
    kafkaClient,
  ];
  const started = Date.now();
  const child = spawnTracked(system, process.execPath, args, {
    env,
    cwd: ROOT,
    logFile,
    stdoutFile: jsonFile,
  });
  // VmHWM is a high-water mark but gone with the process: sample it often while it runs.
  const sampler = setInterval(() => child.peakRss(), 100);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.stop(5_000);
  }, config.timeoutMs);
  const exit = await child.exited;
  const durationMs = Date.now() - started;
  clearTimeout(timer);
  clearInterval(sampler);
  const peakRssBytes = child.peakRss();
  const measured: Measurement = { ...base, ...(peakRssBytes !== undefined ? { peakRssBytes } : {}) };
  if (exit.code !== 0) {
    const why = timedOut ? `no view within ${config.timeoutMs / 1000} s` : `exit ${exit.code ?? exit.signal}`;
    const lastLine = readFileSync(logFile, 'utf8').trim().split('\n').pop() ?? '';
    return { ...measured, problems: [`${why}${lastLine ? `: ${lastLine.slice(0, 300)}` : ''}`] };
  }
  let out: BatchJson;
  try {
    out = JSON.parse(readFileSync(jsonFile, 'utf8')) as BatchJson;
  } catch (error) {
    return { ...measured, problems: [`no JSON manifest on stdout (${(error as Error).message})`] };
  }
  const batch: NonNullable<Measurement['batch']> = {
    viewId: out.viewId,
    boundaryBucket: out.boundaryBucket,
    bucketMs: out.bucketMs,
    untilMs,
    records: out.records,
    runMs: out.run.durationMs,
    stats: out.run.stats,
    ...(typeof out.run.threads === 'number' ? { threads: out.run.threads } : {}),
  };
  const problems: string[] = [];
  // The whole input lies below the boundary: every record read and processed, none left over.
  const r = out.records;
  if (
    r.read !== expected.records ||
    r.processed !== expected.records ||
    r.beyondBoundary !== 0 ||
    r.skipped !== 0
  )
    problems.push(
      `the view covers ${r.processed} of ${expected.records} input records (read ${r.read}, ` +
        `${r.beyondBoundary} at or past the boundary, ${r.skipped} skipped)`,
    );
  const verifyStarted = Date.now();
  let outputRecords: number | undefined;
  try {
    const view = await readViewCounts(client, admin, out, workload);
    outputRecords = view.records;
    problems.push(...view.bad.slice(0, 3), ...verifyCounts(view.counts, expected.counts));
  } catch (error) {
    problems.push(`reading the view back failed: ${(error as Error).message}`);
  }
  batch.verifyMs = Date.now() - verifyStarted;
  const ok = problems.length === 0;
  const startupMs = Math.max(0, durationMs - out.run.durationMs);
  return {
    ...measured,
    status: ok ? 'ok' : 'wrong',
    ...(ok
      ? {
          durationMs,
          recordsPerSec: expected.records / (durationMs / 1000),
          joinMs: startupMs,
          afterJoinRecordsPerSec: expected.records / (out.run.durationMs / 1000),
        }
      : { problems }),
    ...(outputRecords !== undefined ? { outputRecords } : {}),
    batch,
  };
}

/**
 * Diagnostic: offsets between the group's committed offsets and the end offsets of its input and
 * repartition topics after the system stopped. 0 means it committed everything it read; under
 * exactly-once a committed offset short of the end only by transaction markers shows up as 1 per
 * partition (Kafka Streams commits the consumer position past them).
 */
async function groupLag(admin: KafkaAdmin, groupId: string, input: string): Promise<Record<string, number>> {
  const topics = [
    input,
    ...(await admin.listTopics()).filter((t) => t.startsWith(`${groupId}-`) && t.endsWith('-repartition')),
  ];
  const lag: Record<string, number> = {};
  const committed = await admin.committedOffsets(groupId, topics);
  for (const topic of topics) {
    let sum = 0;
    for (const end of await admin.endOffsets(topic)) {
      const c = committed.find((o) => o.topic === topic && o.partition === end.partition)?.offset ?? -1;
      sum += Math.max(0, end.high - (c < 0 ? end.low : c));
    }
    lag[topic] = sum;
  }
  return lag;
}

// ---- main ------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const parsed = readConfig(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = parsed;
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(BENCH, 'results');
  const logDir = path.join(resultsDir, 'logs', stamp);
  mkdirSync(logDir, { recursive: true });
  const runTag = Date.now().toString(36);
  const loadAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100);

  let broker: RunningBroker | undefined;
  let admin: KafkaAdmin | undefined;
  const cleanup: string[] = [];
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second Ctrl-C exits at once: the exit hook kills the children, the broker's watchdog stops it.
    if (interrupted) process.exit(130);
    interrupted = true;
    say(`${signal}: stopping children and the broker`);
    void (async () => {
      await stopAllChildren(5_000);
      await broker?.stop().catch(() => {});
      process.exit(130);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllChildrenNow);

  try {
    const wantsKs = config.systems.includes('kafka-streams');
    // The build uses Maven Central at most once; do it before the broker competes for the CPU.
    if (wantsKs) await buildPeer(logDir);

    broker = await ensureBroker({ log: (line) => say(`broker: ${line}`) });
    const brokers = broker.brokers;
    say(`broker ${broker.kind} at ${brokers.join(',')}${broker.reused ? ' (reused)' : ''}`);
    const client = createKafkaClient({ brokers, clientId: 'bench-admin' });
    admin = await client.admin();

    // 2. load
    const expected = new Map<Workload, Expected>();
    const load: Report['load'] = [];
    if (config.workloads.includes('word-count')) {
      const generator = new SentenceGenerator({
        count: config.sentences,
        vocabularySize: config.vocabulary,
        seed: config.seed,
      });
      say(`loading ${config.sentences} sentences into ${SENTENCES_TOPIC}`);
      const loaded = await loadSentences(brokers, admin, config.partitions, generator);
      load.push({ ...loaded, recordsPerSec: loaded.records / (loaded.ms / 1000) });
      say(`loaded ${loaded.records} sentences in ${(loaded.ms / 1000).toFixed(1)} s`);
      const counts = generator.counts();
      expected.set('word-count', {
        topic: SENTENCES_TOPIC,
        records: loaded.records,
        counts,
        total: loaded.records * WORDS_PER_SENTENCE,
        canonicalKey: (key) => key,
      });
    }
    if (config.workloads.includes('pageviews')) {
      const generator = new PageViewGenerator({
        count: config.pageViews,
        pages: config.pages,
        users: config.users,
        spanMs: config.pageViewSpanMs,
        endMs: Date.now(),
        seed: config.seed,
      });
      say(`loading ${config.pageViews} page views into ${PAGEVIEWS_TOPIC}`);
      const loaded = await loadPageViews(brokers, admin, config.partitions, generator);
      load.push({ ...loaded, recordsPerSec: loaded.records / (loaded.ms / 1000) });
      say(`loaded ${loaded.records} page views in ${(loaded.ms / 1000).toFixed(1)} s`);
      expected.set('pageviews', {
        topic: PAGEVIEWS_TOPIC,
        records: loaded.records,
        counts: generator.counts(),
        total: loaded.records,
        canonicalKey: parseWindowedOutputKey,
      });
    }

    if (config.workloads.includes('distinct-keys')) {
      say(`loading ${config.keys} records with distinct keys into ${KEYS_TOPIC}`);
      const loaded = await loadDistinctKeys(brokers, admin, config.partitions, config.keys);
      load.push({ ...loaded, recordsPerSec: loaded.records / (loaded.ms / 1000) });
      say(`loaded ${loaded.records} records in ${(loaded.ms / 1000).toFixed(1)} s`);
      const counts = new Map<string, number>();
      for (let i = 0; i < loaded.records; i++) counts.set(distinctKey(i), 1);
      expected.set('distinct-keys', {
        topic: KEYS_TOPIC,
        records: loaded.records,
        counts,
        total: loaded.records,
        canonicalKey: (key) => key,
      });
    }

    // 3. measure
    const measurements: Measurement[] = [];
    const restores: RestoreMeasurement[] = [];
    let query: QueryMeasurement | undefined;
    const writeReport = (): Report => {
      addRatios(measurements);
      const report: Report = {
        startedAt: startedAt.toISOString(),
        host: {
          cpus: os.cpus().length,
          memoryGiB: Math.round(os.totalmem() / 2 ** 30),
          node: process.versions.node,
          platform: `${os.platform()} ${os.release()}`,
          loadAverageAtStart: loadAtStart,
        },
        broker: { kind: broker!.kind, brokers, reused: broker!.reused },
        config,
        load,
        measurements,
        ...(query ? { query } : {}),
        ...(restores.length > 0 ? { restores } : {}),
      };
      writeFileSync(path.join(resultsDir, `bench-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(path.join(resultsDir, `bench-${stamp}.md`), markdown(report));
      writeFileSync(path.join(resultsDir, 'latest.md'), markdown(report));
      return report;
    };
    if (config.systems.includes('raw')) {
      for (const workload of config.workloads) {
        const m = await measureRaw(config, brokers, expected.get(workload)!, workload, logDir);
        measurements.push(m);
        say(`  → ${m.status} ${m.recordsPerSec ? `${Math.round(m.recordsPerSec)} records/s` : ''}`);
      }
    }
    for (const workload of config.workloads) {
      for (const guarantee of config.guarantees) {
        // Kafka Streams once, lambda-streams once per Kafka client.
        const runs: SystemRun[] = [
          { system: 'kafka-streams', workload, guarantee },
          ...config.kafkaClients.map((kafkaClient) => ({
            system: 'lambda-streams' as const,
            workload,
            guarantee,
            kafkaClient,
          })),
        ];
        for (const run of runs) {
          const { system } = run;
          if (!config.systems.includes(system) || interrupted) continue;
          const m = await measureSystem(
            config,
            brokers,
            admin,
            expected.get(workload)!,
            run,
            runTag,
            logDir,
            cleanup,
          );
          measurements.push(m);
          say(
            `  → ${m.status}${m.recordsPerSec ? ` ${Math.round(m.recordsPerSec)} records/s in ${((m.durationMs ?? 0) / 1000).toFixed(1)} s` : ''}` +
              `${m.problems ? `: ${m.problems.join('; ')}` : ''}`,
          );
          writeReport();
          if (
            system === 'lambda-streams' &&
            workload === 'distinct-keys' &&
            guarantee === 'at_least_once' &&
            m.status === 'ok' &&
            !interrupted
          ) {
            const restore = await measureRestore({
              root: ROOT,
              topology: path.join(BENCH, 'topologies', 'distinct-keys.ts'),
              brokers,
              applicationId: systemApplicationId(runTag, system, workload, guarantee, run.kafkaClient),
              kafkaClient: run.kafkaClient ?? 'kafkajs',
              env: {
                ...process.env,
                BENCH_INPUT_TOPIC: KEYS_TOPIC,
                BENCH_OUTPUT_TOPIC: `${systemApplicationId(runTag, system, workload, guarantee, run.kafkaClient)}-output`,
              },
              logDir,
              timeoutMs: config.timeoutMs,
              expectedRecords: await changelogRecords(
                admin,
                systemApplicationId(runTag, system, workload, guarantee, run.kafkaClient),
              ),
              say,
            });
            restores.push(restore);
            say(
              `  → restore ${restore.status}: ${Math.round(restore.recordsPerSec ?? 0)} records/s ` +
                `(${restore.records} records, ${restore.tasks} tasks)${restore.problems ? `: ${restore.problems.join('; ')}` : ''}`,
            );
            writeReport();
          }
        }
      }
      for (const kafkaClient of config.kafkaClients) {
        if (!config.systems.includes('lambda-streams-batch') || interrupted) continue;
        const m = await measureBatch(
          config,
          brokers,
          client,
          admin,
          expected.get(workload)!,
          workload,
          runTag,
          logDir,
          cleanup,
          kafkaClient,
        );
        measurements.push(m);
        say(
          `  → ${m.status}${m.recordsPerSec ? ` ${Math.round(m.recordsPerSec)} records/s in ${((m.durationMs ?? 0) / 1000).toFixed(1)} s` : ''}` +
            `${m.problems ? `: ${m.problems.join('; ')}` : ''}`,
        );
        writeReport();
      }
    }

    // The query row: point-query latency over HTTP on a word-count worker.
    if (config.systems.includes('query') && config.workloads.includes('word-count') && !interrupted) {
      query = await measureQueries({
        root: ROOT,
        brokers,
        admin,
        inputTopic: expected.get('word-count')!.topic,
        expected: expected.get('word-count')!.counts,
        partitions: config.partitions,
        logDir,
        runTag,
        rate: config.queryRate,
        durationS: config.queryDurationS,
        warmupS: config.queryWarmupS,
        connections: config.queryConnections,
        rounds: config.queryRounds,
        say,
        cleanup,
      });
      say(
        `  → query ${query.status}: p50 ${query.p50Ms} ms, p99 ${query.p99Ms} ms, p99.9 ${query.p999Ms} ms at ${Math.round(query.achievedRate)} requests/s` +
          `${query.problems ? `: ${query.problems.join('; ')}` : ''}`,
      );
    }

    // 4. report
    const report = writeReport();
    process.stdout.write(`${markdown(report)}\n`);
    say(`results: ${path.join(resultsDir, `bench-${stamp}.{json,md}`)}; logs: ${logDir}`);
    const bad = measurements.filter((m) => m.status !== 'ok');
    if (query && query.status !== 'ok') say(`FAILED: query row (${query.problems?.join('; ') ?? ''})`);
    const badRestores = restores.filter((r) => r.status !== 'ok');
    for (const r of badRestores)
      say(`FAILED: restoration row (${r.kafkaClient}: ${r.problems?.join('; ') ?? ''})`);
    if (bad.length > 0 || (query && query.status !== 'ok') || badRestores.length > 0) {
      say(
        `FAILED: ${bad.map((m) => `${[m.system, m.workload, m.guarantee].filter(Boolean).join(' ')} (${m.status})`).join(', ')}`,
      );
      return 1;
    }
    return 0;
  } finally {
    await stopAllChildren(5_000);
    if (admin && !interrupted && !config.keepTopics && cleanup.length > 0) {
      try {
        const topics = (await admin.listTopics()).filter((t) => cleanup.some((id) => t.startsWith(`${id}-`)));
        await admin.deleteTopics(topics);
        await admin.deleteGroups(cleanup).catch(() => {});
      } catch (error) {
        say(`could not delete the benchmark's topics: ${(error as Error).message}`);
      }
    }
    await admin?.close().catch(() => {});
    if (broker && !broker.reused) say('stopping the broker');
    await broker?.stop().catch((error: unknown) => say(`broker stop failed: ${(error as Error).message}`));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`error: ${(error as Error).stack ?? String(error)}`);
    void stopAllChildren(2_000).finally(() => process.exit(1));
  },
);
