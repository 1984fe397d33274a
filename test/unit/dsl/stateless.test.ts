import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
  KeyValue,
  Named,
  Produced,
  Serdes,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../../src/index.ts';

const S = Serdes.String();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

async function run(build: (b: StreamsBuilder) => void): Promise<TopologyTestDriver> {
  const builder = new StreamsBuilder();
  build(builder);
  driver = await TopologyTestDriver.create(builder.build(), { statestoreCacheMaxBytes: 0 });
  return driver;
}

describe('stateless KStream operators', () => {
  it('filter and filterNot keep and drop records by predicate, preserving order and timestamps', async () => {
    const d = await run((b) => {
      const s = b.stream('in', Consumed.with(S, S));
      s.filter((_k, v) => v.startsWith('a')).to('kept', Produced.with(S, S));
      s.filterNot((_k, v) => v.startsWith('a')).to('dropped', Produced.with(S, S));
    });
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('k1', 'apple', 10);
    input.pipeInput('k2', 'banana', 5);
    input.pipeInput('k3', 'avocado', 20);
    expect(d.createOutputTopic('kept', S, S).readRecordsToList()).toEqual([
      { key: 'k1', value: 'apple', timestamp: 10, headers: {} },
      { key: 'k3', value: 'avocado', timestamp: 20, headers: {} },
    ]);
    expect(d.createOutputTopic('dropped', S, S).readKeyValuesToList()).toEqual([
      { key: 'k2', value: 'banana' },
    ]);
  });

  it('map, mapValues (value first, key second), selectKey', async () => {
    const d = await run((b) => {
      const s = b.stream('in', Consumed.with(S, S));
      s.map((k, v) => KeyValue.pair(v, k)).to('swapped', Produced.with(S, S));
      s.mapValues((v, k) => `${k}:${v.toUpperCase()}`).to('upper', Produced.with(S, S));
      s.selectKey((_k, v) => v.length).to('by-length', Produced.with(Serdes.Integer(), S));
    });
    d.createInputTopic('in', S, S).pipeInput('a', 'xyz', 1);
    expect(d.createOutputTopic('swapped', S, S).readKeyValue()).toEqual({ key: 'xyz', value: 'a' });
    expect(d.createOutputTopic('upper', S, S).readValue()).toBe('a:XYZ');
    expect(d.createOutputTopic('by-length', Serdes.Integer(), S).readKeyValue()).toEqual({
      key: 3,
      value: 'xyz',
    });
  });

  it('flatMap and flatMapValues emit zero or more records with the input timestamp', async () => {
    const d = await run((b) => {
      const s = b.stream('in', Consumed.with(S, S));
      s.flatMapValues((v) => v.split(' ')).to('words', Produced.with(S, S));
      s.flatMap((k, v) => v.split(' ').map((w, i) => KeyValue.pair(`${k}${i}`, w))).to(
        'indexed',
        Produced.with(S, S),
      );
    });
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('k', 'a b c', 42);
    input.pipeInput('e', '', 43);
    expect(
      d
        .createOutputTopic('words', S, S)
        .readRecordsToList()
        .map((r) => [r.key, r.value, r.timestamp]),
    ).toEqual([
      ['k', 'a', 42],
      ['k', 'b', 42],
      ['k', 'c', 42],
      ['e', '', 43],
    ]);
    expect(d.createOutputTopic('indexed', S, S).readKeyValuesToList().slice(0, 3)).toEqual([
      { key: 'k0', value: 'a' },
      { key: 'k1', value: 'b' },
      { key: 'k2', value: 'c' },
    ]);
  });

  it('peek and foreach see every record; merge interleaves two streams in processing order', async () => {
    const peeked: string[] = [];
    const seen: string[] = [];
    const d = await run((b) => {
      const left = b.stream('left', Consumed.with(S, S));
      const right = b.stream('right', Consumed.with(S, S));
      left
        .merge(right, Named.as('both'))
        .peek((_k, v) => peeked.push(v))
        .to('merged', Produced.with(S, S));
      left.foreach((_k, v) => seen.push(v));
    });
    d.createInputTopic('left', S, S).pipeInput('l', 'L1', 1);
    d.createInputTopic('right', S, S).pipeInput('r', 'R1', 2);
    d.createInputTopic('left', S, S).pipeInput('l', 'L2', 3);
    expect(d.createOutputTopic('merged', S, S).readValuesToList()).toEqual(['L1', 'R1', 'L2']);
    expect(peeked).toEqual(['L1', 'R1', 'L2']);
    expect(seen).toEqual(['L1', 'L2']);
  });

  it('null keys and null values pass through stateless operators', async () => {
    const d = await run((b) => {
      b.stream('in', Consumed.with(S, S))
        .filter(() => true)
        .to('out', Produced.with(S, S));
    });
    const input = d.createInputTopic('in', S, S);
    input.pipeInput(null, 'v', 1);
    input.pipeInput('k', null, 2);
    expect(d.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: null, value: 'v' },
      { key: 'k', value: null },
    ]);
  });

  it('to() with a topic extractor routes each record', async () => {
    const d = await run((b) => {
      b.stream('in', Consumed.with(S, S)).to(
        (_k, v) => `out-${v.length % 2 === 0 ? 'even' : 'odd'}`,
        Produced.with(S, S),
      );
    });
    const input = d.createInputTopic('in', S, S);
    input.pipeInput('a', 'xx', 1);
    input.pipeInput('b', 'x', 2);
    expect(d.createOutputTopic('out-even', S, S).readValuesToList()).toEqual(['xx']);
    expect(d.createOutputTopic('out-odd', S, S).readValuesToList()).toEqual(['x']);
  });

  it('stream() reads a list of topics and a pattern', async () => {
    const d = await run((b) => {
      b.stream(['a', 'b'], Consumed.with(S, S)).to('from-list', Produced.with(S, S));
      b.stream(/^events-.*/, Consumed.with(S, S)).to('from-pattern', Produced.with(S, S));
    });
    d.createInputTopic('a', S, S).pipeInput('k', 'A', 1);
    d.createInputTopic('b', S, S).pipeInput('k', 'B', 2);
    d.createInputTopic('events-x', S, S).pipeInput('k', 'X', 3);
    expect(d.createOutputTopic('from-list', S, S).readValuesToList()).toEqual(['A', 'B']);
    expect(d.createOutputTopic('from-pattern', S, S).readValuesToList()).toEqual(['X']);
  });

  it('input topics stamp records from their own clock when no timestamp is given', async () => {
    const d = await run((b) => b.stream('in', Consumed.with(S, S)).to('out', Produced.with(S, S)));
    const input = d.createInputTopic('in', S, S, { startTimestamp: 1000, autoAdvanceMs: 10 });
    input.pipeKeyValueList([
      ['a', '1'],
      ['b', '2'],
    ]);
    input.advanceTime(100);
    input.pipeInput('c', '3');
    expect(
      d
        .createOutputTopic('out', S, S)
        .readRecordsToList()
        .map((r) => r.timestamp),
    ).toEqual([1000, 1010, 1120]);
  });

  it('an unknown input topic is a clear error', async () => {
    const d = await run((b) => b.stream('in', Consumed.with(S, S)).to('out'));
    expect(() => d.createInputTopic('nope', S, S)).toThrow(/Unknown topic 'nope'.*'in'/);
  });

  it('a record that does not deserialize names topic, partition and offset', async () => {
    const d = await run((b) => b.stream('in', Consumed.with(S, Serdes.JSON<{ a: number }>())).to('out'));
    const raw = d.createInputTopic('in', S, S);
    raw.pipeInput('k', '{"a":1}', 1);
    expect(() => raw.pipeInput('k', '{broken', 2)).toThrow(
      /value of record at topic 'in' partition 0 offset 1/,
    );
  });

  it('with badRecordHandling skip, a bad record is counted and processing continues', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', Consumed.with(S, Serdes.JSON<{ a: number }>()))
      .to('out', Produced.with(S, Serdes.JSON()));
    driver = await TopologyTestDriver.create(builder.build(), { badRecordHandling: 'skip' });
    const raw = driver.createInputTopic('in', S, S);
    raw.pipeInput('k', '{broken', 1);
    raw.pipeInput('k', '{"a":2}', 2);
    expect(driver.createOutputTopic('out', S, Serdes.JSON()).readValuesToList()).toEqual([{ a: 2 }]);
    expect(driver.droppedRecords()).toEqual({ deserialization: 1 });
  });
});
