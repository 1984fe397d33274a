/**
 * A commit that fails because the connection closed (Kafka Streams' TaskCorruptedException), on the
 * real broker: under exactly_once one task's transaction commit throws a connection error once (the
 * only injected part: the client is the real kafkajs one, the transaction is left open as a dead
 * connection would leave it). The instance must not stop: the task is closed dirty, created again
 * (fenced producer, state restored from the changelog, consumer rewound to the committed offsets),
 * and the counts stay exact.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { BrokerConnectionError } from '../../src/kafka/errors.ts';
import type { KafkaClient, KafkaProducer, KafkaTransaction } from '../../src/kafka/client.ts';
import { createKafkaClient } from '../../src/kafka/kafkajs-client.ts';
import type { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { brokers, eventually } from './helpers.ts';
import {
  LatestValues,
  RUNTIME_TEST_MS,
  SETTLE_MS,
  addCounts,
  makeLines,
  newStreams,
  produceLines,
  setupWordCount,
  sorted,
  storeCounts,
  tempStateDir,
} from './runtime-support.ts';

const closing: Array<{ close?: () => Promise<void>; stop?: () => Promise<void> }> = [];
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await (c.close?.() ?? c.stop?.());
});

/** The real client, whose next transaction commit (once armed) fails as a closed connection would. */
function clientFailingOneCommit(): { client: KafkaClient; arm: () => void; failed: () => boolean } {
  const real = createKafkaClient({ brokers: brokers(), clientId: 'commit-failure-test' });
  let armed = false;
  let failed = false;
  const failOnce = (txn: KafkaTransaction): KafkaTransaction => ({
    send: (records) => txn.send(records),
    sendOffsets: (groupId, offsets, group) => txn.sendOffsets(groupId, offsets, group),
    abort: () => txn.abort(),
    commit: async () => {
      if (armed && !failed) {
        failed = true;
        throw new BrokerConnectionError('Closed connection (injected by the test)');
      }
      return txn.commit();
    },
  });
  const client = Object.create(real) as KafkaClient;
  client.producer = async (options) => {
    const producer = await real.producer(options);
    if (!options?.transactionalId) return producer;
    const wrapped: KafkaProducer = Object.create(producer) as KafkaProducer;
    wrapped.transaction = async () => failOnce(await producer.transaction());
    return wrapped;
  };
  return { client, arm: () => (armed = true), failed: () => failed };
}

describe('a commit that loses its connection (exactly_once)', () => {
  it(
    'closes the task dirty, creates it again and keeps the counts exact, without stopping the instance',
    async () => {
      const setup = await setupWordCount(2);
      const first = makeLines(600, 11);
      await produceLines(setup.input, first.lines);
      const output = await LatestValues.start(setup.output);
      closing.push(output);
      const { client, arm, failed } = clientFailingOneCommit();
      const streams: KafkaStreams = newStreams(setup, await tempStateDir(), {
        processingGuarantee: 'exactly_once',
        client,
      });
      closing.push(streams);
      const warnings: string[] = [];
      const warn = streams.log.warn.bind(streams.log);
      streams.log.warn = ((...args: unknown[]) => {
        const message = args.find((a) => typeof a === 'string');
        if (message) warnings.push(message);
        return (warn as (...a: unknown[]) => void)(...args);
      }) as typeof streams.log.warn;
      const states: string[] = [];
      streams.onStateChange((next) => states.push(next));
      await streams.start();
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(first.counts)), {
        timeoutMs: SETTLE_MS,
      });

      // The next transaction commit fails; more input arrives meanwhile.
      arm();
      const second = makeLines(600, 12);
      await produceLines(setup.input, second.lines, first.lines.length);
      const expected = addCounts(first.counts, second.counts);
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(expected)), {
        timeoutMs: SETTLE_MS,
      });
      await eventually(() => expect(sorted(storeCounts(streams))).toEqual(sorted(expected)), {
        timeoutMs: 10_000,
      });
      expect(failed()).toBe(true);
      const corrupted = warnings.find((w) => /^Task \d+_\d+: commit failed \(/.test(w));
      expect(corrupted).toContain('closing it dirty, it is created again from its changelog');
      expect(streams.error).toBeUndefined();
      expect(states).not.toContain('ERROR');
      expect(streams.state).toBe('RUNNING');
    },
    RUNTIME_TEST_MS,
  );
});
