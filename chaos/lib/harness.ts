/**
 * The chaos suite's shared harness: input produced with the project's own idempotent producer, worker
 * and batch CLI processes spawned, killed and restarted, the output topic read back (read_committed)
 * and compared with the counts computed from the input.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { KafkaAdmin, KafkaClient, KafkaProducer, OutgoingRecord } from '../../src/kafka/client.ts';
import { createKafkaClient } from '../../src/kafka/kafkajs-client.ts';
import { prng, SentenceGenerator } from '../../bench/lib/data.ts';
import { OutputWatcher } from '../../bench/lib/output-watcher.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
export const WORD_COUNT = path.join(ROOT, 'chaos/topologies/word-count.ts');
export const PAYMENTS = path.join(ROOT, 'chaos/topologies/payments.ts');
const CLI = path.join(ROOT, 'bin/lambda-streams.js');

export type Guarantee = 'at_least_once' | 'exactly_once';
export type Size = 'reduced' | 'full';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a scenario reports; the suite writes these to docs/reliability.md and chaos/results/. */
export interface ScenarioResult {
  scenario: string;
  guarantee?: Guarantee;
  size: Size;
  seed: number;
  /** Kill/restart rounds (or the scenario's unit of repetition) survived. */
  rounds: number;
  /** Input records produced (sentences for the word count). */
  recordsIn: number;
  /** Word occurrences missing from the final counts, summed over words. */
  lost: number;
  /** Word occurrences counted more than once, summed over words. */
  duplicated: number;
  /** Worker or batch processes that exited without being told to (or failed a clean stop). */
  crashes: number;
  /** Hostile input: malformed records, and how many were found in the dead-letter topic or metrics. */
  malformed?: number;
  malformedAccounted?: number;
  /** HTTP answers by status code (fuzz, queries during failover). */
  statusCodes?: Record<string, number>;
  /** Answers with a wrong value (queries during failover). */
  wrongAnswers?: number;
  passed: boolean;
  /** What failed, or what the scenario did. */
  notes: string[];
  durationMs: number;
}

export interface ChaosContext {
  brokers: string[];
  size: Size;
  seed: number;
  /** Progress on stderr. */
  log: (line: string) => void;
  /** Temp dir of this run (state dirs, logs); removed at the end unless a scenario failed. */
  workDir: string;
  /** A run id that makes topics, application ids and groups unique on a shared broker. */
  runId: string;
}

export async function makeWorkDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'lambda-streams-chaos-'));
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Kafka access of one scenario: the port's client (idempotent producer, acks=all) and admin. */
export class Kafka {
  readonly client: KafkaClient;
  private adminPromise?: Promise<KafkaAdmin>;
  private producerPromise?: Promise<KafkaProducer>;

  constructor(readonly brokers: string[]) {
    this.client = createKafkaClient({ brokers, clientId: 'lambda-streams-chaos' });
  }

  admin(): Promise<KafkaAdmin> {
    return (this.adminPromise ??= this.client.admin());
  }

  async createTopics(topics: Record<string, number>, config: Record<string, string> = {}): Promise<void> {
    const admin = await this.admin();
    await admin.createTopics(
      Object.entries(topics).map(([name, partitions]) => ({
        name,
        partitions,
        replicationFactor: 1,
        config: { 'retention.ms': '-1', ...config },
      })),
    );
    for (let i = 0; ; i++) {
      const counts = await admin.partitionCounts(Object.keys(topics));
      if (Object.entries(topics).every(([t, n]) => counts.get(t) === n)) return;
      if (i > 100) throw new Error(`topics ${Object.keys(topics).join(', ')} did not appear`);
      await sleep(200);
    }
  }

  /** Produces with the project's idempotent producer (acks=all), in chunks. */
  async produce(records: OutgoingRecord[]): Promise<void> {
    const producer = await (this.producerPromise ??= this.client.producer());
    for (let i = 0; i < records.length; i += 5_000) await producer.send(records.slice(i, i + 5_000));
  }

  /** Sum of the end offsets (read_committed high watermarks) of a topic's partitions. */
  async recordsIn(topic: string): Promise<number> {
    const ends = await (await this.admin()).endOffsets(topic);
    return ends.reduce((n, e) => n + e.high - e.low, 0);
  }

  /**
   * Records a read_committed reader sees in a topic: unlike end offsets, not counting transaction
   * markers or aborted records.
   */
  async countRecords(topic: string): Promise<number> {
    const ends = await (await this.admin()).endOffsets(topic);
    let n = 0;
    await this.client.fetchRanges(
      ends.map((e) => ({ topic, partition: e.partition, fromOffset: e.low, toOffset: e.high })),
      {
        isolationLevel: 'read_committed',
        onBatch: (records) => {
          n += records.length;
        },
      },
    );
    return n;
  }

  async close(): Promise<void> {
    if (this.producerPromise) await (await this.producerPromise).close().catch(() => {});
    if (this.adminPromise) await (await this.adminPromise).close().catch(() => {});
  }
}

/** Sentences for the word count, generated from a seed; the expected counts come with them. */
export class Sentences {
  private readonly generator: SentenceGenerator;
  private next = 0;

  constructor(
    readonly topic: string,
    readonly partitions: number,
    readonly total: number,
    seed: number,
  ) {
    this.generator = new SentenceGenerator({ count: total, vocabularySize: 2_000, seed });
  }

  get produced(): number {
    return this.next;
  }

  /** Produces the next `count` sentences (fewer at the end), spread over the partitions. */
  async produce(kafka: Kafka, count: number, timestamp: () => number = Date.now): Promise<number> {
    const records: OutgoingRecord[] = [];
    for (let i = 0; i < count; i++) {
      const sentence = this.generator.next();
      if (sentence === undefined) break;
      records.push({
        topic: this.topic,
        partition: this.next++ % this.partitions,
        key: null,
        value: Buffer.from(sentence),
        timestamp: timestamp(),
      });
    }
    await kafka.produce(records);
    return records.length;
  }

  async produceRest(kafka: Kafka): Promise<void> {
    while (this.next < this.total) await this.produce(kafka, 20_000);
  }

  /** Word → count over every sentence produced so far. */
  expected(): Map<string, number> {
    return this.generator.counts();
  }
}

export interface CountCheck {
  lost: number;
  duplicated: number;
  problems: string[];
}

/** Compares final counts with the expected ones: lost and duplicated occurrences, a few examples. */
export function compareCounts(actual: Map<string, number>, expected: Map<string, number>): CountCheck {
  let lost = 0;
  let duplicated = 0;
  const problems: string[] = [];
  for (const [key, want] of expected) {
    const got = actual.get(key) ?? 0;
    if (got < want) lost += want - got;
    if (got > want) duplicated += got - want;
    if (got !== want && problems.length < 5) problems.push(`${key}: expected ${want}, got ${got}`);
  }
  for (const [key, got] of actual) {
    if (expected.has(key)) continue;
    duplicated += got;
    if (problems.length < 5) problems.push(`${key}: not in the input, counted ${got}`);
  }
  return { lost, duplicated, problems };
}

/**
 * The last count per word on the output topic (read_committed). `settle` waits until every word has
 * reached its expected count and no output arrived for a while: the final counts.
 */
export class OutputCounts {
  private readonly watcher: OutputWatcher;
  private started?: Promise<void>;

  /** Starts reading (from the beginning) at the first `settle`: no broker needed before. */
  constructor(brokers: string[], topic: string) {
    this.watcher = new OutputWatcher(brokers, topic, Number.POSITIVE_INFINITY);
  }

  get last(): Map<string, number> {
    return this.watcher.last;
  }

  /** Resolves once every expected word has at least its count (or at the timeout), then a quiet spell. */
  async settle(expected: Map<string, number>, timeoutMs: number, quietMs = 3_000): Promise<CountCheck> {
    await (this.started ??= this.watcher.start());
    const deadline = Date.now() + timeoutMs;
    const reached = (): boolean => [...expected].every(([k, n]) => (this.watcher.last.get(k) ?? 0) >= n);
    while (!reached() && Date.now() < deadline) await sleep(250);
    await this.watcher.drain(quietMs, Math.max(quietMs * 3, 10_000));
    return compareCounts(this.watcher.last, expected);
  }

  async stop(): Promise<void> {
    if (this.started) await this.watcher.stop();
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every CLI process still running: SIGKILLed when the suite exits, however it exits. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A `lambda-streams` CLI process: stderr to a log file and a tail kept in memory. */
export class CliProcess {
  readonly exited: Promise<Exit>;
  exit?: Exit;
  /** Set when we killed or stopped it: any other exit is a crash. */
  expectedExit = false;
  private tail = '';
  private readonly child: ChildProcess;
  private readonly logStream: WriteStream;
  private readonly waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];

  constructor(
    readonly name: string,
    args: string[],
    readonly logFile: string,
    env: Record<string, string>,
  ) {
    this.logStream = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer): void => {
      this.logStream.write(chunk);
      this.tail += chunk.toString();
      if (this.tail.length > 64_000) this.tail = this.tail.slice(-32_000);
      for (const w of [...this.waiters]) {
        const match = w.pattern.exec(this.tail);
        if (match) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(match);
        }
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    live.add(this.child);
    this.exited = new Promise<Exit>((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this.child);
        this.exit = { code, signal };
        this.logStream.end();
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get output(): string {
    return this.tail;
  }

  lastLines(n = 15): string {
    return this.tail.trimEnd().split('\n').slice(-n).join('\n');
  }

  /** Waits for a line of output matching `pattern`; rejects if the process exits first or at the timeout. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const match = pattern.exec(this.tail);
    if (match) return Promise.resolve(match);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no ${pattern} within ${timeoutMs} ms\n${this.lastLines()}`));
      }, timeoutMs);
      const waiter = {
        pattern,
        resolve: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
      void this.exited.then((exit) => {
        if (!this.waiters.includes(waiter)) return;
        clearTimeout(timer);
        reject(
          new Error(
            `${this.name} exited (${exit.signal ?? exit.code}) before ${pattern}\n${this.lastLines()}`,
          ),
        );
      });
    });
  }

  /** Waits for a process meant to end by itself (a batch run); only a non-zero exit is a crash. */
  completes(): Promise<Exit> {
    this.expectedExit = true;
    return this.exited;
  }

  /** SIGKILL, and wait until it is gone. */
  async kill(): Promise<Exit> {
    this.expectedExit = true;
    if (!this.exit) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM (a clean stop: commit, checkpoint, leave the group); SIGKILL after `graceMs`. */
  async stop(graceMs = 60_000): Promise<Exit> {
    this.expectedExit = true;
    if (this.exit) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** An exit we did not ask for, or a clean stop that did not end with code 0. */
  get crashed(): boolean {
    if (!this.exit) return false;
    if (!this.expectedExit) return true;
    return this.exit.signal !== 'SIGKILL' && this.exit.code !== 0;
  }
}

export interface WorkerSpec {
  ctx: ChaosContext;
  name: string;
  topology: string;
  applicationId: string;
  stateDir: string;
  guarantee: Guarantee;
  env: Record<string, string>;
  brokers?: string[];
  standbys?: number;
  extraArgs?: string[];
}

/** A worker CLI process with its HTTP API on a free port. */
export class Worker extends CliProcess {
  /** Resolves with the HTTP API's base URL once it listens. */
  readonly url: Promise<string>;

  constructor(readonly spec: WorkerSpec) {
    const brokers = spec.brokers ?? spec.ctx.brokers;
    super(
      spec.name,
      [
        'worker',
        spec.topology,
        '--brokers',
        brokers.join(','),
        '--application-id',
        spec.applicationId,
        '--state-dir',
        spec.stateDir,
        '--guarantee',
        spec.guarantee,
        // at_least_once commits every 30 s by default: a shorter interval keeps rounds short.
        '--commit-interval',
        spec.guarantee === 'exactly_once' ? '100' : '1000',
        '--http-port',
        '0',
        ...(spec.standbys ? ['--num-standby-replicas', String(spec.standbys)] : []),
        ...(spec.extraArgs ?? []),
      ],
      path.join(spec.ctx.workDir, `${spec.name}.log`),
      { ...spec.env, KAFKA_BROKERS: brokers.join(',') },
    );
    this.url = this.waitFor(/HTTP API on (http:\/\/\S+) /u, 120_000).then((m) => m[1]!);
    this.url.catch(() => {});
  }

  /** The same worker again: same application, state directory and flags. */
  restart(): Worker {
    return new Worker(this.spec);
  }

  /** Waits until the worker says it runs (joined the group, tasks restored or restoring). */
  running(timeoutMs = 180_000): Promise<unknown> {
    return this.waitFor(/worker \S+ running on/u, timeoutMs);
  }
}

/** Tracks every process a scenario started, so that a failure or the end stops them all. */
export class Processes {
  private readonly all: CliProcess[] = [];

  add<T extends CliProcess>(p: T): T {
    this.all.push(p);
    return p;
  }

  get crashes(): number {
    return this.all.filter((p) => p.crashed).length;
  }

  crashReports(): string[] {
    return this.all
      .filter((p) => p.crashed)
      .map(
        (p) => `${p.name} exited ${p.exit?.signal ?? p.exit?.code} (log ${p.logFile}):\n${p.lastLines(8)}`,
      );
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all.filter((p) => !p.exit).map((p) => p.stop(30_000)));
  }

  async killAll(): Promise<void> {
    await Promise.all(this.all.filter((p) => !p.exit).map((p) => p.kill()));
  }
}

/** A seeded random source for kill moments and choices. */
export function random(seed: number): { next: () => number; between: (lo: number, hi: number) => number } {
  const next = prng(seed);
  return { next, between: (lo, hi) => lo + Math.floor(next() * (hi - lo)) };
}

/** GET with a timeout; the status and the parsed JSON body (or the text). */
export async function getJson(
  url: string,
  timeoutMs = 15_000,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** Sums a Prometheus counter over the lines that carry `label` (all lines when omitted). */
export function metricSum(text: string, name: string, label = ''): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(label))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** A result with the common fields filled in. */
export function result(
  ctx: ChaosContext,
  scenario: string,
  started: number,
  fields: Partial<ScenarioResult> & Pick<ScenarioResult, 'rounds' | 'recordsIn'>,
): ScenarioResult {
  const lost = fields.lost ?? 0;
  const duplicated = fields.duplicated ?? 0;
  const crashes = fields.crashes ?? 0;
  return {
    scenario,
    size: ctx.size,
    seed: ctx.seed,
    lost,
    duplicated,
    crashes,
    notes: [],
    durationMs: Date.now() - started,
    ...fields,
    passed:
      fields.passed ??
      (lost === 0 && (fields.guarantee === 'at_least_once' || duplicated === 0) && crashes === 0),
  };
}

/** A word count on fresh topics of one scenario: input, output watcher, worker specs. */
export interface WordCountRun {
  kafka: Kafka;
  processes: Processes;
  counts: OutputCounts;
  sentences: Sentences;
  input: string;
  output: string;
  applicationId: string;
  /** The spec of worker `i` (its own state directory). */
  spec(i: number, overrides?: Partial<WorkerSpec>): WorkerSpec;
  /** Waits for the final counts, stops the workers still running, and closes everything. */
  finish(timeoutMs?: number): Promise<CountCheck & { notes: string[] }>;
  close(): Promise<void>;
}

export async function wordCountRun(
  ctx: ChaosContext,
  name: string,
  guarantee: Guarantee,
  total: number,
  options: { partitions?: number; brokers?: string[]; standbys?: number } = {},
): Promise<WordCountRun> {
  const partitions = options.partitions ?? 3;
  const brokers = options.brokers ?? ctx.brokers;
  const kafka = new Kafka(brokers);
  const processes = new Processes();
  const input = `chaos-${ctx.runId}-${name}-in`;
  const output = `chaos-${ctx.runId}-${name}-out`;
  const applicationId = `chaos-${ctx.runId}-${name}`;
  await kafka.createTopics({ [input]: partitions, [output]: partitions });
  const counts = new OutputCounts(brokers, output);
  const sentences = new Sentences(input, partitions, total, ctx.seed);
  const close = async (): Promise<void> => {
    await processes.killAll();
    await counts.stop();
    await kafka.close();
  };
  return {
    kafka,
    processes,
    counts,
    sentences,
    input,
    output,
    applicationId,
    spec: (i, overrides = {}) => ({
      ctx,
      name: `${name}-w${i}`,
      topology: WORD_COUNT,
      applicationId,
      stateDir: path.join(ctx.workDir, `${name}-w${i}`),
      guarantee,
      brokers,
      env: { CHAOS_INPUT_TOPIC: input, CHAOS_OUTPUT_TOPIC: output },
      ...(options.standbys ? { standbys: options.standbys } : {}),
      ...overrides,
    }),
    async finish(timeoutMs = 600_000) {
      const check = await counts.settle(sentences.expected(), timeoutMs);
      const notes = [...check.problems];
      await processes.stopAll();
      notes.push(...processes.crashReports());
      return { ...check, notes };
    },
    close,
  };
}
