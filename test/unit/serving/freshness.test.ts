import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { get, hostsOf, startPair } from './harness.ts';
import type { Pair } from './harness.ts';

let pair: Pair;
beforeAll(async () => {
  pair = await startPair();
});
afterAll(async () => {
  await pair.close();
});

/** Runs `change` after `ms` (during a wait). */
function later(ms: number, change: () => void): void {
  setTimeout(change, ms).unref();
}

describe('freshness waits', () => {
  it('answers at once when the position already reaches minOffsets', async () => {
    const { owner } = hostsOf(pair.cluster, 'page-counts', 'home');
    const [partition, offset] = Object.entries(pair.cluster.offsets[owner]!)[0]!;
    const started = Date.now();
    const res = await get(
      pair.url(owner),
      `/stores/page-counts/keys/home?minOffsets=pageviews:${partition}:${offset}`,
    );
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('waits while the position advances, then answers with the new position', async () => {
    const { owner } = hostsOf(pair.cluster, 'page-counts', 'home');
    const offsets = pair.cluster.offsets[owner]!;
    const partition = Object.keys(offsets)[0]!;
    const target = offsets[partition]! + 50;
    later(200, () => (offsets[partition] = target));
    const started = Date.now();
    const res = await get(
      pair.url(owner),
      `/stores/page-counts/keys/home?minOffsets=pageviews:${partition}:${target}`,
    );
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(res.body.position.offsets.pageviews[partition]).toBe(target);
  });

  it('503 with Retry-After and what was not reached when waitMs runs out', async () => {
    const { owner } = hostsOf(pair.cluster, 'page-counts', 'home');
    const offsets = pair.cluster.offsets[owner]!;
    const partition = Object.keys(offsets)[0]!;
    const res = await get(
      pair.url(owner),
      `/stores/page-counts/keys/home?minOffsets=pageviews:${partition}:999999&waitMs=150`,
    );
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body).toEqual({
      error: 'freshness_not_reached',
      message: expect.stringContaining(
        `pageviews:${partition} is at offset ${offsets[partition]}, not 999999`,
      ),
    });
    expect(res.body.message).toContain('waitMs');
  });

  it('maxLagMs waits for the lag to drop; an unknown lag is not fresh', async () => {
    pair.cluster.lagMs[0] = 8000;
    try {
      const stale = await get(pair.urls[0], '/stores/page-counts/range?maxLagMs=1000&waitMs=100', {
        'x-lambda-streams-scope': 'local',
      });
      expect(stale.status).toBe(503);
      expect(stale.body.message).toContain('the lag is 8000 ms, not at most 1000 ms');
      later(150, () => (pair.cluster.lagMs[0] = 500));
      const fresh = await get(pair.urls[0], '/stores/page-counts/range?maxLagMs=1000', {
        'x-lambda-streams-scope': 'local',
      });
      expect(fresh.status).toBe(200);
      pair.cluster.lagMs[0] = undefined;
      const unknown = await get(
        pair.urls[0],
        '/stores/user-sessions/keys/alice/sessions?maxLagMs=1000&waitMs=50',
      );
      expect(unknown.status).toBe(503);
      expect(unknown.body.message).toContain('not known');
    } finally {
      pair.cluster.lagMs[0] = 0;
    }
  });

  it('a partition the worker does not read is not waited for', async () => {
    const foreign = Object.keys(pair.cluster.offsets[1]!)[0]!;
    const res = await get(
      pair.urls[0],
      `/stores/page-counts/range?minOffsets=pageviews:${foreign}:999999&waitMs=5000`,
      {
        'x-lambda-streams-scope': 'local',
      },
    );
    expect(res.status).toBe(200);
  });

  it('a forwarded key query waits on its owner', async () => {
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home');
    const offsets = pair.cluster.offsets[owner]!;
    const partition = Object.keys(offsets)[0]!;
    const notReached = await get(
      pair.url(other),
      `/stores/page-counts/keys/home?minOffsets=pageviews:${partition}:999999&waitMs=100`,
    );
    expect(notReached.status).toBe(503);
    expect(notReached.body.error).toBe('freshness_not_reached');
    const target = offsets[partition]! + 10;
    later(150, () => (offsets[partition] = target));
    const res = await get(
      pair.url(other),
      `/stores/page-counts/keys/home?minOffsets=pageviews:${partition}:${target}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.servedBy).toBe(pair.cluster.endpoints[owner]);
  });

  it('a scan waits on every worker for its own partitions', async () => {
    const [p0, o0] = Object.entries(pair.cluster.offsets[0]!)[0]!;
    const [p1, o1] = Object.entries(pair.cluster.offsets[1]!)[0]!;
    const wanted = `pageviews:${p0}:${o0 + 5},pageviews:${p1}:${o1 + 5}`;
    const timedOut = await get(pair.urls[0], `/stores/page-counts/range?minOffsets=${wanted}&waitMs=100`);
    expect(timedOut.status).toBe(503);
    later(100, () => (pair.cluster.offsets[0]![p0] = o0 + 5));
    later(250, () => (pair.cluster.offsets[1]![p1] = o1 + 5));
    const res = await get(pair.urls[0], `/stores/page-counts/range?minOffsets=${wanted}`);
    expect(res.status).toBe(200);
    expect(res.body.position.offsets.pageviews).toMatchObject({ [p0]: o0 + 5, [p1]: o1 + 5 });
  });

  it('malformed freshness parameters are 400', async () => {
    for (const query of [
      'minOffsets=pageviews',
      'minOffsets=a:b:c',
      'maxLagMs=-1',
      'waitMs=30001',
      'minOffsets=',
    ]) {
      const res = await get(pair.urls[0], `/stores/page-counts/keys/home?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error).toBe('bad_request');
    }
  });
});
