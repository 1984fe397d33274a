/** Range and prefix scans over all partitions of a key-value store, a page at a time. */
import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { KeyFormat } from '../../query-service.ts';
import { badRequest } from '../errors.ts';
import { localPage, scanAllWorkers } from '../fan-out.ts';
import { SCOPE_HEADER } from '../forwarding.ts';
import { freshnessOf } from '../freshness.ts';
import type { FreshnessQuery } from '../freshness.ts';
import { DEFAULT_SCAN_LIMIT } from '../limits.ts';
import { decodeCursor } from '../scan.ts';
import type { ScanRequest } from '../scan.ts';
import { prefixSchema, rangeSchema } from '../schemas.ts';
import type { RouteContext } from './context.ts';

interface ScanQuery extends FreshnessQuery {
  from?: string;
  to?: string;
  keyFormat?: KeyFormat;
  limit?: number;
  cursor?: string;
  reverse?: boolean;
}

type ScanHttpRequest = FastifyRequest<{ Params: { store: string; prefix?: string }; Querystring: ScanQuery }>;

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function registerScanRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { service } = ctx;

  /** A bound as serialized bytes: base64 taken as it is (it need not be a whole key), else the serde's. */
  const bytesOf = (store: string, raw: string, format: KeyFormat, name: string): Buffer => {
    if (format !== 'base64') return service.serializeKey(store, service.parseKey(store, raw, format));
    if (!BASE64.test(raw)) throw badRequest(`${name} is not base64 (keyFormat=base64)`);
    return Buffer.from(raw, 'base64'); // Node reads the URL-safe alphabet too
  };

  const handle = async (request: ScanHttpRequest, build: (format: KeyFormat) => Partial<ScanRequest>) => {
    const { store } = request.params;
    const info = service.store(store);
    if (info.kind !== 'key-value') {
      throw badRequest(
        `range and prefix scans need a key-value store; ${store} is a ${info.kind} store: ` +
          `use GET /stores/${store}/keys/:key/${info.kind === 'window' ? 'windows' : 'sessions'}`,
      );
    }
    const query = request.query;
    const scan: ScanRequest = {
      store,
      ...build(query.keyFormat ?? 'string'),
      ...(query.cursor !== undefined ? { after: decodeCursor(query.cursor) } : {}),
      limit: query.limit ?? DEFAULT_SCAN_LIMIT,
      reverse: query.reverse === true,
    };
    const freshness = freshnessOf(query);
    const page =
      request.headers[SCOPE_HEADER] === 'local'
        ? await localPage(ctx, scan, freshness)
        : await scanAllWorkers(ctx, request, scan, freshness);
    return { store, ...page };
  };

  app.get('/stores/:store/range', { schema: rangeSchema }, async (request: ScanHttpRequest) =>
    handle(request, (format) => {
      const { store } = request.params;
      const { from, to } = request.query;
      return {
        ...(from !== undefined ? { from: bytesOf(store, from, format, 'from') } : {}),
        ...(to !== undefined ? { to: bytesOf(store, to, format, 'to') } : {}),
      };
    }),
  );

  app.get('/stores/:store/prefix/:prefix', { schema: prefixSchema }, async (request: ScanHttpRequest) =>
    handle(request, (format) => ({
      prefix: bytesOf(request.params.store, request.params.prefix ?? '', format, 'prefix'),
    })),
  );
}
