import { describe, expect, it } from 'vitest';
import { BTree } from '../../../src/state/btree.ts';
import { compareStrings } from '../../../src/state/key-encoding.ts';
import { LevelDbKeyValueBytesStore } from '../../../src/state/leveldb-key-value-store.ts';
import { walkRange } from '../../../src/state/sorted-range.ts';
import { Stores } from '../../../src/state/stores.ts';
import { bytesSerde, s, stringSerde, testContext, withTempDir } from './helpers.ts';

describe('walkRange', () => {
  const tree = () => {
    const t = new BTree<string, number>(undefined, compareStrings);
    for (let i = 0; i < 200; i++) t.set(`k${String(i).padStart(3, '0')}`, i);
    return t;
  };

  it('walks inclusive bounds in both directions across chunks', () => {
    const t = tree();
    expect([...walkRange(t, { from: 'k010', to: 'k150' })].map(([, v]) => v)).toEqual(
      Array.from({ length: 141 }, (_, i) => i + 10),
    );
    expect([...walkRange(t, { from: 'k010', to: 'k150', reverse: true })].map(([, v]) => v)).toEqual(
      Array.from({ length: 141 }, (_, i) => 150 - i),
    );
    expect([...walkRange(t, { prefix: 'k19' })].map(([, v]) => v)).toEqual([
      190, 191, 192, 193, 194, 195, 196, 197, 198, 199,
    ]);
    expect([...walkRange(t, { from: 'k2', to: 'k1' })]).toEqual([]);
  });

  it('sees writes made past the current chunk while walking', () => {
    const t = tree();
    const seen: number[] = [];
    for (const [key, value] of walkRange(t, {})) {
      seen.push(value);
      if (value === 0) {
        t.delete('k100');
        t.set('k1500', 1500);
      }
      t.delete(key);
    }
    expect(seen).toHaveLength(200);
    expect(seen).toContain(1500);
    expect(seen).not.toContain(100);
    expect(t.size).toBe(0);
  });
});

describe('LevelDB store', () => {
  it('writes one batch on flush and keeps serving reads while it is in flight', async () => {
    await withTempDir(async (dir) => {
      const store = new LevelDbKeyValueBytesStore('kv');
      await store.init(testContext(dir));
      store.put(s('a'), s('1'));
      store.put(s('b'), s('2'));
      const flushing = store.flush();
      expect(store.get(s('a'))).toEqual(s('1'));
      store.put(s('a'), s('3')); // lands in the next batch
      expect(store.get(s('a'))).toEqual(s('3'));
      expect([...store.range(undefined, undefined)].map((e) => e.value.toString())).toEqual(['3', '2']);
      await flushing;
      expect(store.get(s('b'))).toEqual(s('2'));
      await store.close();
      const reopened = new LevelDbKeyValueBytesStore('kv');
      await reopened.init(testContext(dir));
      expect(reopened.get(s('a'))).toEqual(s('3'));
      expect([...reopened.keys(undefined, undefined)].map((k) => k.toString())).toEqual(['a', 'b']);
      await reopened.close();
    });
  });

  it('runs flushes one after another, so a later write of a key is never overwritten by an earlier batch', async () => {
    await withTempDir(async (dir) => {
      const store = new LevelDbKeyValueBytesStore('kv');
      await store.init(testContext(dir));
      const flushes: Array<Promise<void>> = [];
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 200; i++) store.put(s(`k${i}`), s(`${round}`));
        flushes.push(store.flush()); // not awaited: a restoration goes on reading meanwhile
      }
      store.put(s('k0'), s('last'));
      await Promise.all(flushes);
      await store.close();
      const reopened = new LevelDbKeyValueBytesStore('kv');
      await reopened.init(testContext(dir));
      expect(reopened.get(s('k0'))).toEqual(s('last'));
      expect(reopened.get(s('k199'))).toEqual(s('4'));
      expect(reopened.approximateNumEntries()).toBe(200);
      await reopened.close();
    });
  });

  it('keeps restored records readable until and while they are written, and never lets them overtake a newer write', async () => {
    await withTempDir(async (dir) => {
      const store = new LevelDbKeyValueBytesStore('kv');
      await store.init(testContext(dir));
      store.restoreBatch([
        { key: s('a'), value: s('1') },
        { key: s('b'), value: s('1') },
        { key: s('a'), value: s('2') }, // the later record of a key wins
        { key: s('c'), value: s('1') },
        { key: s('c'), value: null }, // a restored deletion
      ]);
      expect(store.get(s('a'))).toEqual(s('2'));
      expect(store.get(s('c'))).toBeUndefined();
      const flushing = store.flush();
      expect(store.get(s('a'))).toEqual(s('2')); // in flight: still readable
      store.restoreBatch([{ key: s('b'), value: s('2') }]); // restored while the first batch is written
      expect(store.get(s('b'))).toEqual(s('2'));
      store.put(s('b'), s('3')); // a write after the restore: newer
      store.restoreBatch([{ key: s('b'), value: s('old') }]); // behind a pending write: lands as a write after it
      expect(store.get(s('b'))).toEqual(s('old'));
      store.put(s('b'), s('4'));
      expect([...store.range(undefined, undefined)].map((e) => `${e.key}=${e.value}`)).toEqual([
        'a=2',
        'b=4',
      ]);
      await flushing;
      await store.close();
      const reopened = new LevelDbKeyValueBytesStore('kv');
      await reopened.init(testContext(dir));
      expect(reopened.get(s('a'))).toEqual(s('2'));
      expect(reopened.get(s('b'))).toEqual(s('4'));
      expect(reopened.get(s('c'))).toBeUndefined();
      expect(reopened.approximateNumEntries()).toBe(2);
      await reopened.close();
    });
  });

  it('names the store when LevelDB cannot be opened', async () => {
    await withTempDir(async (dir) => {
      const first = new LevelDbKeyValueBytesStore('locked');
      await first.init(testContext(dir));
      const second = new LevelDbKeyValueBytesStore('locked');
      await expect(second.init(testContext(dir))).rejects.toThrow(/^store 'locked': cannot open LevelDB/);
      expect(second.isOpen()).toBe(false);
      await expect(first.init(testContext(dir))).rejects.toThrow("store 'locked': is already open");
      await first.close();
    });
  });
});

describe('caching layer', () => {
  it('lets a flush listener write back into its own store without looping', async () => {
    await withTempDir(async (dir) => {
      const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('echo'), bytesSerde, stringSerde)
        .withCachingEnabled()
        .build();
      const context = testContext(dir);
      await store.init(context);
      const seen: string[] = [];
      store.setFlushListener((key, value) => {
        seen.push(`${key}=${value}`);
        if (value === '1') store.put(key, '2');
      }, false);
      store.put(s('k'), '1');
      store.flushCache();
      expect(seen).toEqual(['k=1']);
      expect(store.get(s('k'))).toBe('2');
      store.flushCache();
      expect(seen).toEqual(['k=1', 'k=2']);
      expect(context.changelog.map((c) => c.value?.toString())).toEqual(['1', '2']);
      await store.close();
    });
  });

  it('keeps a write that a flush listener makes to the entry being evicted', async () => {
    await withTempDir(async (dir) => {
      const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('echo'), bytesSerde, stringSerde)
        .withCachingEnabled()
        .build();
      // Room for a few entries only (about 240 bytes each): the fourth write evicts.
      const context = testContext(dir, { cacheBudget: 800 });
      await store.init(context);
      store.setFlushListener((key, value) => {
        if (key.toString() === 'a' && value === '1') store.put(key, '2');
      }, false);
      store.put(s('a'), '1');
      for (const key of ['b', 'c', 'd', 'e']) store.put(s(key), key);
      // 'a' was the eldest and dirty: its flush wrote 'a'=2 back, which must survive the eviction.
      expect(store.get(s('a'))).toBe('2');
      store.flushCache();
      expect(
        context.changelog.filter((c) => c.key.toString() === 'a').map((c) => c.value?.toString()),
      ).toEqual(['1', '2']);
      await store.close();
    });
  });

  it('flushes dirty entries on close and stamps changelog records with their write time', async () => {
    await withTempDir(async (dir) => {
      const builder = Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore('c'),
        bytesSerde,
        stringSerde,
      ).withCachingEnabled();
      const context = testContext(dir);
      const store = builder.build();
      await store.init(context);
      context.timestamp = 11;
      store.put(s('k'), 'v');
      context.timestamp = 99;
      await store.close();
      expect(context.changelog.map((c) => [c.key.toString(), c.value?.toString(), c.timestamp])).toEqual([
        ['k', 'v', 11],
      ]);
      const reopened = builder.build();
      await reopened.init(context);
      expect(reopened.get(s('k'))).toBe('v');
      await reopened.close();
    });
  });
});
