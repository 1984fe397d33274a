import { afterEach, describe, expect, it } from 'vitest';
import {
  Branched,
  BufferConfig,
  Consumed,
  Grouped,
  KeyValue,
  Materialized,
  Named,
  Produced,
  Repartitioned,
  Serdes,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  TopologyTestDriver,
  type KTable,
} from '../../../src/index.ts';

const S = Serdes.String();
const L = Serdes.Long();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

async function start(build: (b: StreamsBuilder) => void): Promise<TopologyTestDriver> {
  const b = new StreamsBuilder();
  build(b);
  driver = await TopologyTestDriver.create(b.build(), { statestoreCacheMaxBytes: 0 });
  return driver;
}

/** The input sequence of the Kafka Streams documentation's join semantics tables (key "k"). */
const DOC_SEQUENCE: Array<[number, 'left' | 'right', string | null]> = [
  [1, 'left', null],
  [2, 'right', null],
  [3, 'left', 'A'],
  [4, 'right', 'a'],
  [5, 'left', 'B'],
  [6, 'right', 'b'],
  [7, 'left', null],
  [8, 'right', null],
  [9, 'left', 'C'],
  [10, 'right', 'c'],
  [11, 'right', null],
  [12, 'left', null],
  [13, 'right', null],
  [14, 'right', 'd'],
  [15, 'left', 'D'],
];

function pipeDocSequence(d: TopologyTestDriver): Array<[number, string | null]> {
  const left = d.createInputTopic('left', S, S);
  const right = d.createInputTopic('right', S, S);
  const out = d.createOutputTopic('out', S, S);
  const results: Array<[number, string | null]> = [];
  for (const [ts, side, value] of DOC_SEQUENCE) {
    (side === 'left' ? left : right).pipeInput('k', value, ts);
    for (const r of out.readRecordsToList()) results.push([ts, r.value]);
  }
  return results;
}

const joiner = (l: string | null, r: string | null) => `[${l}, ${r}]`;

describe('table-table joins reproduce the Kafka Streams join semantics table', () => {
  const tables = (
    b: StreamsBuilder,
  ): [KTable<string, string, string | null>, KTable<string, string, string | null>] => [
    b.table('left', Consumed.with(S, S)),
    b.table('right', Consumed.with(S, S)),
  ];

  it('inner join', async () => {
    const d = await start((b) => {
      const [l, r] = tables(b);
      l.join(r, joiner).toStream().to('out', Produced.with(S, S));
    });
    expect(pipeDocSequence(d)).toEqual([
      [4, '[A, a]'],
      [5, '[B, a]'],
      [6, '[B, b]'],
      [7, null],
      [10, '[C, c]'],
      [11, null],
      [15, '[D, d]'],
    ]);
  });

  it('left join', async () => {
    const d = await start((b) => {
      const [l, r] = tables(b);
      l.leftJoin(r, joiner).toStream().to('out', Produced.with(S, S));
    });
    expect(pipeDocSequence(d)).toEqual([
      [3, '[A, null]'],
      [4, '[A, a]'],
      [5, '[B, a]'],
      [6, '[B, b]'],
      [7, null],
      [9, '[C, null]'],
      [10, '[C, c]'],
      [11, '[C, null]'],
      [12, null],
      [15, '[D, d]'],
    ]);
  });

  it('outer join', async () => {
    const d = await start((b) => {
      const [l, r] = tables(b);
      l.outerJoin(r, joiner).toStream().to('out', Produced.with(S, S));
    });
    expect(pipeDocSequence(d)).toEqual([
      [3, '[A, null]'],
      [4, '[A, a]'],
      [5, '[B, a]'],
      [6, '[B, b]'],
      [7, '[null, b]'],
      [8, null],
      [9, '[C, null]'],
      [10, '[C, c]'],
      [11, '[C, null]'],
      [12, null],
      [14, '[null, d]'],
      [15, '[D, d]'],
    ]);
  });

  it('a materialized join result is queryable', async () => {
    const d = await start((b) => {
      const [l, r] = tables(b);
      l.join(r, joiner, Materialized.as<string, string>('joined')).toStream().to('out', Produced.with(S, S));
    });
    pipeDocSequence(d);
    expect(d.getKeyValueStore<string, string>('joined').get('k')).toBe('[D, d]');
  });
});

describe('stream-table joins reproduce the Kafka Streams join semantics table', () => {
  const run = (kind: 'join' | 'leftJoin') =>
    start((b) => {
      const table = b.table('right', Consumed.with(S, S));
      const stream = b.stream('left', Consumed.with(S, S));
      (kind === 'join' ? stream.join(table, joiner) : stream.leftJoin(table, joiner)).to(
        'out',
        Produced.with(S, S),
      );
    });

  it('inner join: only stream records with a table match produce output', async () => {
    expect(pipeDocSequence(await run('join'))).toEqual([
      [5, '[B, a]'],
      [15, '[D, d]'],
    ]);
  });

  it('left join: every non-null stream record produces output', async () => {
    expect(pipeDocSequence(await run('leftJoin'))).toEqual([
      [3, '[A, null]'],
      [5, '[B, a]'],
      [9, '[C, null]'],
      [15, '[D, d]'],
    ]);
  });
});

describe('KTable operations', () => {
  it('filter turns updates that stop matching into deletes; mapValues maps non-null values', async () => {
    const d = await start((b) => {
      const t = b.table('t', Consumed.with(S, S));
      t.filter((_k, v) => v.length > 1)
        .toStream()
        .to('filtered', Produced.with(S, S));
      t.mapValues((v, k) => `${k}=${v}`)
        .toStream()
        .to('mapped', Produced.with(S, S));
    });
    const input = d.createInputTopic('t', S, S);
    input.pipeInput('a', 'xx', 1);
    input.pipeInput('a', 'y', 2);
    input.pipeInput('a', null, 3);
    expect(d.createOutputTopic('filtered', S, S).readValuesToList()).toEqual(['xx', null, null]);
    expect(d.createOutputTopic('mapped', S, S).readValuesToList()).toEqual(['a=xx', 'a=y', null]);
  });

  it('a materialized filter is queryable and sends old values from its own store', async () => {
    const d = await start((b) => {
      b.table('t', Consumed.with(S, S))
        .filter((_k, v) => v !== 'hidden', Materialized.as<string, string>('visible'))
        .toStream()
        .to('out', Produced.with(S, S));
    });
    const input = d.createInputTopic('t', S, S);
    input.pipeInput('a', 'shown', 1);
    input.pipeInput('b', 'hidden', 2);
    expect(d.getKeyValueStore<string, string>('visible').get('a')).toBe('shown');
    expect(d.getKeyValueStore<string, string>('visible').get('b')).toBeUndefined();
  });

  it('groupBy + count/reduce/aggregate subtract old values and add new ones', async () => {
    const d = await start((b) => {
      const byRegion = b
        .table('users', Consumed.with(S, S))
        .groupBy((user, region) => KeyValue.pair(region, user), Grouped.with(S, S));
      byRegion
        .count(Materialized.as<string, number>('users-per-region'))
        .toStream()
        .to('counts', Produced.with(S, L));
      byRegion
        .reduce(
          (agg, user) => [agg, user].sort().join(','),
          (agg, user) =>
            agg
              .split(',')
              .filter((u) => u !== user)
              .join(','),
        )
        .toStream()
        .to('members', Produced.with(S, S));
      byRegion
        .aggregate(
          () => 0,
          (_region, user, agg) => agg + user.length,
          (_region, user, agg) => agg - user.length,
          Materialized.with(S, L),
        )
        .toStream()
        .to('name-lengths', Produced.with(S, L));
    });
    const users = d.createInputTopic('users', S, S);
    users.pipeInput('alice', 'eu', 1);
    users.pipeInput('bob', 'eu', 2);
    users.pipeInput('alice', 'us', 3); // moves: eu loses alice, us gains her
    users.pipeInput('bob', null, 4); // deleted: eu loses bob
    expect(d.createOutputTopic('counts', S, L).readKeyValuesToList()).toEqual([
      { key: 'eu', value: 1 },
      { key: 'eu', value: 2 },
      { key: 'eu', value: 1 },
      { key: 'us', value: 1 },
      { key: 'eu', value: 0 },
    ]);
    expect(d.createOutputTopic('members', S, S).readKeyValuesToMap()).toEqual(
      new Map([
        ['eu', ''],
        ['us', 'alice'],
      ]),
    );
    expect(d.createOutputTopic('name-lengths', S, L).readKeyValuesToMap()).toEqual(
      new Map([
        ['eu', 0],
        ['us', 5],
      ]),
    );
    expect(d.getKeyValueStore<string, number>('users-per-region').get('us')).toBe(1);
  });

  it('KStream.toTable() materializes the latest value per key', async () => {
    const d = await start((b) => {
      b.stream('s', Consumed.with(S, S))
        .toTable(Materialized.as<string, string>('latest'))
        .toStream()
        .to('out', Produced.with(S, S));
    });
    const input = d.createInputTopic('s', S, S);
    input.pipeInput('a', '1', 1);
    input.pipeInput('a', '2', 2);
    input.pipeInput(null, 'x', 3);
    expect(d.createOutputTopic('out', S, S).readValuesToList()).toEqual(['1', '2']);
    expect(d.getKeyValueStore<string, string>('latest').get('a')).toBe('2');
  });
});

describe('global tables', () => {
  it('stream joins a global table by a key selected from the record', async () => {
    const d = await start((b) => {
      const countries = b.globalTable('countries', Consumed.with(S, S));
      const orders = b.stream('orders', Consumed.with(S, Serdes.JSON<{ country: string; amount: number }>()));
      orders
        .join(
          countries,
          (_id, order) => order.country,
          (order, name) => `${order.amount} to ${name}`,
        )
        .to('out', Produced.with(S, S));
      orders
        .leftJoin(
          countries,
          (_id, order) => order.country,
          (order, name) => `${order.amount} to ${name ?? '?'}`,
        )
        .to('out-left', Produced.with(S, S));
    });
    d.createInputTopic('countries', S, S).pipeInput('fr', 'France', 1);
    const orders = d.createInputTopic('orders', S, Serdes.JSON<{ country: string; amount: number }>());
    orders.pipeInput('o1', { country: 'fr', amount: 10 }, 2);
    orders.pipeInput('o2', { country: 'xx', amount: 20 }, 3);
    expect(d.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: 'o1', value: '10 to France' },
    ]);
    expect(d.createOutputTopic('out-left', S, S).readValuesToList()).toEqual(['10 to France', '20 to ?']);
  });

  it('global stores do not tie the joining sub-topology to the global topic', () => {
    const b = new StreamsBuilder();
    const g = b.globalTable('g', Consumed.with(S, S));
    b.stream('s', Consumed.with(S, S))
      .join(
        g,
        (k) => k,
        (v, gv) => `${v}${gv}`,
      )
      .to('out');
    const subs = b.build().subTopologies();
    expect(subs.filter((s) => s.global).map((s) => s.sourceTopics)).toEqual([['g']]);
    expect(subs.filter((s) => !s.global).map((s) => s.sourceTopics)).toEqual([['s']]);
  });
});

describe('suppress', () => {
  it('untilWindowCloses emits one final result per window after window end + grace', async () => {
    const d = await start((b) => {
      b.stream('in', Consumed.with(S, S))
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
        .count()
        .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
        .toStream((wk) => `${wk.key}@${wk.window.start}`)
        .to('out', Produced.with(S, L));
    });
    const input = d.createInputTopic('in', S, S);
    const out = d.createOutputTopic('out', S, L);
    input.pipeInput('a', 'v', 1);
    input.pipeInput('a', 'v', 5);
    input.pipeInput('b', 'v', 8);
    input.pipeInput('a', 'v', 14); // stream time 14: [0,10) closes at 15
    expect(out.isEmpty()).toBe(true);
    input.pipeInput('a', 'v', 15);
    expect(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['a@0', 2, 5],
      ['b@0', 1, 8],
    ]);
    input.pipeInput('x', 'v', 100);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'a@10', value: 2 }]);
  });

  it('untilTimeLimit emits the latest value of a key once the limit passed, and when the buffer is full', async () => {
    const d = await start((b) => {
      b.table('t', Consumed.with(S, S))
        .suppress(Suppressed.untilTimeLimit(10, BufferConfig.maxRecords(2)))
        .toStream()
        .to('out', Produced.with(S, S));
    });
    const input = d.createInputTopic('t', S, S);
    const out = d.createOutputTopic('out', S, S);
    input.pipeInput('a', 'a1', 0);
    input.pipeInput('a', 'a2', 5);
    expect(out.isEmpty()).toBe(true);
    input.pipeInput('b', 'b1', 10); // a first buffered at 0: due at 10
    expect(out.readKeyValuesToList()).toEqual([{ key: 'a', value: 'a2' }]);
    input.pipeInput('c', 'c1', 11);
    input.pipeInput('d', 'd1', 12); // three buffered > maxRecords 2: oldest (b) emitted early
    expect(out.readKeyValuesToList()).toEqual([{ key: 'b', value: 'b1' }]);
  });

  it('untilWindowCloses rejects a buffer that would emit early', () => {
    expect(() => Suppressed.untilWindowCloses(BufferConfig.maxRecords(10))).toThrow(/strict buffer/);
  });
});

describe('split and repartition', () => {
  it('split routes each record to the first matching branch, else the default', async () => {
    const d = await start((b) => {
      const branches = b
        .stream('in', Consumed.with(S, Serdes.Integer()))
        .split(Named.as('n-'))
        .branch((_k, v) => v < 0, Branched.as('negative'))
        .branch(
          (_k, v) => v < 10,
          Branched.withFunction((s) => s.mapValues((v) => v * 100), 'small'),
        )
        .defaultBranch(Branched.as('large'));
      expect([...branches.keys()]).toEqual(['n-negative', 'n-small', 'n-large']);
      branches.get('n-negative')!.to('neg', Produced.with(S, Serdes.Integer()));
      branches.get('n-small')!.to('small', Produced.with(S, Serdes.Integer()));
      branches.get('n-large')!.to('large', Produced.with(S, Serdes.Integer()));
    });
    const input = d.createInputTopic('in', S, Serdes.Integer());
    for (const v of [-1, 3, 42, -7]) input.pipeInput('k', v, 1);
    expect(d.createOutputTopic('neg', S, Serdes.Integer()).readValuesToList()).toEqual([-1, -7]);
    expect(d.createOutputTopic('small', S, Serdes.Integer()).readValuesToList()).toEqual([300]);
    expect(d.createOutputTopic('large', S, Serdes.Integer()).readValuesToList()).toEqual([42]);
  });

  it('repartition() goes through a named internal topic with a fixed partition count', async () => {
    const b = new StreamsBuilder();
    b.stream('in', Consumed.with(S, S))
      .selectKey((_k, v) => v)
      .repartition(Repartitioned.with(S, S).withName('by-value').withNumberOfPartitions(3))
      .groupByKey()
      .count(Materialized.as('counts'))
      .toStream()
      .to('out', Produced.with(S, L));
    const topology = b.build();
    expect(topology.internalTopics().find((t) => t.name === 'by-value-repartition')?.numPartitions).toBe(3);
    expect(topology.subTopologies()).toHaveLength(2); // no second repartition before the count
    driver = await TopologyTestDriver.create(topology, { statestoreCacheMaxBytes: 0 });
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('1', 'x', 1);
    input.pipeInput('2', 'x', 2);
    expect(driver.createOutputTopic('out', S, L).readKeyValuesToList()).toEqual([
      { key: 'x', value: 1 },
      { key: 'x', value: 2 },
    ]);
  });
});
