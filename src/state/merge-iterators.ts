import type { CacheEntry } from './write-back-cache.ts';

/**
 * Merges a cache walk with the store walk below it, both in the same order (ascending, or
 * descending when `reverse`): on equal keys the cache wins, and cache tombstones hide the key.
 * `compare(cacheItem, storeItem)` orders by ascending key; `present` builds the output of a cache
 * entry that holds a value.
 */
export function* mergeCacheWithStore<C extends [unknown, CacheEntry], S, R>(
  cache: Iterator<C>,
  store: Iterator<S>,
  reverse: boolean,
  compare: (cached: C, stored: S) => number,
  present: (cached: C, value: Buffer) => R,
  fromStore: (stored: S) => R,
): Generator<R> {
  let c = cache.next();
  let s = store.next();
  while (!c.done) {
    const cached = c.value;
    let order = -1;
    if (!s.done) {
      order = compare(cached, s.value);
      if (reverse) order = -order;
    }
    if (order > 0) {
      yield fromStore(s.value as S);
      s = store.next();
      continue;
    }
    if (order === 0) s = store.next();
    const value = cached[1].value;
    if (value !== null) yield present(cached, Buffer.from(value, 'latin1'));
    c = cache.next();
  }
  while (!s.done) {
    yield fromStore(s.value);
    s = store.next();
  }
}
