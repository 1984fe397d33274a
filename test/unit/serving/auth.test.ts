import { Writable } from 'node:stream';

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createServingServer } from '../../../src/serving/http/server.ts';
import { bearerToken, tokenMatches } from '../../../src/serving/http/auth.ts';
import { FakeCluster } from './fake-query-service.ts';
import { get, hostsOf, startPair } from './harness.ts';
import type { Pair } from './harness.ts';

const TOKEN = 's3cret-token-of-the-group';
const bearer = { authorization: `Bearer ${TOKEN}` };

const lines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  }),
);

let pair: Pair;
beforeAll(async () => {
  pair = await startPair({ token: TOKEN, logger });
});
afterAll(async () => {
  await pair.close();
});

describe('bearer token', () => {
  it('refuses requests without the token: 401 with WWW-Authenticate', async () => {
    for (const path of [
      '/stores',
      '/stores/page-counts/keys/home',
      '/metrics',
      '/openapi.json',
      '/nowhere',
    ]) {
      const res = await get(pair.urls[0], path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.body).toEqual({
        error: 'unauthorized',
        message: expect.stringContaining('Authorization: Bearer'),
      });
    }
  });

  it('refuses a wrong token and other schemes', async () => {
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      `Basic ${TOKEN}`,
      'Bearer',
      TOKEN,
    ]) {
      const res = await get(pair.urls[0], '/stores', { authorization });
      expect(res.status, authorization).toBe(401);
      expect(res.body.error).toBe('unauthorized');
    }
  });

  it('accepts the token, and /health needs none', async () => {
    expect((await get(pair.urls[0], '/stores', bearer)).status).toBe(200);
    expect((await get(pair.urls[0], '/stores', { authorization: `bearer   ${TOKEN}` })).status).toBe(200);
    expect((await get(pair.urls[0], '/health')).status).toBe(200);
    expect((await get(pair.urls[0], '/nowhere', bearer)).status).toBe(404);
  });

  it('forwarded and fanned-out requests carry the token', async () => {
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const key = await get(pair.url(other), '/stores/page-counts/keys/home', bearer);
    expect(key.status).toBe(200);
    expect(key.body.servedBy).toBe(pair.cluster.endpoints[owner]);
    const scan = await get(pair.urls[0], '/stores/page-counts/range?limit=1000', bearer);
    expect(scan.status).toBe(200);
    expect(scan.body.servedBy).toHaveLength(2);
  });

  it('workers that do not share the token answer 502 naming the worker', async () => {
    const mismatched = await startPair({}, undefined, (index) => ({ token: `token-${index}` }));
    try {
      const { owner, other } = hostsOf(mismatched.cluster, 'page-counts', 'home');
      const key = await get(mismatched.url(other), '/stores/page-counts/keys/home', {
        authorization: `Bearer token-${other}`,
      });
      expect(key.status).toBe(502);
      expect(key.body).toEqual({
        error: 'worker_refused_token',
        message: expect.stringContaining(`worker ${mismatched.cluster.endpoints[owner]} refused the token`),
      });
      const scan = await get(mismatched.urls[0], '/stores/page-counts/range', {
        authorization: 'Bearer token-0',
      });
      expect(scan.status).toBe(502);
      expect(scan.body.error).toBe('worker_refused_token');
    } finally {
      await mismatched.close();
    }
  });

  it('never logs the token', async () => {
    await get(pair.urls[0], '/stores/page-counts/keys/home?keyFormat=xml', bearer);
    await get(pair.urls[0], '/stores', { authorization: `Bearer ${TOKEN}-wrong` });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(TOKEN);
  });

  it('compares tokens through digests and reads the Bearer scheme', () => {
    const expected = Buffer.from(
      '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', // sha256("test")
      'hex',
    );
    expect(tokenMatches(expected, 'test')).toBe(true);
    expect(tokenMatches(expected, 'tes')).toBe(false);
    expect(tokenMatches(expected, undefined)).toBe(false);
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('internal errors', () => {
  it('are 500 with a message and a log line', async () => {
    const cluster = new FakeCluster();
    const service = cluster.services[0]!;
    service.stores = () => {
      throw new TypeError('boom in the query engine');
    };
    const server = await createServingServer({
      service,
      port: 0,
      logger,
      scrapeMetrics: async () => ({ contentType: 'text/plain', body: '' }),
      health: () => ({ ok: false, state: 'PENDING_SHUTDOWN' }),
    });
    try {
      lines.length = 0;
      const res = await get(server.url, '/stores');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'internal', message: expect.stringContaining('bug') });
      expect(lines.join('')).toContain('boom in the query engine');
      const health = await get(server.url, '/health');
      expect(health.status).toBe(503);
      expect(health.body).toEqual({ ok: false, state: 'PENDING_SHUTDOWN' });
    } finally {
      await server.close();
    }
  });
});
