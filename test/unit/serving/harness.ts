/** Two real servers on loopback ports over one FakeCluster, and a small HTTP client for the tests. */
import { createServingServer } from '../../../src/serving/http/server.ts';
import type { ServingServer, ServingServerOptions } from '../../../src/serving/http/server.ts';
import { FakeCluster } from './fake-query-service.ts';

export const METRICS_TEXT =
  '# HELP lambda_streams_up test\n# TYPE lambda_streams_up gauge\nlambda_streams_up 1\n';

export interface Pair {
  cluster: FakeCluster;
  servers: ServingServer[];
  /** Base URL of host 0 and host 1. */
  urls: [string, string];
  /** Base URL of host `index`. */
  url(index: number): string;
  close(): Promise<void>;
}

export type PairOptions = Partial<Omit<ServingServerOptions, 'service' | 'port'>>;

/** Starts host 0 and host 1 of a fresh FakeCluster (each server's endpoint is its own host:port). */
export async function startPair(
  options: PairOptions = {},
  cluster = new FakeCluster(),
  perHost: (index: number) => PairOptions = () => ({}),
): Promise<Pair> {
  const servers: ServingServer[] = [];
  for (const [index, service] of cluster.services.entries()) {
    const server = await createServingServer({
      service,
      port: 0,
      scrapeMetrics: async () => ({
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        body: METRICS_TEXT,
      }),
      health: () => ({ ok: true, state: 'RUNNING', host: index }),
      forwardTimeoutMs: 2000,
      ...options,
      ...perHost(index),
    });
    servers.push(server);
    cluster.endpoints[index] = new URL(server.url).host;
  }
  return {
    cluster,
    servers,
    urls: [servers[0]!.url, servers[1]!.url],
    url: (index) => servers[index]!.url,
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

export interface Got {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function get(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<Got> {
  const response = await fetch(`${baseUrl}${path}`, { headers });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** The host (0 or 1) that owns a page-counts key, and the other one. */
export function hostsOf(cluster: FakeCluster, store: string, key: unknown): { owner: number; other: number } {
  const owner = cluster.services[0]!.metadataForKey(store, key).partition % 2;
  return { owner, other: 1 - owner };
}
