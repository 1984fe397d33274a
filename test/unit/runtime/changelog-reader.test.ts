/**
 * The changelog reader on the in-memory Kafka: a restoring task replays its changelog gap, logs its
 * progress and reports the end; a standby applies the changelog from its checkpoint on.
 */
import { describe, expect, it, vi } from 'vitest';

import { StreamsMetrics } from '../../../src/metrics/metrics.ts';
import type { StreamTask } from '../../../src/processor/internals/task.ts';
import {
  ChangelogReader,
  restoreProgress,
  type RestorableStore,
  type RestoringTask,
  type StandbyTask,
} from '../../../src/runtime/changelog-reader.ts';
import type { SubTopologyPlan, TopicPlan } from '../../../src/runtime/topic-plan.ts';
import { FakeKafka } from './fake-kafka.ts';

const CHANGELOG = 'app-counts-changelog';

function fakeStore(): RestorableStore & { applied: unknown[] } {
  const applied: unknown[] = [];
  return { applied, restoreBatch: (records: unknown[]) => void applied.push(...records) } as never;
}

function setup(options: { restoreFlushRecords?: number } = {}) {
  const fake = new FakeKafka();
  fake.createTopic(CHANGELOG, 2);
  fake.produce(
    CHANGELOG,
    Array.from({ length: 120 }, (_, i) => ({
      partition: 1,
      key: Buffer.from(`k${i % 10}`),
      value: Buffer.from(String(i)),
      timestamp: i,
    })),
  );
  const client = fake.client();
  const sub = { id: 0, stores: ['counts'], sourceTopics: ['in'] } as unknown as SubTopologyPlan;
  const plan = { changelogs: new Map([['counts', CHANGELOG]]) } as unknown as TopicPlan;
  const log = { info: vi.fn(), warn: vi.fn(), debug: vi.fn(), error: vi.fn() };
  const tasks = new Map<string, RestoringTask>();
  const standbys = new Map<string, StandbyTask>();
  const restored: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  const reader = new ChangelogReader({
    client,
    admin: () => client.admin(),
    plan,
    metrics: new StreamsMetrics({ application: 'app' }),
    log: log as never,
    restoreLogIntervalMs: 0,
    run: (fn) => (chain = chain.then(fn)),
    onError: (error) => {
      throw error;
    },
    activeTask: (id) => tasks.get(id),
    standbyTask: (id) => standbys.get(id),
    onRestored: (t) => restored.push(t.id),
    ...options,
  });
  return { fake, sub, log, tasks, standbys, restored, reader };
}

describe('restoreProgress', () => {
  it('counts what is done over all ranges, the rate since the start and the time left', () => {
    const state = {
      ranges: new Map([
        ['c:0', { store: 's', topic: 'c', start: 100, end: 1_100 }],
        ['d:0', { store: 't', topic: 'd', start: 0, end: 1_000 }],
      ]),
      total: 3_000, // a third range of 1,000 is finished already (no longer in `ranges`)
      started: 10_000,
    };
    const offsets = new Map([
      ['c:0', 600],
      ['d:0', 500],
    ]);
    expect(restoreProgress(state, offsets, 12_000)).toEqual({
      done: 2_000,
      recordsPerSec: 1_000,
      etaSeconds: 1,
    });
    expect(restoreProgress(state, offsets, 10_000)).toEqual({ done: 2_000, recordsPerSec: 0 });
  });
});

describe('ChangelogReader on an in-memory Kafka', () => {
  it('restores a task from its checkpoint to the end, logging progress, then reports it restored', async () => {
    const { sub, log, tasks, restored, reader } = setup();
    const store = fakeStore();
    const t: RestoringTask = {
      id: '0_1',
      partition: 1,
      sub,
      task: { getStore: () => store, taskDir: '/tmp/0_1' } as unknown as StreamTask,
      changelogOffsets: new Map([[`${CHANGELOG}:1`, 20]]),
    };
    tasks.set(t.id, t);
    await reader.beginRestore(t);
    expect(t.restoring?.total).toBe(100);
    reader.sync();
    await vi.waitFor(() => expect(restored).toEqual(['0_1']), { timeout: 5_000 });
    expect(store.applied).toHaveLength(100);
    expect(t.changelogOffsets.get(`${CHANGELOG}:1`)).toBe(120);
    expect(t.restoring?.restored).toBe(100);
    expect(log.info).toHaveBeenCalledWith(
      expect.objectContaining({ task: '0_1', done: expect.any(Number), recordsPerSec: expect.any(Number) }),
      expect.stringMatching(
        /^restoring task 0_1: \d+\/100 records \(\d+%\), \d+ records\/s, ETA (\d+ s|\?)$/,
      ),
    );
    await reader.close();
  });

  it('writes the stores of a restoring task to disk every so many records, one write at a time', async () => {
    const { sub, tasks, restored, reader } = setup({ restoreFlushRecords: 30 });
    const store = fakeStore();
    let writes = 0;
    let inFlight = 0;
    let mostInFlight = 0;
    const appliedAtWrite: number[] = [];
    const t: RestoringTask = {
      id: '0_1',
      partition: 1,
      sub,
      task: {
        getStore: () => store,
        taskDir: '/tmp/0_1',
        flushStores: async () => {
          writes++;
          appliedAtWrite.push(store.applied.length);
          mostInFlight = Math.max(mostInFlight, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 20));
          inFlight--;
        },
      } as unknown as StreamTask,
      changelogOffsets: new Map([[`${CHANGELOG}:1`, 0]]),
    };
    tasks.set(t.id, t);
    await reader.beginRestore(t);
    reader.sync();
    await vi.waitFor(() => expect(restored).toEqual(['0_1']), { timeout: 5_000 });
    await t.restoring!.flushing;
    expect(store.applied).toHaveLength(120);
    // 120 records, a write after every 30 or more that leave some to read: at least two mid-restore.
    expect(writes).toBeGreaterThanOrEqual(2);
    expect(appliedAtWrite.every((n) => n >= 30 && n < 120)).toBe(true);
    expect(mostInFlight).toBe(1);
    await reader.close();
  });

  it('needs no restore when the checkpoint is at the end, and refuses one beyond it', async () => {
    const { sub, reader } = setup();
    const task = { getStore: () => fakeStore(), taskDir: '/tmp/x' } as unknown as StreamTask;
    const current: RestoringTask = {
      id: '0_1',
      partition: 1,
      sub,
      task,
      changelogOffsets: new Map([[`${CHANGELOG}:1`, 120]]),
    };
    await reader.beginRestore(current);
    expect(current.restoring).toBeUndefined();
    const ahead: RestoringTask = {
      id: '0_1',
      partition: 1,
      sub,
      task,
      changelogOffsets: new Map([[`${CHANGELOG}:1`, 121]]),
    };
    await expect(reader.beginRestore(ahead)).rejects.toThrow(
      'is beyond the changelog end (120); delete /tmp/x',
    );
    await reader.close();
  });

  it('keeps a standby warm from its checkpoint, marking it dirty', async () => {
    const { fake, sub, standbys, reader } = setup();
    const store = fakeStore();
    const standby: StandbyTask = {
      id: '0_1',
      sub,
      partition: 1,
      dir: '/tmp/standby',
      stores: new Map([['counts', store]]),
      storeOfChangelog: new Map(),
      changelogOffsets: new Map(),
      dirty: false,
    };
    standbys.set(standby.id, standby);
    await reader.trackStandby(standby, new Map([[`${CHANGELOG}:1`, 100]]));
    reader.sync();
    await vi.waitFor(() => expect(store.applied).toHaveLength(20), { timeout: 5_000 });
    expect(standby.dirty).toBe(true);
    fake.produce(CHANGELOG, [{ partition: 1, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1 }]);
    await vi.waitFor(() => expect(standby.changelogOffsets.get(`${CHANGELOG}:1`)).toBe(121), {
      timeout: 5_000,
    });
    reader.release('standby', standby.id);
    reader.sync();
    await reader.close();
  });
});
