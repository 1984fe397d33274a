import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeteredKeyValueStore } from '../../../src/state/metered-key-value-store.ts';
import { b, hex, s, testContext, useStoreHarness, type StoreVariant } from './helpers.ts';

export type KvStore = MeteredKeyValueStore<Buffer, string>;

export type KvVariant = StoreVariant<KvStore>;

const entries = (it: Iterable<{ key: Buffer; value: string }>): Array<[string, string]> =>
  [...it].map(({ key, value }) => [hex(key), value]);

/**
 * One suite for every key-value store variant: the behaviour is the same whatever the stack, except
 * what the changelog and the flush listener see, which follows the builder's flags.
 */
export function keyValueStoreConformance(variant: KvVariant): void {
  describe(variant.label, () => {
    const h = useStoreHarness(variant, 'counts');

    it('gets, puts, overwrites and deletes', () => {
      const { store } = h;
      expect(store.get(s('a'))).toBeUndefined();
      store.put(s('a'), '1');
      expect(store.get(s('a'))).toBe('1');
      store.put(s('a'), '2');
      expect(store.get(s('a'))).toBe('2');
      expect(store.delete(s('a'))).toBe('2');
      expect(store.get(s('a'))).toBeUndefined();
      expect(store.delete(s('a'))).toBeUndefined();
    });

    it('treats a null value as a tombstone', () => {
      const { store } = h;
      store.put(s('a'), '1');
      store.put(s('b'), '2');
      store.flushCache();
      store.put(s('a'), null);
      expect(store.get(s('a'))).toBeUndefined();
      expect(entries(store.all())).toEqual([[hex(s('b')), '2']]);
      store.flushCache();
      expect(entries(store.all())).toEqual([[hex(s('b')), '2']]);
    });

    it('putIfAbsent writes only absent keys and returns the existing value', () => {
      const { store } = h;
      expect(store.putIfAbsent(s('a'), '1')).toBeUndefined();
      expect(store.putIfAbsent(s('a'), '2')).toBe('1');
      expect(store.get(s('a'))).toBe('1');
      store.delete(s('a'));
      expect(store.putIfAbsent(s('a'), '3')).toBeUndefined();
      expect(store.get(s('a'))).toBe('3');
    });

    it('putAll applies values and tombstones in order', () => {
      const { store } = h;
      store.put(s('x'), '0');
      store.putAll([
        { key: s('a'), value: '1' },
        { key: s('b'), value: '2' },
        { key: s('a'), value: '3' },
        { key: s('x'), value: null },
      ]);
      expect(entries(store.all())).toEqual([
        [hex(s('a')), '3'],
        [hex(s('b')), '2'],
      ]);
    });

    it('scans inclusive ranges forward and backward, with open ends', () => {
      const { store } = h;
      for (const k of ['a', 'b', 'c', 'd', 'e']) store.put(s(k), k.toUpperCase());
      store.flushCache();
      store.put(s('c'), 'C2'); // dirty in a cache, flushed below otherwise
      store.delete(s('d'));
      const keys = (it: Iterable<{ key: Buffer }>) => [...it].map((e) => e.key.toString('latin1')).join('');
      expect(keys(store.range(s('b'), s('e')))).toBe('bce');
      expect(entries(store.range(s('c'), s('c')))).toEqual([[hex(s('c')), 'C2']]);
      expect(keys(store.range(s('bb'), s('cc')))).toBe('c');
      expect(keys(store.range(undefined, s('c')))).toBe('abc');
      expect(keys(store.range(s('c')))).toBe('ce');
      expect(keys(store.reverseRange(s('b'), s('e')))).toBe('ecb');
      expect(keys(store.reverseRange(undefined, s('c')))).toBe('cba');
      expect(keys(store.reverseAll())).toBe('ecba');
      expect(keys(store.range(s('e'), s('a')))).toBe('');
    });

    it('prefix-scans, keeping a key that is a prefix of another apart', () => {
      const { store } = h;
      for (const k of ['a', 'ab', 'abc', 'abd', 'ac', 'b']) store.put(s(k), k);
      store.flushCache();
      store.put(s('abb'), 'abb');
      store.delete(s('abd'));
      const values = (prefix: string) => [...store.prefixScan(s(prefix))].map((e) => e.value);
      expect(values('ab')).toEqual(['ab', 'abb', 'abc']);
      expect(values('abc')).toEqual(['abc']);
      expect(values('a')).toEqual(['a', 'ab', 'abb', 'abc', 'ac']);
      expect(values('z')).toEqual([]);
      expect(values('')).toHaveLength(6);
    });

    it('orders keys by unsigned bytes, including 0x00, 0xff and multi-byte keys', () => {
      const { store } = h;
      const keys = [
        b(0xff),
        b(0x00),
        b(0x00, 0x00),
        b(0x7f),
        b(0x80),
        b(0xff, 0x00),
        b(),
        b(0x01, 0xff),
        b(0xc3, 0xa9),
      ];
      keys.forEach((k, i) => {
        store.put(k, String(i));
        if (i === 4) store.flushCache(); // half below a cache, half in it
      });
      const sorted = [...keys].sort(Buffer.compare).map(hex);
      expect([...store.all()].map((e) => hex(e.key))).toEqual(sorted);
      expect([...store.reverseAll()].map((e) => hex(e.key))).toEqual([...sorted].reverse());
      expect([...store.range(b(0x00), b(0x7f))].map((e) => hex(e.key))).toEqual(['00', '0000', '01ff', '7f']);
      expect(store.get(b())).toBe('6');
    });

    it('scans correctly past many keys', () => {
      const { store } = h;
      const keys = Array.from({ length: 300 }, (_, i) => s(`k${String(i).padStart(4, '0')}`));
      keys.forEach((k, i) => store.put(k, String(i)));
      store.flushCache();
      for (let i = 0; i < 300; i += 7) store.put(keys[i]!, `u${i}`);
      const all = [...store.all()];
      expect(all).toHaveLength(300);
      expect(all[7]!.value).toBe('u7');
      expect([...store.reverseRange(keys[10], keys[150])].map((e) => e.value.replace('u', ''))).toEqual(
        Array.from({ length: 141 }, (_, i) => String(150 - i)),
      );
    });

    it('allows deleting keys while iterating over them', () => {
      const { store } = h;
      for (let i = 0; i < 200; i++) store.put(s(`k${String(i).padStart(3, '0')}`), String(i));
      store.flushCache();
      let seen = 0;
      for (const { key } of store.all()) {
        store.delete(key);
        seen++;
      }
      expect(seen).toBe(200);
      expect([...store.all()]).toEqual([]);
    });

    it('counts entries approximately', () => {
      const { store } = h;
      for (let i = 0; i < 10; i++) store.put(s(`k${i}`), String(i));
      store.delete(s('k3'));
      store.flushCache();
      expect(store.approximateNumEntries()).toBe(9);
    });

    it('counts operations through the context counters', () => {
      const { store, context } = h;
      store.put(s('a'), '1');
      store.get(s('a'));
      store.get(s('b'));
      expect([...store.all()]).toHaveLength(1);
      const counters = context.counters.get('counts')!;
      expect(counters).toMatchObject({ puts: 1, gets: 2, rangeScans: 1 });
      expect(store.counters).toBe(counters);
    });

    it('sends writes to the changelog as the flags say', () => {
      const { store, context, builder } = h;
      context.timestamp = 10;
      store.put(s('a'), '1');
      context.timestamp = 20;
      store.put(s('a'), '2');
      context.timestamp = 30;
      store.put(s('b'), '1');
      context.timestamp = 40;
      store.delete(s('b'));
      store.flushCache();
      const log = context.changelog.map((c) => [
        c.store,
        c.key.toString('latin1'),
        c.value?.toString(),
        c.timestamp,
      ]);
      if (!builder.loggingEnabled) expect(log).toEqual([]);
      else if (builder.cachingEnabled) {
        expect(log).toEqual([
          ['counts', 'a', '2', 20],
          ['counts', 'b', undefined, 40],
        ]);
      } else {
        expect(log).toEqual([
          ['counts', 'a', '1', 10],
          ['counts', 'a', '2', 20],
          ['counts', 'b', '1', 30],
          ['counts', 'b', undefined, 40],
        ]);
      }
    });

    it('calls the flush listener with (key, new, old, timestamp) when caching', () => {
      const { store, context, builder } = h;
      const events: unknown[] = [];
      const caching = store.setFlushListener((key, newValue, oldValue, timestamp) => {
        events.push([key.toString('latin1'), newValue, oldValue, timestamp]);
      }, true);
      expect(caching).toBe(builder.cachingEnabled);
      context.timestamp = 10;
      store.put(s('a'), '1');
      store.flushCache();
      context.timestamp = 20;
      store.put(s('a'), '2');
      context.timestamp = 30;
      store.put(s('a'), '3');
      store.put(s('b'), 'x');
      store.delete(s('b')); // created and deleted within one flush: nothing to forward
      store.flushCache();
      context.timestamp = 40;
      store.delete(s('a'));
      store.delete(s('never'));
      store.flushCache();
      if (!caching) expect(events).toEqual([]);
      else {
        expect(events).toEqual([
          ['a', '1', undefined, 10],
          ['a', '3', '1', 30],
          ['a', undefined, '3', 40],
        ]);
      }
    });

    it('leaves old values out of flush events unless asked', () => {
      const { store } = h;
      const events: unknown[] = [];
      if (!store.setFlushListener((key, n, o) => events.push([key.toString('latin1'), n, o]), false)) return;
      store.put(s('a'), '1');
      store.flushCache();
      store.put(s('a'), '2');
      store.delete(s('zz'));
      store.flushCache();
      expect(events).toEqual([
        ['a', '1', undefined],
        ['a', '2', undefined],
      ]);
    });

    if (variant.cacheMaxBytes !== undefined)
      it('spills dirty entries down when the cache outgrows its budget', () => {
        const { store, context } = h;
        for (let i = 0; i < 50; i++) store.put(s(`k${String(i).padStart(2, '0')}`), String(i));
        const counters = context.counters.get('counts')!;
        expect(counters.cacheEvictions).toBeGreaterThan(0);
        expect(counters.cacheFlushedEntries).toBeGreaterThan(0);
        if (h.builder.loggingEnabled) expect(context.changelog.length).toBeGreaterThan(0);
        expect([...store.all()].map((e) => e.value)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
        store.flushCache();
        if (h.builder.loggingEnabled) {
          expect(new Set(context.changelog.map((c) => c.key.toString('latin1'))).size).toBe(50);
        }
      });

    it('restores changelog records without logging them again', () => {
      const { store, context } = h;
      store.put(s('gone'), 'x');
      store.flushCache();
      const logged = context.changelog.length;
      store.restoreBatch([
        { key: s('a'), value: Buffer.from('1') },
        { key: s('b'), value: Buffer.from('2') },
        { key: s('a'), value: Buffer.from('3') },
        { key: s('gone'), value: null },
      ]);
      expect(context.changelog).toHaveLength(logged);
      expect(entries(store.all())).toEqual([
        [hex(s('a')), '3'],
        [hex(s('b')), '2'],
      ]);
      expect(context.counters.get('counts')!.restored).toBe(4);
    });

    it('reproduces the store from its own changelog', async () => {
      const { store, context, builder } = h;
      if (!builder.loggingEnabled) return;
      for (let i = 0; i < 50; i++) store.put(s(`k${i % 17}`), String(i));
      store.delete(s('k3'));
      store.flushCache();
      const expected = entries(store.all());
      const replica = variant.builder('replica').build();
      await replica.init(testContext(h.dir, { logging: false }));
      replica.restoreBatch(context.changelog.map(({ key, value }) => ({ key, value })));
      expect(entries(replica.all())).toEqual(expected);
      await replica.close();
    });

    it('names itself in errors once closed', async () => {
      await h.store.close();
      expect(h.store.isOpen()).toBe(false);
      expect(() => h.store.get(s('a'))).toThrow("store 'counts' is not open");
      expect(() => h.store.put(s('a'), '1')).toThrow("store 'counts' is not open");
    });

    if (variant.persistent)
      it('keeps its data across flush, close and reopen', async () => {
        const { store } = h;
        store.put(s('a'), '1');
        store.put(s('b'), '2');
        store.put(s('c'), '3');
        await store.flush();
        store.delete(s('b'));
        store.put(s('d'), '4');
        await h.reopen(); // close flushes what is pending
        expect(entries(h.store.all())).toEqual([
          [hex(s('a')), '1'],
          [hex(s('c')), '3'],
          [hex(s('d')), '4'],
        ]);
        expect(h.store.approximateNumEntries()).toBe(3);
      });

    it('behaves like a sorted map under random operations', async () => {
      const key = fc
        .uint8Array({ maxLength: 3 })
        .map((a) => Buffer.from(a.map((x) => [0, 1, 0x7f, 0xff][x % 4]!)));
      const op = fc.oneof(
        fc.record({ kind: fc.constant('put' as const), key, value: fc.option(fc.string({ maxLength: 3 })) }),
        fc.record({ kind: fc.constant('delete' as const), key }),
        fc.record({ kind: fc.constant('putIfAbsent' as const), key, value: fc.string({ maxLength: 3 }) }),
        fc.record({ kind: fc.constant('get' as const), key }),
        fc.record({
          kind: fc.constant('range' as const),
          from: fc.option(key),
          to: fc.option(key),
          reverse: fc.boolean(),
        }),
        fc.record({ kind: fc.constant('prefix' as const), key }),
        fc.record({ kind: fc.constant('flushCache' as const) }),
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
          const store = variant.builder(`model${run++}`).build();
          await store.init(testContext(h.dir, { cacheBudget: variant.cacheMaxBytes }));
          const model = new Map<string, string>();
          const sortedModel = (from?: Buffer, to?: Buffer, reverse = false) => {
            const out = [...model.entries()]
              .filter(([k]) => {
                const kb = Buffer.from(k, 'hex');
                return (!from || Buffer.compare(kb, from) >= 0) && (!to || Buffer.compare(kb, to) <= 0);
              })
              .sort(([x], [y]) => Buffer.compare(Buffer.from(x, 'hex'), Buffer.from(y, 'hex')));
            return reverse ? out.reverse() : out;
          };
          try {
            for (const o of ops) {
              switch (o.kind) {
                case 'put':
                  store.put(o.key, o.value);
                  if (o.value === null) model.delete(hex(o.key));
                  else model.set(hex(o.key), o.value);
                  break;
                case 'delete':
                  expect(store.delete(o.key)).toBe(model.get(hex(o.key)));
                  model.delete(hex(o.key));
                  break;
                case 'putIfAbsent': {
                  const existing = model.get(hex(o.key));
                  expect(store.putIfAbsent(o.key, o.value)).toBe(existing);
                  if (existing === undefined) model.set(hex(o.key), o.value);
                  break;
                }
                case 'get':
                  expect(store.get(o.key)).toBe(model.get(hex(o.key)));
                  break;
                case 'range': {
                  const from = o.from ?? undefined;
                  const to = o.to ?? undefined;
                  const actual = entries(o.reverse ? store.reverseRange(from, to) : store.range(from, to));
                  expect(actual).toEqual(sortedModel(from, to, o.reverse));
                  break;
                }
                case 'prefix': {
                  const expected = sortedModel().filter(([k]) =>
                    Buffer.from(k, 'hex').subarray(0, o.key.length).equals(o.key),
                  );
                  expect(entries(store.prefixScan(o.key))).toEqual(expected);
                  break;
                }
                case 'flushCache':
                  store.flushCache();
                  break;
              }
            }
            if (variant.persistent) {
              await store.close();
              await store.init(testContext(h.dir));
            }
            expect(entries(store.all())).toEqual(sortedModel());
          } finally {
            await store.close();
          }
        }),
        { numRuns: variant.persistent ? 25 : 60 },
      );
    });
  });
}
