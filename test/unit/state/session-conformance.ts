import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeteredSessionStore } from '../../../src/state/metered-session-store.ts';
import { fromSessionChangelogKey, toSessionChangelogKey } from '../../../src/state/session-key-schema.ts';
import type { KeyValue, Windowed } from '../../../src/state/types.ts';
import { innermost, testContext, useStoreHarness, type StoreVariant } from './helpers.ts';

export type SessionStoreUnderTest = MeteredSessionStore<string, string>;

export const SESSION_RETENTION = 600_000;
const SEGMENT = 300_000; // max(retention / 2, 60 s)

/** String keys and values, retention SESSION_RETENTION. */
export type SessionVariant = StoreVariant<SessionStoreUnderTest>;

const flat = (it: Iterable<KeyValue<Windowed<string>, string>>) =>
  [...it].map(({ key, value }) => `${key.key}[${key.window.start},${key.window.end}]=${value}`);
const w = (key: string, start: number, end: number): Windowed<string> => ({ key, window: { start, end } });

/**
 * One suite for every session store stack: the behaviour is the same whatever the stack, except what
 * the changelog and the flush listener see, which follows the builder's flags.
 */
export function sessionStoreConformance(variant: SessionVariant): void {
  describe(variant.label, () => {
    const h = useStoreHarness(variant, 'sessions');

    it('puts, fetches and removes sessions', () => {
      const { store } = h;
      store.put(w('a', 10, 20), 'x');
      store.put(w('a', 30, 30), 'y');
      expect(store.fetchSession('a', 10, 20)).toBe('x');
      expect(store.fetchSession('a', 10, 21)).toBeUndefined();
      store.flushCache();
      expect(store.fetchSession('a', 10, 20)).toBe('x');
      store.put(w('a', 10, 20), 'x2');
      expect(store.fetchSession('a', 10, 20)).toBe('x2');
      store.remove(w('a', 10, 20));
      expect(store.fetchSession('a', 10, 20)).toBeUndefined();
      store.put(w('a', 30, 30), null);
      expect(flat(store.fetch('a'))).toEqual([]);
      store.flushCache();
      expect(flat(store.fetch('a'))).toEqual([]);
    });

    it('findSessions: end >= earliest end, start <= latest start, ordered by end then start', () => {
      const { store } = h;
      store.put(w('a', 50, 60), 'e60');
      store.put(w('a', 0, 10), 'e10');
      store.put(w('ab', 0, 10), 'prefix-key');
      store.flushCache(); // below a cache, the rest in it
      store.put(w('a', 5, 10), 'e10b');
      store.put(w('a', 55, 58), 'e58'); // ends before a stored session that starts before it
      store.put(w('a', 100, 400_000), 'long'); // crosses a segment
      store.put(w('b', 20, 30), 'other');
      expect(flat(store.findSessions('a', 10, 50))).toEqual(['a[0,10]=e10', 'a[5,10]=e10b', 'a[50,60]=e60']);
      expect(flat(store.findSessions('a', 11, 100))).toEqual([
        'a[55,58]=e58',
        'a[50,60]=e60',
        'a[100,400000]=long',
      ]);
      expect(flat(store.findSessions('a', 61, 99))).toEqual([]);
      expect(flat(store.backwardFindSessions('a', 0, 1_000_000))).toEqual([
        'a[100,400000]=long',
        'a[50,60]=e60',
        'a[55,58]=e58',
        'a[5,10]=e10b',
        'a[0,10]=e10',
      ]);
      expect(flat(store.backwardFetch('a'))).toEqual(flat(store.fetch('a')).reverse());
      expect(flat(store.fetch('ab'))).toEqual(['ab[0,10]=prefix-key']);
      // Store order: segment of the end, then key bytes, then end, then start.
      expect(flat(store.findSessionsInRange('a', 'ab', 0, 1_000_000))).toEqual([
        'a[0,10]=e10',
        'a[5,10]=e10b',
        'a[55,58]=e58',
        'a[50,60]=e60',
        'ab[0,10]=prefix-key',
        'a[100,400000]=long',
      ]);
      expect(flat(store.findSessionsInRange('b', 'a', 0, 1_000_000))).toEqual([]);
      expect(flat(store.fetchRange(undefined, 'ab'))).toHaveLength(6);
      expect(flat(store.fetchRange(undefined, undefined))).toHaveLength(7);
      const [first] = store.findSessions('b', 0, 100);
      expect(first!.key).toEqual(w('b', 20, 30));
    });

    it('expires sessions by end time: end <= stream time - retention', () => {
      const { store, context } = h;
      store.put(w('a', 0, 100), 'old');
      store.put(w('a', 200, 1000), 'kept');
      store.put(w('b', 500_000, SESSION_RETENTION + 100), 'new'); // stream time 600100: ends <= 100 expire
      expect(flat(store.fetch('a'))).toEqual(['a[200,1000]=kept']);
      expect(store.fetchSession('a', 0, 100)).toBeUndefined();
      store.put(w('a', 0, 50), 'late'); // expired: dropped
      expect(store.fetchSession('a', 0, 50)).toBeUndefined();
      expect(context.counters.get('sessions')?.expiredWindowDrops).toBe(1);
      expect(store.observedStreamTime()).toBe(SESSION_RETENTION + 100);
      store.flushCache();
      expect(flat(store.fetchRange(undefined, undefined))).toEqual([
        'a[200,1000]=kept',
        `b[500000,${SESSION_RETENTION + 100}]=new`,
      ]);
    });

    it('deletes whole segments once they are past retention', () => {
      const { store } = h;
      for (let t = 0; t < SEGMENT; t += 60_000) store.put(w('a', t, t), 'x');
      store.put(w('a', SEGMENT, SEGMENT), 'y');
      store.flushCache();
      const inner = innermost(store);
      const sessionKeys = () => [...inner.range(Buffer.alloc(1), undefined)].length; // skips the stream-time key
      expect(sessionKeys()).toBe(6);
      store.put(w('a', SEGMENT + SESSION_RETENTION, SEGMENT + SESSION_RETENTION), 'z'); // first segment expires
      store.flushCache();
      expect(sessionKeys()).toBe(2);
      expect(flat(store.fetch('a'))).toEqual([
        `a[${SEGMENT + SESSION_RETENTION},${SEGMENT + SESSION_RETENTION}]=z`,
      ]);
    });

    it('keeps writes in the cache until a flush when caching, writing through otherwise', () => {
      const { store, builder } = h;
      store.put(w('a', 10, 20), 'x');
      const stored = () => [...innermost(store).range(Buffer.alloc(1), undefined)].length;
      expect(stored()).toBe(builder.cachingEnabled ? 0 : 1);
      expect(flat(store.fetch('a'))).toEqual(['a[10,20]=x']);
      store.flushCache();
      expect(stored()).toBe(1);
    });

    it('logs changes with Kafka Streams key layout and restores from them', async () => {
      const { store, context, builder } = h;
      context.timestamp = 42;
      store.put(w('a', 10, 20), 'x');
      context.timestamp = 43;
      store.remove(w('a', 10, 20));
      store.put(w('a', 30, 40), 'y');
      store.flushCache();
      const log = context.changelog.map((c) => [c.key, c.value?.toString() ?? null, c.timestamp]);
      const key = (start: number, end: number) => toSessionChangelogKey(Buffer.from('a'), start, end);
      if (!builder.loggingEnabled) expect(log).toEqual([]);
      else if (builder.cachingEnabled) {
        // One record per session and flush, stamped with the timestamp of its latest write.
        expect(log).toEqual([
          [key(10, 20), null, 43],
          [key(30, 40), 'y', 43],
        ]);
      } else {
        expect(log).toEqual([
          [key(10, 20), 'x', 42],
          [key(10, 20), null, 43],
          [key(30, 40), 'y', 43],
        ]);
      }
      if (!builder.loggingEnabled) return;
      expect(fromSessionChangelogKey(context.changelog[0]!.key)).toEqual({
        key: Buffer.from('a'),
        start: 10,
        end: 20,
      });
      const replica = variant.builder('replica').build();
      const replicaContext = testContext(h.dir);
      await replica.init(replicaContext);
      replica.restoreBatch(context.changelog.map(({ key, value }) => ({ key, value })));
      expect(replicaContext.changelog).toEqual([]);
      expect(flat(replica.fetch('a'))).toEqual(['a[30,40]=y']);
      expect(replica.observedStreamTime()).toBe(40);
      expect(replicaContext.counters.get('replica')!.restored).toBe(context.changelog.length);
      await replica.close();
    });

    it('restores over cached sessions: the restored value wins', () => {
      const { store, context } = h;
      store.put(w('a', 10, 20), 'cached');
      store.flushCache();
      expect(store.fetchSession('a', 10, 20)).toBe('cached'); // read through into a cache
      const logged = context.changelog.length;
      store.restoreBatch([
        { key: toSessionChangelogKey(Buffer.from('a'), 10, 20), value: Buffer.from('restored') },
        { key: toSessionChangelogKey(Buffer.from('b'), 0, 50), value: Buffer.from('new') },
      ]);
      expect(context.changelog).toHaveLength(logged);
      expect(store.fetchSession('a', 10, 20)).toBe('restored');
      expect(flat(store.fetchRange(undefined, undefined))).toEqual(['a[10,20]=restored', 'b[0,50]=new']);
      expect(store.observedStreamTime()).toBe(50);
      expect(() => store.restoreBatch([{ key: Buffer.from([1]), value: null }])).toThrow(
        /^store 'sessions': cannot restore/,
      );
    });

    it('calls the flush listener with session keys when caching', () => {
      const { store, context, builder } = h;
      const events: unknown[] = [];
      const caching = store.setFlushListener(
        (key, newValue, oldValue, timestamp) => events.push([key, newValue, oldValue, timestamp]),
        true,
      );
      expect(caching).toBe(builder.cachingEnabled);
      context.timestamp = 7;
      store.put(w('a', 10, 20), '1');
      store.flushCache();
      context.timestamp = 8;
      store.put(w('a', 10, 20), '2');
      store.put(w('a', 25, 25), 'gone'); // created and removed within one flush: nothing to forward
      store.remove(w('a', 25, 25));
      store.remove(w('never', 0, 0));
      store.flushCache();
      context.timestamp = 9;
      store.remove(w('a', 10, 20));
      store.flushCache();
      if (!caching) return expect(events).toEqual([]);
      expect(events).toEqual([
        [w('a', 10, 20), '1', undefined, 7],
        [w('a', 10, 20), '2', '1', 8],
        [w('a', 10, 20), undefined, '2', 9],
      ]);
    });

    it('leaves old values out of flush events unless asked', () => {
      const { store } = h;
      const events: unknown[] = [];
      if (!store.setFlushListener((key, n, o) => events.push([key.key, n, o]), false)) return;
      store.put(w('a', 10, 20), '1');
      store.flushCache();
      store.put(w('a', 10, 20), '2');
      store.flushCache();
      expect(events).toEqual([
        ['a', '1', undefined],
        ['a', '2', undefined],
      ]);
    });

    if (variant.cacheMaxBytes !== undefined)
      it('spills dirty entries down when the cache outgrows its budget', () => {
        const { store, context } = h;
        for (let i = 0; i < 40; i++) store.put(w(`k${String(i).padStart(2, '0')}`, i, i + 5), String(i));
        const counters = context.counters.get('sessions')!;
        expect(counters.cacheEvictions).toBeGreaterThan(0);
        expect(counters.cacheFlushedEntries).toBeGreaterThan(0);
        if (h.builder.loggingEnabled) expect(context.changelog.length).toBeGreaterThan(0);
        expect([...store.fetchRange(undefined, undefined)].map((e) => e.value)).toEqual(
          Array.from({ length: 40 }, (_, i) => String(i)),
        );
        store.flushCache();
        if (h.builder.loggingEnabled) expect(context.changelog).toHaveLength(40);
      });

    it('counts operations through the context counters', () => {
      const { store, context } = h;
      store.put(w('a', 1, 2), '1');
      store.remove(w('a', 1, 2));
      store.fetchSession('a', 1, 2);
      expect(flat(store.fetch('a'))).toEqual([]);
      const counters = context.counters.get('sessions')!;
      expect(counters).toMatchObject({ puts: 1, deletes: 1, gets: 1, rangeScans: 1 });
      expect(store.counters).toBe(counters);
    });

    if (variant.persistent)
      it('keeps sessions and stream time across close and reopen', async () => {
        const { store } = h;
        store.put(w('a', 10, 20), 'x');
        store.put(w('b', 5, 500), 'y');
        await store.flush();
        store.put(w('c', 0, 700), 'z');
        await h.reopen(); // close flushes what is pending
        expect(flat(h.store.fetchRange(undefined, undefined))).toEqual([
          'a[10,20]=x',
          'b[5,500]=y',
          'c[0,700]=z',
        ]);
        expect(h.store.observedStreamTime()).toBe(700);
      });

    it('names itself in errors once closed, and refuses invalid windows', async () => {
      expect(() => h.store.put(w('a', 20, 10), 'x')).toThrow(
        "store 'sessions': invalid session window [20, 10]",
      );
      expect(() => h.store.put(w('a', 0.5, 10), 'x')).toThrow(/invalid session window/);
      await h.store.close();
      expect(h.store.isOpen()).toBe(false);
      expect(() => h.store.fetchSession('a', 0, 0)).toThrow("store 'sessions' is not open");
      expect(() => h.store.put(w('a', 0, 0), 'x')).toThrow("store 'sessions' is not open");
    });

    it('behaves like a model under random operations', async () => {
      const key = fc.constantFrom('', 'a', 'ab', 'a\u0000', 'b');
      const time = fc.integer({ min: 0, max: 24 }).map((i) => i * 50_000);
      const session = fc
        .record({ key, start: time, length: fc.constantFrom(0, 1, 20_000, 50_000, 120_000) })
        .map(({ key, start, length }) => ({ key, start, end: start + length }));
      const op = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('put' as const),
            session,
            value: fc.option(fc.string({ maxLength: 2 }), { freq: 4 }),
          }),
        },
        fc.record({ kind: fc.constant('remove' as const), session }),
        fc.record({ kind: fc.constant('fetchSession' as const), session }),
        fc.record({
          kind: fc.constant('findSessions' as const),
          key,
          earliestEnd: time,
          latestStart: time,
          backward: fc.boolean(),
        }),
        fc.record({
          kind: fc.constant('findSessionsInRange' as const),
          keyFrom: fc.option(key),
          keyTo: fc.option(key),
          earliestEnd: time,
          latestStart: time,
        }),
        fc.record({ kind: fc.constant('flushCache' as const) }),
      );
      type Entry = { key: string; start: number; end: number; value: string };
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 50 }), async (ops) => {
          const store = variant.builder(`model${run++}`).build();
          await store.init(testContext(h.dir, { cacheBudget: variant.cacheMaxBytes }));
          let observed = -Infinity;
          const model = new Map<string, Entry>();
          const id = (s: { key: string; start: number; end: number }) => `${s.key}|${s.start}|${s.end}`;
          const live = (e: { end: number }) => e.end > observed - SESSION_RETENTION;
          const bytes = (k: string) => Buffer.from(k, 'utf8');
          const byStoreOrder = (x: Entry, y: Entry) =>
            Math.floor(x.end / SEGMENT) - Math.floor(y.end / SEGMENT) ||
            Buffer.compare(bytes(x.key), bytes(y.key)) ||
            x.end - y.end ||
            x.start - y.start;
          const show = (e: Entry) => `${e.key}[${e.start},${e.end}]=${e.value}`;
          const write = (s: { key: string; start: number; end: number }, value: string | null) => {
            observed = Math.max(observed, s.end);
            if (!live(s)) return;
            if (value === null) model.delete(id(s));
            else model.set(id(s), { ...s, value });
          };
          try {
            for (const o of ops) {
              switch (o.kind) {
                case 'put':
                  store.put(w(o.session.key, o.session.start, o.session.end), o.value);
                  write(o.session, o.value);
                  break;
                case 'remove':
                  store.remove(w(o.session.key, o.session.start, o.session.end));
                  write(o.session, null);
                  break;
                case 'fetchSession': {
                  const found = model.get(id(o.session));
                  expect(store.fetchSession(o.session.key, o.session.start, o.session.end)).toBe(
                    found && live(found) ? found.value : undefined,
                  );
                  break;
                }
                case 'findSessions': {
                  const expected = [...model.values()]
                    .filter(
                      (e) => live(e) && e.key === o.key && e.end >= o.earliestEnd && e.start <= o.latestStart,
                    )
                    .sort(byStoreOrder)
                    .map(show);
                  const actual = o.backward
                    ? store.backwardFindSessions(o.key, o.earliestEnd, o.latestStart)
                    : store.findSessions(o.key, o.earliestEnd, o.latestStart);
                  expect(flat(actual)).toEqual(o.backward ? expected.reverse() : expected);
                  break;
                }
                case 'findSessionsInRange': {
                  const keyFrom = o.keyFrom ?? undefined;
                  const keyTo = o.keyTo ?? undefined;
                  const expected = [...model.values()]
                    .filter(
                      (e) =>
                        live(e) &&
                        e.end >= o.earliestEnd &&
                        e.start <= o.latestStart &&
                        (keyFrom === undefined || Buffer.compare(bytes(e.key), bytes(keyFrom)) >= 0) &&
                        (keyTo === undefined || Buffer.compare(bytes(e.key), bytes(keyTo)) <= 0),
                    )
                    .sort(byStoreOrder)
                    .map(show);
                  expect(
                    flat(store.findSessionsInRange(keyFrom, keyTo, o.earliestEnd, o.latestStart)),
                  ).toEqual(expected);
                  break;
                }
                case 'flushCache':
                  store.flushCache();
                  break;
              }
            }
            const expectedAll = [...model.values()].filter(live).sort(byStoreOrder).map(show);
            if (variant.persistent) {
              await store.close();
              await store.init(testContext(h.dir));
            }
            expect(flat(store.fetchRange(undefined, undefined))).toEqual(expectedAll);
          } finally {
            await store.close();
          }
        }),
        { numRuns: variant.persistent ? 20 : 50 },
      );
    });
  });
}
