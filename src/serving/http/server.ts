/**
 * The serving layer's HTTP API (fastify): `createServingServer()` binds the routes to a QueryService
 * and listens. See docs/serving-http.md for the routes, answers and status codes.
 */
import swagger from '@fastify/swagger';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

import { childLogger } from '../../logger.ts';
import type { QueryService } from '../query-service.ts';
import { bearerAuth } from './auth.ts';
import { observeHttpLatency } from './http-metrics.ts';
import {
  clientErrorHandler,
  errorHandler,
  frameworkErrorHandler,
  headerLimit,
  notFoundHandler,
} from './errors.ts';
import {
  BODY_LIMIT_BYTES,
  DEFAULT_FORWARD_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_PARAM_LENGTH,
  PARSER_HEADER_LIMIT_BYTES,
  REQUEST_TIMEOUT_MS,
} from './limits.ts';
import type { RouteContext } from './routes/context.ts';
import { registerKeyRoutes } from './routes/keys.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import type { OpsOptions } from './routes/ops.ts';
import { registerScanRoutes } from './routes/scans.ts';
import { registerUiRoutes, UI_OPEN_ROUTES } from './routes/ui.ts';
import type { UiSource } from './routes/ui.ts';

export interface ServingServerOptions extends OpsOptions {
  /** The worker's query engine. */
  service: QueryService;
  /** Bind address (default 127.0.0.1: loopback only; 0.0.0.0 or a host's address to serve others). */
  host?: string;
  /** Port to listen on (0: any free port; the url says which). */
  port: number;
  /** With a token, every route but /health needs `Authorization: Bearer <token>`. */
  token?: string;
  /** How long a forwarded or fanned-out request may take on the other worker (default 5 000 ms). */
  forwardTimeoutMs?: number;
  /** Default: the project logger's child `{ component: 'serving-http' }`. */
  logger?: Logger;
  /** The operator's view: /topology, /status, /workers and the /ui page (absent: no such routes). */
  ui?: UiSource;
  /** Where request latencies go (lambda_streams_http_request_duration_seconds); absent: not measured. */
  metricsRegistry?: Registry;
}

export interface ServingServer {
  /** http://host:port of the listening server. */
  url: string;
  close(): Promise<void>;
}

export async function createServingServer(options: ServingServerOptions): Promise<ServingServer> {
  const log = options.logger ?? childLogger({ component: 'serving-http' });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // One line per request is too much for a query API; errors are logged by errorHandler.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (7 % of what a point query allocated): request.log is the server's.
    childLoggerFactory: (logger) => logger,
    bodyLimit: BODY_LIMIT_BYTES,
    http: { maxHeaderSize: PARSER_HEADER_LIMIT_BYTES },
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    // Unknown query parameters are refused (400 naming them), not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    frameworkErrors: frameworkErrorHandler,
    // While closing, requests still go through the routes (with Connection: close), so they get this
    // API's answers (a store that is gone: 503 store_not_ready with Retry-After) instead of fastify's.
    return503OnClosing: false,
    clientErrorHandler,
  });
  // Answers are made JSON-safe before they are sent; response schemas document, they do not filter.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(errorHandler(log));
  app.setNotFoundHandler(notFoundHandler);
  const auth = bearerAuth(options.token, options.ui ? UI_OPEN_ROUTES : []);
  app.addHook('onRequest', headerLimit); // before the token check: a 431 needs no credentials
  if (auth) app.addHook('onRequest', auth);
  if (options.metricsRegistry) observeHttpLatency(app, options.metricsRegistry);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'lambda-streams serving API',
        description:
          'Merged batch + speed layer state of a lambda-streams application. Every data answer names the batch view ' +
          'and the speed-layer position it reflects.',
        version: '1',
      },
      tags: [
        { name: 'stores', description: 'queries of state stores' },
        { name: 'metadata', description: 'which worker owns what' },
        { name: 'operations', description: 'health, metrics and this document' },
      ],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  const ctx: RouteContext = {
    service: options.service,
    forwardTimeoutMs: options.forwardTimeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS,
    log,
  };
  registerOpsRoutes(app, ctx, options);
  registerKeyRoutes(app, ctx);
  registerScanRoutes(app, ctx);
  if (options.ui) registerUiRoutes(app, ctx, options.ui, auth !== undefined);

  const host = options.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: options.port });
  } catch (err) {
    await app.close();
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`the serving HTTP API cannot listen on ${host}:${options.port} (${reason})`, {
      cause: err,
    });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, auth: auth !== undefined }, 'serving HTTP API');
  return { url, close: () => app.close() };
}
