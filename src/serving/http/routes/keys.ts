/**
 * Routes about one key: its merged value, its windows, its sessions, and which worker owns it. A key
 * another worker owns is forwarded there once; freshness parameters make the answer wait for the
 * speed layer first.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { NotLocalError } from '../../query-service.ts';
import type { Answer, LocalQueryOptions, StoreKind } from '../../query-service.ts';
import { badRequest } from '../errors.ts';
import { forwardToOwner } from '../forwarding.ts';
import { freshnessOf, waitForFreshness } from '../freshness.ts';
import { toJsonValue } from '../json-value.ts';
import { keySchema, metadataSchema, sessionsSchema, windowsSchema } from '../schemas.ts';
import { answerFields, parseTime } from './context.ts';
import type { KeyQuery, RouteContext } from './context.ts';

type KeyRequest = FastifyRequest<{ Params: { store: string; key: string }; Querystring: KeyQuery }>;

/**
 * Answers from this worker (after any freshness wait): `{ store, key, ...render(result), view,
 * position, servedBy, stale }`; or forwards to the key's owner and passes its answer on.
 */
async function answerOrForward<T>(
  ctx: RouteContext,
  request: KeyRequest,
  reply: FastifyReply,
  key: unknown,
  run: () => Answer<T>,
  render: (result: T) => object,
): Promise<FastifyReply> {
  const freshness = freshnessOf(request.query);
  try {
    let answer = run();
    if (freshness) {
      await waitForFreshness(ctx.service, freshness);
      answer = run();
    }
    return reply.send({
      store: request.params.store,
      key: toJsonValue(key),
      ...render(answer.result),
      ...answerFields(answer),
    });
  } catch (err) {
    if (!(err instanceof NotLocalError)) throw err;
    const timeoutMs = ctx.forwardTimeoutMs + (freshness?.waitMs ?? 0);
    const forwarded = await forwardToOwner(request, err, ctx.service.endpoint, timeoutMs);
    if (forwarded.retryAfter !== undefined) reply.header('retry-after', forwarded.retryAfter);
    return reply.code(forwarded.status).send(forwarded.body);
  }
}

function requireKind(ctx: RouteContext, store: string, kind: StoreKind, route: string): void {
  const info = ctx.service.store(store);
  if (info.kind !== kind) {
    const hint =
      info.kind === 'window'
        ? `/stores/${store}/keys/:key/windows`
        : info.kind === 'session'
          ? `/stores/${store}/keys/:key/sessions`
          : `/stores/${store}/keys/:key`;
    throw badRequest(`${route} needs a ${kind} store; ${store} is a ${info.kind} store: use GET ${hint}`);
  }
}

export function registerKeyRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { service } = ctx;
  const parse = (request: KeyRequest): unknown =>
    service.parseKey(request.params.store, request.params.key, request.query.keyFormat ?? 'string');

  /**
   * A route that reads one key of a store of `kind`: `prepare` checks the route's own parameters and
   * returns the query; `render` turns its result into the answer's fields.
   */
  const keyRoute = <T>(
    path: string,
    schema: object,
    kind: StoreKind,
    what: string,
    prepare: (request: KeyRequest) => (store: string, key: unknown, options: LocalQueryOptions) => Answer<T>,
    render: (result: T) => object,
  ): void => {
    app.get(path, { schema }, async (request: KeyRequest, reply) => {
      const { store } = request.params;
      requireKind(ctx, store, kind, what);
      const key = parse(request);
      const query = prepare(request);
      const options = { allowStale: request.query.stale === true };
      return answerOrForward(ctx, request, reply, key, () => query(store, key, options), render);
    });
  };

  keyRoute<{ value: unknown; timestamp: number | undefined }>(
    '/stores/:store/keys/:key',
    keySchema,
    'key-value',
    'a key lookup',
    (request) => {
      const versioned = service.store(request.params.store).versioned !== undefined;
      if (request.query.asOf === undefined && !versioned) {
        return (store, key, options) => {
          const answer = service.get(store, key, options);
          return { ...answer, result: { value: answer.result, timestamp: undefined } };
        };
      }
      // Versioned stores: the version valid at asOf (default: the latest), with the time it began.
      const asOf = parseTime(request.query.asOf, Number.MAX_SAFE_INTEGER, 'asOf');
      return (store, key, options) => {
        const answer = service.getAsOf(store, key, asOf, options);
        return {
          ...answer,
          result: { value: answer.result?.value ?? null, timestamp: answer.result?.timestamp },
        };
      };
    },
    ({ value, timestamp }) => ({
      value: toJsonValue(value),
      ...(timestamp === undefined ? {} : { timestamp }),
    }),
  );

  keyRoute(
    '/stores/:store/keys/:key/windows',
    windowsSchema,
    'window',
    'a window fetch',
    (request) => {
      const from = parseTime(request.query.from, 0, 'from');
      const to = parseTime(request.query.to, Number.MAX_SAFE_INTEGER, 'to');
      if (from > to) throw badRequest(`from (${from}) is after to (${to})`);
      return (store, key, options) => service.fetchWindows(store, key, from, to, options);
    },
    (windows) => ({ windows: windows.map(span) }),
  );

  keyRoute(
    '/stores/:store/keys/:key/sessions',
    sessionsSchema,
    'session',
    'a session fetch',
    () => (store, key, options) => service.fetchSessions(store, key, options),
    (sessions) => ({ sessions: sessions.map(span) }),
  );

  app.get('/metadata/stores/:store/keys/:key', { schema: metadataSchema }, async (request: KeyRequest) => {
    const { store } = request.params;
    const key = parse(request);
    const metadata = service.metadataForKey(store, key);
    return { ...metadata, key: toJsonValue(key) };
  });
}

/** A window or session: its bounds in ms and ISO time, and its value. */
function span({ start, end, value }: { start: number; end: number; value: unknown }) {
  return { start, end, startTime: isoTime(start), endTime: isoTime(end), value: toJsonValue(value) };
}

function isoTime(ms: number): string | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
