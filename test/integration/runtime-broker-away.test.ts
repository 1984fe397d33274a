/**
 * The broker going away (docs/runtime.md, "Bad input and failures"): a word-count instance runs on a
 * private broker of its own (not the shared one of global-setup.ts), the broker process is killed
 * (SIGKILL, no goodbye), and the instance must reach a defined state in bounded time — ERROR, then
 * NOT_RUNNING after close() — with one error line that names the brokers it cannot reach and says
 * what to do.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Serdes } from '../../src/index.ts';
import { defaultRootDir, startLocalBroker, type RunningBroker } from '../../src/kafka/local-broker.ts';
import { BrokersUnreachableError, type KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { eventually, uniqueGroup, uniqueTopic } from './helpers.ts';
import {
  makeLines,
  newStreams,
  sorted,
  storeCounts,
  tempStateDir,
  wordCountTopology,
} from './runtime-support.ts';

const { Kafka, logLevel } = kafkajs;

/**
 * How long the instance may take to give up once the broker is gone: brokerUnreachableTimeoutMs
 * (default 30 s) from the first failed round of kafkajs retries (about 10 s), plus slack.
 */
const GIVE_UP_MS = 60_000;

let broker: RunningBroker | undefined;
let rootDir: string | undefined;
let streams: KafkaStreams | undefined;
let outputConsumer: Consumer | undefined;
let stateDir: string | undefined;

beforeAll(async () => {
  // A root of our own whose .cache points at the repository's broker jars: the private broker is not
  // recorded in the repository's .lambda-streams/broker.json (that record belongs to the shared broker).
  rootDir = await mkdtemp(path.join(tmpdir(), 'lambda-streams-broker-away-'));
  await symlink(path.join(defaultRootDir(), '.cache'), path.join(rootDir, '.cache'));
  broker = await startLocalBroker({
    rootDir,
    log: (line) => process.stderr.write(`[broker-away] ${line}\n`),
  });
}, 180_000);

afterAll(async () => {
  await outputConsumer?.disconnect().catch(() => {});
  await streams?.close().catch(() => {});
  await broker?.stop();
  if (rootDir) await rm(rootDir, { recursive: true, force: true });
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}, 60_000);

describe('the broker going away', () => {
  it('stops the instance with a line that names the brokers and says what to do', async () => {
    const privateBroker = broker!;
    expect(privateBroker.kind).toBe('java');
    expect(privateBroker.pid).toBeTypeOf('number');
    const kafka = new Kafka({
      clientId: 'broker-away-test',
      brokers: privateBroker.brokers,
      logLevel: logLevel.NOTHING,
    });
    const input = uniqueTopic('away-in');
    const output = uniqueTopic('away-out');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [input, output].map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })),
    });
    await admin.disconnect();

    const { lines, counts } = makeLines(200, 5);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: lines.map((line, i) => ({ key: `line-${i}`, value: line })),
    });
    await producer.disconnect();

    const instance = newStreams(
      {
        applicationId: uniqueGroup('away-app'),
        input,
        output,
        topology: () => wordCountTopology(input, output),
      },
      (stateDir = await tempStateDir()),
      { bootstrapServers: privateBroker.brokers, processingGuarantee: 'at_least_once' },
    );
    streams = instance;
    const logged: string[] = [];
    for (const level of ['error', 'warn'] as const) {
      const original = instance.log[level].bind(instance.log);
      instance.log[level] = ((...args: unknown[]) => {
        const message = args.find((a) => typeof a === 'string');
        if (message) logged.push(`${level}: ${message}`);
        return (original as (...a: unknown[]) => void)(...args);
      }) as typeof instance.log.error;
    }
    const states: string[] = [];
    instance.onStateChange((next) => states.push(next));
    await instance.start();

    // Output arrives on the private broker.
    const seen = new Map<string, number>();
    const long = Serdes.Long();
    outputConsumer = kafka.consumer({ groupId: uniqueGroup('away-out'), maxWaitTimeInMs: 100 });
    await outputConsumer.connect();
    await outputConsumer.subscribe({ topics: [output], fromBeginning: true });
    await outputConsumer.run({
      eachMessage: async ({ message }) => {
        if (message.key && message.value)
          seen.set(message.key.toString(), Number(long.deserialize(message.value, output)));
      },
    });
    await eventually(() => expect(sorted(seen)).toEqual(sorted(counts)), { timeoutMs: 60_000 });
    await eventually(() => expect(sorted(storeCounts(instance))).toEqual(sorted(counts)), {
      timeoutMs: 10_000,
    });
    await outputConsumer.disconnect();
    outputConsumer = undefined;
    expect(instance.state).toBe('RUNNING');

    // The broker goes away: SIGKILL, no controlled shutdown.
    const killedAt = Date.now();
    process.kill(privateBroker.pid!, 'SIGKILL');
    process.stderr.write(`[broker-away] killed broker pid ${privateBroker.pid}\n`);

    const deadline = Date.now() + GIVE_UP_MS;
    while (instance.state !== 'ERROR' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const tookMs = Date.now() - killedAt;
    process.stderr.write(
      `[broker-away] state ${instance.state} after ${tookMs} ms; states ${states.join(' → ')}\n` +
        `[broker-away] logged:\n${logged.map((l) => `  ${l}`).join('\n')}\n`,
    );
    expect(instance.state).toBe('ERROR');
    const address = privateBroker.brokers[0]!;

    // While kafkajs restarts the consumer, each round says which brokers and when it gives up.
    expect(
      logged.some((l) => l.startsWith('warn: ') && l.includes(`cannot reach Kafka brokers ${address}`)),
    ).toBe(true);
    // Then one error line: the brokers it cannot reach, and what to do.
    expect(instance.error).toBeInstanceOf(BrokersUnreachableError);
    const line = logged.find((l) => l.startsWith('error: stream processing failed'));
    expect(line).toBeDefined();
    expect(line).toContain(`lost the connection to Kafka brokers ${address}`);
    expect(line).toContain('restart it when the brokers are back');
    expect(line).toMatch(/unreachable for \d+ s/);

    // close() (what the worker does on ERROR before exiting 1) completes without a broker.
    const closing = Date.now();
    await instance.close();
    expect(instance.state).toBe('NOT_RUNNING');
    expect(Date.now() - closing).toBeLessThan(30_000);
    expect(states.slice(-3)).toEqual(['ERROR', 'PENDING_SHUTDOWN', 'NOT_RUNNING']);
  }, 240_000);
});
