/**
 * The query row's load generator (bench/lib/paced-load.ts) against a local HTTP server: every request
 * of the run is sent and answered, non-2xx answers are counted, and a server slower than the rate is
 * charged for the queue it builds (latency from each request's due time, not from when a connection
 * was free).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { pacedLoad, quantile } from '../../../bench/lib/paced-load.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('pacedLoad', () => {
  it('sends rate × duration requests and counts the answers that are not 2xx', async () => {
    const seen: string[] = [];
    const url = await serve((req, res) => {
      seen.push(req.url!);
      res.statusCode = req.url!.endsWith('/missing') ? 404 : 200;
      res.end('{}');
    });
    const result = await pacedLoad({
      url,
      rate: 200,
      durationS: 0.5,
      connections: 4,
      pathFor: (i) => (i % 10 === 0 ? '/missing' : `/keys/${i}`),
    });
    expect(result.requests).toBe(100);
    expect(seen).toHaveLength(100);
    expect(result.errors).toBe(0);
    expect(result.non2xx).toBe(10);
    expect(result.p50Ms).toBeGreaterThan(0);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    expect(result.maxMs).toBeGreaterThanOrEqual(result.p999Ms);
  });

  it('charges a slow server for the queue it builds (no coordinated omission)', async () => {
    // One connection, 20 ms per answer, 100 requests/s asked for 0.5 s: 50 requests need 1 s, so
    // the last ones wait about half a second behind the others.
    const url = await serve((_req, res) => setTimeout(() => res.end('ok'), 20));
    const result = await pacedLoad({ url, rate: 100, durationS: 0.5, connections: 1, pathFor: () => '/' });
    expect(result.requests).toBe(50);
    expect(result.maxMs).toBeGreaterThan(400);
    expect(result.p99Ms).toBeGreaterThan(400);
  });

  it('errors of the connection are counted, not thrown', async () => {
    const url = await serve((req) => req.socket.destroy());
    const result = await pacedLoad({ url, rate: 100, durationS: 0.1, connections: 2, pathFor: () => '/' });
    expect(result.errors).toBe(result.requests);
  });
});

describe('quantile', () => {
  it('is the nearest-rank quantile of sorted values', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(quantile(values, 0.5)).toBe(500);
    expect(quantile(values, 0.99)).toBe(990);
    expect(quantile(values, 0.999)).toBe(999);
    expect(quantile(values, 1)).toBe(1000);
    expect(quantile([], 0.5)).toBe(0);
  });
});
