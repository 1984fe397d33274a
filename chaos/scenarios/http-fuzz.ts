/**
 * A fuzz of the HTTP API of two real word-count worker processes (a bearer token; forwarding and
 * fan-out between them): fast-check generates methods, paths, keys, encodings, query parameters and
 * headers; some requests carry huge headers or huge bodies, and slow clients trickle a request a few
 * bytes at a time. No 5xx but a 503 with a message and Retry-After, no crash, every refusal a 4xx
 * with a JSON code and message.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

import fc from 'fast-check';

import {
  Worker,
  getJson,
  result,
  sleep,
  wordCountRun,
  type ChaosContext,
  type ScenarioResult,
} from '../lib/harness.ts';

const SIZES = {
  reduced: { requests: 600, slow: 4 },
  full: { requests: 5_000, slow: 20 },
};
const TOKEN = 'chaos-fuzz-token';

const quieted = new WeakSet<object>();

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(
  base: string,
  path: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Raw> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    // A body goes with its Content-Length, as real clients send it: Node's client sends a GET,
    // DELETE or OPTIONS body unframed, which the server must read as the start of a next request
    // (invalid, refused, connection closed), poisoning the kept-alive connection for the request
    // after it.
    const framed = body === undefined ? headers : { ...headers, 'content-length': String(body.length) };
    const req = request({ host: hostname, port, path, method, headers: framed, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // A server that refuses a huge body answers and closes while the body is still being written:
    // the late write error belongs to no request any more.
    req.on('socket', (socket) => {
      if (quieted.has(socket)) return; // a kept-alive socket serves many requests
      quieted.add(socket);
      socket.on('error', () => {});
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path.slice(0, 80)}`)));
    req.end(body);
  });
}

/** A raw exchange: writes `bytes` in pieces `gapMs` apart, returns what the server answered. */
function rawExchange(base: string, bytes: string, piece: number, gapMs: number): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, async () => {
      for (let i = 0; i < bytes.length && !socket.destroyed; i += piece) {
        socket.write(bytes.slice(i, i + piece));
        if (gapMs > 0) await sleep(gapMs);
      }
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (/\r\n\r\n/u.test(text)) socket.end();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(text) : reject(error),
    );
  });
}

/** `arbitrary` about once in `every` draws, else undefined. */
function rarely<T>(arbitrary: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: every - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
}

const STORES = ['word-counts', 'nope', 'word-counts-delta', ''];

function requests(words: string[]) {
  const segment = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(...words.slice(0, 50), 'stores', 'keys', 'range', '', '.', '..'),
    },
    { weight: 2, arbitrary: fc.string({ maxLength: 16 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.base64String({ maxLength: 12 }).map(encodeURIComponent) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('%', '%2F', '%00', '%E0%A4%A', '%ZZ', '%C3%A4', 'a%2Fb', 'x'.repeat(5000)),
    },
  );
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
          fc.constantFrom(...STORES),
          segment,
        )
        .map(([t, s, k]) => t.replace('S', s).replace('K', k)),
    },
    { weight: 1, arbitrary: fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`) },
  );
  const query = fc
    .array(
      fc.tuple(
        fc.constantFrom(
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
        ),
        fc.oneof(
          fc.constantFrom(
            'string',
            'json',
            'base64',
            'true',
            '0',
            '-1',
            '1000',
            '1001',
            '30001',
            '',
            '%',
            '%ZZ',
            'a:b:c',
            '2026-13-45',
          ),
          fc.string({ maxLength: 12 }).map(encodeURIComponent),
          fc.integer().map(String),
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => {
      // Freshness waits on unreachable offsets last waitMs (default 5 s): keep them short.
      const all = pairs.some(([k]) => k === 'minOffsets' || k === 'maxLagMs')
        ? [...pairs, ['waitMs', '20']]
        : pairs;
      return all.length === 0 ? '' : `?${all.map(([k, v]) => `${k}=${v}`).join('&')}`;
    });
  const headers = fc
    .tuple(
      fc.oneof(
        { weight: 8, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
        { weight: 1, arbitrary: fc.constantFrom(undefined, 'Bearer nope', 'Basic Zm9v', '') },
      ),
      rarely(fc.constantFrom('application/json', 'text/html', '*/*'), 4),
      rarely(fc.constantFrom('1', 'yes'), 8),
      // Huge headers now and then: 10 KB fits Node's 16 KB limit, 40 KB does not (431).
      rarely(fc.constantFrom(10_000, 40_000), 15),
    )
    .map(([authorization, accept, forwarded, big]) => {
      const all: Record<string, string | undefined> = {
        authorization,
        accept,
        'x-lambda-streams-forwarded': forwarded,
        'x-chaos-padding': big === undefined ? undefined : 'p'.repeat(big),
      };
      return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >;
    });
  const method = fc.oneof(
    { weight: 8, arbitrary: fc.constant('GET') },
    { weight: 2, arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS') },
  );
  // Bodies (not on HEAD): none mostly, sometimes 1 KB, 64 KB (over the 16 KB limit) or 5 MB.
  const body = rarely(fc.constantFrom(1_000, 64 * 1024, 5 * 1024 * 1024), 10);
  return fc
    .record({ host: fc.integer({ min: 0, max: 1 }), path, query, headers, method, body })
    .map((r) => (r.method === 'HEAD' ? { ...r, body: undefined } : r));
}

export async function httpFuzz(ctx: ChaosContext): Promise<ScenarioResult> {
  const started = Date.now();
  const name = 'http-fuzz';
  const { requests: n, slow } = SIZES[ctx.size];
  const run = await wordCountRun(ctx, name, 'exactly_once', 2_000);
  const statusCodes: Record<string, number> = {};
  const tally = (code: string): void => {
    statusCodes[code] = (statusCodes[code] ?? 0) + 1;
  };
  const notes: string[] = [];
  try {
    await run.sentences.produceRest(run.kafka);
    const workers = [0, 1].map((i) =>
      run.processes.add(
        new Worker(run.spec(i, { env: { ...run.spec(i).env, LAMBDA_STREAMS_HTTP_TOKEN: TOKEN } })),
      ),
    );
    const urls = await Promise.all(workers.map((w) => w.url));
    await run.counts.settle(run.sentences.expected(), 300_000, 1_000);
    const words = [...run.sentences.expected().keys()];
    const samples = fc.sample(requests(words), { numRuns: n, seed: ctx.seed });
    const problem = (what: string): void => {
      if (notes.length < 15) notes.push(what);
    };
    // Four requests at a time.
    let next = 0;
    const one = async (): Promise<void> => {
      while (next < samples.length) {
        const r = samples[next++]!;
        const target = `${r.path}${r.query}`;
        const body = r.body === undefined ? undefined : Buffer.alloc(r.body, 0x7b);
        let res: Raw;
        try {
          res = await send(urls[r.host]!, target, r.method, r.headers, body);
        } catch (error) {
          // A refused oversized body may close the connection before the answer is read.
          tally('closed');
          if (body === undefined) problem(`${r.method} ${target.slice(0, 100)}: ${(error as Error).message}`);
          continue;
        }
        tally(String(res.status));
        const what = `${r.method} ${target.slice(0, 100)} -> ${res.status} ${res.text.slice(0, 200)}`;
        if (res.status >= 500 && res.status !== 503) problem(what);
        if (res.status === 503 && !/^\d+$/u.test(String(res.headers['retry-after'] ?? '')))
          problem(`503 without Retry-After: ${what}`);
        if (res.status >= 400 && r.method !== 'HEAD') {
          let parsed: { error?: unknown; message?: unknown } = {};
          try {
            parsed = JSON.parse(res.text) as typeof parsed;
          } catch {
            // not JSON
          }
          if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string')
            problem(`refusal without a JSON code and message: ${what}`);
        }
      }
    };
    await Promise.all([one(), one(), one(), one()]);
    ctx.log(`${name}: ${n} random requests answered`);

    // Slow clients: one that stops halfway (the server times it out: requestTimeout), and requests
    // trickled a few bytes at a time, answered as usual meanwhile.
    const stalled = rawExchange(urls[0]!, `GET /stores HTTP/1.1\r\nHost: x\r\nX-Half: `, 1_000, 0);
    for (let i = 0; i < slow; i++) {
      const word = words[i % words.length]!;
      const text = await rawExchange(
        urls[i % 2]!,
        `GET /stores/word-counts/keys/${word} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
        3,
        40,
      );
      const status = /^HTTP\/1\.1 (\d{3})/u.exec(text)?.[1] ?? 'closed';
      tally(status);
      if (status !== '200') problem(`slow client: ${text.slice(0, 200)}`);
    }
    const half = await stalled;
    const halfStatus = /^HTTP\/1\.1 (\d{3})/u.exec(half)?.[1] ?? 'closed';
    tally(halfStatus);
    if (halfStatus !== '408') problem(`a request stalled halfway got ${half.slice(0, 200) || 'no answer'}`);
    // Both workers still answer.
    for (const url of urls) {
      const { status } = await getJson(`${url}/health`);
      if (status !== 200) problem(`${url}/health answered ${status} after the fuzz`);
    }
    const check = await run.finish(60_000);
    notes.push(...check.notes);
    const fiveHundreds = Object.entries(statusCodes).filter(
      ([c]) => c >= '500' && c !== '503' && c !== 'closed',
    );
    return result(ctx, name, started, {
      rounds: 1,
      recordsIn: n + slow,
      crashes: run.processes.crashes,
      statusCodes,
      notes,
      passed: run.processes.crashes === 0 && fiveHundreds.length === 0 && notes.length === 0,
    });
  } finally {
    await run.close();
  }
}
