/**
 * The operator's view: `GET /topology`, `GET /status` (this worker), `GET /workers` (every worker of
 * the group, asked by this one) and the `/ui` page that shows them. The page is static HTML, CSS and
 * plain ES modules read from `src/serving/ui/` (shipped as `dist/serving/ui/`): no build step, nothing
 * loaded from elsewhere. Its files hold no data, so they need no token; the page sends the token the
 * operator enters with every data request (see docs/ui.md).
 */
import { readFileSync } from 'node:fs';

import type { FastifyInstance, FastifyReply } from 'fastify';

import type { TopologyGraph } from '../../../topology/graph.ts';
import type { WorkerStatusDocument } from '../../worker-status.ts';
import { parseHostInfo } from '../../local-query-service.ts';
import { unavailable } from '../errors.ts';
import { askPeer, innerHeaders } from '../forwarding.ts';
import { statusSchema, topologySchema, uiFileSchema, workersSchema } from '../schemas.ts';
import type { RouteContext } from './context.ts';

export interface UiSource {
  topology: TopologyGraph;
  /** This worker's status, or undefined while it is starting (answered 503). */
  status(): WorkerStatusDocument | undefined;
}

const UI_DIR = new URL('../../ui/', import.meta.url);

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'graph.js': 'text/javascript; charset=utf-8',
  'render.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** Routes the bearer token does not protect: the page's static files and whether a token is needed. */
export const UI_OPEN_ROUTES = ['/ui', '/ui/auth.json', ...Object.keys(FILES).map((f) => `/ui/${f}`)];

// Scripts, styles and requests from this origin only: a value that slipped past escaping still
// cannot run code or call elsewhere.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function registerUiRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  ui: UiSource,
  tokenRequired: boolean,
): void {
  const files = new Map(
    Object.entries(FILES).map(([name, type]) => [name, { type, body: readFileSync(new URL(name, UI_DIR)) }]),
  );
  const sendFile = (reply: FastifyReply, name: string): FastifyReply => {
    const file = files.get(name)!;
    return reply.headers(PAGE_HEADERS).type(file.type).send(file.body);
  };
  app.get('/ui', { schema: uiFileSchema }, async (_request, reply) => sendFile(reply, 'index.html'));
  for (const name of files.keys())
    app.get(`/ui/${name}`, { schema: uiFileSchema }, async (_request, reply) => sendFile(reply, name));
  app.get('/ui/auth.json', { schema: uiFileSchema }, async (_request, reply) =>
    reply.headers(PAGE_HEADERS).send({ bearer: tokenRequired }),
  );

  app.get('/topology', { schema: topologySchema }, async () => ui.topology);

  const status = (): WorkerStatusDocument => {
    const doc = ui.status();
    if (!doc) throw unavailable('starting', 'the worker is starting (joining its group); retry shortly', 2);
    return doc;
  };
  app.get('/status', { schema: statusSchema }, async () => status());

  app.get('/workers', { schema: workersSchema }, async (request) => {
    const self = status();
    const endpoints = new Set([
      ...Object.keys(self.group.active),
      ...Object.keys(self.group.standby),
      ...(self.endpoint ? [self.endpoint] : []),
    ]);
    const workers = await Promise.all(
      [...endpoints].sort().map(async (endpoint) => {
        if (endpoint === self.endpoint) return { endpoint, self: true, status: self, error: null };
        try {
          const answer = await askPeer(
            parseHostInfo(endpoint),
            '/status',
            innerHeaders(request, {}),
            ctx.forwardTimeoutMs,
          );
          if (answer.status !== 200) {
            const body = answer.body as { message?: unknown };
            throw new Error(
              `HTTP ${answer.status}${typeof body.message === 'string' ? `: ${body.message}` : ''}`,
            );
          }
          return { endpoint, self: false, status: answer.body, error: null };
        } catch (error) {
          return { endpoint, self: false, status: null, error: (error as Error).message };
        }
      }),
    );
    // Without an application.server the group cannot name this worker; it still shows itself.
    if (!self.endpoint) workers.unshift({ endpoint: '(this worker)', self: true, status: self, error: null });
    return { workers };
  });
}
