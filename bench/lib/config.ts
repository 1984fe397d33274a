/** Benchmark settings from flags (`npm run bench -- --sentences 100000`) and BENCH_* environment variables. */
import { parseArgs } from 'node:util';

import { KAFKA_CLIENT_NAMES, type KafkaClientName } from '../../src/kafka/factory.ts';

export type System = 'raw' | 'kafka-streams' | 'lambda-streams' | 'lambda-streams-batch' | 'query';
export type Workload = 'word-count' | 'pageviews' | 'distinct-keys';
export type Guarantee = 'at_least_once' | 'exactly_once';

export interface BenchConfig {
  /** Kafka clients the lambda-streams rows run on (one row each). */
  kafkaClients: KafkaClientName[];
  sentences: number;
  pageViews: number;
  /** distinct-keys: records, each with a key of its own (a count per key over that many keys). */
  keys: number;
  vocabulary: number;
  pages: number;
  users: number;
  pageViewSpanMs: number;
  /** Grace of the one-minute windows; default the whole event-time span, so no record is ever late. */
  graceMs: number;
  partitions: number;
  seed: number;
  systems: System[];
  workloads: Workload[];
  guarantees: Guarantee[];
  commitIntervalMs: Record<Guarantee, number>;
  /** Per measured run: give up (and fail: the system never produced the expected result) after this. */
  timeoutMs: number;
  javaOptions: string[];
  /** Keep the per-run output and internal topics (default: deleted at the end). */
  keepTopics: boolean;
  /** Run the batch child with `node --cpu-prof` (profiles land in the run's log directory). */
  batchCpuProf: boolean;
  /** `lambda-streams batch --threads`: threads of the batch child (default auto, the CLI's). */
  batchThreads: number | 'auto';
  /** The query row: requests/s asked for, seconds, connections. */
  queryRate: number;
  queryDurationS: number;
  /** Seconds of queries at the same rate before the measured ones (not counted). */
  queryWarmupS: number;
  queryConnections: number;
  queryRounds: number;
}

const SYSTEMS: System[] = ['raw', 'kafka-streams', 'lambda-streams', 'lambda-streams-batch', 'query'];
const WORKLOADS: Workload[] = ['word-count', 'pageviews', 'distinct-keys'];
const GUARANTEES: Guarantee[] = ['at_least_once', 'exactly_once'];

function integer(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

function list<T extends string>(name: string, raw: string | undefined, allowed: T[]): T[] {
  if (raw === undefined || raw.trim() === '') return allowed;
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new Error(`${name}: unknown "${item}" (one of ${allowed.join(', ')})`);
  }
  return items as T[];
}

export const USAGE = `npm run bench [-- options]

  --quick                 100 000 sentences, page views and keys (--sentences/--pageviews/--keys 100000)
  --sentences <n>         sentences to load and count        (BENCH_SENTENCES, default 1 000 000)
  --pageviews <n>         page-view events to load and count (BENCH_PAGEVIEWS, default 1 000 000)
  --keys <n>              distinct keys to count, one record each (BENCH_KEYS, default 1 000 000)
  --systems <list>        raw,kafka-streams,lambda-streams,lambda-streams-batch,query (BENCH_SYSTEMS)
  --workloads <list>      word-count,pageviews,distinct-keys (BENCH_WORKLOADS)
  --guarantees <list>     at_least_once,exactly_once         (BENCH_GUARANTEES)
  --keep-topics           keep output and internal topics    (BENCH_KEEP_TOPICS=1)
  --batch-cpu-prof        run the batch child with node --cpu-prof, profile in the logs (BENCH_BATCH_CPU_PROF=1)
  --batch-threads <n>     run the batch child with --threads <n|auto> (BENCH_BATCH_THREADS, default auto)
  --kafka-clients <list>  kafkajs,platformatic: one lambda-streams row per client (BENCH_KAFKA_CLIENTS, default kafkajs)

More: BENCH_VOCABULARY (10000), BENCH_PAGES (50), BENCH_USERS (10000), BENCH_PAGEVIEW_MINUTES (10),
BENCH_GRACE_MS (the page-view span), BENCH_PARTITIONS (4), BENCH_SEED (42),
BENCH_COMMIT_INTERVAL_ALOS_MS (1000), BENCH_COMMIT_INTERVAL_EOS_MS (100), BENCH_TIMEOUT_S (900),
BENCH_JAVA_OPTS ("-Xmx1g"), BENCH_QUERY_RATE (5000 requests/s), BENCH_QUERY_SECONDS (10), BENCH_QUERY_WARMUP_SECONDS (3),
BENCH_QUERY_CONNECTIONS (10), BENCH_QUERY_ROUNDS (3), BENCH_QUERY_LOADGEN (oha when installed, else node),
BENCH_OHA_THREADS (1), KAFKA_BROKERS (use that broker instead of starting one).`;

export function readConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      sentences: { type: 'string' },
      pageviews: { type: 'string' },
      keys: { type: 'string' },
      systems: { type: 'string' },
      workloads: { type: 'string' },
      guarantees: { type: 'string' },
      'keep-topics': { type: 'boolean' },
      'batch-cpu-prof': { type: 'boolean' },
      'batch-threads': { type: 'string' },
      'kafka-clients': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ? 100_000 : undefined;
  const minutes = integer('BENCH_PAGEVIEW_MINUTES', env.BENCH_PAGEVIEW_MINUTES, 10);
  const spanMs = Math.max(1, minutes) * 60_000;
  return {
    sentences: integer('--sentences', values.sentences ?? env.BENCH_SENTENCES, quick ?? 1_000_000),
    pageViews: integer('--pageviews', values.pageviews ?? env.BENCH_PAGEVIEWS, quick ?? 1_000_000),
    keys: integer('--keys', values.keys ?? env.BENCH_KEYS, quick ?? 1_000_000),
    vocabulary: Math.max(1, integer('BENCH_VOCABULARY', env.BENCH_VOCABULARY, 10_000)),
    pages: Math.max(1, integer('BENCH_PAGES', env.BENCH_PAGES, 50)),
    users: Math.max(1, integer('BENCH_USERS', env.BENCH_USERS, 10_000)),
    pageViewSpanMs: spanMs,
    graceMs: integer('BENCH_GRACE_MS', env.BENCH_GRACE_MS, spanMs),
    partitions: Math.max(1, integer('BENCH_PARTITIONS', env.BENCH_PARTITIONS, 4)),
    seed: integer('BENCH_SEED', env.BENCH_SEED, 42),
    systems: list('--systems', values.systems ?? env.BENCH_SYSTEMS, SYSTEMS),
    workloads: list('--workloads', values.workloads ?? env.BENCH_WORKLOADS, WORKLOADS),
    guarantees: list('--guarantees', values.guarantees ?? env.BENCH_GUARANTEES, GUARANTEES),
    kafkaClients: list('--kafka-clients', values['kafka-clients'] ?? env.BENCH_KAFKA_CLIENTS ?? 'kafkajs', [
      ...KAFKA_CLIENT_NAMES,
    ]),
    commitIntervalMs: {
      at_least_once: integer('BENCH_COMMIT_INTERVAL_ALOS_MS', env.BENCH_COMMIT_INTERVAL_ALOS_MS, 1000),
      exactly_once: integer('BENCH_COMMIT_INTERVAL_EOS_MS', env.BENCH_COMMIT_INTERVAL_EOS_MS, 100),
    },
    timeoutMs: integer('BENCH_TIMEOUT_S', env.BENCH_TIMEOUT_S, 900) * 1000,
    javaOptions: (env.BENCH_JAVA_OPTS ?? '-Xmx1g').split(/\s+/).filter(Boolean),
    keepTopics: values['keep-topics'] === true || env.BENCH_KEEP_TOPICS === '1',
    batchCpuProf: values['batch-cpu-prof'] === true || env.BENCH_BATCH_CPU_PROF === '1',
    batchThreads:
      (values['batch-threads'] ?? env.BENCH_BATCH_THREADS ?? 'auto') === 'auto'
        ? 'auto'
        : Math.max(1, integer('--batch-threads', values['batch-threads'] ?? env.BENCH_BATCH_THREADS, 1)),
    queryRate: Math.max(1, integer('BENCH_QUERY_RATE', env.BENCH_QUERY_RATE, 5_000)),
    queryDurationS: Math.max(1, integer('BENCH_QUERY_SECONDS', env.BENCH_QUERY_SECONDS, 10)),
    queryWarmupS: Math.max(0, integer('BENCH_QUERY_WARMUP_SECONDS', env.BENCH_QUERY_WARMUP_SECONDS, 3)),
    queryConnections: Math.max(1, integer('BENCH_QUERY_CONNECTIONS', env.BENCH_QUERY_CONNECTIONS, 10)),
    queryRounds: Math.max(1, integer('BENCH_QUERY_ROUNDS', env.BENCH_QUERY_ROUNDS, 3)),
  };
}
