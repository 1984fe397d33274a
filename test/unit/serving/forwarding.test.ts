import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { VIEW } from './fake-query-service.ts';
import { get, hostsOf, startPair } from './harness.ts';
import type { Pair } from './harness.ts';

let pair: Pair;
beforeAll(async () => {
  pair = await startPair({ forwardTimeoutMs: 300 });
});
afterAll(async () => {
  await pair.close();
});

/** A TCP server that accepts connections and never answers. */
async function blackHole(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('forwarding to the key owner', () => {
  it('a key of the other host is forwarded once and answered by its owner', async () => {
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const before = { ...pair.cluster.calls[owner] };
    const res = await get(pair.url(other), '/stores/page-counts/keys/home');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      key: 'home',
      value: 1,
      servedBy: pair.cluster.endpoints[owner],
      stale: false,
    });
    expect(res.body.view).toEqual(VIEW);
    expect(pair.cluster.calls[owner]!.get).toBe((before.get ?? 0) + 1);
  });

  it('windows and sessions are forwarded too', async () => {
    const windows = hostsOf(pair.cluster, 'clicks-per-minute', 'home');
    const w = await get(pair.url(windows.other), '/stores/clicks-per-minute/keys/home/windows');
    expect(w.status).toBe(200);
    expect(w.body.servedBy).toBe(pair.cluster.endpoints[windows.owner]);
    expect(w.body.windows).toHaveLength(4);
    const sessions = hostsOf(pair.cluster, 'user-sessions', 'alice');
    const s = await get(pair.url(sessions.other), '/stores/user-sessions/keys/alice/sessions');
    expect(s.status).toBe(200);
    expect(s.body.servedBy).toBe(pair.cluster.endpoints[sessions.owner]);
  });

  it('stale=true answers from the local standby instead of forwarding', async () => {
    const { other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const res = await get(pair.url(other), '/stores/page-counts/keys/home?stale=true');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ value: 1, servedBy: pair.cluster.endpoints[other], stale: true });
  });

  it("the owner's refusal is passed on with its status, code and Retry-After", async () => {
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home');
    pair.cluster.notReadyHosts.add(owner);
    const before = pair.cluster.calls[owner]!.get ?? 0;
    try {
      const res = await get(pair.url(other), '/stores/page-counts/keys/home');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body).toEqual({ error: 'store_not_ready', message: 'store page-counts is restoring' });
      expect(pair.cluster.calls[owner]!.get).toBe(before + 1);
    } finally {
      pair.cluster.notReadyHosts.delete(owner);
    }
  });

  it('a forwarded request that is again not local is 503: one hop only', async () => {
    pair.cluster.misroute = true;
    const before = [{ ...pair.cluster.calls[0] }, { ...pair.cluster.calls[1] }];
    try {
      const res = await get(pair.urls[0], '/stores/page-counts/keys/home');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.body.error).toBe('not_local');
      expect(res.body.message).toContain('rebalancing');
      // host 0 asked once, forwarded; host 1 asked once, did not forward back.
      expect(pair.cluster.calls[0]!.get).toBe((before[0]!.get ?? 0) + 1);
      expect(pair.cluster.calls[1]!.get).toBe((before[1]!.get ?? 0) + 1);
    } finally {
      pair.cluster.misroute = false;
    }
    const { other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const marked = await get(pair.url(other), '/stores/page-counts/keys/home', {
      'x-lambda-streams-forwarded': '1',
    });
    expect(marked.status).toBe(503);
    expect(marked.body.error).toBe('not_local');
  });

  it('no active host (rebalancing) is 503 with Retry-After', async () => {
    const partition = pair.cluster.services[0]!.metadataForKey('page-counts', 'home').partition;
    pair.cluster.orphans.add(partition);
    try {
      const res = await get(pair.urls[0], '/stores/page-counts/keys/home');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.body).toEqual({
        error: 'no_active_host',
        message: expect.stringContaining(`partition ${partition} of store page-counts`),
      });
    } finally {
      pair.cluster.orphans.delete(partition);
    }
  });

  it('an owner that never answers is a 503 naming it after forwardTimeoutMs', async () => {
    const hole = await blackHole();
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const saved = pair.cluster.endpoints[owner];
    pair.cluster.endpoints[owner] = hole.address;
    try {
      const started = Date.now();
      const res = await get(pair.url(other), '/stores/page-counts/keys/home');
      const took = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.body).toEqual({ error: 'worker_timeout', message: expect.stringContaining(hole.address) });
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(3000);
      // A scan that fans out to it fails the same way.
      const scan = await get(pair.url(other), '/stores/page-counts/range');
      expect(scan.status).toBe(503);
      expect(scan.body.message).toContain(hole.address);
    } finally {
      pair.cluster.endpoints[owner] = saved;
      await hole.close();
    }
  });

  it('an owner that answers something other than a JSON object is a 503 naming it', async () => {
    const impostor = createHttpServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hi</h1>'),
    );
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const saved = pair.cluster.endpoints[owner];
    pair.cluster.endpoints[owner] = `127.0.0.1:${(impostor.address() as { port: number }).port}`;
    try {
      const res = await get(pair.url(other), '/stores/page-counts/keys/home');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        error: 'worker_bad_answer',
        message: expect.stringContaining(
          `worker ${pair.cluster.endpoints[owner]} answered HTTP 200 without a JSON object`,
        ),
      });
    } finally {
      pair.cluster.endpoints[owner] = saved;
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
    }
  });

  it('an owner nothing listens for is a 503 naming it', async () => {
    const hole = await blackHole();
    await hole.close();
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const saved = pair.cluster.endpoints[owner];
    pair.cluster.endpoints[owner] = hole.address;
    try {
      const res = await get(pair.url(other), '/stores/page-counts/keys/home');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        error: 'worker_unreachable',
        message: expect.stringContaining(hole.address),
      });
    } finally {
      pair.cluster.endpoints[owner] = saved;
    }
  });
});
