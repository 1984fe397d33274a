import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeteredWindowStore } from '../../../src/state/metered-window-store.ts';
import { fromChangelogKey } from '../../../src/state/window-key-schema.ts';
import { innermost, testContext, useStoreHarness, type StoreVariant } from './helpers.ts';

export type WinStore = MeteredWindowStore<string, string>;

export const RETENTION = 600_000;
export const WINDOW = 60_000;
const SEGMENT = 300_000; // max(retention / 2, 60 s)

/** String keys and values, retention RETENTION, window size WINDOW. */
export interface WindowVariant extends StoreVariant<WinStore> {
  retainDuplicates: boolean;
}

const flat = (
  it: Iterable<{ key: { key: string; window: { start: number; end: number } }; value: string }>,
) => [...it].map(({ key, value }) => `${key.key}@${key.window.start}=${value}`);
const times = (it: Iterable<{ windowStart: number; value: string }>) =>
  [...it].map(({ windowStart, value }) => `${windowStart}=${value}`);

export function windowStoreConformance(variant: WindowVariant): void {
  describe(variant.label, () => {
    const h = useStoreHarness(variant, 'windows');

    it('puts and fetches single windows', () => {
      const { store } = h;
      expect(store.fetch('a', 0)).toBeUndefined();
      store.put('a', 'v1', 0);
      store.put('a', 'w1', WINDOW);
      store.put('b', 'x1', 0);
      expect(store.fetch('a', 0)).toBe('v1');
      expect(store.fetch('a', WINDOW)).toBe('w1');
      expect(store.fetch('b', 0)).toBe('x1');
      expect(store.fetch('b', WINDOW)).toBeUndefined();
      store.flushCache();
      store.put('a', 'v2', 0);
      if (variant.retainDuplicates) {
        expect(store.fetch('a', 0)).toBe('v1');
        expect(times(store.fetchRange('a', 0, 0))).toEqual(['0=v1', '0=v2']);
        store.put('a', null, 0); // nothing to delete among duplicates
        expect(times(store.fetchRange('a', 0, 0))).toEqual(['0=v1', '0=v2']);
      } else {
        expect(store.fetch('a', 0)).toBe('v2');
        store.put('a', null, 0);
        expect(store.fetch('a', 0)).toBeUndefined();
        expect(times(store.fetchRange('a', 0, WINDOW))).toEqual([`${WINDOW}=w1`]);
      }
    });

    it('fetches one key by time range, forward and backward, across segments', () => {
      const { store } = h;
      for (let i = 0; i < 10; i++) {
        store.put('a', `a${i}`, i * WINDOW);
        store.put('ab', `ab${i}`, i * WINDOW);
        if (i === 5) store.flushCache();
      }
      store.put('a', `a3'`, 3 * WINDOW);
      const a3 = variant.retainDuplicates ? [`${3 * WINDOW}=a3`, `${3 * WINDOW}=a3'`] : [`${3 * WINDOW}=a3'`];
      expect(times(store.fetchRange('a', WINDOW, 6 * WINDOW))).toEqual([
        `${WINDOW}=a1`,
        `${2 * WINDOW}=a2`,
        ...a3,
        `${4 * WINDOW}=a4`,
        `${5 * WINDOW}=a5`,
        `${6 * WINDOW}=a6`,
      ]);
      expect(times(store.backwardFetchRange('a', 4 * WINDOW, 7 * WINDOW))).toEqual([
        `${7 * WINDOW}=a7`,
        `${6 * WINDOW}=a6`,
        `${5 * WINDOW}=a5`,
        `${4 * WINDOW}=a4`,
      ]);
      expect(times(store.fetchRange('a', WINDOW + 1, 2 * WINDOW - 1))).toEqual([]);
      expect(times(store.fetchRange('a', 5 * WINDOW, WINDOW))).toEqual([]);
      expect(times(store.fetchRange('zz', 0, 10 * WINDOW))).toEqual([]);
      expect(times(store.fetchRange('ab', 0, Number.MAX_SAFE_INTEGER))).toHaveLength(10);
    });

    it('fetches key ranges, keeping keys that are prefixes of each other apart', () => {
      const { store } = h;
      const keys = ['a', 'ab', 'a\u0000', 'b', ''];
      for (const key of keys) {
        store.put(key, `${key}-0`, 0);
        store.put(key, `${key}-1`, SEGMENT + WINDOW); // second segment
      }
      store.flushCache();
      store.put('ab', 'ab-late', WINDOW);
      expect(flat(store.fetchKeyRange('a', 'a', 0, 10 * WINDOW))).toEqual([
        'a@0=a-0',
        `a@${SEGMENT + WINDOW}=a-1`,
      ]);
      // Store order: segment, then key bytes ('' < 'a' < 'a\0' < 'ab' < 'b'), then window start.
      expect(flat(store.fetchKeyRange('a', 'ab', 0, 10 * WINDOW))).toEqual([
        'a@0=a-0',
        'a\u0000@0=a\u0000-0',
        'ab@0=ab-0',
        `ab@${WINDOW}=ab-late`,
        `a@${SEGMENT + WINDOW}=a-1`,
        `a\u0000@${SEGMENT + WINDOW}=a\u0000-1`,
        `ab@${SEGMENT + WINDOW}=ab-1`,
      ]);
      expect(flat(store.fetchKeyRange(undefined, 'a', 0, WINDOW))).toEqual(['@0=-0', 'a@0=a-0']);
      expect(flat(store.fetchKeyRange('ab', undefined, WINDOW, SEGMENT + WINDOW))).toEqual([
        `ab@${WINDOW}=ab-late`,
        `ab@${SEGMENT + WINDOW}=ab-1`,
        `b@${SEGMENT + WINDOW}=b-1`,
      ]);
      expect(flat(store.fetchKeyRange('b', 'a', 0, 10 * WINDOW))).toEqual([]);
      expect(flat(store.fetchAll(SEGMENT, 10 * SEGMENT))).toHaveLength(5);
      expect(flat(store.all())).toHaveLength(11);
      expect(flat(store.backwardAll())).toEqual(flat(store.all()).reverse());
      const [first] = store.fetchKeyRange('b', 'b', 0, 0);
      expect(first!.key).toEqual({ key: 'b', window: { start: 0, end: WINDOW } });
    });

    it('drops expired windows and ignores puts into them', () => {
      const { store, context } = h;
      store.put('a', 'old', 0);
      store.put('a', 'edge', 100_000);
      store.put('a', 'live', 100_001);
      store.flushCache();
      store.put('a', 'now', 700_000); // stream time 700 000: windows starting at or before 100 000 expire
      expect(store.fetch('a', 0)).toBeUndefined();
      expect(store.fetch('a', 100_000)).toBeUndefined();
      expect(store.fetch('a', 100_001)).toBe('live');
      expect(times(store.fetchRange('a', 0, 1_000_000))).toEqual(['100001=live', '700000=now']);
      store.put('b', 'late', 50_000);
      expect(store.fetch('b', 50_000)).toBeUndefined();
      expect(flat(store.all())).toEqual(['a@100001=live', 'a@700000=now']);
      expect(context.counters.get('windows')!.expiredWindowDrops).toBeGreaterThanOrEqual(1);
      expect(store.observedStreamTime()).toBe(700_000);
    });

    it('deletes whole segments once they are past retention', () => {
      const { store } = h;
      for (let t = 0; t < SEGMENT; t += WINDOW) store.put('a', 'x', t);
      store.put('a', 'y', SEGMENT);
      store.flushCache();
      const inner = innermost(store);
      const windowKeys = () => [...inner.range(Buffer.alloc(1), undefined)].length; // skips the stream-time key
      expect(windowKeys()).toBe(6);
      store.put('a', 'z', SEGMENT + RETENTION); // the first segment is now wholly expired
      store.flushCache();
      expect(windowKeys()).toBe(2);
      expect(times(store.fetchRange('a', 0, Number.MAX_SAFE_INTEGER))).toEqual([`${SEGMENT + RETENTION}=z`]);
    });

    it('logs changes keyed by raw key, window start and seq, and restores from them', async () => {
      const { store, context, builder } = h;
      context.timestamp = 5;
      store.put('a', '1', 0);
      store.put('a', '2', 0);
      store.put('b', '3', WINDOW);
      store.flushCache();
      const log = context.changelog.map((c) => {
        const { key, windowStart, seq } = fromChangelogKey(c.key);
        return [key.toString(), windowStart, seq, c.value?.toString(), c.timestamp];
      });
      if (!builder.loggingEnabled) expect(log).toEqual([]);
      else if (variant.retainDuplicates) {
        expect(log).toEqual([
          ['a', 0, 0, '1', 5],
          ['a', 0, 1, '2', 5],
          ['b', WINDOW, 2, '3', 5],
        ]);
      } else if (builder.cachingEnabled) {
        expect(log).toEqual([
          ['a', 0, 0, '2', 5],
          ['b', WINDOW, 0, '3', 5],
        ]);
      } else {
        expect(log).toEqual([
          ['a', 0, 0, '1', 5],
          ['a', 0, 0, '2', 5],
          ['b', WINDOW, 0, '3', 5],
        ]);
      }
      if (!builder.loggingEnabled) return;
      store.put('c', '4', 2 * WINDOW);
      store.flushCache();
      const replica = variant.builder('replica').build();
      const replicaContext = testContext(h.dir);
      await replica.init(replicaContext);
      replica.restoreBatch(context.changelog.map(({ key, value }) => ({ key, value })));
      expect(replicaContext.changelog).toEqual([]);
      expect(flat(replica.all())).toEqual(flat(store.all()));
      expect(replica.observedStreamTime()).toBe(2 * WINDOW);
      if (variant.retainDuplicates) {
        // New duplicates get fresh sequence numbers after a restore.
        replica.put('a', '5', 0);
        expect(times(replica.fetchRange('a', 0, 0))).toEqual(['0=1', '0=2', '0=5']);
      }
      await replica.close();
    });

    it('calls the flush listener with windowed keys when caching', () => {
      const { store, context, builder } = h;
      const events: unknown[] = [];
      const caching = store.setFlushListener(
        (key, newValue, oldValue, timestamp) => events.push([key, newValue, oldValue, timestamp]),
        true,
      );
      expect(caching).toBe(builder.cachingEnabled);
      context.timestamp = 7;
      store.put('a', '1', WINDOW);
      store.flushCache();
      context.timestamp = 8;
      store.put('a', '2', WINDOW);
      store.put('a', null, 0);
      store.flushCache();
      if (!caching) return expect(events).toEqual([]);
      const a = { key: 'a', window: { start: WINDOW, end: 2 * WINDOW } };
      expect(events).toEqual([
        [a, '1', undefined, 7],
        [a, '2', '1', 8],
      ]);
    });

    if (variant.persistent)
      it('keeps windows and stream time across close and reopen', async () => {
        const { store } = h;
        store.put('a', '1', 0);
        store.put('b', '2', 400_000);
        await store.flush();
        store.put('a', '3', 500_000);
        await h.reopen();
        expect(flat(h.store.all())).toEqual(['a@0=1', 'a@500000=3', 'b@400000=2']);
        expect(h.store.observedStreamTime()).toBe(500_000);
        h.store.put('c', 'late', 500_000 - RETENTION);
        expect(h.store.fetch('c', 500_000 - RETENTION)).toBeUndefined();
        if (variant.retainDuplicates) {
          h.store.put('a', '4', 0);
          expect(times(h.store.fetchRange('a', 0, 0))).toEqual(['0=1', '0=4']);
        }
      });

    it('names itself in errors once closed', async () => {
      await h.store.close();
      expect(() => h.store.fetch('a', 0)).toThrow("store 'windows' is not open");
      expect(() => h.store.put('a', '1', 0)).toThrow("store 'windows' is not open");
    });

    it('behaves like a model under random operations', async () => {
      const key = fc.constantFrom('', 'a', 'ab', 'a\u0000', 'b');
      const time = fc.integer({ min: 0, max: 24 }).map((i) => i * 50_000);
      const op = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('put' as const),
            key,
            time,
            value: fc.option(fc.string({ maxLength: 2 }), { freq: 4 }),
          }),
        },
        fc.record({ kind: fc.constant('fetch' as const), key, time }),
        fc.record({
          kind: fc.constant('fetchRange' as const),
          key,
          from: time,
          to: time,
          backward: fc.boolean(),
        }),
        fc.record({
          kind: fc.constant('fetchKeyRange' as const),
          keyFrom: fc.option(key),
          keyTo: fc.option(key),
          from: time,
          to: time,
          backward: fc.boolean(),
        }),
        fc.record({ kind: fc.constant('flushCache' as const) }),
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 50 }), async (ops) => {
          const store = variant.builder(`model${run++}`).build();
          await store.init(testContext(h.dir, { cacheBudget: variant.cacheMaxBytes }));
          let observed = -Infinity;
          let seq = 0;
          const model: Array<{ key: string; time: number; seq: number; value: string }> = [];
          const live = (e: { time: number }) => e.time > observed - RETENTION;
          const bytes = (k: string) => Buffer.from(k, 'utf8');
          const byStoreOrder = (x: (typeof model)[0], y: (typeof model)[0]) =>
            Math.floor(x.time / SEGMENT) - Math.floor(y.time / SEGMENT) ||
            Buffer.compare(bytes(x.key), bytes(y.key)) ||
            x.time - y.time ||
            x.seq - y.seq;
          try {
            for (const o of ops) {
              switch (o.kind) {
                case 'put': {
                  store.put(o.key, o.value, o.time);
                  observed = Math.max(observed, o.time);
                  if (o.time <= observed - RETENTION) break;
                  if (variant.retainDuplicates) {
                    if (o.value !== null)
                      model.push({ key: o.key, time: o.time, seq: seq++, value: o.value });
                    break;
                  }
                  const at = model.findIndex((e) => e.key === o.key && e.time === o.time);
                  if (at >= 0) model.splice(at, 1);
                  if (o.value !== null) model.push({ key: o.key, time: o.time, seq: 0, value: o.value });
                  break;
                }
                case 'fetch': {
                  const found = model.filter((e) => live(e) && e.key === o.key && e.time === o.time);
                  expect(store.fetch(o.key, o.time)).toBe(found[0]?.value);
                  break;
                }
                case 'fetchRange': {
                  const expected = model
                    .filter((e) => live(e) && e.key === o.key && e.time >= o.from && e.time <= o.to)
                    .sort(byStoreOrder)
                    .map((e) => `${e.time}=${e.value}`);
                  const actual = o.backward
                    ? store.backwardFetchRange(o.key, o.from, o.to)
                    : store.fetchRange(o.key, o.from, o.to);
                  expect(times(actual)).toEqual(o.backward ? expected.reverse() : expected);
                  break;
                }
                case 'fetchKeyRange': {
                  const keyFrom = o.keyFrom ?? undefined;
                  const keyTo = o.keyTo ?? undefined;
                  const expected = model
                    .filter(
                      (e) =>
                        live(e) &&
                        e.time >= o.from &&
                        e.time <= o.to &&
                        (keyFrom === undefined || Buffer.compare(bytes(e.key), bytes(keyFrom)) >= 0) &&
                        (keyTo === undefined || Buffer.compare(bytes(e.key), bytes(keyTo)) <= 0) &&
                        (keyFrom === undefined ||
                          keyTo === undefined ||
                          Buffer.compare(bytes(keyFrom), bytes(keyTo)) <= 0),
                    )
                    .sort(byStoreOrder)
                    .map((e) => `${e.key}@${e.time}=${e.value}`);
                  const actual = o.backward
                    ? store.backwardFetchKeyRange(keyFrom, keyTo, o.from, o.to)
                    : store.fetchKeyRange(keyFrom, keyTo, o.from, o.to);
                  expect(flat(actual)).toEqual(o.backward ? expected.reverse() : expected);
                  break;
                }
                case 'flushCache':
                  store.flushCache();
                  break;
              }
            }
            const expectedAll = model
              .filter(live)
              .sort(byStoreOrder)
              .map((e) => `${e.key}@${e.time}=${e.value}`);
            if (variant.persistent) {
              await store.close();
              await store.init(testContext(h.dir));
            }
            expect(flat(store.all())).toEqual(expectedAll);
          } finally {
            await store.close();
          }
        }),
        { numRuns: variant.persistent ? 20 : 50 },
      );
    });
  });
}
