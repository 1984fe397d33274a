import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
  Grouped,
  KeyValue,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TopologyTestDriver,
  type KTable,
  type Windowed,
} from '../../../src/index.ts';
import { SessionWindows } from '../../../src/dsl/session-windows.ts';
import type { SessionWindowedKStream } from '../../../src/dsl/session-windowed-stream.ts';
import type { SessionStore } from '../../../src/state/types.ts';

const S = Serdes.String();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

/** Windowed results as "key@start/end" → value strings (null for deletes). */
function toOut(table: KTable<Windowed<string>, any>): void {
  table
    .toStream()
    .map((wk, v) =>
      KeyValue.pair(
        `${wk.key}@${wk.window.start}/${wk.window.end}`,
        v === null ? (null as unknown as string) : String(v),
      ),
    )
    .to('out', Produced.with(S, S));
}

type Row = [key: string | null, value: string | null, ts: number];

function play(d: TopologyTestDriver, rows: Row[]): string[] {
  const input = d.createInputTopic('in', S, S);
  const out = d.createOutputTopic('out', S, S);
  return rows.map(([key, value, ts]) => {
    input.pipeInput(key, value, ts);
    const produced = out.readRecordsToList().map((r) => `${r.key}=${r.value}@${r.timestamp}`);
    return `${ts}:${produced.length ? ` ${produced.join(' ')}` : ''}`;
  });
}

async function sessionDriver(
  build: (g: SessionWindowedKStream<string, string>) => KTable<Windowed<string>, any>,
): Promise<TopologyTestDriver> {
  const b = new StreamsBuilder();
  const grouped = b
    .stream('in', Consumed.with(S, S))
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5));
  toOut(build(grouped));
  driver = await TopologyTestDriver.create(b.build(), { cachingEnabled: false });
  return driver;
}

/*
 * Gap 10 ms, grace 5 ms. Sessions merge when a record bridges them (20 joins [18,18] and [30,30];
 * 12 joins [18,30], while [0,5] has expired from the store: its end is at or before 30 - 15); the
 * merged-away sessions are deleted first. 31 would extend [12,30] but the stream time is 50: late.
 * Expected outputs are Kafka Streams 3.9.1's (TopologyTestDriver, caching off).
 */
const ROWS: Row[] = [
  ['a', '1', 0],
  ['a', '2', 5],
  ['a', '3', 30],
  ['a', '4', 18],
  ['a', '5', 20],
  ['b', '1', 25],
  ['a', '6', 12],
  ['a', '7', 50],
  ['a', '8', 31],
  ['b', null, 52],
  [null, 'x', 53],
  ['a', '9', 100],
];

describe('session windows', () => {
  it('count(): merges sessions, deletes the merged ones, drops late records', async () => {
    const d = await sessionDriver((g) => g.count(Materialized.as<string, number>('sessions')));
    expect(play(d, ROWS)).toEqual([
      '0: a@0/0=1@0',
      '5: a@0/0=null@0 a@0/5=2@5',
      '30: a@30/30=1@30',
      '18: a@18/18=1@18',
      '20: a@18/18=null@18 a@30/30=null@30 a@18/30=3@30',
      '25: b@25/25=1@25',
      '12: a@18/30=null@30 a@12/30=4@30',
      '50: a@50/50=1@50',
      '31:',
      '52: b@52/52=1@52',
      '53:',
      '100: a@100/100=1@100',
    ]);
    expect(d.droppedRecords()).toEqual({ late: 1, 'null-key': 1 });
    const store = d.getStateStore('sessions') as unknown as SessionStore<string, number>;
    expect([...store.fetch('a')].map(({ key, value }) => [key.window, value])).toEqual([
      [{ start: 100, end: 100 }, 1],
    ]);
    expect(d.producedTopicNames()).toContain('topology-test-driver-sessions-changelog');
  });

  it('reduce(): a null value resets the session to null (deleted)', async () => {
    const d = await sessionDriver((g) => g.reduce((x, y) => `${x}+${y}`));
    expect(play(d, ROWS)).toEqual([
      '0: a@0/0=1@0',
      '5: a@0/0=null@0 a@0/5=1+2@5',
      '30: a@30/30=3@30',
      '18: a@18/18=4@18',
      '20: a@18/18=null@18 a@30/30=null@30 a@18/30=4+3+5@30',
      '25: b@25/25=1@25',
      '12: a@18/30=null@30 a@12/30=4+3+5+6@30',
      '50: a@50/50=7@50',
      '31:',
      '52: b@52/52=null@52',
      '53:',
      '100: a@100/100=9@100',
    ]);
  });

  it('aggregate(): merger combines the aggregates of merged sessions', async () => {
    const d = await sessionDriver((g) =>
      g.aggregate(
        () => '',
        (_k, v, agg) => `${agg}(${v})`,
        (_k, x, y) => `${x}|${y}`,
        Materialized.with<string, string>(S, S),
      ),
    );
    expect(play(d, ROWS)).toEqual([
      '0: a@0/0=(1)@0',
      '5: a@0/0=null@0 a@0/5=|(1)(2)@5',
      '30: a@30/30=(3)@30',
      '18: a@18/18=(4)@18',
      '20: a@18/18=null@18 a@30/30=null@30 a@18/30=|(4)|(3)(5)@30',
      '25: b@25/25=(1)@25',
      '12: a@18/30=null@30 a@12/30=||(4)|(3)(5)(6)@30',
      '50: a@50/50=(7)@50',
      '31:',
      '52: b@52/52=(null)@52',
      '53:',
      '100: a@100/100=(9)@100',
    ]);
  });

  it('names nodes and stores like Kafka Streams and repartitions after a key change', async () => {
    let b = new StreamsBuilder();
    b.stream('in', Consumed.with(S, S))
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(10))
      .count();
    expect(b.build().describe().toString()).toContain(
      'Processor: KSTREAM-AGGREGATE-0000000002 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000001])',
    );

    b = new StreamsBuilder();
    const table = b
      .stream('in', Consumed.with(S, S))
      .groupBy((_k, v) => v.slice(0, 1), Grouped.with(S, S).withName('by-initial'))
      .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(100))
      .reduce((x, y) => `${x},${y}`);
    toOut(table);
    const topology = b.build();
    expect(topology.describe().toString()).toContain('KSTREAM-REDUCE-');
    driver = await TopologyTestDriver.create(topology, { cachingEnabled: false });
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('1', 'apple', 10);
    input.pipeInput('2', 'avocado', 50);
    input.pipeInput('3', 'banana', 60);
    expect(driver.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: 'a@10/10', value: 'apple' },
      { key: 'a@10/10', value: null },
      { key: 'a@10/50', value: 'apple,avocado' },
      { key: 'b@60/60', value: 'banana' },
    ]);
    expect(driver.producedTopicNames()).toContain('topology-test-driver-by-initial-repartition');
  });
});
