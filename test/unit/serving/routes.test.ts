import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createServingServer } from '../../../src/serving/http/server.ts';
import { PAGE_KEYS, STORES, VIEW, WINDOW_START } from './fake-query-service.ts';
import { get, hostsOf, METRICS_TEXT, startPair } from './harness.ts';
import type { Pair } from './harness.ts';

let pair: Pair;
beforeAll(async () => {
  pair = await startPair();
});
afterAll(async () => {
  await pair.close();
});

describe('serving HTTP routes', () => {
  it('GET /stores lists the stores', async () => {
    const res = await get(pair.urls[0], '/stores');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ stores: STORES });
  });

  it('GET a key answers value, view, position, servedBy and stale', async () => {
    const { owner } = hostsOf(pair.cluster, 'page-counts', 'home');
    const res = await get(pair.url(owner), '/stores/page-counts/keys/home');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      store: 'page-counts',
      key: 'home',
      value: 1,
      view: VIEW,
      position: { offsets: { pageviews: pair.cluster.offsets[owner] }, lagRecords: 0 },
      servedBy: pair.cluster.endpoints[owner],
      stale: false,
    });
  });

  it('an absent key is 200 with value null', async () => {
    const res = await get(pair.urls[0], '/stores/page-counts/keys/nobody');
    expect(res.status).toBe(200);
    expect(res.body.value).toBeNull();
    expect(res.body.view).toEqual(VIEW);
  });

  it('reads keys with special characters, URL-encoded', async () => {
    for (const key of PAGE_KEYS.slice(0, 9)) {
      const res = await get(pair.urls[0], `/stores/page-counts/keys/${encodeURIComponent(key)}`);
      expect(res.status, key).toBe(200);
      expect(res.body.key).toBe(key);
      expect(res.body.value).toBe(PAGE_KEYS.indexOf(key) + 1);
    }
  });

  it('key formats: string, json, base64', async () => {
    const base = '/stores/users/keys/';
    const asString = await get(pair.urls[0], `${base}42`);
    const asJson = await get(pair.urls[0], `${base}42?keyFormat=json`);
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(42 + 0x8000_0000);
    const asBase64 = await get(
      pair.urls[0],
      `${base}${encodeURIComponent(bytes.toString('base64'))}?keyFormat=base64`,
    );
    for (const res of [asString, asJson, asBase64]) {
      expect(res.status).toBe(200);
      expect(res.body.key).toBe(42);
      // bigint → decimal string, bytes → base64
      expect(res.body.value).toEqual({ name: 'user 42', visits: '9007199254741035', avatar: 'KgEC' });
    }
    const negative = await get(pair.urls[1], `${base}-5?keyFormat=json`);
    expect(negative.body.value.name).toBe('user -5');
  });

  it('a key the serde cannot read is 400 with the service message', async () => {
    const res = await get(pair.urls[0], '/stores/users/keys/abc');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'bad_request', message: expect.stringContaining('int32 keys') });
    const notJson = await get(pair.urls[0], '/stores/users/keys/%7Bx?keyFormat=json');
    expect(notJson.status).toBe(400);
    expect(notJson.body.message).toContain('is not JSON');
  });

  it('an unknown store is 404; an unknown route 404; a bad parameter 400', async () => {
    const unknown = await get(pair.urls[0], '/stores/nope/keys/a');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'unknown_store', message: expect.stringContaining('GET /stores') });
    const route = await get(pair.urls[0], '/nothing/here');
    expect(route.status).toBe(404);
    expect(route.body.error).toBe('not_found');
    const format = await get(pair.urls[0], '/stores/page-counts/keys/a?keyFormat=xml');
    expect(format.status).toBe(400);
    expect(format.body.message).toContain("query parameter 'keyFormat' must be one of: string, json, base64");
    const extra = await get(pair.urls[0], '/stores/page-counts/keys/a?keyformat=json');
    expect(extra.status).toBe(400);
    expect(extra.body.message).toContain("unknown query parameter 'keyformat'");
  });

  it('GET windows of a window store, ms and ISO bounds', async () => {
    const { owner } = hostsOf(pair.cluster, 'clicks-per-minute', 'home');
    const all = await get(pair.url(owner), '/stores/clicks-per-minute/keys/home/windows');
    expect(all.status).toBe(200);
    expect(all.body.windows).toHaveLength(4);
    expect(all.body.windows[0]).toEqual({
      start: WINDOW_START,
      end: WINDOW_START + 60_000,
      startTime: new Date(WINDOW_START).toISOString(),
      endTime: new Date(WINDOW_START + 60_000).toISOString(),
      value: 10,
    });
    const from = new Date(WINDOW_START + 60_000).toISOString();
    const some = await get(
      pair.url(owner),
      `/stores/clicks-per-minute/keys/home/windows?from=${from}&to=${WINDOW_START + 120_000}`,
    );
    expect(some.body.windows.map((w: { value: number }) => w.value)).toEqual([20, 30]);
    const bad = await get(pair.url(owner), '/stores/clicks-per-minute/keys/home/windows?from=yesterday');
    expect(bad.status).toBe(400);
    const reversed = await get(pair.url(owner), '/stores/clicks-per-minute/keys/home/windows?from=10&to=5');
    expect(reversed.status).toBe(400);
    expect(reversed.body.message).toContain('after');
  });

  it('GET sessions of a session store', async () => {
    const res = await get(pair.urls[0], '/stores/user-sessions/keys/alice/sessions');
    expect(res.status).toBe(200);
    expect(res.body.sessions.map((s: { value: number }) => s.value)).toEqual([3, 1]);
    expect(res.body.view).toEqual(VIEW);
  });

  it('a fetch on the wrong kind of store is 400 naming the right route', async () => {
    const res = await get(pair.urls[0], '/stores/page-counts/keys/home/windows');
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('key-value store');
    const lookup = await get(pair.urls[0], '/stores/user-sessions/keys/alice');
    expect(lookup.status).toBe(400);
    expect(lookup.body.message).toBe(
      'a key lookup needs a key-value store; user-sessions is a session store: use GET /stores/user-sessions/keys/:key/sessions',
    );
    const range = await get(pair.urls[0], '/stores/clicks-per-minute/range');
    expect(range.status).toBe(400);
    expect(range.body.message).toContain('/stores/clicks-per-minute/keys/:key/windows');
  });

  it('GET metadata of a key', async () => {
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const res = await get(pair.url(other), '/metadata/stores/page-counts/keys/home');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      store: 'page-counts',
      key: 'home',
      partition: expect.any(Number),
      activeHost: pair.cluster.hostInfo(owner),
      standbyHosts: [pair.cluster.hostInfo(other)],
      local: false,
    });
  });

  it('GET /health and /metrics', async () => {
    const health = await get(pair.urls[0], '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ ok: true, state: 'RUNNING', host: 0 });
    const metrics = await get(pair.urls[0], '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.text).toBe(METRICS_TEXT);
  });

  it('a port in use is a clear startup error', async () => {
    await expect(
      createServingServer({
        service: pair.cluster.services[0]!,
        port: Number(new URL(pair.urls[0]).port),
        scrapeMetrics: async () => ({ contentType: 'text/plain', body: '' }),
        health: () => ({ ok: true }),
      }),
    ).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
  });

  it('a store that is restoring is 503 with Retry-After', async () => {
    pair.cluster.notReady.add('page-counts');
    try {
      const res = await get(pair.urls[0], '/stores/page-counts/keys/home');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body).toEqual({ error: 'store_not_ready', message: 'store page-counts is restoring' });
    } finally {
      pair.cluster.notReady.delete('page-counts');
    }
  });
});
