/**
 * The commit protocols of the record collector on the in-memory Kafka, with stand-in tasks (their
 * consumed offsets, a store flush and a state directory).
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it, vi } from 'vitest';

import { childLogger } from '../../../src/logger.ts';
import type { ConsumerGroupMetadata, TopicPartitionOffset } from '../../../src/kafka/client.ts';
import { RebalanceInProgressError, classifyKafkaError } from '../../../src/kafka/errors.ts';
import { StreamsMetrics } from '../../../src/metrics/metrics.ts';
import type { StreamTask } from '../../../src/processor/internals/task.ts';
import { readCheckpoint } from '../../../src/runtime/checkpoint.ts';
import {
  RecordCollector,
  SEND_AHEAD_RECORDS,
  type CommittableTask,
  type ProcessingGuarantee,
} from '../../../src/runtime/record-collector.ts';
import { FakeKafka } from './fake-kafka.ts';
import { tempStateDir } from './fake-support.ts';

const APP = 'rc-app';

function setup(
  guarantee: ProcessingGuarantee,
  commitOffsets = async (_o: TopicPartitionOffset[]) => {},
  perInstance?: { stateDir: string; group: () => ConsumerGroupMetadata | undefined },
) {
  const fake = new FakeKafka();
  fake.createTopic('in', 2);
  fake.createTopic('out', 2);
  fake.createTopic('store-changelog', 2);
  const client = fake.client({ supportsGroupMetadataCommit: perInstance !== undefined });
  const collector = new RecordCollector({
    applicationId: APP,
    guarantee,
    client,
    admin: () => client.admin(),
    metrics: new StreamsMetrics({ application: APP }),
    log: childLogger({ component: 'test' }),
    classify: (error) => classifyKafkaError(error),
    commitOffsets,
    groupMetadata: perInstance?.group ?? (() => undefined),
    stateDir: perInstance?.stateDir ?? path.join(tmpdir(), 'rc-app-unused'),
  });
  return { fake, collector };
}

async function standIn(collector: RecordCollector, id: string, partition: number, dir: string) {
  const consumedOffsets = new Map<string, number>();
  const flushStores = vi.fn(async () => {});
  const t: CommittableTask = {
    id,
    partition,
    task: { consumedOffsets, flushStores, taskDir: path.join(dir, id) } as unknown as StreamTask,
    output: await collector.createTaskOutput(id),
    changelogOffsets: new Map([[`store-changelog:${partition}`, 0]]),
  };
  return { t, consumedOffsets, flushStores };
}

const record = (topic: string, partition: number | undefined, value: string) => ({
  topic,
  ...(partition === undefined ? {} : { partition }),
  key: Buffer.from(value),
  value: Buffer.from(value),
  timestamp: 1,
});

describe('RecordCollector, at_least_once', () => {
  it('produces every task in one go, then flushes, checkpoints and commits the offsets', async () => {
    const commits: TopicPartitionOffset[][] = [];
    const { fake, collector } = setup('at_least_once', async (o) => void commits.push(o));
    await collector.start();
    const dir = await tempStateDir();
    const a = await standIn(collector, '0_0', 0, dir);
    const b = await standIn(collector, '0_1', 1, dir);
    fake.produce('store-changelog', [record('store-changelog', 1, 'earlier')]);
    a.t.output.send(record('out', undefined, 'a1'));
    a.t.output.send(record('store-changelog', 0, 'a1'));
    b.t.output.send(record('store-changelog', 1, 'b1'));
    b.t.output.send(record('store-changelog', 1, 'b2'));
    a.consumedOffsets.set('in:0', 3);
    b.consumedOffsets.set('in:1', 7);

    await collector.commit([a.t, b.t], async () => {});
    expect(fake.records('out')).toHaveLength(1);
    // The produce responses move each task's checkpoint to its changelog's end.
    expect(a.t.changelogOffsets.get('store-changelog:0')).toBe(1);
    expect(b.t.changelogOffsets.get('store-changelog:1')).toBe(3);
    expect(a.flushStores).toHaveBeenCalledOnce();
    expect((await readCheckpoint(path.join(dir, '0_1')))?.get('store-changelog:1')).toBe(3);
    expect(commits).toEqual([
      [
        { topic: 'in', partition: 0, offset: 3 },
        { topic: 'in', partition: 1, offset: 7 },
      ],
    ]);
    // Nothing new consumed: no offset commit.
    await collector.commit([a.t, b.t], async () => {});
    expect(commits).toHaveLength(1);
  });

  it('retries offsets the group rejected during a rebalance at the next commit', async () => {
    let reject = true;
    const commits: TopicPartitionOffset[][] = [];
    const { collector } = setup('at_least_once', async (o) => {
      if (reject) throw new RebalanceInProgressError('rebalancing');
      commits.push(o);
    });
    await collector.start();
    const a = await standIn(collector, '0_0', 0, await tempStateDir());
    a.consumedOffsets.set('in:0', 4);
    await expect(collector.commit([a.t], async () => {})).resolves.toBeUndefined();
    reject = false;
    await collector.commit([a.t], async () => {});
    expect(commits).toEqual([[{ topic: 'in', partition: 0, offset: 4 }]]);
  });
});

describe('RecordCollector, sending ahead of the commit', () => {
  it('at_least_once: a full batch is produced before the commit, which then sends the rest and checkpoints all', async () => {
    const commits: TopicPartitionOffset[][] = [];
    const { fake, collector } = setup('at_least_once', async (o) => void commits.push(o));
    await collector.start();
    const dir = await tempStateDir();
    const a = await standIn(collector, '0_0', 0, dir);
    for (let i = 0; i < SEND_AHEAD_RECORDS; i++) a.t.output.send(record('store-changelog', 0, `v${i}`));
    collector.sendAhead(a.t);
    expect(a.t.output.bufferedRecords).toBe(0);
    // Visible before any commit: downstream readers (repartition topics) need not wait for it.
    await vi.waitFor(() => expect(fake.records('store-changelog')).toHaveLength(SEND_AHEAD_RECORDS));
    expect(commits).toEqual([]);
    a.t.output.send(record('store-changelog', 0, 'last'));
    collector.sendAhead(a.t); // below the batch size: stays buffered
    expect(a.t.output.bufferedRecords).toBe(1);
    a.consumedOffsets.set('in:0', 9);
    await collector.commit([a.t], async () => {});
    expect(
      fake
        .records('store-changelog')
        .map((r) => r.value!.toString())
        .slice(-2),
    ).toEqual([`v${SEND_AHEAD_RECORDS - 1}`, 'last']);
    expect((await readCheckpoint(path.join(dir, '0_0')))?.get('store-changelog:0')).toBe(
      SEND_AHEAD_RECORDS + 1,
    );
    expect(commits).toEqual([[{ topic: 'in', partition: 0, offset: 9 }]]);
  });

  it('at_least_once: a failed send ahead fails the next commit, which commits no offsets', async () => {
    const commits: TopicPartitionOffset[][] = [];
    const { collector } = setup('at_least_once', async (o) => void commits.push(o));
    await collector.start();
    const a = await standIn(collector, '0_0', 0, await tempStateDir());
    for (let i = 0; i < SEND_AHEAD_RECORDS; i++) a.t.output.send(record('no-such-topic', 0, `v${i}`));
    collector.sendAhead(a.t);
    a.consumedOffsets.set('in:0', 5);
    await expect(collector.commit([a.t], async () => {})).rejects.toThrow(
      /sending records ahead of the commit failed/,
    );
    expect(commits).toEqual([]);
  });

  it('exactly_once: records sent ahead stay invisible to read_committed readers until the commit', async () => {
    const { fake, collector } = setup('exactly_once');
    await collector.start();
    const a = await standIn(collector, '0_0', 0, await tempStateDir());
    for (let i = 0; i < SEND_AHEAD_RECORDS; i++) a.t.output.send(record('out', 0, `v${i}`));
    collector.sendAhead(a.t);
    await a.t.output.sending;
    expect(a.t.output.transaction).toBeDefined();
    expect(fake.records('out')).toHaveLength(0);
    a.t.output.send(record('out', 0, 'last'));
    a.consumedOffsets.set('in:0', 3);
    await collector.commit([a.t], async () => {});
    expect(fake.records('out')).toHaveLength(SEND_AHEAD_RECORDS + 1);
    expect(fake.group(APP).committed).toEqual(new Map([['in:0', 3]]));
    expect(a.t.output.transaction).toBeUndefined();
  });

  it('exactly_once: a task fenced while sending ahead goes to onFenced and its records are aborted', async () => {
    const { fake, collector } = setup('exactly_once');
    await collector.start();
    const a = await standIn(collector, '0_0', 0, await tempStateDir());
    await (await fake.client().producer({ transactionalId: `${APP}-0_0` })).initTransactions();
    for (let i = 0; i < SEND_AHEAD_RECORDS; i++) a.t.output.send(record('out', 0, `v${i}`));
    collector.sendAhead(a.t);
    a.consumedOffsets.set('in:0', 3);
    const fenced: CommittableTask[] = [];
    await collector.commit([a.t], async (t) => void fenced.push(t));
    expect(fenced).toEqual([a.t]);
    expect(fake.records('out')).toHaveLength(0);
    expect(fake.group(APP).committed).toEqual(new Map());
  });
});

describe('RecordCollector, exactly_once', () => {
  it("commits each task's records with its offsets in one transaction; a fenced task goes to onFenced", async () => {
    const { fake, collector } = setup('exactly_once');
    await collector.start();
    const dir = await tempStateDir();
    const a = await standIn(collector, '0_0', 0, dir);
    const b = await standIn(collector, '0_1', 1, dir);
    a.t.output.send(record('out', 0, 'a'));
    b.t.output.send(record('out', 1, 'b'));
    a.consumedOffsets.set('in:0', 1);
    b.consumedOffsets.set('in:1', 1);
    // A newer owner of 0_0 fences its producer.
    await (await fake.client().producer({ transactionalId: `${APP}-0_0` })).initTransactions();

    const fenced: CommittableTask[] = [];
    await collector.commit([a.t, b.t], async (t) => void fenced.push(t));
    expect(fenced).toEqual([a.t]);
    expect(fake.records('out').map((r) => r.value!.toString())).toEqual(['b']);
    expect(fake.group(APP).committed).toEqual(new Map([['in:1', 1]]));
    expect(b.flushStores).toHaveBeenCalledOnce();
    expect(a.flushStores).not.toHaveBeenCalled();
  });

  it('checkpoints the changelog end at a clean close', async () => {
    const { fake, collector } = setup('exactly_once');
    const a = await standIn(collector, '0_1', 1, await tempStateDir());
    fake.produce('store-changelog', [record('store-changelog', 1, 'x'), record('store-changelog', 1, 'y')]);
    await collector.changelogOffsetsAtClose(a.t);
    expect(a.t.changelogOffsets.get('store-changelog:1')).toBe(2);
  });
});

describe('RecordCollector, exactly_once with one producer per instance (KIP-447)', () => {
  it("commits every task in one transaction with the member's generation, under a kept process id", async () => {
    const stateDir = await tempStateDir();
    const member = { groupId: APP, generationId: 0, memberId: 'm-1' };
    const { fake, collector } = setup('exactly_once', undefined, { stateDir, group: () => member });
    await collector.start();
    const a = await standIn(collector, '0_0', 0, stateDir);
    const b = await standIn(collector, '0_1', 1, stateDir);
    expect(a.t.output.producer).toBeUndefined();
    a.t.output.send(record('out', 0, 'a'));
    b.t.output.send(record('out', 1, 'b'));
    a.consumedOffsets.set('in:0', 1);
    b.consumedOffsets.set('in:1', 4);
    await collector.commit([a.t, b.t], async () => expect.fail('nothing migrated'));
    const commits = fake.events.filter((e) => e.type === 'txn-commit');
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ records: 2 });
    const processId = (await readFile(path.join(stateDir, APP, 'process-id'), 'utf8')).trim();
    expect(commits[0]).toMatchObject({ transactionalId: `${APP}-${processId}` });
    expect(fake.group(APP).committed).toEqual(
      new Map([
        ['in:0', 1],
        ['in:1', 4],
      ]),
    );
    expect(a.flushStores).toHaveBeenCalledOnce();
    expect(b.flushStores).toHaveBeenCalledOnce();

    // A restart keeps the process id: its producer fences the previous one of this instance.
    const again = setup('exactly_once', undefined, { stateDir, group: () => member });
    await again.collector.start();
    expect((await readFile(path.join(stateDir, APP, 'process-id'), 'utf8')).trim()).toBe(processId);
  });

  it('migrates every task when the group moved past the member, committing nothing', async () => {
    const stateDir = await tempStateDir();
    const { fake, collector } = setup('exactly_once', undefined, {
      stateDir,
      group: () => ({ groupId: APP, generationId: 7, memberId: 'zombie' }),
    });
    await collector.start();
    const a = await standIn(collector, '0_0', 0, stateDir);
    const b = await standIn(collector, '0_1', 1, stateDir);
    a.t.output.send(record('out', 0, 'a'));
    a.consumedOffsets.set('in:0', 1);
    b.consumedOffsets.set('in:1', 1);
    const migrated: CommittableTask[] = [];
    await collector.commit([a.t, b.t], async (t) => void migrated.push(t));
    expect(migrated).toEqual([a.t, b.t]);
    expect(fake.records('out')).toEqual([]);
    expect(fake.group(APP).committed).toEqual(new Map());
    expect(a.flushStores).not.toHaveBeenCalled();
  });
});
