/** The store list and the operational routes: health, metrics, the OpenAPI document. */
import type { FastifyInstance } from 'fastify';

import { healthSchema, metricsSchema, openapiSchema, storesSchema } from '../schemas.ts';
import type { RouteContext } from './context.ts';

export interface OpsOptions {
  scrapeMetrics(): Promise<{ contentType: string; body: string }>;
  health(): { ok: boolean; [k: string]: unknown };
}

export function registerOpsRoutes(app: FastifyInstance, ctx: RouteContext, ops: OpsOptions): void {
  app.get('/stores', { schema: storesSchema }, async () => ({ stores: ctx.service.stores() }));

  app.get('/health', { schema: healthSchema }, async (_request, reply) => {
    const health = ops.health();
    return reply.code(health.ok ? 200 : 503).send(health);
  });

  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    const { contentType, body } = await ops.scrapeMetrics();
    return reply.type(contentType).send(body);
  });

  app.get('/openapi.json', { schema: openapiSchema }, async () => app.swagger());
}
