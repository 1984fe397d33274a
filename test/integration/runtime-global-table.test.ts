/**
 * Global tables in the runtime: every instance restores ALL partitions of the global topic before it
 * processes anything, keeps the store up to date while running, joins a stream with it, and after a
 * restart restores only what its global checkpoint does not cover.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Consumed, Produced, Serdes, StreamsBuilder } from '../../src/index.ts';
import type { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { createTopic, eventually, produce, uniqueGroup, uniqueTopic } from './helpers.ts';
import { LatestValues, RUNTIME_TEST_MS, SETTLE_MS, tempStateDir, waitForState } from './runtime-support.ts';
import { KafkaStreams as Streams } from '../../src/runtime/kafka-streams.ts';
import { brokers } from './helpers.ts';

const running: KafkaStreams[] = [];
const views: Array<LatestValues<string>> = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

function enrichTopology(orders: string, products: string, output: string) {
  const builder = new StreamsBuilder();
  const productNames = builder.globalTable<string, string>(
    products,
    Consumed.with(Serdes.String(), Serdes.String()),
  );
  builder
    .stream<string, string>(orders, Consumed.with(Serdes.String(), Serdes.String()))
    .join(
      productNames,
      (_orderId: string, productId: string) => productId,
      (productId: string, name: string) => `${productId}:${name}`,
    )
    .to(output, Produced.with(Serdes.String(), Serdes.String()));
  return builder.build();
}

const PRODUCTS = 40;

describe.each(['at_least_once', 'exactly_once'] as const)('global table join (%s)', (guarantee) => {
  it(
    'restores all partitions before processing, stays up to date, and resumes from its checkpoint',
    async () => {
      const orders = uniqueTopic('orders');
      const products = uniqueTopic('products');
      const output = uniqueTopic('enriched');
      await createTopic(orders, { partitions: 3 });
      await createTopic(products, { partitions: 2 });
      await createTopic(output, { partitions: 3 });
      const applicationId = uniqueGroup('global-app');
      await produce(
        products,
        Array.from({ length: PRODUCTS }, (_, i) => ({ key: `p${i}`, value: `name-${i}` })),
      );
      const view = await LatestValues.start<string>(output, 'read_committed', (b) => b.toString());
      views.push(view);
      const make = (stateDir: string, name: string): KafkaStreams => {
        const s = new Streams(enrichTopology(orders, products, output), {
          applicationId,
          bootstrapServers: brokers(),
          stateDir,
          processingGuarantee: guarantee,
          commitIntervalMs: 200,
          sessionTimeoutMs: 6_000,
          clientId: name,
        });
        running.push(s);
        return s;
      };
      const dirA = await tempStateDir();
      const a = make(dirA, 'a');
      const b = make(await tempStateDir(), 'b');
      await Promise.all([a.start(), b.start()]);
      // Each instance holds the whole table, whichever tasks it runs.
      for (const s of [a, b]) {
        const store = s.globalStore<any>([...s.topology.globalStores][0]!)!;
        expect(store.approximateNumEntries()).toBe(PRODUCTS);
        expect(s.metrics.totals.restored).toBe(PRODUCTS);
      }
      // Orders produced after start, for every product: all enriched (none dropped as a miss).
      await produce(
        orders,
        Array.from({ length: 120 }, (_, i) => ({ key: `o${i}`, value: `p${i % PRODUCTS}` })),
      );
      await eventually(() => expect(view.values.size).toBe(120), { timeoutMs: SETTLE_MS });
      expect(view.values.get('o7')).toBe('p7:name-7');

      // Updates of the global topic reach the store of every instance while they run.
      await produce(products, [
        { key: 'p1', value: 'renamed' },
        { key: 'p999', value: 'new' },
      ]);
      await eventually(
        () => {
          for (const s of [a, b]) {
            const store = s.globalStore<any>([...s.topology.globalStores][0]!)!;
            expect(store.get('p1')?.value).toBe('renamed');
            expect(store.get('p999')?.value).toBe('new');
          }
        },
        { timeoutMs: SETTLE_MS },
      );
      await produce(orders, [
        { key: 'o-late-1', value: 'p1' },
        { key: 'o-late-2', value: 'p999' },
      ]);
      await eventually(
        () => {
          expect(view.values.get('o-late-1')).toBe('p1:renamed');
          expect(view.values.get('o-late-2')).toBe('p999:new');
        },
        { timeoutMs: SETTLE_MS },
      );

      // A restart restores only what the global checkpoint does not cover.
      await a.close();
      await produce(products, [{ key: 'p2', value: 'changed-while-down' }]);
      const a2 = make(dirA, 'a2');
      await a2.start();
      await waitForState(a2, 'RUNNING');
      expect(a2.metrics.totals.restored).toBe(1);
      const store = a2.globalStore<any>([...a2.topology.globalStores][0]!)!;
      expect(store.get('p2')?.value).toBe('changed-while-down');
      expect(store.approximateNumEntries()).toBe(PRODUCTS + 1);
      expect(a2.error).toBeUndefined();
      expect(b.error).toBeUndefined();
    },
    RUNTIME_TEST_MS,
  );
});
