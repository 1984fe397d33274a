import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../../src/index.ts';

const S = Serdes.String();
type Order = { product: string; qty: number };
const O = Serdes.JSON<Order>();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

async function start(kind: 'join' | 'leftJoin') {
  const b = new StreamsBuilder();
  const orders = b.table('orders', Consumed.with(S, O));
  const products = b.table('products', Consumed.with(S, S));
  const joiner = (o: Order, name: string | null) => `${o.qty} x ${name ?? '?'}`;
  const joined =
    kind === 'join'
      ? orders.join(products, (o) => o.product, joiner, Materialized.as<string, string>('order-lines'))
      : orders.leftJoin(products, (o) => o.product, joiner, Materialized.as<string, string>('order-lines'));
  joined.toStream().to('out', Produced.with(S, S));
  driver = await TopologyTestDriver.create(b.build(), { statestoreCacheMaxBytes: 0 });
  return {
    orders: driver.createInputTopic('orders', S, O),
    products: driver.createInputTopic('products', S, S),
    out: driver.createOutputTopic('out', S, S),
  };
}

describe('foreign-key table-table join', () => {
  it('inner: joins on the foreign key, follows foreign updates, foreign key changes and deletes', async () => {
    const { orders, products, out } = await start('join');
    orders.pipeInput('o1', { product: 'p1', qty: 2 }, 1); // no product yet: nothing
    expect(out.isEmpty()).toBe(true);
    products.pipeInput('p1', 'apple', 2);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'o1', value: '2 x apple' }]);
    products.pipeInput('p1', 'green apple', 3);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'o1', value: '2 x green apple' }]);
    orders.pipeInput('o1', { product: 'p2', qty: 2 }, 4); // new foreign key without a product: delete the result
    expect(out.readKeyValuesToList()).toEqual([{ key: 'o1', value: null }]);
    products.pipeInput('p1', 'red apple', 5); // o1 no longer subscribes to p1
    expect(out.isEmpty()).toBe(true);
    products.pipeInput('p2', 'pear', 6);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'o1', value: '2 x pear' }]);
    orders.pipeInput('o1', null, 7);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'o1', value: null }]);
    expect(driver!.getKeyValueStore('order-lines').get('o1')).toBeUndefined();
  });

  it('left: an order without its product joins with null', async () => {
    const { orders, products, out } = await start('leftJoin');
    orders.pipeInput('o1', { product: 'p9', qty: 1 }, 1);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'o1', value: '1 x ?' }]);
    products.pipeInput('p9', 'plum', 2);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'o1', value: '1 x plum' }]);
    products.pipeInput('p9', null, 3);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'o1', value: '1 x ?' }]);
    expect(driver!.getKeyValueStore<string, string>('order-lines').get('o1')).toBe('1 x ?');
  });

  it('runs as two sub-topologies joined by the subscription and response topics', () => {
    const b = new StreamsBuilder();
    b.table('orders', Consumed.with(S, O)).join(
      b.table('products', Consumed.with(S, S)),
      (o) => o.product,
      (o, p) => `${o.qty}${p}`,
    );
    const topology = b.build();
    expect(
      topology
        .internalTopics()
        .filter((t) => t.kind === 'repartition')
        .map((t) => t.name),
    ).toEqual([
      expect.stringMatching(/^KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-\d{10}-topic$/),
      expect.stringMatching(/^KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-\d{10}-topic$/),
    ]);
    expect(topology.subTopologies().length).toBe(2);
  });
});
