/**
 * The operator's routes on two real servers: the /ui page's files are open (they hold no data) and
 * carry a Content-Security-Policy; /topology, /status and /workers need the token; /workers asks the
 * other worker with the caller's token and says which worker did not answer; request latencies land
 * in the registry given to the server.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadTopologyFile } from '../../../src/cli/load-topology.ts';
import type { WorkerStatusDocument } from '../../../src/serving/worker-status.ts';
import { topologyGraph, type TopologyGraph } from '../../../src/topology/graph.ts';
import { FakeCluster } from './fake-query-service.ts';
import { get, startPair, type Pair } from './harness.ts';

const TOKEN = 'operator-token';
const bearer = { authorization: `Bearer ${TOKEN}` };

let pair: Pair;
let graph: TopologyGraph;
const registry = new Registry();
/** Host 1 is starting (no status yet) while this is true. */
let hostOneStarting = false;

function statusOf(cluster: FakeCluster, index: number): WorkerStatusDocument {
  const endpoint = cluster.endpoints[index]!;
  return {
    endpoint,
    applicationId: 'word-count',
    state: 'RUNNING',
    time: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    tasks: [
      {
        id: `0_${index}`,
        subtopology: 0,
        partition: index,
        restoring: false,
        position: { offsets: { 'text-lines': { [String(index)]: 10 } }, lagRecords: index },
      },
    ],
    standbyTasks: [],
    restoration: { restoring: [], restoredRecords: 0 },
    view: null,
    lag: { records: index, ms: 0 },
    totals: { consumed: 10, processed: 10, produced: 4, commits: 2, rebalances: 1 },
    group: {
      active: { [cluster.endpoints[0]!]: ['0_0'], [cluster.endpoints[1]!]: ['0_1'] },
      standby: {},
    },
    history: { intervalMs: 5_000, samples: [] },
  };
}

beforeAll(async () => {
  const { topology, definition, bucketMs } = await loadTopologyFile('topologies/word-count.ts');
  graph = topologyGraph(topology, definition.applicationId, bucketMs);
  const cluster = new FakeCluster();
  pair = await startPair({ token: TOKEN }, cluster, (index) => ({
    ui: {
      topology: graph,
      status: () => (index === 1 && hostOneStarting ? undefined : statusOf(cluster, index)),
    },
    ...(index === 0 ? { metricsRegistry: registry } : {}),
  }));
});
afterAll(async () => {
  await pair.close();
});

describe('the /ui page', () => {
  it('serves its files without a token, locked to this origin', async () => {
    const page = await get(pair.urls[0], '/ui');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<script type="module" src="/ui/app.js"></script>');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    for (const [file, type] of [
      ['app.js', /^text\/javascript/],
      ['graph.js', /^text\/javascript/],
      ['render.js', /^text\/javascript/],
      ['style.css', /^text\/css/],
    ] as const) {
      const res = await get(pair.urls[0], `/ui/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toMatch(type);
    }
    expect((await get(pair.urls[0], '/ui/auth.json')).body).toEqual({ bearer: true });
  });

  it('serves only its own files: anything else under /ui is an unknown route behind the token', async () => {
    for (const path of ['/ui/package.json', '/ui/..%2F..%2Fpackage.json', '/ui/app.ts']) {
      expect((await get(pair.urls[0], path)).status, path).toBe(401);
      expect((await get(pair.urls[0], path, bearer)).status, path).toBe(404);
    }
  });
});

describe('the operator routes', () => {
  it('need the token', async () => {
    for (const path of ['/topology', '/status', '/workers']) {
      expect((await get(pair.urls[0], path)).status, path).toBe(401);
      expect((await get(pair.urls[0], path, bearer)).status, path).toBe(200);
    }
  });

  it('describe the topology: sub-topologies, stores with changelogs, internal topics, Mermaid', async () => {
    const res = await get(pair.urls[0], '/topology', bearer);
    expect(res.body).toMatchObject({ applicationId: 'word-count', bucketMs: 3_600_000 });
    const nodes = (res.body as TopologyGraph).subTopologies.flatMap((s) => s.nodes.map((n) => n.name));
    expect(nodes).toContain('KSTREAM-AGGREGATE-0000000003');
    expect(res.body.stores).toEqual([
      {
        name: 'word-counts',
        kind: 'key-value',
        queryable: true,
        mergeable: true,
        global: false,
        changelog: 'word-count-word-counts-changelog',
      },
    ]);
    expect(res.body.internalTopics).toContainEqual({
      name: 'word-count-word-counts-repartition',
      kind: 'repartition',
    });
    expect(res.body.mermaid).toMatch(/^flowchart TD/);
  });

  it('list every worker of the group, asking the others with the caller token', async () => {
    const res = await get(pair.urls[0], '/workers', bearer);
    expect(res.status).toBe(200);
    const workers = res.body.workers as Array<{
      endpoint: string;
      self: boolean;
      status: WorkerStatusDocument | null;
    }>;
    expect(workers.map((w) => [w.endpoint, w.self])).toEqual(
      [
        [pair.cluster.endpoints[0], true],
        [pair.cluster.endpoints[1], false],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const other = workers.find((w) => !w.self)!;
    expect(other.status?.tasks.map((t) => t.id)).toEqual(['0_1']);
  });

  it('say which worker did not answer, and answer 503 while this one is starting', async () => {
    hostOneStarting = true;
    try {
      const res = await get(pair.urls[0], '/workers', bearer);
      const other = (res.body.workers as Array<{ self: boolean; status: unknown; error: string }>).find(
        (w) => !w.self,
      )!;
      expect(other.status).toBeNull();
      expect(other.error).toMatch(/^HTTP 503: the worker is starting/);
      const starting = await get(pair.urls[1], '/status', bearer);
      expect(starting.status).toBe(503);
      expect(starting.headers.get('retry-after')).toBe('2');
    } finally {
      hostOneStarting = false;
    }
  });

  it('measure request latency by route pattern, not by URL', async () => {
    await get(pair.urls[0], '/stores/page-counts/keys/home', bearer);
    await get(pair.urls[0], '/stores/page-counts/keys/about', bearer);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE lambda_streams_http_request_duration_seconds histogram');
    expect(text).toMatch(
      /^lambda_streams_http_request_duration_seconds_count\{route="\/stores\/:store\/keys\/:key",method="GET",status_code="200"\} 2$/m,
    );
    expect(text).not.toContain('keys/home');
  });
});
