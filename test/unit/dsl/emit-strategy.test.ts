import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
  EmitStrategy,
  Materialized,
  Produced,
  Serdes,
  SlidingWindows,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  type Windowed,
} from '../../../src/index.ts';

const S = Serdes.String();
const L = Serdes.Long();
let driver: TopologyTestDriver | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await driver?.close();
  driver = undefined;
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const render = (w: Windowed<string>): string => `${w.key}@${w.window.start}-${w.window.end}`;

function tumblingCount(materialized = Materialized.with<string, number>(S, L)): StreamsBuilder {
  const builder = new StreamsBuilder();
  builder
    .stream('in', Consumed.with(S, S))
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 2))
    .emitStrategy(EmitStrategy.onWindowClose())
    .count(materialized)
    .toStream(render)
    .to('out', Produced.with(S, L));
  return builder;
}

describe('emitStrategy', () => {
  it('has Kafka Streams names and onWindowUpdate as the default', () => {
    expect(EmitStrategy.onWindowClose().type()).toBe('ON_WINDOW_CLOSE');
    expect(EmitStrategy.onWindowUpdate().type()).toBe('ON_WINDOW_UPDATE');
  });

  it('onWindowClose emits each tumbling window once when stream time passes end + grace', async () => {
    for (const cachingEnabled of [false, true]) {
      driver = await TopologyTestDriver.create(tumblingCount().build(), {
        statestoreCacheMaxBytes: cachingEnabled ? undefined : 0,
      });
      const input = driver.createInputTopic('in', S, S);
      const out = driver.createOutputTopic('out', S, L);
      input.pipeInput('b', 'x', 1);
      input.pipeInput('a', 'x', 5);
      input.pipeInput('a', 'x', 11); // close time 9: nothing closed (window [10,20) opens)
      expect(out.readRecordsToList()).toEqual([]);
      input.pipeInput('a', 'x', 8); // still in grace: counts
      input.pipeInput('a', 'x', 12); // close time 10: [0,10) closes, by start then key
      expect(out.readRecordsToList()).toEqual([
        { key: 'a@0-10', value: 2, timestamp: 8, headers: {} },
        { key: 'b@0-10', value: 1, timestamp: 1, headers: {} },
      ]);
      input.pipeInput('a', 'x', 3); // late: dropped, nothing emitted twice
      input.pipeInput('b', 'x', 25); // close time 23: [10,20) closes
      expect(out.readKeyValuesToList()).toEqual([{ key: 'a@10-20', value: 2 }]);
      expect(driver.droppedRecords()).toEqual({ late: 1 });
      await driver.close();
      driver = undefined;
    }
  });

  it('onWindowClose on sliding windows emits each closed window once', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', Consumed.with(S, S))
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10))
      .emitStrategy(EmitStrategy.onWindowClose())
      .count()
      .toStream(render)
      .to('out', Produced.with(S, L));
    driver = await TopologyTestDriver.create(builder.build(), { statestoreCacheMaxBytes: 0 });
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('a', 'x', 20);
    input.pipeInput('a', 'x', 25);
    input.pipeInput('a', 'x', 40); // close time 40: windows ending before 40 close
    expect(driver.createOutputTopic('out', S, L).readKeyValuesToList()).toEqual([
      { key: 'a@10-20', value: 1 },
      { key: 'a@15-25', value: 2 },
      { key: 'a@21-31', value: 1 },
    ]);
  });

  it('keeps the last emitted close time in a store describe() leaves out, so a reopened task does not emit again', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emit-strategy-'));
    dirs.push(stateDir);
    const materialized = (): Materialized<string, number> =>
      Materialized.as<string, number>('counts').withKeySerde(S).withValueSerde(L);
    const topology = tumblingCount(materialized()).build();
    expect(topology.describe().toString()).toContain('(stores: [counts])');
    expect(topology.describe().toString()).not.toContain('emit-close-time');
    expect(topology.stores().map((s) => s.name)).toContain('counts-emit-close-time');

    driver = await TopologyTestDriver.create(topology, { stateDir, statestoreCacheMaxBytes: 0 });
    let input = driver.createInputTopic('in', S, S);
    input.pipeInput('a', 'x', 5);
    input.pipeInput('a', 'x', 15); // close time 13: [0,10) closes
    expect(driver.createOutputTopic('out', S, L).readKeyValuesToList()).toEqual([
      { key: 'a@0-10', value: 1 },
    ]);
    await driver.close();

    driver = await TopologyTestDriver.create(tumblingCount(materialized()).build(), {
      stateDir,
      statestoreCacheMaxBytes: 0,
    });
    input = driver.createInputTopic('in', S, S);
    const out = driver.createOutputTopic('out', S, L);
    // Close time 14: [0,10) is still in the store, but it was emitted before the restart.
    input.pipeInput('a', 'x', 16);
    expect(out.readKeyValuesToList()).toEqual([]);
    input.pipeInput('a', 'x', 24); // close time 22: [10,20) closes
    expect(out.readKeyValuesToList()).toEqual([{ key: 'a@10-20', value: 2 }]);
  });
});
