/**
 * Readiness probe for a Kafka broker: a broker is READY when it answers metadata AND its group
 * coordinator and transaction coordinator serve requests. A freshly started broker answers metadata
 * within a second or two but returns NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE /
 * COORDINATOR_LOAD_IN_PROGRESS to FindCoordinator, JoinGroup and TxnOffsetCommit for a while (it is
 * creating and loading __consumer_offsets and __transaction_state), so the probe does what the runtime
 * does: join a consumer group, and run one transaction that writes a record and commits group offsets.
 */
import kafkajs from 'kafkajs';
import type { Admin, Consumer, Producer } from 'kafkajs';

import { retryKafka, withTimeout } from './retry.ts';

const { Kafka, logLevel, Partitioners } = kafkajs;

/** Topic and group names used by the probe; the topic is deleted again afterwards. */
export const PROBE_TOPIC = 'lambda-streams-readiness-probe';
export const PROBE_GROUP = 'lambda-streams-readiness-probe';
export const PROBE_TRANSACTIONAL_ID = 'lambda-streams-readiness-probe';

export interface ReadinessOptions {
  /** Overall deadline in ms. Default 90 000. */
  timeoutMs?: number;
  /** Checked between attempts; when it returns a string the probe stops with that reason. */
  failed?: () => string | undefined;
  /** Progress lines. */
  log?: (line: string) => void;
  /**
   * 'full' (default): metadata, consumer-group join and a committed transaction with sendOffsets.
   * 'metadata': only metadata (for `kafka status`).
   */
  depth?: 'full' | 'metadata';
  /** Appended to the timeout error (e.g. where the broker log is). */
  hint?: string;
}

export class BrokerNotReadyError extends Error {
  override readonly name = 'BrokerNotReadyError';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const type = (err as { type?: unknown }).type;
    return typeof type === 'string' && !err.message.includes(type) ? `${type}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Waits until the broker at `brokers` is ready (see module comment); throws BrokerNotReadyError on timeout. */
export async function waitForBrokerReady(brokers: string[], options: ReadinessOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  const log = options.log ?? (() => {});
  const kafka = new Kafka({
    clientId: 'lambda-streams-readiness',
    brokers,
    logLevel: process.env.LAMBDA_STREAMS_KAFKAJS_DEBUG ? logLevel.DEBUG : logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 15_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
  });

  const steps: Array<{ name: string; run: (budgetMs: number) => Promise<void> }> = [
    { name: 'metadata', run: () => probeMetadata(kafka) },
  ];
  if ((options.depth ?? 'full') === 'full') {
    steps.push(
      { name: 'probe topic', run: () => createProbeTopic(kafka) },
      { name: 'group coordinator (consumer group join)', run: (budget) => probeGroupJoin(kafka, budget) },
      { name: 'transaction coordinator (transaction with sendOffsets)', run: () => probeTransaction(kafka) },
    );
  }

  const started = Date.now();
  for (const step of steps) {
    const stepStarted = Date.now();
    let lastError = '';
    let attempts = 0;
    for (;;) {
      const reason = options.failed?.();
      if (reason) throw new BrokerNotReadyError(`${reason}${options.hint ? `\n${options.hint}` : ''}`);
      attempts++;
      try {
        // Each step cleans up after itself within its budget; the outer timeout is only a backstop.
        const budget = Math.max(1_000, Math.min(deadline - Date.now(), 30_000));
        await withTimeout(step.run(budget), budget + 20_000, step.name);
        if (process.env.LAMBDA_STREAMS_DEBUG)
          log(`${step.name} ok in ${Date.now() - stepStarted} ms (${attempts} attempts)`);
        break;
      } catch (err) {
        lastError = describeError(err);
        if (attempts === 1 || attempts % 10 === 0) log(`waiting for ${step.name}: ${lastError}`);
        if (Date.now() >= deadline) {
          throw new BrokerNotReadyError(
            `Kafka broker ${brokers.join(',')} not ready after ${Math.round(timeoutMs / 1000)} s: ` +
              `${step.name} failed ${attempts} time(s), last error: ${lastError}` +
              (options.hint ? `\n${options.hint}` : ''),
          );
        }
        await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
      }
    }
  }
  if ((options.depth ?? 'full') === 'full') {
    await cleanupProbe(kafka).catch(() => {});
    log(`broker ready (${brokers.join(',')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

async function withAdmin<T>(kafka: InstanceType<typeof Kafka>, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function probeMetadata(kafka: InstanceType<typeof Kafka>): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('metadata lists no brokers yet');
    if (cluster.controller === null || cluster.controller < 0) throw new Error('no active controller yet');
  });
}

async function createProbeTopic(kafka: InstanceType<typeof Kafka>): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      topics: [{ topic: PROBE_TOPIC, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const meta = await admin.fetchTopicMetadata({ topics: [PROBE_TOPIC] });
    const partition = meta.topics[0]?.partitions[0];
    if (!partition || partition.leader < 0) throw new Error('probe topic has no leader yet');
  });
}

async function probeGroupJoin(kafka: InstanceType<typeof Kafka>, budgetMs: number): Promise<void> {
  const consumer: Consumer = kafka.consumer({
    groupId: PROBE_GROUP,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 1_000,
    // disconnect() waits for the fetch in flight; keep it short.
    maxWaitTimeInMs: 100,
    // Never let kafkajs restart a crashed consumer on its own: a restart that joins while we disconnect
    // leaves a fetch loop running that keeps the process alive. The probe loop retries instead.
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000, restartOnFailure: async () => false },
  });
  let settle: (err?: unknown) => void = () => {};
  const outcome = new Promise<void>((resolve, reject) => {
    settle = (err) => (err === undefined ? resolve() : reject(err));
  });
  outcome.catch(() => {}); // handled below; avoid an unhandled rejection when we bail out early
  consumer.on(consumer.events.GROUP_JOIN, () => settle());
  consumer.on(consumer.events.CRASH, (event) => settle(event.payload.error ?? new Error('consumer crashed')));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [PROBE_TOPIC], fromBeginning: true });
    // Resolves once the first start attempt is over: joined (GROUP_JOIN) or crashed (CRASH).
    await consumer.run({ eachMessage: async () => {} });
    await withTimeout(outcome, budgetMs, 'consumer group join');
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

async function probeTransaction(kafka: InstanceType<typeof Kafka>): Promise<void> {
  const producer: Producer = kafka.producer({
    transactionalId: PROBE_TRANSACTIONAL_ID,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
    const txn = await producer.transaction();
    try {
      const [meta] = await txn.send({ topic: PROBE_TOPIC, messages: [{ value: 'ready?' }] });
      const next = BigInt(meta?.baseOffset ?? '0') + 1n;
      await retryKafka(
        () =>
          txn.sendOffsets({
            consumerGroupId: PROBE_GROUP,
            topics: [{ topic: PROBE_TOPIC, partitions: [{ partition: 0, offset: next.toString() }] }],
          }),
        { attempts: 3 },
      );
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => {});
      throw err;
    }
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

async function cleanupProbe(kafka: InstanceType<typeof Kafka>): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    await admin.deleteGroups([PROBE_GROUP]).catch(() => {});
    await admin.deleteTopics({ topics: [PROBE_TOPIC], timeout: 5_000 }).catch(() => {});
  });
}
