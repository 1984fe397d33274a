/**
 * The restoration row: a fresh lambda-streams worker (empty state directory) joins the group of a
 * finished distinct-keys run and rebuilds its stores from the changelogs, as after a lost disk. The
 * worker runs with `--until-caught-up`: the instance is RUNNING only once every task is restored, and
 * the input is already committed, so it exits right after restoring. The rate comes from the worker's
 * own "restored N record(s) of task T in M ms" log lines: all tasks' records ÷ (last task done − first
 * task started); peak RSS is sampled as for the other rows.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { spawnTracked } from './children.ts';

export interface RestoreMeasurement {
  applicationId: string;
  /** The Kafka client of the restoring worker (that of the run whose changelogs it reads). */
  kafkaClient: string;
  /** Changelog records restored over all tasks. */
  records: number;
  tasks: number;
  /** First task's restore start → last task's restore end. */
  restoreMs?: number;
  recordsPerSec?: number;
  /** Child process start → exit. */
  durationMs: number;
  peakRssBytes?: number;
  status: 'ok' | 'failed';
  problems?: string[];
  logFile: string;
}

interface RestoredLine {
  time: number;
  ms: number;
  records: number;
  task: string;
}

/** The worker's JSON log lines that report a finished restore. */
export function restoredLines(log: string): RestoredLine[] {
  const out: RestoredLine[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"recordsPerSec"')) continue;
    try {
      const parsed = JSON.parse(line) as Partial<RestoredLine> & { msg?: string };
      if (
        typeof parsed.time === 'number' &&
        typeof parsed.ms === 'number' &&
        typeof parsed.records === 'number' &&
        typeof parsed.task === 'string' &&
        parsed.msg?.startsWith('restored ')
      )
        out.push({ time: parsed.time, ms: parsed.ms, records: parsed.records, task: parsed.task });
    } catch {
      // not a log line of ours
    }
  }
  return out;
}

export async function measureRestore(options: {
  root: string;
  topology: string;
  brokers: string[];
  applicationId: string;
  kafkaClient: string;
  env: NodeJS.ProcessEnv;
  logDir: string;
  timeoutMs: number;
  /** Changelog records the restore must read: what the application's changelog topics hold. */
  expectedRecords: number;
  say: (line: string) => void;
}): Promise<RestoreMeasurement> {
  const { applicationId } = options;
  const logFile = path.join(options.logDir, `lambda-streams-restore-${applicationId}.log`);
  const stateDir = path.join(os.tmpdir(), `lambda-streams-bench-restore-${applicationId}`);
  await rm(stateDir, { recursive: true, force: true });
  options.say(
    `lambda-streams restore: a fresh worker rebuilds ${applicationId}'s stores from the changelogs`,
  );
  const started = Date.now();
  const child = spawnTracked(
    'restore',
    process.execPath,
    [
      // BENCH_RESTORE_CPU_PROF=1: a CPU profile of the restoring worker, in the run's log directory.
      ...(options.env.BENCH_RESTORE_CPU_PROF === '1' ? ['--cpu-prof', '--cpu-prof-dir', options.logDir] : []),
      path.join(options.root, 'bin', 'lambda-streams.js'),
      'worker',
      options.topology,
      '--brokers',
      options.brokers.join(','),
      '--state-dir',
      stateDir,
      '--application-id',
      applicationId,
      '--http-port',
      '0',
      '--until-caught-up',
      '--kafka-client',
      options.kafkaClient,
    ],
    { env: { ...options.env, LOG_LEVEL: 'info' }, cwd: options.root, logFile },
  );
  const sampler = setInterval(() => child.peakRss(), 500);
  const timer = setTimeout(() => void child.stop(5_000), options.timeoutMs);
  const exit = await child.exited;
  clearTimeout(timer);
  clearInterval(sampler);
  const durationMs = Date.now() - started;
  const peakRssBytes = child.peakRss();
  await rm(stateDir, { recursive: true, force: true }).catch(() => {});
  const lines = restoredLines(readFileSync(logFile, 'utf8'));
  const records = lines.reduce((n, l) => n + l.records, 0);
  const base = {
    applicationId,
    kafkaClient: options.kafkaClient,
    records,
    tasks: lines.length,
    durationMs,
    ...(peakRssBytes !== undefined ? { peakRssBytes } : {}),
    logFile,
  };
  const problems: string[] = [];
  if (exit.code !== 0) problems.push(`worker exited with ${exit.code ?? exit.signal}`);
  if (records !== options.expectedRecords)
    problems.push(`restored ${records} changelog records, expected ${options.expectedRecords}`);
  if (lines.length === 0) return { ...base, status: 'failed', problems };
  const first = Math.min(...lines.map((l) => l.time - l.ms));
  const last = Math.max(...lines.map((l) => l.time));
  const restoreMs = Math.max(1, last - first);
  return {
    ...base,
    restoreMs,
    recordsPerSec: records / (restoreMs / 1000),
    status: problems.length === 0 ? 'ok' : 'failed',
    ...(problems.length > 0 ? { problems } : {}),
  };
}

export function restoreMarkdown(restores: RestoreMeasurement[]): string[] {
  const int = (n: number | undefined): string =>
    n === undefined ? '–' : Math.round(n).toLocaleString('en-US');
  return [
    '| restoration (distinct-keys changelogs → LevelDB) | records | tasks | restore (s) | records/s | process (s) | peak RSS (MiB) | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...restores.map(
      (r) =>
        `| fresh worker (${r.kafkaClient}), empty state directory | ${int(r.records)} | ${r.tasks} | ${r.restoreMs === undefined ? '–' : (r.restoreMs / 1000).toFixed(1)} | ${int(r.recordsPerSec)} | ${(r.durationMs / 1000).toFixed(1)} | ${r.peakRssBytes === undefined ? '–' : Math.round(r.peakRssBytes / 2 ** 20)} | ${r.status === 'ok' ? 'ok' : `**FAILED**: ${r.problems?.[0] ?? ''}`} |`,
    ),
    '',
    "Restore: first task started restoring → last task restored, from the worker's own log lines; the " +
      'target is ≥ 200,000 records/s. Process: start → exit (`--until-caught-up`: restored, nothing left to process).',
  ];
}
