import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
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

describe('event time', () => {
  it('a custom timestamp extractor sets event time, which windows and output timestamps use', async () => {
    const b = new StreamsBuilder();
    b.stream(
      'events',
      Consumed.with(S, Serdes.JSON<{ at: number }>()).withTimestampExtractor(
        (record) => (record.value as { at: number }).at,
      ),
    )
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(1_000))
      .count(Materialized.as<string, number>('per-second'))
      .toStream((wk) => `${wk.key}@${wk.window.start}`)
      .to('out', Produced.with(S, L));
    driver = await TopologyTestDriver.create(b.build(), { statestoreCacheMaxBytes: 0 });
    const input = driver.createInputTopic('events', S, Serdes.JSON<{ at: number }>());
    input.pipeInput('k', { at: 5_500 }, 1); // record timestamp 1 is ignored
    input.pipeInput('k', { at: 5_900 }, 2);
    expect(
      driver
        .createOutputTopic('out', S, L)
        .readRecordsToList()
        .map((r) => [r.key, r.value, r.timestamp]),
    ).toEqual([
      ['k@5000', 1, 5_500],
      ['k@5000', 2, 5_900],
    ]);
  });

  it('an invalid (negative) timestamp fails with the record position, or is skipped and counted', async () => {
    const build = () => {
      const b = new StreamsBuilder();
      b.stream(
        'in',
        Consumed.with(S, S).withTimestampExtractor(() => -5),
      ).to('out', Produced.with(S, S));
      return b.build();
    };
    driver = await TopologyTestDriver.create(build());
    expect(() => driver!.createInputTopic('in', S, S).pipeInput('k', 'v', 1)).toThrow(
      /Invalid timestamp -5 for record at topic 'in' partition 0 offset 0/,
    );
    await driver.close();
    driver = await TopologyTestDriver.create(build(), { badRecordHandling: 'skip' });
    driver.createInputTopic('in', S, S).pipeInput('k', 'v', 1);
    expect(driver.createOutputTopic('out', S, S).isEmpty()).toBe(true);
    expect(driver.droppedRecords()).toEqual({ 'invalid-timestamp': 1 });
  });

  it('stream time is the largest timestamp seen: out-of-order records do not move windows back', async () => {
    const b = new StreamsBuilder();
    b.stream('in', Consumed.with(S, S))
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(100, 50))
      .count()
      .toStream((wk) => wk.window.start)
      .to('out', Produced.with(Serdes.Long(), L));
    driver = await TopologyTestDriver.create(b.build(), { statestoreCacheMaxBytes: 0 });
    const input = driver.createInputTopic('in', S, S);
    for (const ts of [120, 30, 160, 99, 230, 140, 149]) input.pipeInput('k', 'v', ts);
    // close time after 230 is 180: window [100,200) still open; [0,100) closed since stream time 160 (close 110).
    expect(driver.createOutputTopic('out', Serdes.Long(), L).readKeyValuesToList()).toEqual([
      { key: 100, value: 1 },
      { key: 0, value: 1 },
      { key: 100, value: 2 },
      { key: 200, value: 1 },
      { key: 100, value: 3 },
      { key: 100, value: 4 },
    ]);
    expect(driver.droppedRecords()).toEqual({ late: 1 });
  });
});
