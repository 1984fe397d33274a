/**
 * Standby replicas (numStandbyReplicas = 1): each instance keeps a warm copy of the other's stores
 * from the changelog; when one instance goes, the survivor takes its tasks over and restores only the
 * changelog tail its standby had not applied yet, not the whole changelog. Counts stay exact.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { eventually, withAdmin } from './helpers.ts';
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
  waitForState,
} from './runtime-support.ts';

const running: KafkaStreams[] = [];
const views: LatestValues[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

async function changelogSize(topic: string): Promise<number> {
  return withAdmin(async (admin) =>
    (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
  );
}

describe.each(['at_least_once', 'exactly_once'] as const)('standby replicas (%s)', (guarantee) => {
  it(
    'keep warm copies on the other instance, which takes over restoring only the tail',
    async () => {
      const setup = await setupWordCount(2);
      const output = await LatestValues.start(setup.output);
      views.push(output);
      const config = { processingGuarantee: guarantee, numStandbyReplicas: 1 } as const;
      const a = newStreams(setup, await tempStateDir(), { ...config, clientId: 'a' });
      const b = newStreams(setup, await tempStateDir(), { ...config, clientId: 'b' });
      running.push(a, b);
      await a.start();
      await b.start();
      // Word-count tasks (sub-topology 1) have a store; each instance keeps standbys of the other's.
      await eventually(
        () => {
          expect(a.state).toBe('RUNNING');
          expect(b.state).toBe('RUNNING');
          const storeTasks = (s: KafkaStreams): string[] =>
            s
              .localTasks()
              .map((t) => t.id)
              .filter((id) => id.startsWith('1_'))
              .sort();
          expect([...storeTasks(a), ...storeTasks(b)].sort()).toEqual(['1_0', '1_1']);
          expect(a.standbyTasks()).toEqual(storeTasks(b));
          expect(b.standbyTasks()).toEqual(storeTasks(a));
        },
        { timeoutMs: SETTLE_MS },
      );

      const first = makeLines(3000, 41);
      await produceLines(setup.input, first.lines);
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(first.counts)), {
        timeoutMs: SETTLE_MS,
      });
      const changelog = `${setup.applicationId}-word-counts-changelog`;
      const size = await changelogSize(changelog);
      // The standbys apply the changelog as it is written.
      await eventually(() => expect(a.metrics.totals.standby + b.metrics.totals.standby).toBeGreaterThan(0), {
        timeoutMs: SETTLE_MS,
      });
      let last = -1;
      await eventually(
        () => {
          const now = a.metrics.totals.standby;
          const stable = now === last;
          last = now;
          expect(stable).toBe(true);
        },
        { timeoutMs: SETTLE_MS, intervalMs: 1_500 },
      );

      // B goes away; A runs every task and restores only what its standby had not applied.
      const restoredBefore = a.metrics.totals.restored;
      await b.close();
      await eventually(() => expect(a.localTasks().length).toBe(4), { timeoutMs: SETTLE_MS });
      await waitForState(a, 'RUNNING');
      const restored = a.metrics.totals.restored - restoredBefore;
      expect(size).toBeGreaterThan(0);
      expect(restored).toBeLessThan(Math.max(1, size / 4));

      const second = makeLines(500, 42);
      const expected = addCounts(first.counts, second.counts);
      await produceLines(setup.input, second.lines, 3000);
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(expected)), {
        timeoutMs: SETTLE_MS,
      });
      expect(sorted(storeCounts(a))).toEqual(sorted(expected));
      expect(a.error).toBeUndefined();
    },
    RUNTIME_TEST_MS,
  );
});
