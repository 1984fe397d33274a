/**
 * The serving merge of a versioned store, as of any time: a speed-layer task and a batch view that
 * goes the way a published one does (every version exported, encoded as view records, restored into
 * a fresh store as LoadedView does). On in-order input the merged version valid at every time equals
 * a from-scratch computation (a task that saw every record); a late record for a bucket the view
 * covers waits for the next batch run, as DESIGN.md asks of every latest-wins store.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Consumed, Materialized, Serdes, Stores, StreamsBuilder } from '../../../src/index.ts';
import type { RawRecord, StreamTask } from '../../../src/processor/internals/task.ts';
import {
  candidateKeys,
  mergedGet,
  mergedVersionAt,
  type PartitionSources,
} from '../../../src/serving/merged-reads.ts';
import { decodeVersionedViewRecord, exportStoreRecords } from '../../../src/state/store-export.ts';
import type { RestorableStateStore, StateStore } from '../../../src/state/types.ts';
import type { Topology } from '../../../src/topology/topology.ts';
import { BOUNDARY, BUCKET, closeAfterTest, closeMergeTasks, newTask, tempDir } from './merge-support.ts';

const INPUT = 'prices';
const STORE = 'prices-store';
const HISTORY_MS = 1_000_000;

function topology(historyMs = HISTORY_MS): Topology {
  const builder = new StreamsBuilder();
  builder.table(
    INPUT,
    Consumed.with(Serdes.String(), Serdes.String()),
    Materialized.as<string, string>(Stores.persistentVersionedKeyValueStore(STORE, historyMs)),
  );
  const built = builder.build();
  built.bucketMs = BUCKET;
  return built;
}

afterEach(closeMergeTasks);

/** The batch task's store as a worker loads it from a published view. */
async function loadedView(batch: StreamTask, built: Topology): Promise<StateStore> {
  const records = [...exportStoreRecords(batch.stores.get(STORE)!, 'key-value')];
  const store = built
    .storeBuilder(STORE)
    .withLoggingDisabled()
    .withCachingDisabled()
    .build() as RestorableStateStore;
  await store.init({
    applicationId: 'versioned-merge',
    taskId: 'view-0',
    taskDir: tempDir('view'),
    currentTimestamp: () => -1,
  });
  store.restoreBatch(records.map(decodeVersionedViewRecord));
  closeAfterTest(store);
  return store;
}

let offset = 0;
const record = (key: string, value: string | null, timestamp: number): RawRecord => ({
  topic: INPUT,
  partition: 0,
  offset: offset++,
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  timestamp,
});

function run(task: StreamTask, records: RawRecord[]): void {
  task.addRecords(records);
  while (task.processNext());
  task.flushCaches();
}

function sourcesOf(speed: StreamTask, view: StateStore, built: Topology): PartitionSources {
  return {
    meta: built.storeMetadata.get(STORE)!,
    keySerde: Serdes.String() as never,
    speed: speed.stores.get(STORE)!,
    delta: speed.deltaIndexes.get(STORE)!,
    view,
    boundaryBucket: BOUNDARY,
  };
}

/** A seeded stream of updates and deletions of four keys, strictly in time order. */
function inOrderInput(seed: number, count: number): RawRecord[] {
  let state = seed >>> 0;
  const next = (): number => ((state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0), state / 2 ** 32);
  const out: RawRecord[] = [];
  for (let i = 0; i < count; i++) {
    const key = 'abcd'[Math.floor(next() * 4)]!;
    const value = next() < 0.15 ? null : `${key}${i}`;
    out.push(record(key, value, 1_000 + Math.floor((i * 80_000) / count)));
  }
  return out;
}

describe('serving merge of a versioned store', () => {
  // A short history (15 s of an 80 s stream) has the view hold versions the speed layer has expired,
  // and its export order matter: restored out of time order, versions would be refused as too old.
  for (const [seed, historyMs] of [
    [1, HISTORY_MS],
    [2, HISTORY_MS],
    [3, HISTORY_MS],
    [4, 15_000],
    [5, 15_000],
    [6, 15_000],
  ] as const) {
    it(`answers as of every time what a from-scratch computation answers (seed ${seed}, history ${historyMs} ms)`, async () => {
      const built = topology(historyMs);
      const input = inOrderInput(seed, 60);
      const speed = await newTask('speed', built);
      const batch = await newTask('batch', topology(historyMs));
      const truth = await newTask('truth', topology(historyMs));
      // The view is computed from the records below the boundary; the speed layer starts over from
      // scratch (a new worker) and reads everything, as does the truth.
      run(batch, input);
      run(speed, input);
      run(truth, input);
      const view = await loadedView(batch, built);
      const sources = sourcesOf(speed, view, built);
      const truthStore = truth.stores.get(STORE)! as unknown as {
        get(key: string, asOf?: number): { value: string; timestamp: number } | undefined;
      };
      for (const key of ['a', 'b', 'c', 'd']) {
        for (let asOf = 0; asOf <= 90_000; asOf += 250) {
          const want = truthStore.get(key, asOf);
          const got = mergedVersionAt(sources, key, Buffer.from(key), asOf);
          expect(got, `${key} as of ${asOf}`).toEqual(
            want && { value: want.value, timestamp: want.timestamp },
          );
        }
        expect(mergedGet(sources, key, Buffer.from(key))).toEqual(truthStore.get(key)?.value);
      }
      // Range scans list exactly the keys that have a merged latest value.
      const listed = candidateKeys(sources, undefined, undefined)
        .map((k) => k.toString())
        .filter((k) => mergedGet(sources, k, Buffer.from(k)) !== undefined);
      expect(listed).toEqual(['a', 'b', 'c', 'd'].filter((k) => truthStore.get(k) !== undefined));
    });
  }

  it('keeps the view for times it covers when a late record arrives, and answers deletions past the boundary', async () => {
    const built = topology();
    const before = [record('x', 'x1', 5_000), record('x', 'x2', 20_000), record('y', 'y1', 30_000)];
    const speed = await newTask('speed', built);
    const batch = await newTask('batch', topology());
    run(batch, before);
    run(speed, before);
    // After the snapshot: a late version of x for bucket 1, y deleted at 45 s.
    run(speed, [record('x', 'x-late', 12_000), record('y', null, 45_000)]);
    const sources = sourcesOf(speed, await loadedView(batch, built), built);

    // The view does not have x-late yet: the next batch run brings it.
    expect(mergedVersionAt(sources, 'x', Buffer.from('x'), 15_000)).toEqual({
      value: 'x1',
      timestamp: 5_000,
    });
    expect(mergedVersionAt(sources, 'x', Buffer.from('x'), 50_000)).toEqual({
      value: 'x2',
      timestamp: 20_000,
    });
    expect(mergedVersionAt(sources, 'y', Buffer.from('y'), 44_999)).toEqual({
      value: 'y1',
      timestamp: 30_000,
    });
    expect(mergedVersionAt(sources, 'y', Buffer.from('y'), 45_000)).toBeUndefined();
    expect(mergedGet(sources, 'y', Buffer.from('y'))).toBeUndefined();
    expect(mergedVersionAt(sources, 'x', Buffer.from('x'), 4_999)).toBeUndefined();
  });
});
