/** `lambda-streams query` as a child process against two test servers. */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WINDOW_START } from './fake-query-service.ts';
import { hostsOf, startPair } from './harness.ts';
import type { Pair } from './harness.ts';

const TOKEN = 'cli-token';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function query(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'node',
      ['bin/lambda-streams.js', 'query', ...args],
      { env: { ...process.env, LAMBDA_STREAMS_HTTP_TOKEN: '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let pair: Pair;
beforeAll(async () => {
  pair = await startPair({ token: TOKEN });
});
afterAll(async () => {
  await pair.close();
});

describe('lambda-streams query', { timeout: 60_000 }, () => {
  it('prints the value, view, position and the worker that answered (forwarded to the owner)', async () => {
    const { owner, other } = hostsOf(pair.cluster, 'page-counts', 'home/blog');
    const run = await query(['page-counts', 'home/blog', '--url', pair.url(other), '--token', TOKEN]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const offsets = Object.entries(pair.cluster.offsets[owner]!)
      .map(([p, o]) => `pageviews-${p}@${o}`)
      .join(', ');
    expect(run.stdout).toBe(
      [
        'page-counts home/blog = 3',
        '  view:      view-0001 (batch data before 2026-01-15T02:00:00.000Z, bucket 491234)',
        `  position:  ${offsets} (lag 0 records)`,
        `  served by: ${pair.cluster.endpoints[owner]}`,
        '',
      ].join('\n'),
    );
  });

  it('--json prints the raw answer; the token can come from LAMBDA_STREAMS_HTTP_TOKEN', async () => {
    const run = await query(['users', '42', '--key-format', 'json', '--json', '--url', pair.urls[0]], {
      LAMBDA_STREAMS_HTTP_TOKEN: TOKEN,
    });
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(answer).toMatchObject({ store: 'users', key: 42, value: { name: 'user 42' }, stale: false });
    expect(answer.position.offsets.pageviews).toBeDefined();
  });

  it('prints the windows of a window store and the sessions of a session store', async () => {
    const windows = await query(['clicks-per-minute', 'home', '--url', pair.urls[1], '--token', TOKEN]);
    expect(windows.code).toBe(0);
    expect(windows.stdout).toContain('clicks-per-minute home: 4 windows');
    expect(windows.stdout).toContain(
      `  ${new Date(WINDOW_START).toISOString()} .. ${new Date(WINDOW_START + 60_000).toISOString()}  10`,
    );
    const sessions = await query([
      'user-sessions',
      'alice',
      '--url',
      pair.urls[0],
      '--token',
      TOKEN,
      '--stale',
    ]);
    expect(sessions.code).toBe(0);
    expect(sessions.stdout).toContain('user-sessions alice: 2 sessions');
  });

  it("exits 1 with the server's message on a refusal", async () => {
    const noToken = await query(['page-counts', 'home', '--url', pair.urls[0]]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('needs a bearer token');
    expect(noToken.stderr).toContain('(HTTP 401 unauthorized)');
    const unknown = await query(['nope', 'home', '--url', pair.urls[0], '--token', TOKEN]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no store named nope; this worker has: page-counts, users');
    const badKey = await query(['users', 'abc', '--url', pair.urls[0], '--token', TOKEN]);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/int32 keys.*\(HTTP 400 bad_request\)/);
    pair.cluster.notReady.add('page-counts');
    try {
      const restoring = await query(['page-counts', 'home', '--url', pair.urls[0], '--token', TOKEN]);
      expect(restoring.code).toBe(1);
      expect(restoring.stderr).toContain(
        'store page-counts is restoring (HTTP 503 store_not_ready; retry after 2 s)',
      );
    } finally {
      pair.cluster.notReady.delete('page-counts');
    }
  });

  it('says so when nothing listens at the URL', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const run = await query(['page-counts', 'home', '--url', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`nothing answers at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(run.stdout).toBe('');
  });
});
