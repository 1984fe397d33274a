import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
  Grouped,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
} from '../../../src/index.ts';

const S = Serdes.String();
const L = Serdes.Long();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

async function run(build: (b: StreamsBuilder) => void, cachingEnabled = false): Promise<TopologyTestDriver> {
  const builder = new StreamsBuilder();
  build(builder);
  driver = await TopologyTestDriver.create(builder.build(), {
    statestoreCacheMaxBytes: cachingEnabled ? undefined : 0,
  });
  return driver;
}

describe('grouped aggregations', () => {
  it('groupByKey().count() emits a running count per key with the max timestamp so far', async () => {
    const d = await run((b) =>
      b
        .stream('in', Consumed.with(S, S))
        .groupByKey()
        .count(Materialized.as<string, number>('counts'))
        .toStream()
        .to('out', Produced.with(S, L)),
    );
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('a', 'x', 10);
    input.pipeInput('b', 'x', 11);
    input.pipeInput('a', 'y', 5); // out of order: keeps timestamp 10
    input.pipeInput(null, 'z', 12); // null key: dropped
    input.pipeInput('a', null, 13); // null value: dropped
    expect(d.createOutputTopic('out', S, L).readRecordsToList()).toEqual([
      { key: 'a', value: 1, timestamp: 10, headers: {} },
      { key: 'b', value: 1, timestamp: 11, headers: {} },
      { key: 'a', value: 2, timestamp: 10, headers: {} },
    ]);
    expect(d.getKeyValueStore<string, number>('counts').get('a')).toBe(2);
    expect(d.droppedRecords()).toEqual({ 'null-key': 1, 'null-value': 1 });
  });

  it('groupBy() repartitions through <application>-<store>-repartition and reduces', async () => {
    const d = await run((b) =>
      b
        .stream('in', Consumed.with(S, S))
        .groupBy((_k, v) => v.slice(0, 1), Grouped.with(S, S))
        .reduce((agg, v) => `${agg}+${v}`, Materialized.as<string, string>('by-initial'))
        .toStream()
        .to('out', Produced.with(S, S)),
    );
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('1', 'apple', 1);
    input.pipeInput('2', 'avocado', 2);
    input.pipeInput('3', 'banana', 3);
    expect(d.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: 'a', value: 'apple' },
      { key: 'a', value: 'apple+avocado' },
      { key: 'b', value: 'banana' },
    ]);
    expect(d.producedTopicNames()).toContain('topology-test-driver-by-initial-repartition');
    expect(d.producedTopicNames()).toContain('topology-test-driver-by-initial-changelog');
  });

  it('aggregate() folds values into an initialized aggregate', async () => {
    const d = await run((b) =>
      b
        .stream('in', Consumed.with(S, S))
        .groupByKey(Grouped.with(S, S))
        .aggregate(
          () => 0,
          (_k, v, agg) => agg + v.length,
          Materialized.as<string, number>('lengths').withValueSerde(L),
        )
        .toStream()
        .to('out', Produced.with(S, L)),
    );
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('k', 'abc', 1);
    input.pipeInput('k', 'de', 2);
    expect(d.createOutputTopic('out', S, L).readValuesToList()).toEqual([3, 5]);
  });

  it('with caching on, updates within one input record are deduplicated at commit', async () => {
    const d = await run(
      (b) =>
        b
          .stream('in', Consumed.with(S, S))
          .flatMapValues((v) => v.split(' '))
          .groupBy((_k, w) => w, Grouped.with(S, S))
          .count(Materialized.as<string, number>('words'))
          .toStream()
          .to('out', Produced.with(S, L)),
      true,
    );
    d.createInputTopic('in', S, S).pipeInput(null, 'a a a b', 1);
    // Each repartitioned word is its own input to the downstream sub-topology: forwarded per record.
    expect(d.createOutputTopic('out', S, L).readKeyValuesToMap()).toEqual(
      new Map([
        ['a', 3],
        ['b', 1],
      ]),
    );
  });
});

describe('combining before the repartition topic', () => {
  const build = (b: StreamsBuilder) =>
    b
      .stream('in', Consumed.with(S, S))
      .flatMapValues((v) => v.split(' '))
      .groupBy((_k, w) => w, Grouped.with(S, S))
      .count(Materialized.as<string, number>('words'))
      .toStream()
      .to('out', Produced.with(S, L));
  const repartition = 'topology-test-driver-words-repartition';

  it('with caching on, a count ships one partial per key and commit, and counts stay exact', async () => {
    const d = await run(build, true);
    d.createInputTopic('in', S, S).pipeInput(null, 'a b a a b c', 1);
    d.createInputTopic('in', S, S).pipeInput(null, 'a', 2);
    const shipped = d.createOutputTopic(repartition, S, L).readKeyValuesToList();
    expect(shipped).toEqual([
      { key: 'a', value: 3 },
      { key: 'b', value: 2 },
      { key: 'c', value: 1 },
      { key: 'a', value: 1 },
    ]);
    expect(d.createOutputTopic('out', S, L).readKeyValuesToMap()).toEqual(
      new Map([
        ['a', 4],
        ['b', 2],
        ['c', 1],
      ]),
    );
  });

  it('with caching off, every record travels alone and every update is forwarded', async () => {
    const d = await run(build, false);
    d.createInputTopic('in', S, S).pipeInput(null, 'a b a', 1);
    expect(d.createOutputTopic(repartition, S, L).readValuesToList()).toEqual([1, 1, 1]);
    expect(d.createOutputTopic('out', S, L).readKeyValuesToList()).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 1 },
      { key: 'a', value: 2 },
    ]);
  });

  it('aggregate() with a merge function combines too; without one it does not', async () => {
    const sum = (merge: boolean) => (b: StreamsBuilder) =>
      b
        .stream('in', Consumed.with(S, S))
        .groupBy((_k, v) => v.slice(0, 1), Grouped.with(S, S))
        .aggregate(
          () => 0,
          (_k, v, agg) => agg + v.length,
          Materialized.as<string, number>('sums').withValueSerde(L),
          merge ? { merge: (_k, a, b) => a + b } : {},
        )
        .toStream()
        .to('out', Produced.with(S, L));
    const merged = await run(sum(true), true);
    merged.createInputTopic('in', S, S).pipeInput('k', 'aaa', 1);
    expect(
      merged.createOutputTopic('topology-test-driver-sums-repartition', S, L).readValuesToList(),
    ).toEqual([3]);
    expect(merged.getKeyValueStore<string, number>('sums').get('a')).toBe(3);
    await merged.close();
    const plain = await run(sum(false), true);
    plain.createInputTopic('in', S, S).pipeInput('k', 'aaa', 1);
    expect(plain.createOutputTopic('topology-test-driver-sums-repartition', S, S).readValuesToList()).toEqual(
      ['aaa'],
    );
  });
});

describe('time windows', () => {
  const windowedCount = (windows: TimeWindows) => (b: StreamsBuilder) =>
    b
      .stream('in', Consumed.with(S, S))
      .groupByKey()
      .windowedBy(windows)
      .count(Materialized.as<string, number>('windowed'))
      .toStream((wk) => `${wk.key}@${wk.window.start}-${wk.window.end}`)
      .to('out', Produced.with(S, L));

  it('tumbling windows open per size, close after grace, and drop late records', async () => {
    const d = await run(windowedCount(TimeWindows.ofSizeAndGrace(10_000, 5_000)));
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('k', 'v', 1_000); // window [0,10000)
    input.pipeInput('k', 'v', 12_000); // window [10000,20000); stream time 12000, close time 7000
    input.pipeInput('k', 'v', 9_000); // [0,10000) still open (end 10000 > 7000)
    input.pipeInput('k', 'v', 16_000); // stream time 16000 → close time 11000: [0,10000) closed
    input.pipeInput('k', 'v', 2_000); // late: dropped
    expect(
      d
        .createOutputTopic('out', S, L)
        .readRecordsToList()
        .map((r) => [r.key, r.value, r.timestamp]),
    ).toEqual([
      ['k@0-10000', 1, 1_000],
      ['k@10000-20000', 1, 12_000],
      ['k@0-10000', 2, 9_000],
      ['k@10000-20000', 2, 16_000],
    ]);
    expect(d.droppedRecords()).toEqual({ late: 1 });
    const store = d.getWindowStore<string, number>('windowed');
    expect(store.fetch('k', 0)).toBe(2);
    expect([...store.fetchRange('k', 0, 20_000)]).toEqual([
      { windowStart: 0, value: 2 },
      { windowStart: 10_000, value: 2 },
    ]);
  });

  it('hopping windows update every window containing the record', async () => {
    const d = await run(windowedCount(TimeWindows.ofSizeWithNoGrace(10_000).advanceBy(5_000)));
    d.createInputTopic('in', S, S).pipeInput('k', 'v', 7_000);
    expect(d.createOutputTopic('out', S, L).readKeyValuesToList()).toEqual([
      { key: 'k@0-10000', value: 1 },
      { key: 'k@5000-15000', value: 1 },
    ]);
  });

  it('with no grace a window closes as soon as stream time reaches its end', async () => {
    const d = await run(windowedCount(TimeWindows.ofSizeWithNoGrace(10_000)));
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('k', 'v', 10_000);
    input.pipeInput('k', 'v', 9_999);
    expect(d.createOutputTopic('out', S, L).readKeyValuesToList()).toEqual([
      { key: 'k@10000-20000', value: 1 },
    ]);
    expect(d.droppedRecords()).toEqual({ late: 1 });
  });

  it('rejects retention shorter than size + grace', () => {
    const b = new StreamsBuilder();
    const grouped = b.stream('in', Consumed.with(S, S)).groupByKey();
    expect(() =>
      grouped
        .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 5_000))
        .count(Materialized.as<string, number>('w').withRetention(1_000)),
    ).toThrow(/retention \(1000 ms\) must be at least window size \+ grace \(15000 ms\)/);
  });
});

describe('tables', () => {
  it('table().toStream() emits every update, tombstones as null values, and skips null keys', async () => {
    const d = await run((b) =>
      b
        .table('t', Consumed.with(S, S), Materialized.as<string, string>('t-store'))
        .toStream()
        .to('out', Produced.with(S, S)),
    );
    const input = d.createInputTopic('t', S, S);
    input.pipeInput('a', '1', 1);
    input.pipeInput('a', '2', 2);
    input.pipeInput('a', null, 3);
    input.pipeInput(null, 'x', 4);
    expect(d.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
      { key: 'a', value: null },
    ]);
    expect(d.getKeyValueStore('t-store').get('a')).toBeUndefined();
  });
});
