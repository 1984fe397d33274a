import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
  Grouped,
  KeyValue,
  Materialized,
  Named,
  Produced,
  Serdes,
  SessionWindows,
  SlidingWindows,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  type Windowed,
} from '../../../src/index.ts';

const S = Serdes.String();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

const concat = (_k: string, v: string, agg: string): string => agg + v;

async function run(build: (b: StreamsBuilder) => void, cachingEnabled = false): Promise<TopologyTestDriver> {
  const builder = new StreamsBuilder();
  build(builder);
  driver = await TopologyTestDriver.create(builder.build(), {
    statestoreCacheMaxBytes: cachingEnabled ? undefined : 0,
  });
  return driver;
}

describe('cogroup', () => {
  it('describes like Kafka Streams: a repartition named after Grouped, one store, a merge node', () => {
    // Kafka Streams' CogroupedKStreamImplTest.shouldNameRepartitionTopic.
    const builder = new StreamsBuilder();
    const one = builder.stream('one', Consumed.with(S, S));
    const two = builder.stream('two', Consumed.with(S, S));
    const groupedOne = one.map((k, v) => KeyValue.pair(v, k)).groupByKey(Grouped.as('repartition-test'));
    const groupedTwo = two.groupByKey();
    groupedOne
      .cogroup(concat)
      .cogroup(groupedTwo, concat)
      .aggregate(() => '')
      .toStream()
      .to('output');
    expect(builder.build().describe().toString()).toBe(
      'Topologies:\n' +
        '   Sub-topology: 0\n' +
        '    Source: KSTREAM-SOURCE-0000000000 (topics: [one])\n' +
        '      --> KSTREAM-MAP-0000000002\n' +
        '    Processor: KSTREAM-MAP-0000000002 (stores: [])\n' +
        '      --> repartition-test-repartition-filter\n' +
        '      <-- KSTREAM-SOURCE-0000000000\n' +
        '    Processor: repartition-test-repartition-filter (stores: [])\n' +
        '      --> repartition-test-repartition-sink\n' +
        '      <-- KSTREAM-MAP-0000000002\n' +
        '    Sink: repartition-test-repartition-sink (topic: repartition-test-repartition)\n' +
        '      <-- repartition-test-repartition-filter\n\n' +
        '  Sub-topology: 1\n' +
        '    Source: KSTREAM-SOURCE-0000000001 (topics: [two])\n' +
        '      --> COGROUPKSTREAM-AGGREGATE-0000000008\n' +
        '    Source: repartition-test-repartition-source (topics: [repartition-test-repartition])\n' +
        '      --> COGROUPKSTREAM-AGGREGATE-0000000007\n' +
        '    Processor: COGROUPKSTREAM-AGGREGATE-0000000007 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003])\n' +
        '      --> COGROUPKSTREAM-MERGE-0000000009\n' +
        '      <-- repartition-test-repartition-source\n' +
        '    Processor: COGROUPKSTREAM-AGGREGATE-0000000008 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003])\n' +
        '      --> COGROUPKSTREAM-MERGE-0000000009\n' +
        '      <-- KSTREAM-SOURCE-0000000001\n' +
        '    Processor: COGROUPKSTREAM-MERGE-0000000009 (stores: [])\n' +
        '      --> KTABLE-TOSTREAM-0000000010\n' +
        '      <-- COGROUPKSTREAM-AGGREGATE-0000000007, COGROUPKSTREAM-AGGREGATE-0000000008\n' +
        '    Processor: KTABLE-TOSTREAM-0000000010 (stores: [])\n' +
        '      --> KSTREAM-SINK-0000000011\n' +
        '      <-- COGROUPKSTREAM-MERGE-0000000009\n' +
        '    Sink: KSTREAM-SINK-0000000011 (topic: output)\n' +
        '      <-- KTABLE-TOSTREAM-0000000010\n\n',
    );
  });

  it('names nodes after Named and the repartition topic after the store', () => {
    // Kafka Streams' CogroupedKStreamImplTest.shouldInsertRepartitionsTopicForUpstreamKeyModification.
    const builder = new StreamsBuilder();
    const one = builder.stream('one', Consumed.with(S, S));
    const two = builder.stream('two', Consumed.with(S, S));
    one
      .map((k, v) => KeyValue.pair(v, k))
      .groupByKey()
      .cogroup(concat)
      .cogroup(two.groupByKey(), concat)
      .aggregate(() => '', Named.as('test'), Materialized.as('store'))
      .toStream()
      .to('output');
    const text = builder.build().describe().toString();
    expect(text).toContain('    Sink: store-repartition-sink (topic: store-repartition)\n');
    expect(text).toContain(
      '    Processor: test-cogroup-merge (stores: [])\n' +
        '      --> KTABLE-TOSTREAM-0000000009\n' +
        '      <-- test-cogroup-agg-0, test-cogroup-agg-1\n',
    );
    expect(text).toContain('    Processor: test-cogroup-agg-1 (stores: [store])\n');
  });

  it('refuses two unnamed repartitioning inputs, which would share one repartition topic', () => {
    const builder = new StreamsBuilder();
    const one = builder.stream('one', Consumed.with(S, S)).selectKey((_k, v) => v);
    const two = builder.stream('two', Consumed.with(S, S)).selectKey((_k, v) => v);
    const cogrouped = one.groupByKey().cogroup(concat).cogroup(two.groupByKey(), concat);
    expect(() => cogrouped.aggregate(() => '')).toThrow(/name the repartition topics .* Grouped.as/);
  });

  it('folds every input into one aggregate per key, with its own aggregator, into one store', async () => {
    const d = await run((b) => {
      const clicks = b.stream('clicks', Consumed.with(S, S)).groupByKey();
      const views = b
        .stream('views', Consumed.with(S, S))
        .groupBy<string>((_k, v) => v, Grouped.as<string, string>('views-by-page'));
      clicks
        .cogroup<string>((_k, v, agg) => `${agg}c(${v})`)
        .cogroup(views, (_k, _v, agg) => `${agg}v`)
        .aggregate(() => '', Materialized.as<string, string>('activity').withValueSerde(S))
        .toStream()
        .to('out', Produced.with(S, S));
    });
    const clicks = d.createInputTopic('clicks', S, S);
    const views = d.createInputTopic('views', S, S);
    clicks.pipeInput('p1', 'x', 10);
    views.pipeInput('u1', 'p1', 5);
    views.pipeInput('u2', 'p2', 20);
    clicks.pipeInput('p2', null, 21); // null value: skipped
    clicks.pipeInput('p1', 'y', 30);
    expect(d.createOutputTopic('out', S, S).readRecordsToList()).toEqual([
      { key: 'p1', value: 'c(x)', timestamp: 10, headers: {} },
      { key: 'p1', value: 'c(x)v', timestamp: 10, headers: {} },
      { key: 'p2', value: 'v', timestamp: 20, headers: {} },
      { key: 'p1', value: 'c(x)vc(y)', timestamp: 30, headers: {} },
    ]);
    expect(d.getKeyValueStore<string, string>('activity').get('p1')).toBe('c(x)vc(y)');
    expect(d.droppedRecords()).toEqual({ 'null-value': 1 });
  });

  it('forwards through the shared store cache when caching is on (one listener for all inputs)', async () => {
    const d = await run((b) => {
      const one = b.stream('one', Consumed.with(S, S)).groupByKey();
      const two = b.stream('two', Consumed.with(S, S)).groupByKey();
      const cogrouped = one.cogroup(concat).cogroup(two, (_k, v, agg) => agg + v.toUpperCase());
      cogrouped
        .aggregate(() => '', Materialized.as<string, string>('plain').withValueSerde(S))
        .toStream()
        .to('out', Produced.with(S, S));
      cogrouped
        .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5))
        .aggregate(
          () => '',
          (_k, a, b2) => a + b2,
          Materialized.as<string, string>('sessions').withValueSerde(S),
        )
        .toStream((w: Windowed<string>) => `${w.key}@${w.window.start}-${w.window.end}`)
        .to('sessions', Produced.with(S, S));
    }, true);
    d.createInputTopic('one', S, S).pipeInput('a', 'x', 1);
    d.createInputTopic('two', S, S).pipeInput('a', 'y', 3);
    expect(d.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: 'a', value: 'x' },
      { key: 'a', value: 'xY' },
    ]);
    expect(d.createOutputTopic('sessions', S, S).readKeyValuesToList()).toEqual([
      { key: 'a@1-1', value: 'x' },
      { key: 'a@1-1', value: null },
      { key: 'a@1-3', value: 'xY' },
    ]);
    expect(d.getKeyValueStore<string, string>('plain').get('a')).toBe('xY');
  });

  it('forwards old values to a downstream table groupBy (one update when the key stays)', async () => {
    const d = await run((b) => {
      const one = b.stream('one', Consumed.with(S, S)).groupByKey();
      const two = b.stream('two', Consumed.with(S, S)).groupByKey();
      one
        .cogroup<number>((_k, _v, agg) => agg + 1)
        .cogroup(two, (_k, _v, agg) => agg + 10)
        .aggregate(() => 0)
        .groupBy((_k, v) => KeyValue.pair('all', v))
        .reduce(
          (a, v) => a + v,
          (a, v) => a - v,
        )
        .toStream()
        .to('out', Produced.with(S, Serdes.Long()));
    });
    d.createInputTopic('one', S, S).pipeInput('a', 'x', 1);
    d.createInputTopic('two', S, S).pipeInput('a', 'x', 2);
    d.createInputTopic('two', S, S).pipeInput('b', 'x', 3);
    expect(d.createOutputTopic('out', S, Serdes.Long()).readValuesToList()).toEqual([1, 11, 21]);
  });

  it('aggregates tumbling windows of several inputs in one window store', async () => {
    const d = await run((b) => {
      const one = b.stream('one', Consumed.with(S, S)).groupByKey();
      const two = b.stream('two', Consumed.with(S, S)).groupByKey();
      one
        .cogroup(concat)
        .cogroup(two, (_k, v, agg) => agg + v.toUpperCase())
        .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
        .aggregate(() => '', Materialized.as<string, string>('win').withValueSerde(S))
        .toStream((w: Windowed<string>) => `${w.key}@${w.window.start}`)
        .to('out', Produced.with(S, S));
    });
    const one = d.createInputTopic('one', S, S);
    const two = d.createInputTopic('two', S, S);
    one.pipeInput('a', 'x', 1);
    two.pipeInput('a', 'y', 3);
    one.pipeInput('a', 'z', 12);
    two.pipeInput('a', 'w', 4); // two's own stream time is 3: still in grace
    one.pipeInput('a', 'late', 4); // one's stream time is 12: window [0,10) closed at 12 - 5 = 7 >= 10? no: still open
    one.pipeInput('a', 'v', 30);
    one.pipeInput('a', 'late', 5); // closed now: dropped
    expect(d.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: 'a@0', value: 'x' },
      { key: 'a@0', value: 'xY' },
      { key: 'a@10', value: 'z' },
      { key: 'a@0', value: 'xYW' },
      { key: 'a@0', value: 'xYWlate' },
      { key: 'a@30', value: 'v' },
    ]);
    expect(d.droppedRecords()).toEqual({ late: 1 });
  });

  it('aggregates sliding windows and sessions of several inputs', async () => {
    const d = await run((b) => {
      const one = b.stream('one', Consumed.with(S, S)).groupByKey();
      const two = b.stream('two', Consumed.with(S, S)).groupByKey();
      const cogrouped = one.cogroup(concat).cogroup(two, (_k, v, agg) => agg + v.toUpperCase());
      cogrouped
        .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10))
        .aggregate(() => '')
        .toStream((w: Windowed<string>) => `${w.key}@${w.window.start}-${w.window.end}`)
        .to('sliding', Produced.with(S, S));
      cogrouped
        .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5))
        .aggregate(
          () => '',
          (_k, a, b2) => a + b2,
          Named.as('sessions'),
        )
        .toStream((w: Windowed<string>) => `${w.key}@${w.window.start}-${w.window.end}`)
        .to('sessions', Produced.with(S, S));
    });
    d.createInputTopic('one', S, S).pipeInput('a', 'x', 20);
    d.createInputTopic('two', S, S).pipeInput('a', 'y', 24);
    expect(d.createOutputTopic('sliding', S, S).readKeyValuesToList()).toEqual([
      { key: 'a@10-20', value: 'x' },
      { key: 'a@21-31', value: 'Y' },
      { key: 'a@14-24', value: 'xY' },
    ]);
    expect(d.createOutputTopic('sessions', S, S).readKeyValuesToList()).toEqual([
      { key: 'a@20-20', value: 'x' },
      { key: 'a@20-20', value: null },
      { key: 'a@20-24', value: 'xY' },
    ]);
  });
});
