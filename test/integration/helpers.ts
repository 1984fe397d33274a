/**
 * Small utilities for integration suites that run against the real broker of global-setup.ts.
 * Every client is kafkajs with its logging off; topic and group names are unique per call, so suites
 * can share the one broker without cleaning up.
 */
import { randomBytes } from 'node:crypto';

import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  IHeaders,
  Kafka,
  Message,
  Producer,
  ProducerConfig,
  RecordMetadata,
} from 'kafkajs';
import { inject } from 'vitest';

import { retryKafka } from '../../src/kafka/retry.ts';

export { retryKafka };

const { Kafka: KafkaClient, logLevel, Partitioners } = kafkajs;

/** Bootstrap addresses of the broker (from globalSetup, else KAFKA_BROKERS). */
export function brokers(): string[] {
  let provided: string[] | undefined;
  try {
    provided = inject('kafkaBrokers');
  } catch {
    provided = undefined; // not inside a vitest worker
  }
  if (provided && provided.length > 0) return provided;
  const fromEnv = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  if (fromEnv.length > 0) return fromEnv;
  throw new Error(
    'no Kafka broker: run through the vitest integration project (globalSetup) or set KAFKA_BROKERS',
  );
}

/** A kafkajs client for the test broker, logging off. */
export function kafka(clientId = 'lambda-streams-test'): Kafka {
  return new KafkaClient({
    clientId,
    brokers: brokers(),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
}

function suffix(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** A topic name nobody used before: `<prefix>-<time>-<random>`. */
export function uniqueTopic(prefix = 'topic'): string {
  return `${prefix}-${suffix()}`;
}

/** A consumer group id nobody used before. */
export function uniqueGroup(prefix = 'group'): string {
  return `${prefix}-${suffix()}`;
}

/** Runs `fn` with a connected admin client and disconnects it afterwards. */
export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka('lambda-streams-test-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export interface CreateTopicOptions {
  /** Default 1. */
  partitions?: number;
  /** Topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  config?: Record<string, string>;
}

/** Creates a topic (the broker does not auto-create topics) and waits until its partitions have leaders. */
export async function createTopic(name: string, options: CreateTopicOptions = {}): Promise<void> {
  await withAdmin(async (admin) => {
    const created = await admin.createTopics({
      topics: [
        {
          topic: name,
          numPartitions: options.partitions ?? 1,
          replicationFactor: 1,
          configEntries: Object.entries(options.config ?? {}).map(([key, value]) => ({ name: key, value })),
        },
      ],
      waitForLeaders: true,
    });
    if (!created) throw new Error(`topic ${name} already exists`);
  });
}

/** Deletes topics (missing ones are ignored). */
export async function deleteTopics(...names: string[]): Promise<void> {
  await withAdmin(async (admin) => {
    const existing = new Set(await admin.listTopics());
    const topics = names.filter((name) => existing.has(name));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  });
}

/** A connected producer (idempotent by default; pass transactionalId etc. for transactions). */
export async function connectedProducer(config: ProducerConfig = {}): Promise<Producer> {
  const producer = kafka('lambda-streams-test-producer').producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    ...config,
  });
  await producer.connect();
  return producer;
}

/** Produces `messages` to `topic` with a short-lived idempotent producer (acks=all). */
export async function produce(topic: string, messages: Message[]): Promise<RecordMetadata[]> {
  const producer = await connectedProducer();
  try {
    return await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  /** UTF-8 decoded key and value (null when absent). */
  key: string | null;
  value: string | null;
  /** Raw bytes, for binary serdes. */
  keyBytes: Buffer | null;
  valueBytes: Buffer | null;
  /** Header values decoded as UTF-8 (the last one when a header repeats). */
  headers: Record<string, string>;
}

export interface ConsumeOptions {
  /** Default 'read_committed' (what lambda-streams' exactly-once consumers use). */
  isolationLevel?: 'read_committed' | 'read_uncommitted';
  /** Consumer group; default a new unique group. */
  groupId?: string;
  /** Default true. */
  fromBeginning?: boolean;
  /** Give up after this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** After n records arrived, keep listening this long and include extra records (to catch surplus). Default 0. */
  settleMs?: number;
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}

/**
 * Consumes at least `n` records of `topic` with a consumer-group consumer (offsets auto-committed) and
 * returns them in arrival order (per partition in offset order). Rejects on timeout, naming how many arrived.
 */
export async function consumeN(
  topic: string,
  n: number,
  options: ConsumeOptions = {},
): Promise<ConsumedRecord[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const consumer: Consumer = kafka('lambda-streams-test-consumer').consumer({
    groupId: options.groupId ?? uniqueGroup('consume'),
    readUncommitted: options.isolationLevel === 'read_uncommitted',
    maxWaitTimeInMs: 200,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  });
  const records: ConsumedRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning ?? true });
    const done = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `consumeN(${topic}, ${n}): only ${records.length} record(s) after ${timeoutMs} ms ` +
                `(isolation ${options.isolationLevel ?? 'read_committed'})`,
            ),
          ),
        timeoutMs,
      );
      const check = (): void => {
        if (records.length < n || settleTimer) return;
        settleTimer = setTimeout(resolve, options.settleMs ?? 0);
      };
      consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart) reject(event.payload.error);
      });
      void consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            records.push({
              topic: t,
              partition,
              offset: message.offset,
              timestamp: message.timestamp,
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              keyBytes: message.key ?? null,
              valueBytes: message.value ?? null,
              headers: decodeHeaders(message.headers),
            });
            check();
          },
        })
        .catch(reject);
    });
    await done;
    return records;
  } finally {
    clearTimeout(timer);
    clearTimeout(settleTimer);
    await consumer.disconnect();
  }
}

/** Committed offsets of `groupId` for `topic`, by partition ('-1' when none). */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
  return withAdmin(async (admin) => {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  });
}

/** Retries `fn` until it stops throwing (assertions included) or `timeoutMs` passes; returns its result. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
