import { afterEach, describe, expect, it } from 'vitest';
import {
  BufferConfig,
  Consumed,
  Grouped,
  KeyValue,
  Materialized,
  Produced,
  Serdes,
  Stores,
  StreamsBuilder,
  Suppressed,
  TopologyTestDriver,
} from '../../../src/index.ts';

const S = Serdes.String();
const L = Serdes.Long();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

/** prices (versioned table, 10 s history) joined by orders, plus the table's own update stream. */
function pricesTopology(retentionMs = 10_000): StreamsBuilder {
  const b = new StreamsBuilder();
  const prices = b.table(
    'prices',
    Consumed.with(S, L),
    Materialized.as<string, number>(Stores.persistentVersionedKeyValueStore('prices-store', retentionMs)),
  );
  prices.toStream().to('price-updates', Produced.with(S, L));
  b.stream('orders', Consumed.with(S, L))
    .join(prices, (qty, price) => `${qty}x${price}`)
    .to('priced', Produced.with(S, S));
  b.stream('orders2', Consumed.with(S, L))
    .leftJoin(prices, (qty, price) => `${qty}x${price}`)
    .to('priced-left', Produced.with(S, S));
  return b;
}

describe('versioned tables (KIP-889, KIP-914)', () => {
  it('joins each stream record with the table version valid at its timestamp, out-of-order updates included', async () => {
    driver = await TopologyTestDriver.create(pricesTopology().build(), { statestoreCacheMaxBytes: 0 });
    const prices = driver.createInputTopic('prices', S, L);
    const orders = driver.createInputTopic('orders', S, L);
    const priced = driver.createOutputTopic('priced', S, S);
    prices.pipeInput('apple', 10, 1_000);
    prices.pipeInput('apple', 12, 3_000);
    prices.pipeInput('apple', 11, 2_000); // out of order: a version in the past
    orders.pipeInput('apple', 1, 500); // before the first price: no match
    orders.pipeInput('apple', 2, 1_500);
    orders.pipeInput('apple', 3, 2_500);
    orders.pipeInput('apple', 4, 3_500);
    expect(priced.readRecordsToList().map((r) => [r.value, r.timestamp])).toEqual([
      ['2x10', 1_500],
      ['3x11', 2_500],
      ['4x12', 3_500],
    ]);
    const store = driver.getVersionedKeyValueStore<string, number>('prices-store');
    expect(store.get('apple')).toEqual({ value: 12, timestamp: 3_000 });
    expect(store.get('apple', 2_999)).toEqual({ value: 11, timestamp: 2_000, validTo: 3_000 });
    expect(() => driver!.getKeyValueStore('prices-store')).toThrow(/versioned.*getVersionedKeyValueStore/);
  });

  it('forwards an out-of-order update downstream but drops one older than the history retention', async () => {
    driver = await TopologyTestDriver.create(pricesTopology(1_000).build(), { statestoreCacheMaxBytes: 0 });
    const prices = driver.createInputTopic('prices', S, L);
    const updates = driver.createOutputTopic('price-updates', S, L);
    prices.pipeInput('apple', 10, 5_000);
    prices.pipeInput('apple', 9, 4_500); // out of order, within the history retention: forwarded
    prices.pipeInput('apple', 8, 3_000); // older than stream time - history retention: refused
    prices.pipeInput('pear', 7, 3_999); // a new key, still too old
    prices.pipeInput('pear', 6, 4_000);
    expect(updates.readKeyValuesToList()).toEqual([
      { key: 'apple', value: 10 },
      { key: 'apple', value: 9 },
      { key: 'pear', value: 6 },
    ]);
    expect(driver.getVersionedKeyValueStore<string, number>('prices-store').get('apple')).toEqual({
      value: 10,
      timestamp: 5_000,
    });
  });

  it('a left join answers null before the first version and after a tombstone', async () => {
    driver = await TopologyTestDriver.create(pricesTopology().build(), { statestoreCacheMaxBytes: 0 });
    const prices = driver.createInputTopic('prices', S, L);
    const orders = driver.createInputTopic('orders2', S, L);
    const priced = driver.createOutputTopic('priced-left', S, S);
    prices.pipeInput('apple', 10, 1_000);
    prices.pipeInput('apple', null, 2_000);
    orders.pipeInput('apple', 1, 999);
    orders.pipeInput('apple', 2, 1_999);
    orders.pipeInput('apple', 3, 2_000);
    expect(priced.readValuesToList()).toEqual(['1xnull', '2x10', '3xnull']);
  });

  it('aggregating a versioned table with groupBy counts the latest versions only', async () => {
    const b = new StreamsBuilder();
    b.table(
      'users',
      Consumed.with(S, S),
      Materialized.as<string, string>(Stores.persistentVersionedKeyValueStore('users-store', 60_000)),
    )
      .groupBy((_user, region) => KeyValue.pair(region, region), Grouped.with(S, S))
      .count(Materialized.as('per-region'))
      .toStream()
      .to('regions', Produced.with(S, L));
    driver = await TopologyTestDriver.create(b.build(), { statestoreCacheMaxBytes: 0 });
    const users = driver.createInputTopic('users', S, S);
    const regions = driver.createOutputTopic('regions', S, L);
    users.pipeInput('ann', 'eu', 2_000);
    users.pipeInput('ann', 'us', 1_000); // out of order: not the latest, not counted
    users.pipeInput('bob', 'us', 3_000);
    expect(regions.readKeyValuesToList()).toEqual([
      { key: 'eu', value: 1 },
      { key: 'us', value: 1 },
    ]);
  });

  it('describes a versioned table like any table, and refuses what Kafka Streams refuses', () => {
    const topology = pricesTopology().build();
    const text = topology.describe().toString();
    expect(text).toContain('Processor: KTABLE-SOURCE-0000000001 (stores: [prices-store])');
    const versioned = () =>
      Materialized.as<string, string>(Stores.persistentVersionedKeyValueStore('v', 1_000));
    expect(() => new StreamsBuilder().globalTable('g', Consumed.with(S, S), versioned())).toThrow(
      'GlobalTables cannot be versioned.',
    );
    const b = new StreamsBuilder();
    const table = b.table('t', Consumed.with(S, S), versioned());
    expect(() => table.suppress(Suppressed.untilTimeLimit(1_000, BufferConfig.unbounded()))).toThrow(
      /only supported for non-versioned KTables/,
    );
  });
});
