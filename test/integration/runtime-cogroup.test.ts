/**
 * Kafka Streams 3.x DSL additions on real workers: a cogrouped aggregation (one input re-keyed through
 * its repartition topic) and a windowed count with emitStrategy(onWindowClose) survive a restart with
 * the state directory wiped: the cogrouped store and the last emitted window-close time come back
 * from their changelogs, the counts continue from there and no closed window is emitted twice.
 */
import { rm } from 'node:fs/promises';

import { afterEach, describe, expect, it } from 'vitest';

import {
  Consumed,
  EmitStrategy,
  Grouped,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TimeWindows,
} from '../../src/index.ts';
import type { Topology, Windowed } from '../../src/index.ts';
import type { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { consumeN, createTopic, eventually, produce, uniqueGroup, uniqueTopic } from './helpers.ts';
import {
  LatestValues,
  newStreams,
  tempStateDir,
  waitForState,
  RUNTIME_TEST_MS,
  SETTLE_MS,
} from './runtime-support.ts';

const S = Serdes.String();
const L = Serdes.Long();
const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];

function topology(clicks: string, views: string, totals: string, closed: string): Topology {
  const builder = new StreamsBuilder();
  const byKey = builder.stream(clicks, Consumed.with(S, S)).groupByKey(Grouped.with(S, S));
  // Views carry the key in the value: re-keyed, so they go through the store-named repartition topic.
  const byValue = builder
    .stream(views, Consumed.with(S, S))
    .groupBy((_k: string | null, v: string) => v, Grouped.with(S, S));
  byKey
    .cogroup<number>((_k, _v, agg) => agg + 1)
    .cogroup(byValue, (_k, _v, agg) => agg + 100)
    .aggregate(() => 0, Materialized.as<string, number>('activity').withKeySerde(S).withValueSerde(L))
    .toStream()
    .to(totals, Produced.with(S, L));
  byKey
    .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 5_000))
    .emitStrategy(EmitStrategy.onWindowClose())
    .count(Materialized.as<string, number>('clicks-per-10s').withKeySerde(S).withValueSerde(L))
    .toStream((w: Windowed<string>) => `${w.key}@${w.window.start}`)
    .to(closed, Produced.with(S, L));
  return builder.build();
}

const running: KafkaStreams[] = [];
const views: LatestValues[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

function activity(streams: KafkaStreams): Map<string, number> {
  const out = new Map<string, number>();
  for (const { store } of streams.storesNamed<any>('activity')) {
    for (const { key, value } of store.all() as Iterable<{ key: string; value: { value: number } }>)
      out.set(key, value.value);
  }
  return out;
}

describe('cogroup and emitStrategy on workers', () => {
  it(
    'restore the cogrouped store and the emitted close time from their changelogs',
    async () => {
      const [clicks, viewsTopic, totals, closed] = ['cg-clicks', 'cg-views', 'cg-totals', 'cg-closed'].map(
        (p) => uniqueTopic(p),
      ) as [string, string, string, string];
      for (const topic of [clicks, viewsTopic, totals, closed]) await createTopic(topic, { partitions: 2 });
      const setup = {
        applicationId: uniqueGroup('cg-app'),
        input: clicks,
        output: totals,
        topology: () => topology(clicks, viewsTopic, totals, closed),
      };
      // Windows of 10 s from an aligned base near now (topic retention goes by record time).
      const base = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
      const expected = new Map(KEYS.map((k) => [k, 0]));
      const click = (key: string, at: number) => {
        expected.set(key, expected.get(key)! + 1);
        return { key, value: 'c', timestamp: String(base + at) };
      };
      const view = (key: string, i: number) => {
        expected.set(key, expected.get(key)! + 100);
        return { key: `u${i}`, value: key, timestamp: String(base + 2_000) };
      };

      // Phase 1: clicks in [base, base + 10 s), views, then a click per key at +16 s: close time +11 s
      // closes the first window of every key (one record each on the closed topic).
      await produce(
        clicks,
        KEYS.flatMap((k, i) => Array.from({ length: i + 1 }, (_x, j) => click(k, 1_000 + j * 1_000))),
      );
      await produce(
        viewsTopic,
        KEYS.flatMap((k, i) => Array.from({ length: 5 - i }, (_x, j) => view(k, i * 10 + j))),
      );
      await produce(
        clicks,
        KEYS.map((k) => click(k, 16_000)),
      );
      const output = await LatestValues.start(totals);
      views.push(output);
      const stateDir = await tempStateDir();
      const streams = newStreams(setup, stateDir);
      running.push(streams);
      await streams.start();
      await eventually(() => expect(new Map(output.values)).toEqual(expected), { timeoutMs: SETTLE_MS });
      const firstWindows = await consumeN(closed, KEYS.length, { timeoutMs: SETTLE_MS });
      expect(firstWindows.map((r) => [r.key, L.deserialize(r.valueBytes!, closed)]).sort()).toEqual(
        KEYS.map((k, i) => [`${k}@${base}`, i + 1]),
      );
      await eventually(() => expect(activity(streams)).toEqual(expected), { timeoutMs: 10_000 });
      await streams.close();
      running.splice(0);

      // Wipe the state: both stores and the close time come back from the changelogs.
      await rm(stateDir, { recursive: true, force: true });
      const restarted = newStreams(setup, await tempStateDir());
      running.push(restarted);
      await restarted.start();
      await waitForState(restarted, 'RUNNING');
      expect(restarted.metrics.totals.restored).toBeGreaterThan(0);
      expect(activity(restarted)).toEqual(expected);

      // Phase 2: a click per key at +17 s (close time +12 s: the first windows, still in the store,
      // must not be emitted again), views, and a click per key at +25 s, which closes [+10 s, +20 s).
      await produce(
        clicks,
        KEYS.map((k) => click(k, 17_000)),
      );
      await produce(
        viewsTopic,
        KEYS.map((k, i) => view(k, 100 + i)),
      );
      await produce(
        clicks,
        KEYS.map((k) => click(k, 25_000)),
      );
      await eventually(() => expect(new Map(output.values)).toEqual(expected), { timeoutMs: SETTLE_MS });
      const all = await consumeN(closed, 2 * KEYS.length, { timeoutMs: SETTLE_MS, settleMs: 3_000 });
      expect(all.map((r) => [r.key, L.deserialize(r.valueBytes!, closed)]).sort()).toEqual(
        [
          ...KEYS.map((k, i) => [`${k}@${base}`, i + 1]),
          ...KEYS.map((k) => [`${k}@${base + 10_000}`, 2]),
        ].sort(),
      );
    },
    RUNTIME_TEST_MS,
  );
});
