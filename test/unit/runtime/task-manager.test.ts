/**
 * The task manager on the in-memory Kafka, driven by hand (no consumer): assignments that create and
 * revoke tasks (committed and checkpointed before they close), fencing under exactly_once (closed
 * dirty, state wiped), restoration before processing, and closing.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';

import { describe, expect, it, vi } from 'vitest';

import { BrokerConnectionError } from '../../../src/kafka/errors.ts';
import { readCheckpoint } from '../../../src/runtime/checkpoint.ts';
import { parseTaskId } from '../../../src/runtime/task-assignor.ts';
import { Serdes, Stores, Topology, type KeyValueStore, type Record } from '../../../src/index.ts';
import { sorted } from '../../integration/runtime-support.ts';
import {
  TaskManagerHarness,
  fakeWordCount,
  makeLines,
  outputCounts,
  produceLines,
  tempStateDir,
} from './fake-support.ts';

/** Word → count held by the tasks' stores. */
function storeCounts(h: TaskManagerHarness): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of h.manager.tasks.values()) {
    const store = t.task.getStore<any>('word-counts');
    if (!store) continue;
    for (const { key, value } of store.all() as Iterable<{ key: string; value: unknown }>) {
      const v = typeof value === 'object' && value !== null ? (value as { value: number }).value : value;
      out.set(key, Number(v));
    }
  }
  return out;
}

/**
 * A processor that writes each record to cached stores `a` and `b`; `failInit`: it writes to `a` in
 * init, then fails; `failCloseOfA`: store `a` fails to close (after closing).
 */
function twoStoresTopology(input: string, { failInit = false, failCloseOfA = false } = {}): Topology {
  const S = Serdes.String();
  const cached = (name: string) => {
    const builder = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(name), S, S)
      .withCachingEnabled()
      .withLoggingDisabled();
    if (name !== 'a' || !failCloseOfA) return builder;
    const build = builder.build.bind(builder);
    builder.build = () => {
      const store = build();
      const close = store.close.bind(store);
      store.close = async () => {
        await close();
        throw new Error('close failed');
      };
      return store;
    };
    return builder;
  };
  return new Topology()
    .addSource('source', input, { keySerde: S, valueSerde: S })
    .addProcessor(
      'p',
      () => {
        const stores: Array<KeyValueStore<string, string>> = [];
        return {
          init(context) {
            for (const name of ['a', 'b']) stores.push(context.getStateStore(name));
            if (!failInit) return;
            stores[0]!.put('k', 'v');
            throw new Error('init failed');
          },
          process(record: Record<string, string>) {
            for (const store of stores) store.put(record.key, record.value);
          },
        };
      },
      'source',
    )
    .addStateStore(cached('a'), 'p')
    .addStateStore(cached('b'), 'p');
}

/** Processes input and repartition records until the counts settle (each round commits). */
async function runToEnd(h: TaskManagerHarness, setup: ReturnType<typeof fakeWordCount>): Promise<void> {
  for (let round = 0; round < 3; round++) {
    h.pump(setup.fake);
    await h.commit();
  }
}

describe('TaskManager on an in-memory Kafka', () => {
  it('creates assigned tasks; commits and checkpoints revoked ones before closing them', async () => {
    const setup = fakeWordCount(2);
    const { lines, counts } = makeLines(200, 3);
    produceLines(setup, lines);
    const stateDir = await tempStateDir();
    const h = await TaskManagerHarness.create(setup, stateDir);
    await h.assign([0, 1]);
    expect([...h.manager.tasks.keys()].sort()).toEqual(['0_0', '0_1', '1_0', '1_1']);
    await runToEnd(h, setup);
    expect(sorted(outputCounts(setup))).toEqual(sorted(counts));

    // More input for partition 1, processed but not committed, then partition 1 is taken away.
    produceLines(setup, ['alpha alpha', 'beta'], 200);
    h.pump(setup.fake);
    const commitsBefore = h.commits.length;
    await h.assign([0]);
    expect([...h.manager.tasks.keys()].sort()).toEqual(['0_0', '1_0']);
    // The revoked task's offsets were committed at the rebalance, up to what it processed...
    const committed = new Map(
      h.commits.slice(commitsBefore).flatMap((c) => c.map((o) => [`${o.topic}:${o.partition}`, o.offset])),
    );
    expect(committed.get(`${setup.input}:1`)).toBe(setup.fake.endOffset(setup.input, 1));
    // ...and they left checkpoints at their changelog's end.
    const changelog = h.plan.changelogs.get('word-counts')!;
    const checkpoint = await readCheckpoint(path.join(stateDir, setup.applicationId, '1_1'));
    expect(checkpoint?.get(`${changelog}:1`)).toBe(setup.fake.endOffset(changelog, 1));
    await h.closeAll(true);
  });

  it('closes a fenced task dirty and wipes its state under exactly_once; the others commit', async () => {
    const setup = fakeWordCount(2);
    produceLines(setup, makeLines(100, 4).lines);
    const stateDir = await tempStateDir();
    const h = await TaskManagerHarness.create(setup, stateDir, 'exactly_once');
    await h.assign([0, 1]);
    await runToEnd(h, setup);
    expect(existsSync(path.join(stateDir, setup.applicationId, '1_0'))).toBe(true);

    // A newer owner of task 1_0 fences its producer.
    const zombieKiller = await setup.fake
      .client()
      .producer({ transactionalId: `${setup.applicationId}-1_0` });
    await zombieKiller.initTransactions();
    produceLines(setup, makeLines(50, 5).lines, 100);
    h.pump(setup.fake);
    await h.commit(); // 0_x commit their repartition records
    h.pump(setup.fake);
    const events = setup.fake.events.length;
    await h.commit();

    expect([...h.manager.tasks.keys()].sort()).toEqual(['0_0', '0_1', '1_1']);
    expect(existsSync(path.join(stateDir, setup.applicationId, '1_0'))).toBe(false);
    expect(h.failures).toEqual([]);
    const committedTxns = setup.fake.events.slice(events).filter((e) => e.type === 'txn-commit');
    expect(committedTxns.map((e) => e.type === 'txn-commit' && e.transactionalId)).not.toContain(
      `${setup.applicationId}-1_0`,
    );
    // Its partition's batches are ignored until the group moves the task.
    expect(h.manager.taskFor(h.plan.subTopologies[1]!.sourceTopics[0]!, 0)).toBeUndefined();
    await h.closeAll(true);
  });

  it('restores a task from its changelog before it processes, with its source partitions paused', async () => {
    const setup = fakeWordCount(1);
    const { lines, counts } = makeLines(150, 6);
    produceLines(setup, lines);
    const firstDir = await tempStateDir();
    const first = await TaskManagerHarness.create(setup, firstDir);
    await first.assign([0]);
    await runToEnd(first, setup);
    await first.closeAll(true);

    // A new instance without local state: the count store restores from the changelog.
    const stateDir = await tempStateDir();
    await rm(stateDir, { recursive: true, force: true });
    setup.fake.holdReaders();
    const h = await TaskManagerHarness.create(setup, stateDir);
    await h.assign([0]);
    expect(h.manager.restoringTasks).toEqual(['1_0']);
    const repartition = h.plan.subTopologies[1]!.sourceTopics[0]!;
    expect(h.paused.at(-1)).toEqual([{ topic: repartition, partitions: [0] }]);
    expect(storeCounts(h).size).toBe(0);

    setup.fake.releaseReaders();
    await vi.waitFor(() => expect(h.restoredCalls).toBe(1), { timeout: 10_000 });
    await h.settled();
    expect(h.manager.restoringTasks).toEqual([]);
    expect(h.resumed.at(-1)).toEqual(expect.arrayContaining([{ topic: repartition, partitions: [0] }]));
    expect(sorted(storeCounts(h))).toEqual(sorted(counts));
    await h.closeAll(true);
  });

  it('under exactly_once, a new owner skips input below the offsets committed before its fence', async () => {
    // The consumer of a new owner may read the group's offsets before the previous owner's last
    // transaction is complete (kafkajs cannot ask for stable offsets) and deliver input that the
    // restored stores already count: the task must start at the offsets read after its fence.
    const setup = fakeWordCount(2);
    const { lines, counts } = makeLines(120, 5);
    produceLines(setup, lines);
    const first = await TaskManagerHarness.create(setup, await tempStateDir(), 'exactly_once');
    await first.assign([0, 1]);
    await runToEnd(first, setup);
    expect(sorted(outputCounts(setup))).toEqual(sorted(counts));
    // The first owner dies without closing; a new instance, without local state, takes every task.
    const h = await TaskManagerHarness.create(setup, await tempStateDir(), 'exactly_once');
    await h.assign([0, 1]);
    await vi.waitFor(() => expect(h.manager.restoringTasks).toEqual([]), { timeout: 10_000 });
    await h.settled();
    expect(sorted(storeCounts(h))).toEqual(sorted(counts));
    // Its consumer delivers the whole input again, from offset 0.
    h.pump(setup.fake, 0);
    await h.commit();
    h.pump(setup.fake);
    await h.commit();
    expect(h.failures).toEqual([]);
    expect(sorted(storeCounts(h))).toEqual(sorted(counts));
    expect(sorted(outputCounts(setup))).toEqual(sorted(counts));
    await h.closeAll(true);
  });

  it.each(['exactly_once', 'at_least_once'] as const)(
    'under %s, a commit that loses the broker closes its tasks dirty; they come back and count exactly',
    async (guarantee) => {
      const setup = fakeWordCount(2);
      const first = makeLines(100, 7);
      produceLines(setup, first.lines);
      const h = await TaskManagerHarness.create(setup, await tempStateDir(), guarantee);
      await h.assign([0, 1]);
      await runToEnd(h, setup);
      // More input, processed; the broker goes away during the commit (exactly_once: the
      // transaction of the first task that sends; at_least_once: the instance's one produce).
      const second = makeLines(60, 8);
      produceLines(setup, second.lines, first.lines.length);
      h.pump(setup.fake);
      setup.fake.failNextSend = new BrokerConnectionError('fake kafka: Closed connection');
      await h.commit();
      expect(h.failures).toEqual([]);
      const corrupted = h.manager.corruptedTasks;
      expect(corrupted).toHaveLength(guarantee === 'exactly_once' ? 1 : 4);
      for (const id of corrupted) {
        expect(h.manager.tasks.has(id)).toBe(false);
        expect(existsSync(h.stateDirOf(id))).toBe(false); // its state is wiped
      }

      // The next tick creates them again: restored from the changelog, consumer rewound to the offsets.
      await h.revive();
      expect(h.manager.corruptedTasks).toEqual([]);
      for (const id of corrupted) expect(h.manager.tasks.has(id)).toBe(true);
      await vi.waitFor(() => expect(h.manager.restoringTasks).toEqual([]), { timeout: 10_000 });
      await h.settled();
      const admin = await setup.fake.client().admin();
      const rewinds = [];
      for (const id of corrupted) {
        const { subtopology, partition } = parseTaskId(id);
        const sub = h.plan.subTopologies.find((s) => s.id === subtopology)!;
        const committed = await admin.committedOffsets(setup.applicationId, sub.sourceTopics);
        for (const topic of sub.sourceTopics) {
          const offset = committed.find((o) => o.topic === topic && o.partition === partition)!.offset;
          expect(offset).toBeGreaterThan(0);
          rewinds.push({ topic, partition, offset });
        }
      }
      expect(h.seeks).toEqual(rewinds);
      await runToEnd(h, setup);
      expect(h.failures).toEqual([]);
      const expected = new Map(first.counts);
      for (const [word, n] of second.counts) expected.set(word, (expected.get(word) ?? 0) + n);
      expect(sorted(storeCounts(h))).toEqual(sorted(expected));
      expect(sorted(outputCounts(setup))).toEqual(sorted(expected));
      await h.closeAll(true);
      expect(h.cacheBudget.bytes).toBe(0); // the wiped tasks' caches gave their bytes back too
    },
  );

  it("its tasks' caches share the thread's budget and stay within it; revoked tasks give their bytes back", async () => {
    const setup = fakeWordCount(2);
    const first = makeLines(200, 7);
    produceLines(setup, first.lines);
    // Its 6 words' count entries cost 240+ bytes each: within 600 bytes the count tasks must evict.
    expect(first.counts.size).toBe(6);
    const h = await TaskManagerHarness.create(setup, await tempStateDir(), 'at_least_once', 600);
    await h.assign([0, 1]);
    for (const t of h.manager.tasks.values()) expect(t.task.cacheBudget).toBe(h.cacheBudget);
    for (let round = 0; round < 3; round++) {
      h.pump(setup.fake);
      expect(h.cacheBudget.bytes).toBeLessThanOrEqual(600);
      await h.commit();
    }
    expect(h.cacheBudget.bytes).toBeGreaterThan(0);
    expect(sorted(storeCounts(h))).toEqual(sorted(first.counts));
    expect(sorted(outputCounts(setup))).toEqual(sorted(first.counts));

    await h.assign([]); // every task revoked
    expect(h.manager.tasks.size).toBe(0);
    expect(h.cacheBudget.bytes).toBe(0);
  });

  it('closes the stores of a task whose init fails: its caches give their bytes back', async () => {
    const setup = fakeWordCount(1);
    const topology = () => twoStoresTopology(setup.input, { failInit: true });
    const h = await TaskManagerHarness.create({ ...setup, topology }, await tempStateDir());
    await expect(h.assign([0])).rejects.toThrow(/init failed/);
    expect(h.manager.tasks.size).toBe(0);
    expect(h.cacheBudget.bytes).toBe(0);
  });

  it('closes every store of a task even when one fails to close: no cache keeps its bytes', async () => {
    const setup = fakeWordCount(1);
    produceLines(setup, makeLines(20, 3).lines);
    const topology = () => twoStoresTopology(setup.input, { failCloseOfA: true });
    const h = await TaskManagerHarness.create({ ...setup, topology }, await tempStateDir());
    await h.assign([0]);
    h.pump(setup.fake);
    expect(h.cacheBudget.bytes).toBeGreaterThan(0);
    await h.closeAll(true); // the close of `a` fails (logged), `b` is closed all the same
    expect(h.cacheBudget.bytes).toBe(0);
  });

  it('under exactly_once, checkpoints only at a clean close, at the changelog end', async () => {
    const setup = fakeWordCount(1);
    produceLines(setup, makeLines(20, 9).lines);
    const changelog = `${setup.applicationId}-word-counts-changelog:0`;
    const cleanDir = await tempStateDir();
    const clean = await TaskManagerHarness.create(setup, cleanDir, 'exactly_once');
    await clean.assign([0]);
    await runToEnd(clean, setup);
    // Running: no checkpoint (the stores may hold what an aborted transaction wrote).
    expect(await readCheckpoint(path.join(cleanDir, setup.applicationId, '1_0'))).toBeUndefined();
    await clean.closeAll(true);
    expect(clean.manager.tasks.size).toBe(0);
    const checkpoint = await readCheckpoint(path.join(cleanDir, setup.applicationId, '1_0'));
    expect(checkpoint?.get(changelog)).toBe(setup.fake.endOffset(changelog.split(':')[0]!, 0));
    expect(checkpoint?.get(changelog)).toBeGreaterThan(0);

    const dirtyDir = await tempStateDir();
    const dirty = await TaskManagerHarness.create(setup, dirtyDir, 'exactly_once');
    await dirty.assign([0]);
    await runToEnd(dirty, setup);
    await dirty.closeAll(false);
    expect(dirty.manager.tasks.size).toBe(0);
    expect(await readCheckpoint(path.join(dirtyDir, setup.applicationId, '1_0'))).toBeUndefined();
  });
});
