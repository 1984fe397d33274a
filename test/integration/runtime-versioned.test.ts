/**
 * A versioned table on a real broker: a worker keeps every version of a key in LevelDB and its
 * changelog; after the worker stops and a new one starts on an empty state directory (everything
 * restored from the changelog), get(key, asOf) answers the same history, and a stream-table join
 * reads the table as of each order's time.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  Consumed,
  Materialized,
  Produced,
  Serdes,
  Stores,
  StreamsBuilder,
  type MeteredVersionedKeyValueStore,
  type VersionedRecord,
} from '../../src/index.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { brokers, createTopic, eventually, produce, uniqueGroup, uniqueTopic } from './helpers.ts';
import { LatestValues, RUNTIME_TEST_MS, SETTLE_MS, tempStateDir, waitForState } from './runtime-support.ts';

const S = Serdes.String();
const L = Serdes.Long();
const STORE = 'prices-store';
const KEYS = ['apple', 'pear', 'plum', 'fig'];
const running: KafkaStreams[] = [];
const views: Array<LatestValues<string>> = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

/** Versions per key: ten prices a second apart, written in a shuffled (out-of-order) sequence. */
function priceUpdates(): Array<{ key: string; value: number; timestamp: number }> {
  const updates: Array<{ key: string; value: number; timestamp: number }> = [];
  KEYS.forEach((key, k) => {
    for (let i = 0; i < 10; i++) updates.push({ key, value: 100 * k + i, timestamp: 10_000 + i * 1_000 + k });
  });
  // A fixed shuffle: later versions first for half of them.
  return updates.sort((a, b) => ((a.value * 7919) % 13) - ((b.value * 7919) % 13));
}

function history(streams: KafkaStreams): Map<string, VersionedRecord<number> | undefined> {
  const out = new Map<string, VersionedRecord<number> | undefined>();
  const stores = streams.storesNamed<MeteredVersionedKeyValueStore<string, number>>(STORE);
  for (const key of KEYS) {
    for (let asOf = 9_000; asOf <= 21_000; asOf += 250) {
      const found = stores.map(({ store }) => store.get(key, asOf)).find((r) => r !== undefined);
      out.set(`${key}@${asOf}`, found);
    }
    out.set(
      `${key}@latest`,
      stores.map(({ store }) => store.get(key)).find((r) => r !== undefined),
    );
  }
  return out;
}

describe('versioned table on workers', () => {
  it(
    'restores every version from the changelog into a fresh state directory and joins as of each record',
    async () => {
      const prices = uniqueTopic('vt-prices');
      const orders = uniqueTopic('vt-orders');
      const priced = uniqueTopic('vt-priced');
      for (const t of [prices, orders, priced]) await createTopic(t, { partitions: 2 });
      const applicationId = uniqueGroup('vt-app');
      const topology = () => {
        const b = new StreamsBuilder();
        const table = b.table(
          prices,
          Consumed.with(S, L),
          Materialized.as<string, number>(Stores.persistentVersionedKeyValueStore(STORE, 3_600_000)),
        );
        b.stream(orders, Consumed.with(S, S))
          .leftJoin(table, (order, price) => `${order}@${price}`)
          .to(priced, Produced.with(S, S));
        return b.build();
      };
      const start = async (): Promise<KafkaStreams> => {
        const streams = new KafkaStreams(topology(), {
          applicationId,
          bootstrapServers: brokers(),
          stateDir: await tempStateDir(),
          commitIntervalMs: 200,
          sessionTimeoutMs: 6_000,
          processingGuarantee: 'exactly_once',
        });
        running.push(streams);
        await streams.start();
        await waitForState(streams, 'RUNNING');
        return streams;
      };

      const updates = priceUpdates();
      await produce(
        prices,
        updates.map((u) => ({ key: u.key, value: L.serialize(u.value), timestamp: String(u.timestamp) })),
      );
      const first = await start();
      await eventually(
        () => {
          for (const [k, key] of KEYS.entries())
            expect(history(first).get(`${key}@latest`)).toEqual({
              value: 100 * k + 9,
              timestamp: 19_000 + k,
            });
        },
        { timeoutMs: SETTLE_MS },
      );
      const before = history(first);
      expect(before.get('pear@12500')).toEqual({ value: 102, timestamp: 12_001, validTo: 13_001 });
      expect(before.get('apple@9000')).toBeUndefined();
      await first.close();
      running.splice(running.indexOf(first), 1);

      // A new worker on an empty state directory restores the store from its changelog.
      const second = await start();
      await eventually(() => expect(history(second)).toEqual(before), { timeoutMs: SETTLE_MS });

      const output = await LatestValues.start<string>(priced, 'read_committed', (b) => b.toString());
      views.push(output);
      await produce(orders, [
        { key: 'apple', value: 'o1', timestamp: '9500' },
        { key: 'pear', value: 'o2', timestamp: '12500' },
        { key: 'plum', value: 'o3', timestamp: '30000' },
      ]);
      await eventually(
        () =>
          expect(Object.fromEntries(output.values)).toEqual({
            apple: 'o1@null',
            pear: 'o2@102',
            plum: 'o3@209',
          }),
        { timeoutMs: SETTLE_MS },
      );
    },
    RUNTIME_TEST_MS,
  );
});
