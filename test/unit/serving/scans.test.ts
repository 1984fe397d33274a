import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PAGE_KEYS, USER_IDS, VIEW } from './fake-query-service.ts';
import { get, startPair } from './harness.ts';
import type { Pair } from './harness.ts';

let pair: Pair;
beforeAll(async () => {
  pair = await startPair();
});
afterAll(async () => {
  await pair.close();
});

const bytesOrder = (keys: string[]) =>
  [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

/** Follows nextCursor from `path` (which has a query string) to the end; returns every page. */
async function allPages(base: string, path: string): Promise<any[]> {
  const pages: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await get(base, cursor === null ? path : `${path}&cursor=${cursor}`);
    expect(res.status, res.text).toBe(200);
    pages.push(res.body);
    cursor = res.body.nextCursor;
    expect(pages.length).toBeLessThan(200);
  } while (cursor !== null);
  return pages;
}

describe('range and prefix scans over two hosts', () => {
  it('a range without bounds returns every key of both hosts in serialized-key order', async () => {
    const res = await get(pair.urls[0], '/stores/page-counts/range?limit=1000');
    expect(res.status).toBe(200);
    expect(res.body.entries.map((e: { key: string }) => e.key)).toEqual(bytesOrder(PAGE_KEYS));
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.view).toEqual(VIEW);
    expect(res.body.mixedViews).toBe(false);
    expect(res.body.servedBy).toEqual(pair.cluster.endpoints);
    // Each host answered for its own partitions: the position lists all four.
    expect(res.body.position.offsets.pageviews).toEqual({
      ...pair.cluster.offsets[0],
      ...pair.cluster.offsets[1],
    });
    const entry = res.body.entries.find((e: { key: string }) => e.key === 'home');
    expect(entry).toEqual({ key: 'home', value: 1, keyBytes: Buffer.from('home').toString('base64') });
  });

  it('pages of any size add up to the whole store, from either host, both directions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 0, max: 1 }),
        fc.boolean(),
        async (limit, host, reverse) => {
          const pages = await allPages(
            pair.url(host),
            `/stores/page-counts/range?limit=${limit}&reverse=${reverse}`,
          );
          const keys = pages.flatMap((p) => p.entries.map((e: { key: string }) => e.key));
          const expected = bytesOrder(PAGE_KEYS);
          expect(keys).toEqual(reverse ? expected.reverse() : expected);
          for (const page of pages.slice(0, -1)) expect(page.entries).toHaveLength(limit);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('from and to are inclusive bounds; a cursor continues within them', async () => {
    const pages = await allPages(pair.urls[1], '/stores/page-counts/range?from=page-10&to=page-19&limit=3');
    const keys = pages.flatMap((p) => p.entries.map((e: { key: string }) => e.key));
    expect(keys).toEqual(Array.from({ length: 10 }, (_, i) => `page-${10 + i}`));
    expect(pages).toHaveLength(4);
  });

  it('base64 bounds are raw bytes; json bounds go through the key serde', async () => {
    // Bounds need not be whole keys: [page-5, page-6) in bytes.
    const from = Buffer.from('page-5').toString('base64url');
    const to = Buffer.from('page-5\xff', 'latin1').toString('base64');
    const res = await get(
      pair.urls[0],
      `/stores/page-counts/range?keyFormat=base64&from=${from}&to=${encodeURIComponent(to)}&limit=1000`,
    );
    expect(res.body.entries.map((e: { key: string }) => e.key)).toEqual(
      Array.from({ length: 10 }, (_, i) => `page-5${i}`),
    );
    const users = await get(pair.urls[0], '/stores/users/range?keyFormat=json&from=0&to=100');
    expect(users.body.entries.map((e: { key: number }) => e.key)).toEqual([0, 7, 42]);
    const all = await get(pair.urls[1], '/stores/users/range');
    expect(all.body.entries.map((e: { key: number }) => e.key)).toEqual(USER_IDS);
  });

  it('a prefix scan returns exactly the keys with that prefix, paged', async () => {
    const prefix = (p: string) =>
      PAGE_KEYS.filter((k) => Buffer.from(k).subarray(0, Buffer.byteLength(p)).equals(Buffer.from(p)));
    for (const p of ['home', 'home/blog', 'page-1', 'p', 'ä', 'zzz']) {
      for (const limit of [1, 4, 100]) {
        const pages = await allPages(
          pair.urls[0],
          `/stores/page-counts/prefix/${encodeURIComponent(p)}?limit=${limit}`,
        );
        const keys = pages.flatMap((page) => page.entries.map((e: { key: string }) => e.key));
        expect(keys, `${p} limit ${limit}`).toEqual(bytesOrder(prefix(p)));
      }
    }
    const reversed = await allPages(pair.urls[1], '/stores/page-counts/prefix/home?limit=2&reverse=true');
    expect(reversed.flatMap((page) => page.entries.map((e: { key: string }) => e.key))).toEqual(
      bytesOrder(prefix('home')).reverse(),
    );
  });

  it('a prefix whose upper bound is itself a key leaves that key out', async () => {
    // "home/" + 1 = "home0": add such a key and a key of all 0xff bytes.
    const counts = pair.cluster.kv.get('page-counts')!;
    counts.set('home0', 99);
    try {
      const res = await get(pair.urls[0], '/stores/page-counts/prefix/home%2F?limit=1000');
      expect(res.body.entries.map((e: { key: string }) => e.key)).toEqual([
        'home/about',
        'home/blog',
        'home/blog/2026',
      ]);
      const reverse = await allPages(pair.urls[0], '/stores/page-counts/prefix/home%2F?limit=1&reverse=true');
      expect(reverse.flatMap((page) => page.entries.map((e: { key: string }) => e.key))).toEqual([
        'home/blog/2026',
        'home/blog',
        'home/about',
      ]);
    } finally {
      counts.delete('home0');
    }
  });

  it('inner requests (scope local) answer from one host only', async () => {
    const res = await get(pair.urls[0], '/stores/page-counts/range?limit=1000', {
      'x-lambda-streams-scope': 'local',
    });
    expect(res.status).toBe(200);
    expect(res.body.servedBy).toEqual([pair.cluster.endpoints[0]]);
    expect(res.body.entries.length).toBeGreaterThan(0);
    expect(res.body.entries.length).toBeLessThan(PAGE_KEYS.length);
    const bad = await get(pair.urls[0], '/stores/page-counts/range', {
      'x-lambda-streams-scope': 'everywhere',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("header 'x-lambda-streams-scope' must be one of: local");
  });

  it('limit and cursor are validated', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'cursor=not%20base64', 'reverse=maybe']) {
      const res = await get(pair.urls[0], `/stores/page-counts/range?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error).toBe('bad_request');
      expect(res.body.message.length).toBeGreaterThan(10);
    }
  });

  it('a host that refuses fails the scan with its status and a message naming it', async () => {
    pair.cluster.notReady.add('page-counts');
    try {
      const res = await get(pair.urls[0], '/stores/page-counts/range');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body.error).toBe('store_not_ready');
    } finally {
      pair.cluster.notReady.delete('page-counts');
    }
  });

  it('with no worker serving the store the scan is 503', async () => {
    for (let p = 0; p < 4; p++) pair.cluster.orphans.add(p);
    try {
      const res = await get(pair.urls[0], '/stores/page-counts/range');
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('no_active_host');
      expect(res.headers.get('retry-after')).toBe('1');
    } finally {
      pair.cluster.orphans.clear();
    }
  });
});
