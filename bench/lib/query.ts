/**
 * The query row of `npm run bench`: point-query latency over HTTP on one worker at a fixed request
 * rate, open loop, through oha when it is installed (bench/lib/oha-load.ts) and else through the
 * Node generator (bench/lib/paced-load.ts). The worker runs the word count on the benchmark's
 * sentences with its HTTP API; once every word's answer equals the expected count, the load asks for
 * random words at `queryRate` requests/s for `queryDurationS` seconds. Every answer's status is
 * checked (non-2xx and errors are reported); latencies are percentiles of the whole run. The same
 * load against a bare `node:http` server first gives the generator's floor on this machine.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { KafkaAdmin } from '../../src/kafka/client.ts';
import { spawnTracked } from './children.ts';
import { findOha, ohaLoad } from './oha-load.ts';
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
  /** The load generator: oha (native) or the Node one of bench/lib/paced-load.ts. */
  generator: LoadGenerator;
  /** The same load against a bare node:http server answering a fixed body: the generator's floor (median round). */
  floor?: LatencyFigures;
  /** Every measured round against the worker (the row's figures are the round with the median p99). */
  rounds?: LatencyFigures[];
  /** Every floor round. */
  floorRounds?: LatencyFigures[];
  status: 'ok' | 'failed';
  problems?: string[];
  logFile: string;
}

type LoadGenerator = 'oha' | 'node';

interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** BENCH_QUERY_LOADGEN=oha|node; by default oha when it is installed. */
function chooseGenerator(): { generator: LoadGenerator; oha?: string } {
  const wanted = process.env.BENCH_QUERY_LOADGEN;
  if (wanted !== undefined && wanted !== 'oha' && wanted !== 'node')
    throw new Error(`BENCH_QUERY_LOADGEN must be oha or node, not '${wanted}'`);
  if (wanted === 'node') return { generator: 'node' };
  const oha = findOha();
  if (oha) return { generator: 'oha', oha };
  if (wanted === 'oha')
    throw new Error(
      'BENCH_QUERY_LOADGEN=oha but no oha executable was found: cargo install oha, or set BENCH_OHA',
    );
  return { generator: 'node' };
}

/** A bare node:http server in a child process answering every request with a fixed JSON body. */
const BARE_SERVER = `
const body = JSON.stringify({ store: 'word-counts', key: 'word', value: 12345, view: null, position: {}, servedBy: '127.0.0.1:1', stale: false });
const server = require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log('bare server on http://127.0.0.1:' + server.address().port));
`;

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
  /** Measured rounds of `durationS` each (the row reports the median round by p99). */
  rounds: number;
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
  const { generator, oha } = chooseGenerator();
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
      // BENCH_QUERY_TRACE_GC=1: the worker's GC pauses in its log. BENCH_QUERY_CPU_PROF=1: a CPU profile of the queried worker, in the run's log directory.
      ...(process.env.BENCH_QUERY_TRACE_GC === '1' ? ['--trace-gc'] : []),
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
  const base: Pick<
    QueryMeasurement,
    'targetRate' | 'durationS' | 'warmupS' | 'connections' | 'logFile' | 'generator' | 'floor'
  > = {
    generator,
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
      `${generator === 'oha' ? 'oha' : 'paced load (Node)'}: ${options.rate} requests/s for ${options.durationS} s over at most ${options.connections} connections`,
    );
    const paths = words.map((word) => `/stores/word-counts/keys/${encodeURIComponent(word)}`);
    const load = async (target: string, durationS: number): Promise<PacedLoadResult> => {
      if (oha) {
        return ohaLoad(oha, {
          url: target,
          paths,
          rate: options.rate,
          durationS,
          connections: options.connections,
          workDir: options.logDir,
          // One thread paces 5,000 requests/s with room to spare and leaves the other core to the server.
          threads: Number(process.env.BENCH_OHA_THREADS ?? 1),
        });
      }
      let next = 0;
      return pacedLoad({
        url: target,
        rate: options.rate,
        durationS,
        connections: options.connections,
        pathFor: () => paths[(next = (next * 1_103_515_245 + 12_345) % 2_147_483_648) % paths.length]!,
      });
    };
    // The first queries of a fresh server pay for connections, JIT and lazily built state (hundreds of
    // ms): a warm-up at the same rate first, as load testers do; its answers must be 2xx too. Then
    // `rounds` rounds, each a floor round (the bare server) and a worker round back to back, so both
    // see the machine in the same state; the row gives the worker round with the median p99 (this VM
    // has stalls of several ms that come and go: one round says little) and lists every round.
    const floorServer = await startFloorServer(options);
    const all: PacedLoadResult[] = [];
    const floors: PacedLoadResult[] = [];
    if (options.warmupS > 0) {
      if (floorServer) await load(floorServer.url, options.warmupS);
      all.push(await load(url, options.warmupS));
    }
    const rounds: PacedLoadResult[] = [];
    try {
      for (let round = 0; round < options.rounds; round++) {
        if (floorServer) floors.push(await load(floorServer.url, options.durationS));
        const result = await load(url, options.durationS);
        rounds.push(result);
        all.push(result);
        options.say(
          `round ${round + 1}: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms` +
            (floors.length > 0 ? ` (floor p99 ${floors[floors.length - 1]!.p99Ms.toFixed(2)} ms)` : ''),
        );
      }
    } finally {
      await floorServer?.stop();
    }
    const median = medianByP99(rounds);
    const floorMedian = floors.length > 0 ? medianByP99(floors) : undefined;
    if (floorMedian) base.floor = figures(floorMedian);
    const errors = all.reduce((sum, r) => sum + r.errors, 0);
    const non2xx = all.reduce((sum, r) => sum + r.non2xx, 0);
    const problems: string[] = [];
    if (errors > 0) problems.push(`${errors} request errors`);
    if (non2xx > 0) problems.push(`${non2xx} answers were not 2xx`);
    return {
      ...base,
      ...median,
      errors,
      non2xx,
      rounds: rounds.map(figures),
      ...(floors.length > 0 ? { floorRounds: floors.map(figures) } : {}),
      maxMsBySecond: median.maxMsBySecond.map((ms) => Math.round(ms * 100) / 100),
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

/** The round with the median p99 (the lower middle of an even count). */
function medianByP99(rounds: PacedLoadResult[]): PacedLoadResult {
  const sorted = [...rounds].sort((a, b) => a.p99Ms - b.p99Ms);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function figures(r: PacedLoadResult): LatencyFigures {
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return { p50Ms: round(r.p50Ms), p99Ms: round(r.p99Ms), p999Ms: round(r.p999Ms), maxMs: round(r.maxMs) };
}

/** The bare server of the floor rounds (undefined, said, when it does not start). */
async function startFloorServer(
  options: QueryBenchOptions,
): Promise<{ url: string; stop: () => Promise<unknown> } | undefined> {
  const logFile = path.join(options.logDir, 'query-floor-server.log');
  const server = spawnTracked('query-floor-server', process.execPath, ['-e', BARE_SERVER], { logFile });
  try {
    const url = await until('the bare server printed no address', 10_000, async () => {
      return /bare server on (http:\/\/127\.0\.0\.1:\d+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
    });
    return { url, stop: () => server.stop(2_000) };
  } catch (error) {
    options.say(`generator floor not measured: ${(error as Error).message}`);
    await server.stop(2_000);
    return undefined;
  }
}

export function queryMarkdown(q: QueryMeasurement): string[] {
  const ms = (n: number): string => n.toFixed(2);
  const generator =
    q.generator === 'oha'
      ? 'oha (native, bench/lib/oha-load.ts)'
      : 'the Node generator (bench/lib/paced-load.ts)';
  return [
    '',
    '| query (HTTP, one worker, word-counts) | target req/s | achieved req/s | requests | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | errors / non-2xx | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    `| GET /stores/word-counts/keys/<word> | ${q.targetRate} | ${Math.round(q.achievedRate)} | ${q.requests} | ${ms(q.p50Ms)} | ${ms(q.p99Ms)} | ${ms(q.p999Ms)} | ${ms(q.maxMs)} | ${q.errors} / ${q.non2xx} | ${q.status === 'ok' ? 'ok' : `**FAILED**: ${q.problems?.[0] ?? ''}`} |`,
    ...(q.floor
      ? [
          `| generator floor: a bare node:http server | ${q.targetRate} | | | ${ms(q.floor.p50Ms)} | ${ms(q.floor.p99Ms)} | ${ms(q.floor.p999Ms)} | ${ms(q.floor.maxMs)} | | |`,
        ]
      : []),
    '',
    `Point queries for random words of the vocabulary through ${generator}, ${q.connections} connections, ${q.durationS} s at a fixed rate after ${q.warmupS ?? 0} s of warm-up (open loop); ` +
      `each latency from the moment its request was due. ${q.rounds?.length ?? 1} rounds, each a floor round then a worker round; the rows give the round with the median p99 ` +
      '(target: p99 < 2 ms at 5 000 requests/s). The floor row is the same load against a bare node:http server answering a fixed body: what the generator and the machine add by themselves.',
    ...(q.rounds && q.rounds.length > 1
      ? [
          '',
          `p99 of every round (ms): worker ${q.rounds.map((r) => ms(r.p99Ms)).join(', ')}` +
            (q.floorRounds ? `; floor ${q.floorRounds.map((r) => ms(r.p99Ms)).join(', ')}` : '') +
            '.',
        ]
      : []),
    ...(q.maxMsBySecond && q.maxMsBySecond.length > 0
      ? ['', `Slowest answer per second of the run (ms): ${q.maxMsBySecond.join(', ')}.`]
      : []),
  ];
}
