/**
 * Two instances of one application (separate state dirs, one process) share the tasks through the
 * consumer group and the task assignor, and together produce the single-instance result across a
 * join and a leave.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { eventually } from './helpers.ts';
import {
  LatestValues,
  addCounts,
  makeLines,
  newStreams,
  produceLines,
  setupWordCount,
  sorted,
  storeCounts,
  tempStateDir,
  waitForState,
  SETTLE_MS,
  RUNTIME_TEST_MS,
} from './runtime-support.ts';

const running: KafkaStreams[] = [];
const views: LatestValues[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

describe.each(['at_least_once', 'exactly_once'] as const)('two workers (%s)', (guarantee) => {
  it(
    'share the tasks and together produce the single-worker counts',
    async () => {
      const setup = await setupWordCount(4);
      const output = await LatestValues.start(setup.output);
      views.push(output);
      const first = makeLines(1000, 21);
      await produceLines(setup.input, first.lines);

      const a = newStreams(setup, await tempStateDir(), {
        processingGuarantee: guarantee,
        applicationServer: 'a:1',
      });
      running.push(a);
      await a.start();
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(first.counts)), {
        timeoutMs: SETTLE_MS,
      });

      const b = newStreams(setup, await tempStateDir(), {
        processingGuarantee: guarantee,
        applicationServer: 'b:2',
      });
      running.push(b);
      await b.start();
      await eventually(
        () => {
          expect(a.localTasks().length).toBeGreaterThan(0);
          expect(b.localTasks().length).toBeGreaterThan(0);
          expect(a.localTasks().length + b.localTasks().length).toBe(8);
          expect(a.state).toBe('RUNNING');
          expect(b.state).toBe('RUNNING');
        },
        { timeoutMs: SETTLE_MS },
      );
      const hosts = await a.taskHosts();
      expect(Object.keys(hosts).sort()).toEqual(['a:1', 'b:2']);
      expect(Object.values(hosts).flat().sort()).toEqual([
        '0_0',
        '0_1',
        '0_2',
        '0_3',
        '1_0',
        '1_1',
        '1_2',
        '1_3',
      ]);

      const second = makeLines(1000, 22);
      const expected = addCounts(first.counts, second.counts);
      await produceLines(setup.input, second.lines, 1000);
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(expected)), {
        timeoutMs: SETTLE_MS,
      });
      // The stores of the two instances partition the keys; together they hold the full counts.
      const union = addCounts(storeCounts(a), storeCounts(b));
      expect(sorted(union)).toEqual(sorted(expected));

      // B leaves cleanly; A takes every task back and keeps counting.
      await b.close();
      await eventually(() => expect(a.localTasks().length).toBe(8), { timeoutMs: SETTLE_MS });
      await waitForState(a, 'RUNNING');
      const third = makeLines(500, 23);
      const expected3 = addCounts(expected, third.counts);
      await produceLines(setup.input, third.lines, 2000);
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(expected3)), {
        timeoutMs: SETTLE_MS,
      });
      expect(sorted(storeCounts(a))).toEqual(sorted(expected3));
      expect(a.error).toBeUndefined();
    },
    RUNTIME_TEST_MS,
  );
});
