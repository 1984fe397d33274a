import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Consumed,
  Materialized,
  Produced,
  PunctuationType,
  Record,
  Serdes,
  Stores,
  StreamsBuilder,
  Topology,
  TopologyTestDriver,
  type KeyValueStore,
  type ProcessorContext,
} from '../../../src/index.ts';

const S = Serdes.String();
const L = Serdes.Long();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

/** Sums values per key in a store and emits the sum on every stream-time punctuation. */
function summingTopology(): Topology {
  return new Topology()
    .addSource('source', 'numbers', { keySerde: S, valueSerde: L })
    .addProcessor(
      'sum',
      () => {
        let ctx: ProcessorContext<string, number>;
        let store: KeyValueStore<string, number>;
        return {
          init(context) {
            ctx = context;
            store = context.getStateStore('sums');
            context.schedule(1_000, PunctuationType.STREAM_TIME, (ts) => {
              for (const { key, value } of store.all()) ctx.forward(new Record(key, value, ts));
            });
          },
          process(record: Record<string, number>) {
            store.put(record.key, (store.get(record.key) ?? 0) + record.value);
          },
        };
      },
      'source',
    )
    .addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('sums'), S, L), 'sum')
    .addSink('sink', 'sums-out', { keySerde: S, valueSerde: L }, 'sum');
}

describe('Processor API', () => {
  it('stores, forward and stream-time punctuation (fires once when late, then realigns)', async () => {
    driver = await TopologyTestDriver.create(summingTopology());
    const input = driver.createInputTopic('numbers', S, L);
    const output = driver.createOutputTopic('sums-out', S, L);
    input.pipeInput('a', 1, 500); // stream time 500: schedule at 0 fires with 500
    expect(output.readRecordsToList()).toEqual([{ key: 'a', value: 1, timestamp: 500, headers: {} }]);
    input.pipeInput('b', 2, 900); // next punctuation at 1000: nothing yet
    expect(output.isEmpty()).toBe(true);
    input.pipeInput('a', 3, 3_500); // 1000 due: fires once at 3500, next at 4000
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'a', value: 4 },
      { key: 'b', value: 2 },
    ]);
    input.pipeInput('a', 1, 3_999);
    expect(output.isEmpty()).toBe(true);
    input.pipeInput('a', 1, 4_000);
    expect(output.readRecordsToList().map((r) => r.timestamp)).toEqual([4_000, 4_000]);
  });

  it('wall-clock punctuation fires when the driver advances time', async () => {
    const fired: number[] = [];
    const topology = new Topology().addSource('source', 'in', { keySerde: S, valueSerde: S }).addProcessor(
      'p',
      () => ({
        init(ctx) {
          ctx.schedule(60_000, PunctuationType.WALL_CLOCK_TIME, (ts) => fired.push(ts));
        },
        process() {},
      }),
      'source',
    );
    driver = await TopologyTestDriver.create(topology, { initialWallClockTimeMs: 0 });
    driver.advanceWallClockTime(59_999);
    expect(fired).toEqual([]);
    driver.advanceWallClockTime(1);
    expect(fired).toEqual([60_000]);
    driver.advanceWallClockTime(130_000);
    expect(fired).toEqual([60_000, 190_000]);
  });

  it('forward to a named child, record metadata and headers', async () => {
    const seen: string[] = [];
    const topology = new Topology()
      .addSource('source', 'in', { keySerde: S, valueSerde: S })
      .addProcessor(
        'router',
        () => {
          let ctx: ProcessorContext<string, string>;
          return {
            init(c) {
              ctx = c;
            },
            process(record: Record<string, string>) {
              const meta = ctx.recordMetadata()!;
              seen.push(`${meta.topic}/${meta.partition}/${meta.offset}`);
              ctx.forward(
                record.withHeaders({ ...record.headers, routed: 'yes' }),
                record.value === 'left' ? 'left-sink' : 'right-sink',
              );
            },
          };
        },
        'source',
      )
      .addSink('left-sink', 'left', { keySerde: S, valueSerde: S }, 'router')
      .addSink('right-sink', 'right', { keySerde: S, valueSerde: S }, 'router');
    driver = await TopologyTestDriver.create(topology);
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('k', 'left', 1, { trace: 'abc' });
    input.pipeInput('k', 'right', 2);
    const left = driver.createOutputTopic('left', S, S).readRecord();
    expect(left.value).toBe('left');
    expect(left.headers).toEqual({ trace: 'abc', routed: 'yes' });
    expect(driver.createOutputTopic('right', S, S).readValue()).toBe('right');
    expect(seen).toEqual(['in/0/0', 'in/0/1']);
  });

  it('a processor without access to a store gets an error naming processor and store', async () => {
    const topology = new Topology().addSource('source', 'in', { keySerde: S, valueSerde: S }).addProcessor(
      'nosy',
      () => ({
        init(ctx) {
          ctx.getStateStore('secret');
        },
        process() {},
      }),
      'source',
    );
    await expect(TopologyTestDriver.create(topology)).rejects.toThrow(
      /Processor 'nosy' has no access to state store 'secret'/,
    );
  });

  it('process() and processValues() plug processors into the DSL; processValues may not change keys', async () => {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', Consumed.with(S, S));
    s.processValues<number>(() => {
      let ctx: ProcessorContext<string, number>;
      return {
        init(c) {
          ctx = c;
        },
        process(r: Record<string, string>) {
          ctx.forward(r.withValue(r.value.length));
        },
      };
    }).to('lengths', Produced.with(S, L));
    s.processValues(() => {
      let ctx: ProcessorContext<string, string>;
      return {
        init(c) {
          ctx = c;
        },
        process(r: Record<string, string>) {
          if (r.value === 'rekey') ctx.forward(r.withKey('other'));
        },
      };
    });
    driver = await TopologyTestDriver.create(builder.build());
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('k', 'abcd', 1);
    expect(driver.createOutputTopic('lengths', S, L).readKeyValue()).toEqual({ key: 'k', value: 4 });
    expect(() => input.pipeInput('k', 'rekey', 2)).toThrow(/changed a record's key/);
  });

  it('a new driver over the same state directory restores persistent stores', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-restart-'));
    try {
      const build = () => {
        const b = new StreamsBuilder();
        b.stream('in', Consumed.with(S, S))
          .groupByKey()
          .count(Materialized.as<string, number>('counts'))
          .toStream()
          .to('out', Produced.with(S, L));
        return b.build();
      };
      const first = await TopologyTestDriver.create(build(), { stateDir });
      first.createInputTopic('in', S, S).pipeInput('k', 'v', 1);
      first.createInputTopic('in', S, S).pipeInput('k', 'v', 2);
      await first.close();
      driver = await TopologyTestDriver.create(build(), { stateDir });
      expect(driver.getKeyValueStore<string, number>('counts').get('k')).toBe(2);
      driver.createInputTopic('in', S, S).pipeInput('k', 'v', 3);
      expect(driver.createOutputTopic('out', S, L).readValue()).toBe(3);
    } finally {
      await driver?.close();
      driver = undefined;
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('new TopologyTestDriver(...) takes input at once when its state directory is fresh', async () => {
    const d = new TopologyTestDriver(summingTopology());
    try {
      d.createInputTopic('numbers', S, L).pipeInput('a', 5, 10);
      expect(d.createOutputTopic('sums-out', S, L).readKeyValue()).toEqual({ key: 'a', value: 5 });
      expect(d.getKeyValueStore<string, number>('sums').get('a')).toBe(5);
    } finally {
      await d.close();
    }
  });

  it('over a state directory with data, the driver refuses input until init() restored it', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-reopen-'));
    try {
      const first = await TopologyTestDriver.create(summingTopology(), { stateDir });
      first.createInputTopic('numbers', S, L).pipeInput('a', 1, 1);
      await first.close();
      const d = new TopologyTestDriver(summingTopology(), { stateDir });
      expect(() => d.createInputTopic('numbers', S, L).pipeInput('a', 1, 2)).toThrow(/await driver.init\(\)/);
      await d.init();
      expect(d.getKeyValueStore<string, number>('sums').get('a')).toBe(1);
      await d.close();
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
