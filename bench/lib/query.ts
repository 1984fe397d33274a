/**
 * The query row of `npm run bench`: point-query latency over HTTP on one worker at a fixed request
 * rate (bench/lib/paced-load.ts, open loop). The worker runs the word count on the benchmark's sentences with its HTTP API;
 * once every word's answer equals the expected count, the paced load asks for random words at
 * `queryRate` requests/s for `queryDurationS` seconds. Every answer's status is checked (non-2xx and
 * errors are reported); latencies are percentiles of the whole run.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { KafkaAdmin } from '../../src/kafka/client.ts';
import { spawnTracked } from './children.ts';
import { pacedLoad, type PacedLoadResult } from './paced-load.ts';
import { recreateTopic } from './load.ts';

/** The load's figures (zeros and no per-second figures when the run failed before it). */
export interface QueryMeasurement extends Omit<PacedLoadResult, 'maxMsBySecond'> {
  /** Requests per second asked for. */
  targetRate: number;
  durationS: number;
  warmupS?: number;
  maxMsBySecond?: number[];
  connections: number;
  status: 'ok' | 'failed';
  problems?: string[];
  logFile: string;
}

export interface QueryBenchOptions {
  root: string;
  brokers: string[];
  admin: KafkaAdmin;
  inputTopic: string;
  expected: Map<string, number>;
  partitions: number;
  logDir: string;
  runTag: string;
  rate: number;
  durationS: number;
  /** Seconds of queries before the measured ones, their answers checked but their latencies not kept. */
  warmupS: number;
  connections: number;
  say: (line: string) => void;
  cleanup: string[];
}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function measureQueries(options: QueryBenchOptions): Promise<QueryMeasurement> {
  const applicationId = `bench-${options.runTag}-query`;
  const output = `${applicationId}-output`;
  options.cleanup.push(applicationId);
  const logFile = path.join(options.logDir, 'query-worker.log');
  const stateDir = path.join(os.tmpdir(), `lambda-streams-bench-${applicationId}`);
  await recreateTopic(options.admin, output, options.partitions, {});
  const child = spawnTracked(
    'query-worker',
    process.execPath,
    [
      // BENCH_QUERY_CPU_PROF=1: a CPU profile of the queried worker, in the run's log directory.
      ...(process.env.BENCH_QUERY_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${options.logDir}`] : []),
      path.join(options.root, 'bin', 'lambda-streams.js'),
      'worker',
      path.join(options.root, 'bench', 'topologies', 'word-count.ts'),
      '--brokers',
      options.brokers.join(','),
      '--state-dir',
      stateDir,
      '--application-id',
      applicationId,
      '--commit-interval',
      '1000',
      '--http-port',
      '0',
    ],
    {
      cwd: options.root,
      logFile,
      env: {
        ...process.env,
        BENCH_INPUT_TOPIC: options.inputTopic,
        BENCH_OUTPUT_TOPIC: output,
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      },
    },
  );
  const base = {
    targetRate: options.rate,
    durationS: options.durationS,
    warmupS: options.warmupS,
    connections: options.connections,
    logFile,
  };
  try {
    const url = await until('the worker printed no HTTP API address', 60_000, async () => {
      const match = /HTTP API on (http:\/\/127\.0\.0\.1:\d+)/.exec(readFileSync(logFile, 'utf8'));
      return match?.[1];
    });
    const words = [...options.expected.keys()];
    // Complete before measuring: every word answers its expected count.
    options.say(`query worker at ${url}; waiting until its ${words.length} counts are complete`);
    await until('the worker did not reach the expected counts', 900_000, async () => {
      for (let i = 0; i < words.length; i += Math.max(1, Math.floor(words.length / 200))) {
        const word = words[i]!;
        const res = await fetch(`${url}/stores/word-counts/keys/${encodeURIComponent(word)}`);
        const body = (await res.json()) as { value?: number };
        if (body.value !== options.expected.get(word)) return undefined;
      }
      return true;
    });
    options.say(
      `paced load: ${options.rate} requests/s for ${options.durationS} s over at most ${options.connections} connections`,
    );
    let next = 0;
    const load = (durationS: number): ReturnType<typeof pacedLoad> =>
      pacedLoad({
        url,
        rate: options.rate,
        durationS,
        connections: options.connections,
        pathFor: () => {
          const word = words[(next = (next * 1_103_515_245 + 12_345) % 2_147_483_648) % words.length]!;
          return `/stores/word-counts/keys/${encodeURIComponent(word)}`;
        },
      });
    // The first queries of a fresh worker pay for connections, JIT and lazily built state (hundreds of
    // ms): a warm-up at the same rate first, as load testers do; its answers must be 2xx too.
    const warmup = options.warmupS > 0 ? await load(options.warmupS) : undefined;
    const result = await load(options.durationS);
    if (warmup) {
      result.errors += warmup.errors;
      result.non2xx += warmup.non2xx;
    }
    const problems: string[] = [];
    if (result.errors > 0) problems.push(`${result.errors} request errors`);
    if (result.non2xx > 0) problems.push(`${result.non2xx} answers were not 2xx`);
    return {
      ...base,
      ...result,
      maxMsBySecond: result.maxMsBySecond.map((ms) => Math.round(ms * 100) / 100),
      status: problems.length === 0 ? 'ok' : 'failed',
      ...(problems.length > 0 ? { problems } : {}),
    };
  } catch (error) {
    return {
      ...base,
      achievedRate: 0,
      requests: 0,
      errors: 0,
      non2xx: 0,
      p50Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      maxMs: 0,
      status: 'failed',
      problems: [(error as Error).message],
    };
  } finally {
    await child.stop(10_000);
    await rm(stateDir, { recursive: true, force: true }).catch(() => {});
  }
}

export function queryMarkdown(q: QueryMeasurement): string[] {
  const ms = (n: number): string => n.toFixed(2);
  return [
    '',
    '| query (HTTP, one worker, word-counts) | target req/s | achieved req/s | requests | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | errors / non-2xx | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    `| GET /stores/word-counts/keys/<word> | ${q.targetRate} | ${Math.round(q.achievedRate)} | ${q.requests} | ${ms(q.p50Ms)} | ${ms(q.p99Ms)} | ${ms(q.p999Ms)} | ${ms(q.maxMs)} | ${q.errors} / ${q.non2xx} | ${q.status === 'ok' ? 'ok' : `**FAILED**: ${q.problems?.[0] ?? ''}`} |`,
    '',
    `Point queries for random words of the vocabulary, ${q.connections} connections, ${q.durationS} s at a fixed rate after ${q.warmupS ?? 0} s of warm-up (open loop, bench/lib/paced-load.ts); ` +
      'each latency from the moment its request was due; percentiles over the whole run (target: p99 < 2 ms at 5 000 requests/s).',
    ...(q.maxMsBySecond
      ? ['', `Slowest answer per second of the run (ms): ${q.maxMsBySecond.join(', ')}.`]
      : []),
  ];
}
