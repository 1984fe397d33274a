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
import type { FixedKeyProcessorSupplier, ProcessorContext } from '../../../src/processor/api.ts';

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
  cachingEnabled = false,
): Promise<TopologyTestDriver> {
  const b = new StreamsBuilder();
  const grouped = b
    .stream('in', Consumed.with(S, S))
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5));
  toOut(build(grouped));
  driver = await TopologyTestDriver.create(b.build(), {
    statestoreCacheMaxBytes: cachingEnabled ? undefined : 0,
  });
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

const COUNT_OUT = [
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
];

describe('session windows', () => {
  it('count(): merges sessions, deletes the merged ones, drops late records', async () => {
    const d = await sessionDriver((g) => g.count(Materialized.as<string, number>('sessions')));
    expect(play(d, ROWS)).toEqual(COUNT_OUT);
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
    driver = await TopologyTestDriver.create(topology, { statestoreCacheMaxBytes: 0 });
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

/**
 * One input record "t1 t2 ..." becomes records at timestamps t1, t2, ... of the same key (no
 * repartition), all processed before the driver commits: several session updates in one commit.
 */
const burst: FixedKeyProcessorSupplier<string, string, string> = () => {
  let context: ProcessorContext<string, string>;
  return {
    init(ctx) {
      context = ctx;
    },
    process(record) {
      for (const t of record.value.split(' ')) context.forward(record.withValue(t).withTimestamp(Number(t)));
    },
  };
};

async function burstDriver(cachingEnabled: boolean, withTotals = false): Promise<TopologyTestDriver> {
  const b = new StreamsBuilder();
  const sessions = b
    .stream('in', Consumed.with(S, S))
    .processValues(burst)
    .groupByKey(Grouped.with(S, S))
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5))
    .count(Materialized.as<string, number>('sessions'));
  toOut(sessions);
  if (withTotals) {
    // Records per key over its live sessions: needs old values (subtract the replaced session count).
    sessions
      .groupBy((wk, count) => KeyValue.pair(wk.key, count), Grouped.with(S, Serdes.Long()))
      .reduce(
        (total, count) => total + count,
        (total, count) => total - count,
        Materialized.as<string, number>('totals'),
      )
      .toStream()
      .mapValues((v) => String(v))
      .to('totals', Produced.with(S, S));
  }
  driver = await TopologyTestDriver.create(b.build(), {
    statestoreCacheMaxBytes: cachingEnabled ? undefined : 0,
  });
  return driver;
}

describe('session windows with caching on', () => {
  it('forwards the updates of one commit deduplicated, per session', async () => {
    const build = (g: SessionWindowedKStream<string, string>) => g.count(Materialized.as('sessions'));
    const b = new StreamsBuilder();
    toOut(
      build(
        b
          .stream('in', Consumed.with(S, S))
          .flatMapValues((v) => v.split(' '))
          .groupByKey()
          .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5)),
      ),
    );
    const topology = b.build();
    const outputs: string[][] = [];
    for (const cachingEnabled of [true, false]) {
      driver = await TopologyTestDriver.create(topology, {
        statestoreCacheMaxBytes: cachingEnabled ? undefined : 0,
      });
      const input = driver.createInputTopic('in', S, S);
      input.pipeInput('a', 'x y z', 0);
      input.pipeInput('a', 'w', 4);
      outputs.push(
        driver
          .createOutputTopic('out', S, S)
          .readRecordsToList()
          .map((r) => `${r.key}=${r.value}@${r.timestamp}`),
      );
      await driver.close();
      driver = undefined;
    }
    expect(outputs[0]).toEqual(['a@0/0=3@0', 'a@0/0=null@0', 'a@0/4=4@4']);
    expect(outputs[1]).toEqual(['a@0/0=1@0', 'a@0/0=2@0', 'a@0/0=3@0', 'a@0/0=null@0', 'a@0/4=4@4']);
  });

  it('never forwards a session created and merged away within one commit', async () => {
    const d = await burstDriver(true);
    const out = d.createOutputTopic('out', S, S);
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('a', '10 22 16', 0); // [10,10] and [22,22], merged by 16 into [10,22]
    expect(out.readRecordsToList().map((r) => `${r.key}=${r.value}@${r.timestamp}`)).toEqual([
      'a@10/22=3@22',
    ]);
    input.pipeInput('a', '27', 27); // extends the flushed [10,22]: its delete is forwarded
    expect(out.readRecordsToList().map((r) => `${r.key}=${r.value}@${r.timestamp}`)).toEqual([
      'a@10/22=null@22',
      'a@10/27=4@27',
    ]);
    const store = d.getSessionStore<string, number>('sessions');
    expect([...store.fetch('a')].map(({ key, value }) => [key.window, value])).toEqual([
      [{ start: 10, end: 27 }, 4],
    ]);
    // The changelog holds what was flushed: no record of [10,10] or [22,22] carries a value.
    const changelog = d
      .createOutputTopic('topology-test-driver-sessions-changelog', Serdes.Bytes(), Serdes.Long())
      .readValuesToList();
    expect(changelog.filter((v) => v !== null)).toEqual([3, 4]);
  });

  it('with caching off forwards every update of the same input, as Kafka Streams does', async () => {
    const d = await burstDriver(false);
    d.createInputTopic('in', S, S).pipeInput('a', '10 22 16', 0);
    expect(
      d
        .createOutputTopic('out', S, S)
        .readRecordsToList()
        .map((r) => `${r.key}=${r.value}@${r.timestamp}`),
    ).toEqual(['a@10/10=1@10', 'a@22/22=1@22', 'a@10/10=null@10', 'a@22/22=null@22', 'a@10/22=3@22']);
  });

  it('sends old values from the store below the cache, so downstream subtracts the replaced sessions', async () => {
    for (const cachingEnabled of [true, false]) {
      const d = await burstDriver(cachingEnabled, true);
      const input = d.createInputTopic('in', S, S);
      input.pipeInput('a', '10 22 16', 0);
      input.pipeInput('b', '23', 23);
      input.pipeInput('a', '27', 27);
      input.pipeInput('a', '60', 60); // a new session; [10,27] has expired from the store meanwhile
      const totals = d.createOutputTopic('totals', S, S).readKeyValuesToMap();
      expect(totals).toEqual(
        new Map([
          ['a', '5'],
          ['b', '1'],
        ]),
      );
      await d.close();
      driver = undefined;
    }
  });

  it('commits after every input record: forwards what caching off forwards on the reference rows', async () => {
    const d = await sessionDriver((g) => g.count(Materialized.as<string, number>('sessions')), true);
    expect(play(d, ROWS)).toEqual(COUNT_OUT);
    expect(d.droppedRecords()).toEqual({ late: 1, 'null-key': 1 });
    const store = d.getSessionStore<string, number>('sessions');
    expect([...store.fetchRange(undefined, undefined)].map(({ key, value }) => [key, value])).toEqual([
      [{ key: 'a', window: { start: 100, end: 100 } }, 1],
    ]);
  });
});
