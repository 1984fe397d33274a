import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
  KeyValue,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TopologyTestDriver,
  type KTable,
  type Windowed,
} from '../../../src/index.ts';
import { SlidingWindows } from '../../../src/dsl/sliding-windows.ts';
import type { SlidingWindowedKStream } from '../../../src/dsl/sliding-windowed-stream.ts';

const S = Serdes.String();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

type Row = [key: string | null, value: string | null, ts: number];

async function slidingDriver(
  build: (g: SlidingWindowedKStream<string, string>) => KTable<Windowed<string>, any>,
): Promise<TopologyTestDriver> {
  const b = new StreamsBuilder();
  const grouped = b
    .stream('in', Consumed.with(S, S))
    .groupByKey()
    .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 5));
  build(grouped)
    .toStream()
    .map((wk, v) => KeyValue.pair(`${wk.key}@${wk.window.start}/${wk.window.end}`, String(v)))
    .to('out', Produced.with(S, S));
  driver = await TopologyTestDriver.create(b.build(), { statestoreCacheMaxBytes: 0 });
  return driver;
}

function play(d: TopologyTestDriver, rows: Row[]): string[] {
  const input = d.createInputTopic('in', S, S);
  const out = d.createOutputTopic('out', S, S);
  return rows.map(([key, value, ts]) => {
    input.pipeInput(key, value, ts);
    const produced = out.readRecordsToList().map((r) => `${r.key}=${r.value}@${r.timestamp}`);
    return `${ts}:${produced.length ? ` ${produced.join(' ')}` : ''}`;
  });
}

/*
 * Time difference 10 ms, grace 5 ms. Records before 10 share the window [0, 10]; each record opens a
 * left window ending at it and, when a later record lies within 10 ms, a right window starting just
 * after it; the out-of-order record at 12 updates four windows and opens its right window [13, 23]
 * with the aggregate of the records after it. 26 only touches closed windows (stream time 40), 70 is
 * late. Expected outputs are Kafka Streams 3.9.1's (TopologyTestDriver, caching off).
 */
const ROWS: Row[] = [
  ['a', '1', 5],
  ['a', '2', 8],
  ['a', '3', 15],
  ['a', '4', 20],
  ['a', '5', 12],
  ['b', '1', 30],
  ['a', '6', 40],
  ['a', '7', 26],
  ['a', '8', 35],
  ['a', '9', 100],
  ['a', '10', 70],
  ['a', null, 101],
  [null, 'x', 102],
  ['a', '11', 95],
  ['a', '12', 95],
];

describe('sliding windows', () => {
  it('count(): windows defined by records, early records, out-of-order and late records', async () => {
    const d = await slidingDriver((g) => g.count(Materialized.as<string, number>('sliding')));
    expect(play(d, ROWS)).toEqual([
      '5: a@0/10=1@5',
      '8: a@6/16=1@8 a@0/10=2@8',
      '15: a@6/16=2@15 a@9/19=1@15 a@5/15=3@15',
      '20: a@16/26=1@20 a@10/20=2@20',
      '12: a@10/20=3@20 a@9/19=2@15 a@6/16=3@15 a@5/15=4@15 a@13/23=2@20',
      '30: b@20/30=1@30',
      '40: a@30/40=1@40',
      '26:',
      '35: a@30/40=2@40 a@25/35=1@35 a@36/46=1@40',
      '100: a@90/100=1@100',
      '70:',
      '101:',
      '102:',
      '95: a@90/100=2@100 a@85/95=1@95 a@96/106=1@100',
      '95: a@90/100=3@100 a@85/95=2@95',
    ]);
    const dropped = d.droppedRecords();
    expect(dropped['null-key']).toBe(1);
    expect(dropped['null-value']).toBe(1);
    expect(dropped.late).toBeGreaterThanOrEqual(2);
    const store = d.getWindowStore<string, number>('sliding');
    expect(store.fetch('a', 90)).toBe(3);
  });

  it('reduce()', async () => {
    const d = await slidingDriver((g) => g.reduce((x, y) => `${x}+${y}`));
    expect(play(d, ROWS)).toEqual([
      '5: a@0/10=1@5',
      '8: a@6/16=2@8 a@0/10=1+2@8',
      '15: a@6/16=2+3@15 a@9/19=3@15 a@5/15=1+2+3@15',
      '20: a@16/26=4@20 a@10/20=3+4@20',
      '12: a@10/20=3+4+5@20 a@9/19=3+5@15 a@6/16=2+3+5@15 a@5/15=1+2+3+5@15 a@13/23=3+4@20',
      '30: b@20/30=1@30',
      '40: a@30/40=6@40',
      '26:',
      '35: a@30/40=6+8@40 a@25/35=8@35 a@36/46=6@40',
      '100: a@90/100=9@100',
      '70:',
      '101:',
      '102:',
      '95: a@90/100=9+11@100 a@85/95=11@95 a@96/106=9@100',
      '95: a@90/100=9+11+12@100 a@85/95=11+12@95',
    ]);
  });

  it('aggregate()', async () => {
    const d = await slidingDriver((g) =>
      g.aggregate(
        () => '',
        (_k, v, agg) => `${agg}(${v})`,
        Materialized.with<string, string>(S, S),
      ),
    );
    expect(play(d, ROWS)).toEqual([
      '5: a@0/10=(1)@5',
      '8: a@6/16=(2)@8 a@0/10=(1)(2)@8',
      '15: a@6/16=(2)(3)@15 a@9/19=(3)@15 a@5/15=(1)(2)(3)@15',
      '20: a@16/26=(4)@20 a@10/20=(3)(4)@20',
      '12: a@10/20=(3)(4)(5)@20 a@9/19=(3)(5)@15 a@6/16=(2)(3)(5)@15 a@5/15=(1)(2)(3)(5)@15 a@13/23=(3)(4)@20',
      '30: b@20/30=(1)@30',
      '40: a@30/40=(6)@40',
      '26:',
      '35: a@30/40=(6)(8)@40 a@25/35=(8)@35 a@36/46=(6)@40',
      '100: a@90/100=(9)@100',
      '70:',
      '101:',
      '102:',
      '95: a@90/100=(9)(11)@100 a@85/95=(11)@95 a@96/106=(9)@100',
      '95: a@90/100=(9)(11)(12)@100 a@85/95=(11)(12)@95',
    ]);
  });

  it('names the store and node like Kafka Streams', () => {
    const b = new StreamsBuilder();
    b.stream('in', Consumed.with(S, S))
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10))
      .reduce((x, y) => x + y);
    expect(b.build().describe().toString()).toContain(
      'Processor: KSTREAM-REDUCE-0000000002 (stores: [KSTREAM-REDUCE-STATE-STORE-0000000001])',
    );
  });
});
