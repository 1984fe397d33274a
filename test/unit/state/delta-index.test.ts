import { describe, expect, it } from 'vitest';

import { Serdes, Stores } from '../../../src/index.ts';
import { DeltaIndex } from '../../../src/state/delta-index.ts';
import type { KeyValueStore } from '../../../src/state/types.ts';

const BUCKET = 1_000;

async function deltaOver(mergeable: boolean) {
  const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('d'), Serdes.Bytes(), Serdes.Bytes())
    .withLoggingDisabled()
    .build() as unknown as KeyValueStore<Buffer, Buffer>;
  await (store as unknown as { init(c: unknown): Promise<void> }).init({
    applicationId: 'app',
    taskId: '0_0',
    taskDir: '/nonexistent',
    currentTimestamp: () => 0,
  });
  const index = new DeltaIndex<string, number>(
    'counts',
    store,
    mergeable,
    BUCKET,
    Serdes.String(),
    Serdes.JSON<number>(),
  );
  return { store, index };
}

const add = (index: DeltaIndex<string, number>, key: string, ts: number, n = 1): void =>
  index.addPartial(key, ts, (p) => (p ?? 0) + n);

describe('DeltaIndex', () => {
  it('keeps one partial per (key, bucket), readable before and after the flush to its store', async () => {
    const { store, index } = await deltaOver(true);
    add(index, 'a', 10);
    add(index, 'a', 900);
    add(index, 'a', 1_500);
    add(index, 'b', 2_100, 5);
    const a = Buffer.from('a');
    expect(index.partialsOf(a, 0)).toEqual([2, 1]);
    expect(index.partialsOf(a, 1)).toEqual([1]);
    expect(index.buckets()).toEqual([0, 1, 2]);
    expect([...store.all()]).toHaveLength(0); // write-back: nothing in the store before the commit
    index.flush();
    expect([...store.all()]).toHaveLength(3);
    expect(index.partialsOf(a, 0)).toEqual([2, 1]);
    add(index, 'a', 1_999);
    expect(index.partialsOf(a, 1)).toEqual([2]);
    expect(index.keysSince(0).map(String)).toEqual(['a', 'b']);
    expect(index.keysSince(2).map(String)).toEqual(['b']);
  });

  it('prunes the buckets below a boundary, from the store and from what is not flushed yet', async () => {
    const { store, index } = await deltaOver(true);
    add(index, 'a', 10);
    add(index, 'a', 1_010);
    index.flush();
    add(index, 'a', 20);
    add(index, 'b', 2_500);
    index.prune(2);
    expect(index.buckets()).toEqual([2]);
    expect(index.partialsOf(Buffer.from('a'), 0)).toEqual([]);
    index.flush();
    expect([...store.all()].map((e) => e.key.subarray(8).toString())).toEqual(['b']);
  });

  it('marks changes of latest-wins stores and reads its buckets back from the store after a restore', async () => {
    const { store, index } = await deltaOver(false);
    index.markChanged(Buffer.from('k'), 3_200);
    expect(index.changedSince(Buffer.from('k'), 3)).toBe(true);
    expect(index.changedSince(Buffer.from('k'), 4)).toBe(false);
    index.flush();
    const again = new DeltaIndex<string, number>(
      'counts',
      store,
      false,
      BUCKET,
      Serdes.String(),
      Serdes.JSON<number>(),
    );
    expect(again.buckets()).toEqual([3]);
    expect(again.changedSince(Buffer.from('k'), 0)).toBe(true);
  });

  it('counts updates for buckets below the boundary of the view in use', async () => {
    const { index } = await deltaOver(true);
    index.boundary = 5;
    add(index, 'a', 4_999);
    add(index, 'a', 5_000);
    expect(index.belowBoundary).toBe(1);
  });
});
