/**
 * A scan covers every partition of a store: this worker answers for its own partitions locally, every
 * other worker of `hostsForStore()` over HTTP with `x-lambda-streams-scope: local` (it answers for its
 * partitions only), and the pages merge into one. A worker that refuses or does not answer in time
 * fails the scan with its status and message (503 + Retry-After for the transient ones).
 */
import type { FastifyRequest } from 'fastify';

import type { HostInfo } from '../query-service.ts';
import { unavailable } from './errors.ts';
import { askPeer, hostKey, innerHeaders, peerError, SCOPE_HEADER } from './forwarding.ts';
import type { Freshness } from './freshness.ts';
import { waitForFreshness } from './freshness.ts';
import type { RouteContext } from './routes/context.ts';
import { mergePages, scanLocal } from './scan.ts';
import type { ScanPage, ScanRequest } from './scan.ts';

/** This worker's page, after any freshness wait. */
export async function localPage(
  ctx: RouteContext,
  scan: ScanRequest,
  freshness?: Freshness,
): Promise<ScanPage> {
  if (freshness) await waitForFreshness(ctx.service, freshness);
  return scanLocal(ctx.service, scan);
}

function isPage(body: unknown): body is ScanPage {
  const page = body as Partial<ScanPage> | null;
  return (
    typeof page === 'object' &&
    page !== null &&
    Array.isArray(page.entries) &&
    page.entries.every((e) => typeof e?.keyBytes === 'string') &&
    (page.nextCursor === null || typeof page.nextCursor === 'string') &&
    typeof page.position === 'object' &&
    page.position !== null &&
    Array.isArray(page.servedBy)
  );
}

async function peerPage(host: HostInfo, request: FastifyRequest, timeoutMs: number): Promise<ScanPage> {
  const answer = await askPeer(
    host,
    request.url,
    innerHeaders(request, { [SCOPE_HEADER]: 'local' }),
    timeoutMs,
  );
  if (answer.status !== 200) throw peerError(host, answer);
  if (!isPage(answer.body)) {
    throw unavailable(
      'worker_bad_answer',
      `worker ${hostKey(host)} answered a scan with something that is not a page`,
    );
  }
  return { ...answer.body, mixedViews: answer.body.mixedViews === true };
}

/** The merged page of a scan over every worker that serves part of the store. */
export async function scanAllWorkers(
  ctx: RouteContext,
  request: FastifyRequest,
  scan: ScanRequest,
  freshness: Freshness | undefined,
): Promise<ScanPage> {
  const self = ctx.service.endpoint;
  const hosts = new Map(ctx.service.hostsForStore(scan.store).map((h) => [hostKey(h), h]));
  const includeSelf = self === undefined || hosts.has(self);
  if (self !== undefined) hosts.delete(self);
  if (!includeSelf && hosts.size === 0) {
    throw unavailable(
      'no_active_host',
      `no worker serves store ${scan.store} right now (the group is forming or rebalancing); retry shortly`,
    );
  }
  const timeoutMs = ctx.forwardTimeoutMs + (freshness?.waitMs ?? 0);
  const pages = await Promise.all([
    ...(includeSelf ? [localPage(ctx, scan, freshness)] : []),
    ...[...hosts.values()].map((host) => peerPage(host, request, timeoutMs)),
  ]);
  return mergePages(pages, scan.limit, scan.reverse);
}
