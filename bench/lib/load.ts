/**
 * Loads the benchmark input once per run: fresh topics, records spread evenly over the partitions,
 * produced in large batches with several requests in flight (acks=1, no compression, not idempotent:
 * the load is not what is measured).
 */
import kafkajs from 'kafkajs';

import type { KafkaAdmin } from '../../src/kafka/client.ts';
import type { PageViewGenerator, SentenceGenerator } from './data.ts';

const { Kafka, logLevel } = kafkajs;

export const SENTENCES_TOPIC = 'bench-sentences';
export const PAGEVIEWS_TOPIC = 'bench-pageviews';
export const KEYS_TOPIC = 'bench-distinct-keys';

/** Records per partition and request; sentences are ~60 bytes, so a batch stays well under 1 MiB. */
const RECORDS_PER_PARTITION_BATCH = 8_000;
const IN_FLIGHT = 4;

export interface Loaded {
  topic: string;
  records: number;
  ms: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries a metadata call that can fail for a moment after a topic was created (e.g. NOT_LEADER). */
export async function retrying<T>(fn: () => Promise<T>, attempts = 40, delayMs = 250): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(delayMs);
    }
  }
}

/** Deletes the topic if it exists, waits until it is gone, and creates it afresh. */
export async function recreateTopic(
  admin: KafkaAdmin,
  topic: string,
  partitions: number,
  config: Record<string, string> = {},
): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) {
    await admin.deleteTopics([topic]);
    const deadline = Date.now() + 60_000;
    while ((await admin.listTopics()).includes(topic)) {
      if (Date.now() > deadline) throw new Error(`topic ${topic} was not deleted within 60 s`);
      await sleep(200);
    }
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.createTopics([{ name: topic, partitions, replicationFactor: 1, config }]);
      const counts = await admin.partitionCounts([topic]);
      if (counts.get(topic) === partitions) break;
    } catch (error) {
      if (attempt >= 20) throw error;
    }
    if (attempt >= 20) throw new Error(`could not create ${topic} with ${partitions} partitions`);
    await sleep(250);
  }
  const ends = await retrying(() => admin.endOffsets(topic));
  if (ends.some((e) => e.high !== 0)) throw new Error(`new topic ${topic} is not empty`);
}

type Message = { key: Buffer | null; value: Buffer; timestamp: string; partition: number };

async function produceAll(
  brokers: string[],
  topic: string,
  partitions: number,
  next: () => Message | undefined,
): Promise<number> {
  const kafka = new Kafka({ brokers, clientId: 'bench-loader', logLevel: logLevel.ERROR });
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  let total = 0;
  try {
    const inFlight = new Set<Promise<unknown>>();
    for (;;) {
      const perPartition: Message[][] = Array.from({ length: partitions }, () => []);
      let n = 0;
      for (; n < RECORDS_PER_PARTITION_BATCH * partitions; n++) {
        const message = next();
        if (!message) break;
        perPartition[message.partition]!.push(message);
      }
      if (n === 0) break;
      total += n;
      const request = producer
        .sendBatch({
          acks: 1,
          topicMessages: [{ topic, messages: perPartition.flat() }],
        })
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
  return total;
}

/** Loads `generator.spec.count` sentences (null keys, round-robin partitions). */
export async function loadSentences(
  brokers: string[],
  admin: KafkaAdmin,
  partitions: number,
  generator: SentenceGenerator,
): Promise<Loaded> {
  const started = Date.now();
  await recreateTopic(admin, SENTENCES_TOPIC, partitions, { 'retention.ms': '-1' });
  let i = 0;
  const now = String(Date.now());
  const records = await produceAll(brokers, SENTENCES_TOPIC, partitions, () => {
    const sentence = generator.next();
    if (sentence === undefined) return undefined;
    return { key: null, value: Buffer.from(sentence), timestamp: now, partition: i++ % partitions };
  });
  await expectEndOffsets(admin, SENTENCES_TOPIC, records);
  return { topic: SENTENCES_TOPIC, records, ms: Date.now() - started };
}

/** Loads page views as JSON values keyed by user, event time as the record timestamp. */
export async function loadPageViews(
  brokers: string[],
  admin: KafkaAdmin,
  partitions: number,
  generator: PageViewGenerator,
): Promise<Loaded> {
  const started = Date.now();
  await recreateTopic(admin, PAGEVIEWS_TOPIC, partitions, { 'retention.ms': '-1' });
  let i = 0;
  const records = await produceAll(brokers, PAGEVIEWS_TOPIC, partitions, () => {
    const event = generator.next();
    if (event === undefined) return undefined;
    return {
      key: Buffer.from(event.user),
      value: Buffer.from(JSON.stringify(event.view)),
      timestamp: String(event.timestamp),
      partition: i++ % partitions,
    };
  });
  await expectEndOffsets(admin, PAGEVIEWS_TOPIC, records);
  return { topic: PAGEVIEWS_TOPIC, records, ms: Date.now() - started };
}

/** The distinct-keys workload's key of record `i` (fixed width, so keys sort like their numbers). */
export function distinctKey(i: number): string {
  return `key-${String(i).padStart(8, '0')}`;
}

/** Loads `count` records, each with a key of its own (`distinctKey(i)`), round-robin over the partitions. */
export async function loadDistinctKeys(
  brokers: string[],
  admin: KafkaAdmin,
  partitions: number,
  count: number,
): Promise<Loaded> {
  const started = Date.now();
  await recreateTopic(admin, KEYS_TOPIC, partitions, { 'retention.ms': '-1' });
  let i = 0;
  const now = String(Date.now());
  const value = Buffer.from('1');
  const records = await produceAll(brokers, KEYS_TOPIC, partitions, () => {
    if (i >= count) return undefined;
    const key = Buffer.from(distinctKey(i));
    return { key, value, timestamp: now, partition: i++ % partitions };
  });
  await expectEndOffsets(admin, KEYS_TOPIC, records);
  return { topic: KEYS_TOPIC, records, ms: Date.now() - started };
}

async function expectEndOffsets(admin: KafkaAdmin, topic: string, records: number): Promise<void> {
  const ends = await retrying(() => admin.endOffsets(topic));
  const total = ends.reduce((sum, e) => sum + e.high - e.low, 0);
  if (total !== records) throw new Error(`${topic}: loaded ${records} records but the topic holds ${total}`);
}
