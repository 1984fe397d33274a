/**
 * The serving merge over real tasks: a speed-layer task (write-back caches on, delta index kept) and a
 * batch view computed by a batch-like task (caching off, records below the boundary only) from the
 * records before a snapshot. Then records arrive late for buckets the view covers, in the same
 * commit interval as newer ones: the merged answers must still be the speed layer's wherever a key
 * changed at or past the boundary.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  Consumed,
  Grouped,
  Materialized,
  Serdes,
  SessionWindows,
  StreamsBuilder,
} from '../../../src/index.ts';
import type { RawRecord, StreamTask } from '../../../src/processor/internals/task.ts';
import { mergedGet, mergedSessions, type PartitionSources } from '../../../src/serving/merged-reads.ts';
import type { Topology } from '../../../src/topology/topology.ts';
import { BOUNDARY, BUCKET, closeMergeTasks, newTask } from './merge-support.ts';

const INPUT = 'events';

function topology(): Topology {
  const builder = new StreamsBuilder();
  const events = builder.stream(INPUT, Consumed.with(Serdes.String(), Serdes.String()));
  events.toTable(Materialized.as<string, string>('latest'));
  events
    .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
    .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5_000))
    .count(Materialized.as<string, number>('sessions'));
  const built = builder.build();
  built.bucketMs = BUCKET;
  return built;
}

afterEach(closeMergeTasks);

let offset = 0;
const record = (key: string, value: string, timestamp: number): RawRecord => ({
  topic: INPUT,
  partition: 0,
  offset: offset++,
  key: Buffer.from(key),
  value: Buffer.from(value),
  timestamp,
});

function run(task: StreamTask, records: RawRecord[]): void {
  task.addRecords(records);
  while (task.processNext());
  task.flushCaches();
}

function sourcesOf(speed: StreamTask, view: StreamTask, built: Topology, store: string): PartitionSources {
  return {
    meta: built.storeMetadata.get(store)!,
    keySerde: Serdes.String() as never,
    speed: speed.stores.get(store)!,
    delta: speed.deltaIndexes.get(store)!,
    view: view.stores.get(store)!,
    boundaryBucket: BOUNDARY,
  };
}

describe('serving merge over a speed task and a batch view', () => {
  it('answers the speed layer for keys changed past the boundary, even when a late record wrote them last', async () => {
    const built = topology();
    const speed = await newTask('speed', built);
    const batch = await newTask('batch', topology());
    // Before the snapshot: 'a' every second from 20 s to 39 s, 'b' from 20 s to 45 s (one session each).
    const before: RawRecord[] = [];
    for (let t = 20_000; t <= 45_000; t += 1_000) {
      if (t < 40_000) before.push(record('a', `a@${t}`, t));
      before.push(record('b', `b@${t}`, t));
    }
    run(speed, before);
    run(batch, before); // the view: the records before the snapshot with bucket < 4
    // After the snapshot, in one commit interval: a late 'b' for bucket 1 that moves the start of b's
    // session from 20 s to 16 s (within the 5 s gap; its end, 45 s, is not past the grace yet), 'a' at
    // 46 s, then a late 'a' (too late for a session: dropped there; a table takes it).
    const after = [
      record('b', 'b-late', 16_000),
      record('a', 'a@46000', 46_000),
      record('a', 'a-late', 12_000),
    ];
    run(speed, after);

    const latest = sourcesOf(speed, batch, built, 'latest');
    // The view holds a@39000; the speed layer processed a@46000 then the late a-late, in offset order,
    // in one commit interval: its cache wrote the key once, stamped with the late record's time.
    expect(mergedGet(latest, 'a', Buffer.from('a'))).toBe('a-late');
    expect(mergedGet(latest, 'b', Buffer.from('b'))).toBe('b-late');

    const sessions = sourcesOf(speed, batch, built, 'sessions');
    // The view has b's session [20 s, 39 s]; the speed layer has [16 s, 45 s] with every record of b.
    expect(mergedSessions(sessions, 'b', Buffer.from('b'))).toEqual([
      { start: 16_000, end: 45_000, value: 27 },
    ]);
    expect(mergedSessions(sessions, 'a', Buffer.from('a'))).toEqual([
      { start: 20_000, end: 39_000, value: 20 },
      { start: 46_000, end: 46_000, value: 1 },
    ]);
  });

  it('keeps the view for keys that changed only below the boundary (late records wait for the next run)', async () => {
    const built = topology();
    const speed = await newTask('speed', built);
    const batch = await newTask('batch', topology());
    const before = [record('c', 'c1', 5_000), record('c', 'c2', 8_000)];
    run(speed, before);
    run(batch, before);
    // After the snapshot: a record for bucket 0 (late for the view), then one past the boundary.
    run(speed, [record('c', 'c-late', 9_000), record('d', 'd1', 41_000)]);

    const latest = sourcesOf(speed, batch, built, 'latest');
    expect(mergedGet(latest, 'c', Buffer.from('c'))).toBe('c2');
    expect(mergedGet(latest, 'd', Buffer.from('d'))).toBe('d1');
    const sessions = sourcesOf(speed, batch, built, 'sessions');
    // The late record merged into c's session in the speed layer only ([5 s, 9 s], 3 records); the
    // session ends below the boundary, so the view's [5 s, 8 s] (2 records) answers.
    expect(mergedSessions(sessions, 'c', Buffer.from('c'))).toEqual([{ start: 5_000, end: 8_000, value: 2 }]);
    expect(mergedSessions(sessions, 'd', Buffer.from('d'))).toEqual([
      { start: 41_000, end: 41_000, value: 1 },
    ]);
  });
});
