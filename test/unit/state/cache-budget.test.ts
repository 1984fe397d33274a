/**
 * The write-back caches of several stores on one CacheBudget (a stream thread's, Kafka Streams'
 * ThreadCache): their total stays within it, the cache being written evicts its own entries and
 * leaves the others' alone, and a closed store gives its cache's bytes back.
 */
import { describe, expect, it } from 'vitest';

import { Stores } from '../../../src/state/stores.ts';
import type { KeyValueStore } from '../../../src/state/types.ts';
import { CacheBudget } from '../../../src/state/write-back-cache.ts';
import { stringSerde, testContext, withTempDir, type TestContext } from './helpers.ts';

/** A cache entry costs its key and value bytes plus 240: keys `k00`…, 57-byte values make 300. */
const ENTRY = 300;
const value = (i: number): string => String(i).padStart(57, '.');
const key = (i: number): string => `k${String(i).padStart(2, '0')}`;

async function cachedStore(name: string, context: TestContext): Promise<KeyValueStore<string, string>> {
  const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(name), stringSerde, stringSerde)
    .withCachingEnabled()
    .withLoggingDisabled()
    .build();
  await store.init(context);
  return store;
}

interface TwoStores {
  budget: CacheBudget;
  context: TestContext;
  a: KeyValueStore<string, string>;
  b: KeyValueStore<string, string>;
}

/** Stores `a` and `b`, caching on one budget of ten entries. */
function withTwoStores(fn: (stores: TwoStores) => Promise<void>): Promise<void> {
  return withTempDir(async (dir) => {
    const budget = new CacheBudget(10 * ENTRY);
    const context = testContext(dir, { cacheBudget: budget, logging: false });
    await fn({ budget, context, a: await cachedStore('a', context), b: await cachedStore('b', context) });
  });
}

describe('caches sharing one CacheBudget', () => {
  it('stay within it together; the store written evicts its own entries; closing gives the bytes back', () =>
    withTwoStores(async ({ budget, context, a, b }) => {
      for (let i = 0; i < 6; i++) a.put(key(i), value(i));
      expect(budget.bytes).toBe(6 * ENTRY);

      for (let i = 0; i < 20; i++) {
        b.put(key(i), value(i));
        expect(budget.bytes).toBeLessThanOrEqual(budget.maxBytes);
      }
      const countersA = context.counters.get('a')!;
      const countersB = context.counters.get('b')!;
      expect(countersB.cacheEvictions).toBe(16); // b keeps the 4 entries a leaves room for
      expect(countersB.cacheFlushedEntries).toBeGreaterThanOrEqual(16); // evicted dirty: written down
      expect(countersA.cacheEvictions).toBe(0);
      // a's entries are all still cached: every read is a hit.
      const misses = countersA.cacheMisses;
      for (let i = 0; i < 6; i++) expect(a.get(key(i))).toBe(value(i));
      expect(countersA.cacheMisses).toBe(misses);
      for (let i = 0; i < 20; i++) expect(b.get(key(i))).toBe(value(i));
      expect(budget.bytes).toBeLessThanOrEqual(budget.maxBytes);

      await a.close();
      expect(budget.bytes).toBe(4 * ENTRY); // b's
      // Opened again on the same budget: only what the new cache holds counts.
      const a2 = await cachedStore('a', context);
      a2.put(key(0), value(0));
      expect(budget.bytes).toBe(5 * ENTRY);
      await a2.close();
      await b.close();
      expect(budget.bytes).toBe(0);
    }));

  it('a cache written while the others hold the budget evicts itself down to nothing, not theirs', () =>
    withTwoStores(async ({ budget, context, a, b }) => {
      for (let i = 0; i < 9; i++) a.put(key(i), value(i));
      const large = 'x'.repeat(2 * ENTRY);
      b.put('big', large); // over the budget with a's entries: b evicts (writes down) its only one
      expect(budget.bytes).toBe(9 * ENTRY);
      expect(context.counters.get('b')!.cacheEvictions).toBe(1);
      expect(context.counters.get('a')!.cacheEvictions).toBe(0);
      expect(b.get('big')).toBe(large); // from the store below
      expect(budget.bytes).toBe(9 * ENTRY);
      await a.close();
      await b.close();
      expect(budget.bytes).toBe(0);
    }));
});
