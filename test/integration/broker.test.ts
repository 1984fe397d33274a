/**
 * The broker of global-setup.ts is a real Kafka broker and fit for lambda-streams: compacted topics,
 * consumer groups, and transactions with offsets committed through the transaction (exactly-once).
 */
import kafkajs from 'kafkajs';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  brokers,
  committedOffsets,
  connectedProducer,
  consumeN,
  createTopic,
  eventually,
  produce,
  retryKafka,
  uniqueGroup,
  uniqueTopic,
  withAdmin,
} from './helpers.ts';

const { ConfigResourceTypes } = kafkajs;

describe('the integration broker', () => {
  it('is provided by globalSetup and serves metadata', async () => {
    expect(brokers().length).toBeGreaterThan(0);
    const cluster = await withAdmin((admin) => admin.describeCluster());
    expect(cluster.brokers.length).toBe(1);
    expect(cluster.controller).not.toBeNull();
  });

  it('creates compacted topics (changelogs need cleanup.policy=compact)', async () => {
    const topic = uniqueTopic('changelog');
    await createTopic(topic, { partitions: 2, config: { 'cleanup.policy': 'compact' } });
    const { resources } = await withAdmin((admin) =>
      admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
        includeSynonyms: false,
      }),
    );
    const entry = resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy');
    expect(entry?.configValue).toBe('compact');
    const meta = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [topic] }));
    expect(meta.topics[0]?.partitions).toHaveLength(2);
  });

  it('does not auto-create topics', async () => {
    const topic = uniqueTopic('never-created');
    const producer = await connectedProducer({ retry: { retries: 1, initialRetryTime: 100 } });
    try {
      await expect(producer.send({ topic, messages: [{ value: 'x' }] })).rejects.toThrow();
    } finally {
      await producer.disconnect();
    }
    const topics = await withAdmin((admin) => admin.listTopics());
    expect(topics).not.toContain(topic);
  });

  it('round-trips keys, values and headers through a consumer group', async () => {
    const topic = uniqueTopic('roundtrip');
    await createTopic(topic, { partitions: 3 });
    const sent = Array.from({ length: 30 }, (_, i) => ({
      key: `key-${i % 7}`,
      value: JSON.stringify({ n: i }),
      headers: { 'trace-id': `t-${i}`, source: 'broker.test' },
    }));
    const metadata = await produce(topic, sent);
    expect(metadata.every((m) => m.errorCode === 0)).toBe(true);

    const groupId = uniqueGroup('roundtrip');
    const received = await consumeN(topic, sent.length, { groupId, settleMs: 300 });
    expect(received).toHaveLength(sent.length);
    const byTrace = new Map(received.map((r) => [r.headers['trace-id'], r]));
    for (const [i, message] of sent.entries()) {
      const record = byTrace.get(`t-${i}`);
      expect(record?.key).toBe(message.key);
      expect(record?.value).toBe(message.value);
      expect(record?.headers.source).toBe('broker.test');
    }
    // Same key → same partition (the default partitioner is murmur2, as in the Java client).
    const partitionOfKey = new Map<string, number>();
    for (const r of received) {
      const seen = partitionOfKey.get(r.key ?? '');
      if (seen !== undefined) expect(r.partition).toBe(seen);
      partitionOfKey.set(r.key ?? '', r.partition);
    }
    // Within a partition, records arrive in offset order.
    for (const partition of [0, 1, 2]) {
      const offsets = received.filter((r) => r.partition === partition).map((r) => BigInt(r.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    // The group committed its position.
    await eventually(async () => {
      const committed = await committedOffsets(groupId, topic);
      let total = 0n;
      for (const offset of committed.values()) total += BigInt(offset) > 0n ? BigInt(offset) : 0n;
      expect(total).toBe(BigInt(sent.length));
    });
  });

  describe('transactions', () => {
    const input = uniqueTopic('txn-in');
    const output = uniqueTopic('txn-out');
    const groupId = uniqueGroup('txn-app');
    let producer: Producer;

    beforeAll(async () => {
      await createTopic(input);
      await createTopic(output);
      await produce(
        input,
        Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `in-${i}` })),
      );
      producer = await connectedProducer({
        transactionalId: `broker-test-${uniqueGroup('txn')}`,
        idempotent: true,
        maxInFlightRequests: 1,
      });
    });

    afterAll(async () => {
      await producer?.disconnect();
    });

    /** One consume-transform-produce step as the runtime does it: output records + input offsets, atomically. */
    async function transactionalStep(values: string[], nextInputOffset: number, outcome: 'commit' | 'abort') {
      const txn = await producer.transaction();
      try {
        await txn.send({ topic: output, messages: values.map((value) => ({ key: value, value })) });
        // kafkajs does not retry AddOffsetsToTxn inside sendOffsets; a real user retries retriable errors.
        await retryKafka(() =>
          txn.sendOffsets({
            consumerGroupId: groupId,
            topics: [{ topic: input, partitions: [{ partition: 0, offset: String(nextInputOffset) }] }],
          }),
        );
        if (outcome === 'commit') await txn.commit();
        else await txn.abort();
      } catch (err) {
        if (txn.isActive()) await txn.abort();
        throw err;
      }
    }

    it('commits output and group offsets atomically, and aborts both', async () => {
      await transactionalStep(['c1', 'c2', 'c3'], 3, 'commit');
      await eventually(async () => expect((await committedOffsets(groupId, input)).get(0)).toBe('3'));

      await transactionalStep(['a1', 'a2'], 6, 'abort');
      // The aborted transaction's offsets never become visible.
      expect((await committedOffsets(groupId, input)).get(0)).toBe('3');

      await transactionalStep(['c4', 'c5'], 8, 'commit');
      await eventually(async () => expect((await committedOffsets(groupId, input)).get(0)).toBe('8'));
    });

    it('hides aborted records from read_committed consumers only', async () => {
      // One partition: aborted records a1, a2 sit between c3 and c4 in the log.
      const committed = await consumeN(output, 5, { isolationLevel: 'read_committed', settleMs: 500 });
      expect(committed.map((r) => r.value)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);

      const everything = await consumeN(output, 7, { isolationLevel: 'read_uncommitted', settleMs: 500 });
      expect(everything.map((r) => r.value)).toEqual(['c1', 'c2', 'c3', 'a1', 'a2', 'c4', 'c5']);
    });
  });
});
