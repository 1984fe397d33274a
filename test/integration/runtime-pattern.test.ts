/**
 * Pattern sources: `builder.stream(/regex/)` reads every existing topic that matches when the
 * instance starts, with one task per partition (the matching topics are co-partitioned), and a
 * matching topic created later once metadataMaxAgeMs has passed, without a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Consumed, Grouped, Materialized, Produced, Serdes, StreamsBuilder } from '../../src/index.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { brokers, createTopic, eventually, produce, uniqueGroup, uniqueTopic } from './helpers.ts';
import { LatestValues, RUNTIME_TEST_MS, SETTLE_MS, sorted, tempStateDir } from './runtime-support.ts';

const running: KafkaStreams[] = [];
const views: LatestValues[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

/**
 * An instance counting the values of every topic matching `^<prefix>-[a-z]+$` into `store`, written
 * to `output`, and a view of the output's latest values.
 */
async function patternCount(
  prefix: string,
  store: string,
  output: string,
  config: { applicationId: string; metadataMaxAgeMs?: number },
): Promise<{ streams: KafkaStreams; view: LatestValues }> {
  const builder = new StreamsBuilder();
  builder
    .stream<string, string>(new RegExp(`^${prefix}-[a-z]+$`), Consumed.with(Serdes.String(), Serdes.String()))
    .groupBy((_k: string | null, value: string) => value, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>(store).withKeySerde(Serdes.String()))
    .toStream()
    .to(output, Produced.with(Serdes.String(), Serdes.Long()));
  const streams = new KafkaStreams(builder.build(), {
    bootstrapServers: brokers(),
    stateDir: await tempStateDir(),
    commitIntervalMs: 200,
    ...config,
  });
  running.push(streams);
  const view = await LatestValues.start(output);
  views.push(view);
  return { streams, view };
}

describe('pattern source', () => {
  it(
    'counts across every matching topic',
    async () => {
      const prefix = uniqueTopic('clicks');
      const topics = [`${prefix}-eu`, `${prefix}-us`];
      for (const t of topics) await createTopic(t, { partitions: 2 });
      const other = `${uniqueTopic('unrelated')}`;
      await createTopic(other, { partitions: 2 });
      const output = uniqueTopic('clicks-per-page');
      await createTopic(output, { partitions: 2 });
      const { streams, view } = await patternCount(prefix, 'clicks', output, {
        applicationId: uniqueGroup('pattern-app'),
      });
      await produce(topics[0]!, [
        { key: 'u1', value: '/home' },
        { key: 'u2', value: '/cart' },
      ]);
      await produce(topics[1]!, [
        { key: 'u3', value: '/home' },
        { key: 'u4', value: '/home' },
      ]);
      await produce(other, [{ key: 'u5', value: '/home' }]);
      await streams.start();
      // Sub-topology 0 reads both matching topics: 2 partitions → 2 tasks, each with both topics.
      await eventually(
        () =>
          expect(
            streams
              .localTasks()
              .filter((t) => t.subtopology === 0)
              .map((t) => t.id)
              .sort(),
          ).toEqual(['0_0', '0_1']),
        { timeoutMs: SETTLE_MS },
      );
      await eventually(
        () =>
          expect(sorted(view.values)).toEqual([
            ['/cart', 1],
            ['/home', 3],
          ]),
        { timeoutMs: SETTLE_MS },
      );
      expect(streams.error).toBeUndefined();
    },
    RUNTIME_TEST_MS,
  );

  it(
    'reads a matching topic created after the start, without a restart, and keeps its counts',
    async () => {
      const prefix = uniqueTopic('orders');
      await createTopic(`${prefix}-eu`, { partitions: 2 });
      const output = uniqueTopic('orders-per-item');
      await createTopic(output, { partitions: 2 });
      const { streams, view } = await patternCount(prefix, 'orders', output, {
        applicationId: uniqueGroup('pattern-new'),
        metadataMaxAgeMs: 1_000,
      });
      await produce(`${prefix}-eu`, [
        { key: 'o1', value: 'tea' },
        { key: 'o2', value: 'cake' },
      ]);
      await streams.start();
      await eventually(
        () =>
          expect(sorted(view.values)).toEqual([
            ['cake', 1],
            ['tea', 1],
          ]),
        {
          timeoutMs: SETTLE_MS,
        },
      );

      // A new matching topic while the instance runs: its records count, the old counts stay.
      await createTopic(`${prefix}-us`, { partitions: 2 });
      await produce(`${prefix}-us`, [
        { key: 'o3', value: 'tea' },
        { key: 'o4', value: 'scone' },
      ]);
      await eventually(
        () =>
          expect(sorted(view.values)).toEqual([
            ['cake', 1],
            ['scone', 1],
            ['tea', 2],
          ]),
        { timeoutMs: SETTLE_MS },
      );
      // A matching topic with another partition count cannot join the co-partitioned set: refused
      // (a warning each time the instance looks), the instance keeps reading the others.
      await createTopic(`${prefix}-ap`, { partitions: 3 });
      await produce(`${prefix}-ap`, [{ key: 'o6', value: 'cake' }]);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await produce(`${prefix}-eu`, [{ key: 'o5', value: 'cake' }]);
      await eventually(
        () =>
          expect(sorted(view.values)).toEqual([
            ['cake', 2],
            ['scone', 1],
            ['tea', 2],
          ]),
        { timeoutMs: SETTLE_MS },
      );
      expect(streams.state).toBe('RUNNING');
      expect(streams.error).toBeUndefined();
    },
    RUNTIME_TEST_MS,
  );
});
