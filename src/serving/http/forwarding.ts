/**
 * Requests between workers: forwarding a key query to the worker that owns the key (one hop), and the
 * inner requests of a scan's fan-out. Both carry the caller's Authorization (the workers of a group
 * share a token) and a marker header; both give up after a timeout with a 503 naming the worker.
 */
import type { FastifyRequest } from 'fastify';

import type { HostInfo, NotLocalError } from '../query-service.ts';
import { HttpError, unavailable } from './errors.ts';

/** Set on a forwarded request; a worker that gets one for a key it does not own answers 503. */
export const FORWARDED_HEADER = 'x-lambda-streams-forwarded';
/** `local` on a scan's inner requests: answer from this worker's partitions only, no fan-out. */
export const SCOPE_HEADER = 'x-lambda-streams-scope';

/** A worker as `host:port` (the form of application.server and QueryService.endpoint). */
export function hostKey(host: HostInfo): string {
  return `${host.host}:${host.port}`;
}

function baseUrl(host: HostInfo): string {
  const name = host.host.includes(':') && !host.host.startsWith('[') ? `[${host.host}]` : host.host;
  return `http://${name}:${host.port}`;
}

/** A worker's answer: its status, JSON body and Retry-After. */
export interface PeerAnswer {
  status: number;
  body: unknown;
  retryAfter: string | undefined;
}

/**
 * GET `pathAndQuery` on another worker. Throws a 503 when it does not answer within `timeoutMs`, cannot
 * be reached, or answers something other than JSON.
 */
export async function askPeer(
  host: HostInfo,
  pathAndQuery: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PeerAnswer> {
  const name = hostKey(host);
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${baseUrl(host)}${pathAndQuery}`, {
      headers: { accept: 'application/json', ...headers },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    text = await response.text();
  } catch (err) {
    const error = err as Error & { cause?: { code?: string } };
    if (error.name === 'TimeoutError' || error.name === 'AbortError') {
      throw unavailable(
        'worker_timeout',
        `worker ${name} did not answer within ${timeoutMs} ms; retry later`,
      );
    }
    const reason = error.cause?.code ?? error.message;
    throw unavailable('worker_unreachable', `worker ${name} cannot be reached (${reason}); retry later`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  // Every answer of this API is a JSON object; anything else is not a lambda-streams worker.
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw unavailable(
      'worker_bad_answer',
      `worker ${name} answered HTTP ${response.status} without a JSON object`,
    );
  }
  return { status: response.status, body, retryAfter: response.headers.get('retry-after') ?? undefined };
}

/**
 * A worker's refusal, passed on with its status and code and the worker named in the message; a 401
 * there means the workers do not share a token (502: retrying will not help, configuration will).
 */
export function peerError(host: HostInfo, answer: PeerAnswer): HttpError {
  if (answer.status === 401) {
    return new HttpError(
      502,
      'worker_refused_token',
      `worker ${hostKey(host)} refused the token this worker passed on: every worker of the group must be ` +
        'configured with the same HTTP token',
    );
  }
  const body = (answer.body ?? {}) as { error?: unknown; message?: unknown };
  const code = typeof body.error === 'string' ? body.error : 'worker_error';
  const message = typeof body.message === 'string' ? body.message : `HTTP ${answer.status}`;
  const retryAfter = answer.retryAfter !== undefined ? Number(answer.retryAfter) : undefined;
  return new HttpError(
    answer.status,
    code,
    `worker ${hostKey(host)}: ${message}`,
    answer.status === 503 ? (Number.isFinite(retryAfter) ? retryAfter : 1) : undefined,
  );
}

/** Headers every inner request carries: the caller's credentials, nothing else of theirs. */
export function innerHeaders(request: FastifyRequest, extra: Record<string, string>): Record<string, string> {
  const authorization = request.headers.authorization;
  return { ...(authorization !== undefined ? { authorization } : {}), ...extra };
}

/**
 * Forwards a request the service answered with NotLocalError to the key's active host, once. Throws a
 * 503 when there is no active host (rebalancing), when the request was already forwarded (one hop
 * only: the two workers disagree on the owner while the group rebalances), or when the owner does
 * not answer in time.
 */
export async function forwardToOwner(
  request: FastifyRequest,
  notLocal: NotLocalError,
  self: string | undefined,
  timeoutMs: number,
): Promise<PeerAnswer> {
  const { store, partition, activeHost } = notLocal.metadata;
  if (activeHost === null) {
    throw unavailable(
      'no_active_host',
      `no worker serves partition ${partition} of store ${store} right now (the group is rebalancing); retry shortly`,
    );
  }
  const owner = hostKey(activeHost);
  if (request.headers[FORWARDED_HEADER] !== undefined || owner === self) {
    throw unavailable(
      'not_local',
      `worker ${self ?? '(this one)'} does not own partition ${partition} of store ${store} although the request ` +
        `was sent to it as the owner (the group is rebalancing; its owner is now ${owner}); retry shortly`,
    );
  }
  const answer = await askPeer(
    activeHost,
    request.url,
    innerHeaders(request, { [FORWARDED_HEADER]: '1' }),
    timeoutMs,
  );
  if (answer.status === 401) throw peerError(activeHost, answer);
  return answer;
}
