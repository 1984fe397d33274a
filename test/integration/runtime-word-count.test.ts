/**
 * The speed layer end to end on the real broker: word count at-least-once and exactly-once, and
 * restarts that restore from the checkpoint (clean) or from the whole changelog (state wiped).
 */
import { rm } from 'node:fs/promises';

import { afterEach, describe, expect, it } from 'vitest';

import type { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { committedOffsets, eventually, withAdmin } from './helpers.ts';

async function endOffsets(topic: string): Promise<Map<number, string>> {
  return withAdmin(
    async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high])),
  );
}

async function internalRepartitionTopics(applicationId: string): Promise<string[]> {
  return withAdmin(async (admin) =>
    (await admin.listTopics()).filter((t) => t.startsWith(`${applicationId}-`) && t.endsWith('-repartition')),
  );
}
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

function track(streams: KafkaStreams): KafkaStreams {
  running.push(streams);
  return streams;
}

describe.each(['at_least_once', 'exactly_once'] as const)('word count (%s)', (guarantee) => {
  it(
    'counts words end to end and survives restarts',
    async () => {
      const setup = await setupWordCount(3);
      const stateDir = await tempStateDir();
      const first = makeLines(1500, 7);
      await produceLines(setup.input, first.lines);
      const output = await LatestValues.start(setup.output);
      views.push(output);

      const streams = track(newStreams(setup, stateDir, { processingGuarantee: guarantee }));
      await streams.start();
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(first.counts)), {
        timeoutMs: SETTLE_MS,
      });
      await eventually(() => expect(sorted(storeCounts(streams))).toEqual(sorted(first.counts)), {
        timeoutMs: 10_000,
      });
      // Caught up means lag 0: committed offsets reach the end of every input, transaction markers
      // included (a repartition topic written under exactly_once ends with one).
      for (const topic of [setup.input, ...(await internalRepartitionTopics(setup.applicationId))]) {
        await eventually(
          async () => {
            const [committed, ends] = [
              await committedOffsets(setup.applicationId, topic),
              await endOffsets(topic),
            ];
            // An empty partition has no committed offset (-1): nothing to commit there.
            const caughtUp = [...ends].map(([p, end]) => [
              p,
              committed.get(p) === '-1' && end === '0' ? '0' : committed.get(p),
            ]);
            expect(caughtUp).toEqual([...ends]);
          },
          { timeoutMs: 10_000 },
        );
      }
      await streams.close();
      expect(streams.state).toBe('NOT_RUNNING');

      // Clean restart: stores come back from the local state and checkpoint; nothing to replay.
      const second = makeLines(500, 11);
      const expected = addCounts(first.counts, second.counts);
      const restarted = track(newStreams(setup, stateDir, { processingGuarantee: guarantee }));
      await restarted.start();
      await waitForState(restarted, 'RUNNING');
      expect(restarted.metrics.totals.restored).toBe(0);
      await produceLines(setup.input, second.lines, first.lines.length);
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(expected)), {
        timeoutMs: SETTLE_MS,
      });
      await restarted.close();

      // State wiped: the stores are rebuilt from the changelog, and counting continues from there.
      await rm(stateDir, { recursive: true, force: true });
      const third = makeLines(300, 13);
      const expected3 = addCounts(expected, third.counts);
      const rebuilt = track(newStreams(setup, await tempStateDir(), { processingGuarantee: guarantee }));
      await rebuilt.start();
      await waitForState(rebuilt, 'RUNNING');
      expect(rebuilt.metrics.totals.restored).toBeGreaterThan(0);
      expect(sorted(storeCounts(rebuilt))).toEqual(sorted(expected));
      await produceLines(setup.input, third.lines, 2000);
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(expected3)), {
        timeoutMs: SETTLE_MS,
      });
    },
    RUNTIME_TEST_MS,
  );
});
