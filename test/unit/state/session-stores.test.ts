import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Stores } from '../../../src/state/stores.ts';
import type { MeteredSessionStore } from '../../../src/state/metered-session-store.ts';
import { fromSessionChangelogKey, toSessionChangelogKey } from '../../../src/state/session-key-schema.ts';
import type { KeyValue, StoreBuilder, Windowed } from '../../../src/state/types.ts';
import { makeTempDir, removeDir, stringSerde, testContext, type TestContext } from './helpers.ts';

type Sessions = MeteredSessionStore<string, string>;
const RETENTION = 600_000; // segments of 300 s

const flat = (it: Iterable<KeyValue<Windowed<string>, string>>) =>
  [...it].map(({ key, value }) => `${key.key}[${key.window.start},${key.window.end}]=${value}`);
const w = (key: string, start: number, end: number): Windowed<string> => ({ key, window: { start, end } });

for (const persistent of [false, true]) {
  describe(`session store conformance (${persistent ? 'LevelDB' : 'in-memory'})`, () => {
    let dir: string;
    let context: TestContext;
    let builder: StoreBuilder<Sessions>;
    let store: Sessions;

    beforeEach(async () => {
      dir = await makeTempDir();
      const supplier = persistent
        ? Stores.persistentSessionStore('sessions', RETENTION)
        : Stores.inMemorySessionStore('sessions', RETENTION);
      builder = Stores.sessionStoreBuilder(supplier, stringSerde, stringSerde);
      context = testContext(dir);
      store = builder.build();
      await store.init(context);
    });

    afterEach(async () => {
      if (store.isOpen()) await store.close();
      await removeDir(dir);
    });

    it('puts, fetches and removes sessions', () => {
      store.put(w('a', 10, 20), 'x');
      store.put(w('a', 30, 30), 'y');
      expect(store.fetchSession('a', 10, 20)).toBe('x');
      expect(store.fetchSession('a', 10, 21)).toBeUndefined();
      store.remove(w('a', 10, 20));
      expect(store.fetchSession('a', 10, 20)).toBeUndefined();
      store.put(w('a', 30, 30), null);
      expect(flat(store.fetch('a'))).toEqual([]);
    });

    it('findSessions: end >= earliest end, start <= latest start, ordered by end then start', () => {
      store.put(w('a', 50, 60), 'e60');
      store.put(w('a', 0, 10), 'e10');
      store.put(w('a', 5, 10), 'e10b');
      store.put(w('a', 100, 400_000), 'long'); // crosses a segment
      store.put(w('ab', 0, 10), 'prefix-key');
      store.put(w('b', 20, 30), 'other');
      expect(flat(store.findSessions('a', 10, 50))).toEqual(['a[0,10]=e10', 'a[5,10]=e10b', 'a[50,60]=e60']);
      expect(flat(store.findSessions('a', 11, 100))).toEqual(['a[50,60]=e60', 'a[100,400000]=long']);
      expect(flat(store.findSessions('a', 61, 99))).toEqual([]);
      expect(flat(store.backwardFindSessions('a', 0, 1_000_000))).toEqual([
        'a[100,400000]=long',
        'a[50,60]=e60',
        'a[5,10]=e10b',
        'a[0,10]=e10',
      ]);
      expect(flat(store.fetch('ab'))).toEqual(['ab[0,10]=prefix-key']);
      expect(flat(store.findSessionsInRange('a', 'ab', 0, 1_000_000))).toEqual([
        'a[0,10]=e10',
        'a[5,10]=e10b',
        'a[50,60]=e60',
        'ab[0,10]=prefix-key',
        'a[100,400000]=long',
      ]);
      expect(flat(store.fetchRange(undefined, undefined)).length).toBe(6);
    });

    it('expires sessions by end time: end <= stream time - retention', () => {
      store.put(w('a', 0, 100), 'old');
      store.put(w('a', 200, 1000), 'kept');
      store.put(w('b', 500_000, RETENTION + 100), 'new'); // stream time 600100: ends <= 100 expire
      expect(flat(store.fetch('a'))).toEqual(['a[200,1000]=kept']);
      expect(store.fetchSession('a', 0, 100)).toBeUndefined();
      store.put(w('a', 0, 50), 'late'); // expired: dropped
      expect(store.fetchSession('a', 0, 50)).toBeUndefined();
      expect(context.counters.get('sessions')?.expiredWindowDrops).toBe(1);
    });

    it('logs changes with Kafka Streams key layout and restores from them', async () => {
      context.timestamp = 42;
      store.put(w('a', 10, 20), 'x');
      store.remove(w('a', 10, 20));
      store.put(w('a', 30, 40), 'y');
      expect(context.changelog.map((c) => [c.key, c.value?.toString() ?? null, c.timestamp])).toEqual([
        [toSessionChangelogKey(Buffer.from('a'), 10, 20), 'x', 42],
        [toSessionChangelogKey(Buffer.from('a'), 10, 20), null, 42],
        [toSessionChangelogKey(Buffer.from('a'), 30, 40), 'y', 42],
      ]);
      expect(fromSessionChangelogKey(context.changelog[0]!.key)).toEqual({
        key: Buffer.from('a'),
        start: 10,
        end: 20,
      });
      const restored = builder.build();
      const dir2 = await makeTempDir();
      try {
        await restored.init(testContext(dir2, { logging: false }));
        restored.restoreBatch(context.changelog.map(({ key, value }) => ({ key, value })));
        expect(flat(restored.fetch('a'))).toEqual(['a[30,40]=y']);
        expect(restored.observedStreamTime()).toBe(40);
        await restored.close();
      } finally {
        await removeDir(dir2);
      }
    });

    if (persistent) {
      it('keeps sessions and stream time across reopening', async () => {
        store.put(w('a', 10, 20), 'x');
        store.put(w('b', 5, 500), 'y');
        await store.flush();
        await store.close();
        store = builder.build();
        await store.init(context);
        expect(flat(store.fetchRange(undefined, undefined))).toEqual(['a[10,20]=x', 'b[5,500]=y']);
        expect(store.observedStreamTime()).toBe(500);
      });
    }
  });
}
