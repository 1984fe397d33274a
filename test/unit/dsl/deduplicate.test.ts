/**
 * KStream#deduplicate on the test driver: the first copy of an id passes, later copies within the
 * retention (before or after in time) are dropped and counted, ids older than the retention are
 * forgotten, and a driver reopened on the same state directory still knows the ids.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Consumed, Produced, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../src/index.ts';

const S = Serdes.String();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

function byKey(retentionMs: number) {
  const builder = new StreamsBuilder();
  builder.stream('payments', Consumed.with(S, S)).deduplicate(retentionMs).to('unique', Produced.with(S, S));
  return builder.build();
}

describe('KStream#deduplicate', () => {
  it('passes the first copy of a key and drops copies within the retention, before or after it', async () => {
    driver = await TopologyTestDriver.create(byKey(10_000));
    const input = driver.createInputTopic('payments', S, S);
    input.pipeInput('p1', 'first', 100_000);
    input.pipeInput('p2', 'other', 100_500);
    input.pipeInput('p1', 'copy', 105_000); // 5 s later: duplicate
    input.pipeInput('p1', 'early copy', 95_000); // 5 s earlier, out of order: duplicate
    input.pipeInput('p1', 'much later', 111_000); // 11 s after the first: a new occurrence
    expect(driver.createOutputTopic('unique', S, S).readKeyValuesToList()).toEqual([
      { key: 'p1', value: 'first' },
      { key: 'p2', value: 'other' },
      { key: 'p1', value: 'much later' },
    ]);
    expect(driver.droppedRecords()).toEqual({ duplicate: 2 });
  });

  it('uses an id extractor; records without an id pass', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('orders', Consumed.with(S, Serdes.JSON<{ id?: string; item: string }>()))
      .deduplicate(60_000, { idExtractor: (_key, value) => value.id, idSerde: S, name: 'orders-dedup' })
      .mapValues((v) => v.item)
      .to('items', Produced.with(S, S));
    const topology = builder.build();
    expect(topology.describe().toString()).toMatch(/orders-dedup-store/);
    driver = await TopologyTestDriver.create(topology);
    const input = driver.createInputTopic('orders', S, Serdes.JSON<{ id?: string; item: string }>());
    input.pipeInput('c1', { id: 'o-1', item: 'book' }, 1_000);
    input.pipeInput('c1', { id: 'o-1', item: 'book (resent)' }, 2_000);
    input.pipeInput('c1', { item: 'no id' }, 3_000);
    input.pipeInput('c1', { item: 'no id' }, 3_000);
    input.pipeInput('c1', { id: 'o-2', item: 'pen' }, 4_000);
    expect(driver.createOutputTopic('items', S, S).readValuesToList()).toEqual([
      'book',
      'no id',
      'no id',
      'pen',
    ]);
  });

  it('remembers ids across a restart on the same state', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dedup-'));
    try {
      driver = await TopologyTestDriver.create(byKey(10_000), { stateDir });
      driver.createInputTopic('payments', S, S).pipeInput('p1', 'first', 100_000);
      expect(driver.createOutputTopic('unique', S, S).readValuesToList()).toEqual(['first']);
      await driver.close();
      driver = await TopologyTestDriver.create(byKey(10_000), { stateDir });
      driver.createInputTopic('payments', S, S).pipeInput('p1', 'after restart', 101_000);
      expect(driver.createOutputTopic('unique', S, S).readValuesToList()).toEqual([]);
      expect(driver.droppedRecords()).toEqual({ duplicate: 1 });
    } finally {
      await driver?.close();
      driver = undefined;
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('refuses a retention that is not a positive number of milliseconds', () => {
    const stream = new StreamsBuilder().stream('x', Consumed.with(S, S));
    expect(() => stream.deduplicate(0)).toThrow(/positive number of milliseconds, got 0/);
  });
});
