/**
 * Request latency of the HTTP API as a Prometheus histogram, labelled by route pattern (not the URL:
 * keys would make the label set unbounded), method and status code.
 */
import client from 'prom-client';
import type { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';

export const HTTP_LATENCY_METRIC = 'lambda_streams_http_request_duration_seconds';

export function observeHttpLatency(app: FastifyInstance, registry: Registry): void {
  const histogram = new client.Histogram({
    name: HTTP_LATENCY_METRIC,
    help: 'Time from receiving an HTTP request to sending its answer, by route pattern, method and status',
    labelNames: ['route', 'method', 'status_code'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Callback style: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    histogram.observe(
      {
        // Unknown routes share one label value.
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
