/**
 * Shared pieces of the runtime integration suites (runtime-*.test.ts): a word-count topology on
 * unique topics, input generation, and a live view of the output topic's latest value per key.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Consumer } from 'kafkajs';

import { Consumed, Grouped, Materialized, Produced, Serdes, StreamsBuilder } from '../../src/index.ts';
import type { Topology } from '../../src/index.ts';
import { KafkaStreams, type KafkaStreamsConfig } from '../../src/runtime/kafka-streams.ts';
import { brokers, createTopic, kafka, produce, uniqueGroup, uniqueTopic } from './helpers.ts';

export interface WordCountSetup {
  applicationId: string;
  input: string;
  output: string;
  topology: () => Topology;
}

export function wordCountTopology(input: string, output: string): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, Consumed.with(Serdes.String(), Serdes.String()))
    .flatMapValues((line: string) =>
      line
        .toLowerCase()
        .split(/\W+/u)
        .filter((w) => w.length > 0),
    )
    .groupBy((_key: string | null, word: string) => word, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>('word-counts').withKeySerde(Serdes.String()))
    .toStream()
    .to(output, Produced.with(Serdes.String(), Serdes.Long()));
  return builder.build();
}

export async function setupWordCount(partitions = 3): Promise<WordCountSetup> {
  const input = uniqueTopic('wc-in');
  const output = uniqueTopic('wc-out');
  await createTopic(input, { partitions });
  await createTopic(output, { partitions });
  return {
    applicationId: uniqueGroup('wc-app'),
    input,
    output,
    topology: () => wordCountTopology(input, output),
  };
}

const WORDS = [
  'alpha',
  'beta',
  'gamma',
  'delta',
  'epsilon',
  'zeta',
  'eta',
  'theta',
  'iota',
  'kappa',
  'lambda',
  'mu',
];

/** Deterministic lines of 1–6 words; returns them and the expected counts. */
export function makeLines(n: number, seed = 1): { lines: string[]; counts: Map<string, number> } {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s;
  };
  const lines: string[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const words: string[] = [];
    const len = 1 + (next() % 6);
    for (let j = 0; j < len; j++) words.push(WORDS[next() % WORDS.length]!);
    lines.push(words.join(' '));
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return { lines, counts };
}

export function addCounts(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

export async function produceLines(topic: string, lines: string[], offset = 0): Promise<void> {
  const chunk = 1000;
  for (let i = 0; i < lines.length; i += chunk) {
    await produce(
      topic,
      lines.slice(i, i + chunk).map((line, j) => ({ key: `line-${offset + i + j}`, value: line })),
    );
  }
}

/**
 * Latest value per key of a topic with String keys (Long values unless `decode` says otherwise), kept
 * up to date by a consumer.
 */
export class LatestValues<V = number> {
  readonly values = new Map<string, V>();
  records = 0;
  private consumer?: Consumer;

  static async start<V = number>(
    topic: string,
    isolationLevel: 'read_committed' | 'read_uncommitted' = 'read_committed',
    decode?: (bytes: Buffer) => V,
  ): Promise<LatestValues<V>> {
    const view = new LatestValues<V>();
    const consumer = kafka('lambda-streams-test-latest').consumer({
      groupId: uniqueGroup('latest'),
      readUncommitted: isolationLevel === 'read_uncommitted',
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    view.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const long = Serdes.Long();
    const read = decode ?? ((bytes: Buffer) => long.deserialize(bytes, topic) as V);
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          view.records++;
          const key = m.key?.toString() ?? '';
          if (m.value === null) view.values.delete(key);
          else view.values.set(key, read(m.value));
        }
      },
    });
    return view;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export async function tempStateDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'lambda-streams-state-'));
}

export function newStreams(
  setup: WordCountSetup,
  stateDir: string,
  config: Partial<KafkaStreamsConfig> = {},
): KafkaStreams {
  return new KafkaStreams(setup.topology(), {
    applicationId: setup.applicationId,
    bootstrapServers: brokers(),
    stateDir,
    commitIntervalMs: 200,
    sessionTimeoutMs: 6_000,
    ...config,
  });
}

/** How long runtime suites wait for an expected outcome: generous, for a loaded 2-core CI machine. */
export const SETTLE_MS = 120_000;

/** Per-test timeout of runtime suites (several SETTLE_MS waits may add up on a slow machine). */
export const RUNTIME_TEST_MS = 300_000;

export async function waitForState(
  streams: KafkaStreams,
  state: string,
  timeoutMs = SETTLE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (streams.state !== state) {
    if (streams.error) throw streams.error;
    if (Date.now() > deadline) throw new Error(`streams state ${streams.state}, waited for ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Counts held by the local stores of an instance (word → count). */
export function storeCounts(streams: KafkaStreams): Map<string, number> {
  const out = new Map<string, number>();
  for (const { store } of streams.storesNamed<any>('word-counts')) {
    for (const { key, value } of store.all() as Iterable<{ key: string; value: unknown }>) {
      const v =
        typeof value === 'object' && value !== null && 'value' in value
          ? (value as { value: number }).value
          : value;
      out.set(key, Number(v));
    }
  }
  return out;
}

export function sorted(map: Map<string, number>): Array<[string, number]> {
  return [...map].sort(([a], [b]) => a.localeCompare(b));
}
