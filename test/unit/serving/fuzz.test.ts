/**
 * Fuzz of the server: random paths, keys, encodings, query strings, methods and headers against two
 * real servers (with a token, forwarding and fan-out between them). No 5xx but 503s that say when to
 * retry, no crash, and every refusal a JSON body with a code and a message.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { get, startPair } from './harness.ts';
import type { Pair } from './harness.ts';

const TOKEN = 'fuzz-token';

let pair: Pair;
beforeAll(async () => {
  pair = await startPair({ token: TOKEN });
});
afterAll(async () => {
  await pair.close();
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(base: string, path: string, method: string, headers: Record<string, string>): Promise<Raw> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.end();
  });
}

const word = fc.constantFrom(
  'stores',
  'keys',
  'range',
  'prefix',
  'windows',
  'sessions',
  'metadata',
  'health',
  'metrics',
  'openapi.json',
  'page-counts',
  'users',
  'clicks-per-minute',
  'user-sessions',
  'home',
  'alice',
  '42',
  '-5',
  '',
  '.',
  '..',
);
const oddSegment = fc.constantFrom(
  '%',
  '%2F',
  '%00',
  '%E0%A4%A',
  '%ZZ',
  '%C3%A4',
  '%22x%22',
  '%7B',
  'a%2Fb',
  'x'.repeat(5000),
);
const segment = fc.oneof(
  { weight: 4, arbitrary: word },
  { weight: 2, arbitrary: fc.string({ maxLength: 16 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.base64String({ maxLength: 12 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: oddSegment },
);
const store = fc.constantFrom('page-counts', 'users', 'clicks-per-minute', 'user-sessions', 'nope');
/** Paths shaped like the routes, with random stores and keys, and paths of random segments. */
const path = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          '/stores/S/keys/K',
          '/stores/S/keys/K/windows',
          '/stores/S/keys/K/sessions',
          '/stores/S/range',
          '/stores/S/prefix/K',
          '/metadata/stores/S/keys/K',
          '/stores',
          '/health',
          '/metrics',
          '/openapi.json',
        ),
        store,
        segment,
      )
      .map(([template, s, k]) => template.replace('S', s).replace('K', k)),
  },
  { weight: 1, arbitrary: fc.array(segment, { maxLength: 6 }).map((segments) => `/${segments.join('/')}`) },
);
const queryKey = fc.constantFrom(
  'keyFormat',
  'stale',
  'from',
  'to',
  'limit',
  'cursor',
  'reverse',
  'minOffsets',
  'maxLagMs',
  'waitMs',
  'x',
  '__proto__',
  'constructor',
);
const queryValue = fc.oneof(
  fc.constantFrom(
    'string',
    'json',
    'base64',
    'true',
    'false',
    '0',
    '1',
    '-1',
    '1000',
    '1001',
    '30001',
    '1e3',
    'pageviews:0:1',
    'pageviews:1:5,pageviews:2:0',
    'pageviews:0:999999',
    'a:b:c',
    '2026-11-25T10:00:00Z',
    '2026-13-45',
    '',
    '%',
    '%ZZ',
    'aG9tZQ',
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.integer().map(String),
);
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((pairs) => {
  // Freshness waits against unreachable offsets would take the default 5 s: keep them short.
  const waits = pairs.some(([k]) => k === 'minOffsets' || k === 'maxLagMs');
  const all = waits && !pairs.some(([k]) => k === 'waitMs') ? [...pairs, ['waitMs', '20']] : pairs;
  return all.length === 0 ? '' : `?${all.map(([k, v]) => `${k}=${v}`).join('&')}`;
});
/** Mostly the right token; sometimes a wrong one or none; now and then the inner-request markers. */
const rare = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { freq: 6, nil: undefined });
const headers = fc
  .tuple(
    fc.oneof(
      { weight: 8, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(undefined, 'Bearer nope', 'Basic Zm9v', '', `bearer ${TOKEN} x`),
      },
    ),
    rare(fc.constantFrom('1', '0', 'yes')),
    rare(fc.constantFrom('local', 'global')),
    rare(fc.constantFrom('application/json', 'text/html', '*/*')),
    rare(fc.constantFrom('application/json', 'text/plain', 'multipart/form-data')),
  )
  .map(([authorization, forwarded, scope, accept, contentType]) => {
    const all: Record<string, string | undefined> = {
      authorization,
      'x-lambda-streams-forwarded': forwarded,
      'x-lambda-streams-scope': scope,
      accept,
      'content-type': contentType,
    };
    return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<
      string,
      string
    >;
  });
const method = fc.oneof(
  { weight: 8, arbitrary: fc.constant('GET') },
  { weight: 1, arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS') },
);

describe('fuzz', () => {
  it('random requests get a 2xx, a 4xx or a 503, and every refusal is a JSON code and message', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        path,
        query,
        headers,
        method,
        async (host, p, q, h, m) => {
          const res = await send(pair.url(host), `${p}${q}`, m, h);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const what = `${m} ${p.slice(0, 100)}${q} -> ${res.status} ${res.text.slice(0, 200)}`;
          expect(res.status < 500 || res.status === 503, what).toBe(true);
          if (res.status === 503) expect(res.headers['retry-after'], what).toMatch(/^\d+$/);
          if (m === 'HEAD') return;
          if (res.status >= 400) {
            expect(res.headers['content-type'], what).toContain('application/json');
            const body = JSON.parse(res.text) as { error: unknown; message: unknown };
            expect(typeof body.error, what).toBe('string');
            expect(typeof body.message, what).toBe('string');
            expect((body.message as string).length, what).toBeGreaterThan(10);
          } else if (!p.startsWith('/metrics')) {
            expect(() => JSON.parse(res.text), what).not.toThrow();
          }
        },
      ),
      { numRuns: 400 },
    );
    // The fuzz reached the routes, not only the refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(40);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(20);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(20);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(5);
    for (const url of pair.urls) expect((await get(url, '/health')).status).toBe(200);
  });

  it('malformed HTTP gets a JSON 4xx and the server lives on', async () => {
    const { hostname, port } = new URL(pair.urls[0]);
    const rawExchange = (bytes: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.end(bytes));
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
    const garbage = await rawExchange('GARBAGE\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);
    expect(garbage).toContain('"error":"bad_request"');
    const huge = await rawExchange(`GET /stores HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431/);
    expect(huge).toContain('"error":"headers_too_large"');
    // HEAD gets the same refusal without a body, which Node's own client parses (a body would be
    // "data after Connection: close").
    const headAnswer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: hostname, port, path: '/stores', method: 'HEAD', headers: { 'x-big': 'y'.repeat(20_000) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(headAnswer).toEqual({ status: 431, text: '' });
    expect((await get(pair.urls[0], '/health')).status).toBe(200);
  });

  it('refuses large headers that arrive in pieces: no body to HEAD, and the answer is read before the close', async () => {
    const { hostname, port } = new URL(pair.urls[0]);
    /** Sends the request in pieces a few milliseconds apart (as a slow network delivers it). */
    const piecewise = (request: string, pieces: number) =>
      new Promise<string>((resolve, reject) => {
        // The client reads only once it has sent everything, as a client busy sending does.
        const socket = connect(Number(port), hostname, () => {
          socket.pause();
          const size = Math.ceil(request.length / pieces);
          let i = 0;
          const next = (): void => {
            if (socket.destroyed) return;
            if (i >= request.length) return void socket.resume().end();
            socket.write(request.slice(i, (i += size)));
            setTimeout(next, 15);
          };
          next();
        });
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', (error) =>
          reject(new Error(`${error.message} after reading ${JSON.stringify(text.slice(0, 80))}`)),
        );
      });
    const big = (method: string, size: number) =>
      `${method} /stores/page-counts/range?reverse=%ZZ HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(size)}\r\n\r\n`;

    // 30 KB: over the API's 16 KiB, under the parser's limit; refused through a normal response.
    const head = await piecewise(big('HEAD', 30_000), 6);
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head.split('\r\n\r\n')[1]).toBe(''); // headers only
    const get30 = await piecewise(big('GET', 30_000), 6);
    expect(get30).toMatch(/^HTTP\/1\.1 431 /);
    expect(get30).toContain('"error":"headers_too_large"');

    // 100 KB: over the parser's limit, refused on the raw socket while the rest is still being sent.
    const get100 = await piecewise(big('GET', 100_000), 20);
    expect(get100).toMatch(/^HTTP\/1\.1 431 /);
    expect(get100).toContain('"error":"headers_too_large"');
    expect((await get(pair.urls[0], '/health')).status).toBe(200);
  });
});
