/**
 * The Kafka port's contract, checked the same way against every adapter (kafkajs and
 * @platformatic/kafka) on the real broker: what the runtime, batch and serving layers rely on.
 */
import { afterAll, describe, expect, it } from 'vitest';

import type {
  ConsumedRecord,
  GroupAssignor,
  KafkaAdmin,
  KafkaClient,
  OutgoingRecord,
} from '../../src/kafka/client.ts';
import { classifyKafkaError } from '../../src/kafka/errors.ts';
import { KAFKA_CLIENT_NAMES, kafkaClientFactory, loadKafkaClient } from '../../src/kafka/factory.ts';
import { defaultPartition } from '../../src/kafka/partitioner.ts';
import { brokers, eventually, uniqueGroup, uniqueTopic } from './helpers.ts';

function record(topic: string, i: number, extra: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return {
    topic,
    key: Buffer.from(`k${i}`),
    value: Buffer.from(`v${i}`),
    timestamp: 1_700_000_000_000 + i,
    ...extra,
  };
}

async function readAll(
  client: KafkaClient,
  topic: string,
  partitions: number,
  isolationLevel: 'read_committed' | 'read_uncommitted',
): Promise<ConsumedRecord[]> {
  const admin = await client.admin();
  try {
    const ends = await admin.endOffsets(topic);
    const out: ConsumedRecord[] = [];
    await client.fetchRanges(
      ends
        .filter((e) => e.partition < partitions)
        .map((e) => ({ topic, partition: e.partition, fromOffset: e.low, toOffset: e.high })),
      { isolationLevel, onBatch: (records) => void out.push(...records), idleTimeoutMs: 20_000 },
    );
    return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    await admin.close();
  }
}

for (const name of KAFKA_CLIENT_NAMES) await loadKafkaClient(name);

describe.each(KAFKA_CLIENT_NAMES)('Kafka port contract on %s', (name) => {
  const client = kafkaClientFactory(name)({ brokers: brokers(), clientId: `contract-${name}` });
  let admin: KafkaAdmin;
  const created: string[] = [];

  async function topic(partitions = 1, config: Record<string, string> = {}): Promise<string> {
    const t = uniqueTopic(`contract-${name}`);
    admin ??= await client.admin();
    expect(await admin.createTopics([{ name: t, partitions, config }])).toEqual([t]);
    created.push(t);
    return t;
  }

  afterAll(async () => {
    if (admin) {
      await admin.deleteTopics(created).catch(() => {});
      await admin.close();
    }
  });

  it('admin: creates topics once, counts partitions, reports configs and offsets, deletes', async () => {
    const t = await topic(3, { 'cleanup.policy': 'compact' });
    expect(await admin.createTopics([{ name: t, partitions: 3 }])).toEqual([]);
    expect(await admin.partitionCounts([t, 'no-such-topic-here'])).toEqual(new Map([[t, 3]]));
    expect(await admin.listTopics()).toContain(t);
    const configs = await admin.topicConfigs([t]);
    expect(configs.get(t)?.['cleanup.policy']).toBe('compact');
    expect(configs.get(t)?.['retention.ms']).toBeDefined();
    expect(await admin.endOffsets(t)).toEqual([
      { partition: 0, low: 0, high: 0 },
      { partition: 1, low: 0, high: 0 },
      { partition: 2, low: 0, high: 0 },
    ]);
    const gone = await topic(1);
    await admin.deleteTopics([gone]);
    await expect.poll(async () => (await admin.listTopics()).includes(gone), { timeout: 20_000 }).toBe(false);
  });

  it('produces in order with headers and null keys/values, partitioned by key like Java', async () => {
    const t = await topic(4);
    const producer = await client.producer();
    try {
      const records = Array.from({ length: 200 }, (_, i) => record(t, i, { partition: i % 2 }));
      records.push(
        record(t, 900, { key: null, partition: 3, headers: { h1: 'text', h2: Buffer.from([1, 2]) } }),
      );
      records.push(record(t, 901, { value: null, partition: 3 }));
      const produced = await producer.send(records);
      expect(produced.find((p) => p.partition === 0)).toMatchObject({ topic: t, baseOffset: 0, count: 100 });
      // Keyed records without a partition land where Java's default partitioner puts them.
      await producer.send([record(t, 1, { value: Buffer.from('by-key') })]);
    } finally {
      await producer.close();
    }
    const read = await readAll(client, t, 4, 'read_uncommitted');
    const p0 = read.filter((r) => r.partition === 0);
    expect(p0.map((r) => r.value?.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `v${i * 2}`));
    expect(p0.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(p0[5]!.timestamp).toBe(1_700_000_000_010);
    const p3 = read.filter((r) => r.partition === 3);
    expect(p3[0]!.key).toBeNull();
    expect(p3[0]!.headers.h1?.toString()).toBe('text');
    expect([...(p3[0]!.headers.h2 as Buffer)]).toEqual([1, 2]);
    expect(p3[1]!.value).toBeNull();
    expect(p3[1]!.key?.toString()).toBe('k901');
    expect(read.find((r) => r.value?.toString() === 'by-key')?.partition).toBe(
      defaultPartition(Buffer.from('k1'), 4),
    );
  });

  it('transactions: committed records are visible under read_committed, aborted ones are not', async () => {
    const t = await topic(1);
    const producer = await client.producer({ transactionalId: uniqueGroup(`contract-txn-${name}`) });
    try {
      await producer.initTransactions();
      for (let round = 0; round < 3; round++) {
        const aborted = await producer.transaction();
        await aborted.send([record(t, 100 + round, { partition: 0 })]);
        await aborted.abort();
        const committed = await producer.transaction();
        await committed.send([record(t, round, { partition: 0 })]);
        await committed.commit();
      }
    } finally {
      await producer.close();
    }
    const committedOnly = await readAll(client, t, 1, 'read_committed');
    expect(committedOnly.map((r) => r.value?.toString())).toEqual(['v0', 'v1', 'v2']);
    const everything = await readAll(client, t, 1, 'read_uncommitted');
    expect(everything.map((r) => r.value?.toString())).toEqual(['v100', 'v0', 'v101', 'v1', 'v102', 'v2']);
  });

  it('a newer producer with the same transactional id fences the old one', async () => {
    const t = await topic(1);
    const id = uniqueGroup(`contract-fence-${name}`);
    const zombie = await client.producer({ transactionalId: id });
    const successor = await client.producer({ transactionalId: id });
    try {
      await zombie.initTransactions();
      const open = await zombie.transaction();
      await open.send([record(t, 1, { partition: 0 })]);
      await successor.initTransactions();
      const failure = await open
        .send([record(t, 2, { partition: 0 })])
        .then(() => open.commit())
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(failure).toBeDefined();
      expect(classifyKafkaError(failure, (e) => client.classifyError?.(e))).toBe('fenced');
      const txn = await successor.transaction();
      await txn.send([record(t, 3, { partition: 0 })]);
      await txn.commit();
    } finally {
      await zombie.close().catch(() => {});
      await successor.close();
    }
    // The coordinator writes the commit markers to the partitions after EndTxn answers, so the last
    // stable offset may trail the commit for a moment.
    await eventually(async () => {
      const read = await readAll(client, t, 1, 'read_committed');
      expect(read.map((r) => r.value?.toString())).toEqual(['v3']);
    });
  });

  it('a consumer group runs our assignor with userData both ways and commits offsets', async () => {
    const t = await topic(2);
    const groupId = uniqueGroup(`contract-group-${name}`);
    const producer = await client.producer();
    await producer.send(Array.from({ length: 10 }, (_, i) => record(t, i, { partition: i % 2 })));
    await producer.close();
    const seenUserData: string[] = [];
    const assignor: GroupAssignor = {
      name: 'contract-assignor',
      version: 1,
      subscriptionUserData: () => Buffer.from('from-member'),
      assign: ({ members, partitionCounts }) => {
        for (const m of members) seenUserData.push(m.userData.toString());
        const partitions = Array.from({ length: partitionCounts.get(t) ?? 0 }, (_, i) => i);
        return new Map(
          members.map((m, i) => [
            m.memberId,
            {
              assignment: i === 0 ? { [t]: partitions } : {},
              userData: Buffer.from(`to-${i}`),
            },
          ]),
        );
      },
    };
    const consumer = client.consumer({ groupId, assignor, isolationLevel: 'read_committed' });
    const received: ConsumedRecord[] = [];
    let assigned: Map<string, number[]> | undefined;
    let committedAt = -1;
    try {
      await consumer.subscribe([t]);
      await consumer.run(
        async (batch) => {
          received.push(...batch.records);
          if (batch.committableOffset !== undefined) {
            await consumer.commitOffsets([
              { topic: batch.topic, partition: batch.partition, offset: batch.committableOffset },
            ]);
            committedAt = Math.max(committedAt, batch.committableOffset);
          }
        },
        { onAssignment: (assignment) => (assigned = assignment) },
      );
      await expect.poll(() => received.length, { timeout: 30_000 }).toBe(10);
      expect(assigned?.get(t)?.sort()).toEqual([0, 1]);
      expect(seenUserData).toEqual(['from-member']);
      const members = await admin.groupAssignments(groupId);
      expect(members).toHaveLength(1);
      expect(members[0]!.assignment[t]?.sort()).toEqual([0, 1]);
      expect(members[0]!.userData.toString()).toBe('to-0');
      for (const p of [0, 1]) {
        const inOrder = received.filter((r) => r.partition === p).map((r) => r.offset);
        expect(inOrder).toEqual([0, 1, 2, 3, 4]);
      }
      await expect
        .poll(async () => (await admin.committedOffsets(groupId, [t])).map((o) => o.offset), {
          timeout: 20_000,
        })
        .toEqual([5, 5]);
    } finally {
      await consumer.close();
    }
    await admin.deleteGroups([groupId]);
    expect(committedAt).toBe(5);
  });
});
