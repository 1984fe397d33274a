/**
 * An open-loop HTTP load generator for the query row: request i is due at start + i / rate, whatever
 * the answers before it did, over a pool of keep-alive connections; a request's latency runs from the
 * moment it was due to the end of its answer, so a server that falls behind is charged for the queue
 * it built (no coordinated omission).
 *
 * Why not autocannon: its `overallRate` lets each connection send back to back until it has made its
 * share of the second, then pause until the next second. At 5,000 requests/s over 10 connections that
 * is a burst at full speed at the start of each second, and the latencies are then corrected as if
 * the requests had been evenly spaced — neither a fixed rate nor its latency.
 */
import http from 'node:http';

export interface PacedLoadOptions {
  /** Base URL of the server (http://host:port). */
  url: string;
  /** The path of request i. */
  pathFor: (i: number) => string;
  /** Requests per second. */
  rate: number;
  durationS: number;
  /** Keep-alive connections at most (requests due while all are busy wait for one). */
  connections: number;
}

export interface PacedLoadResult {
  requests: number;
  /** Answers per second over the run. */
  achievedRate: number;
  errors: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** The slowest answer among the requests due in each second of the run (where a stall was). */
  maxMsBySecond: number[];
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const { hostname, port } = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.max(1, Math.round(options.rate * options.durationS));
  const latencies = new Float64Array(total);
  const intervalNs = 1e9 / options.rate;
  let sent = 0;
  let done = 0;
  let errors = 0;
  let non2xx = 0;
  const started = process.hrtime.bigint();
  const elapsedNs = (): number => Number(process.hrtime.bigint() - started);

  await new Promise<void>((resolve) => {
    const finish = (i: number, dueNs: number): void => {
      latencies[i] = (elapsedNs() - dueNs) / 1e6;
      if (++done === total) resolve();
    };
    const send = (i: number): void => {
      const dueNs = i * intervalNs;
      const request = http.get({ hostname, port, path: options.pathFor(i), agent }, (response) => {
        if (response.statusCode === undefined || response.statusCode < 200 || response.statusCode > 299)
          non2xx++;
        response.resume();
        response.once('end', () => finish(i, dueNs));
        response.once('error', () => {
          errors++;
          finish(i, dueNs);
        });
      });
      request.once('error', () => {
        errors++;
        finish(i, dueNs);
      });
    };
    // Sends whatever is due, then waits for the next request's due time. A timer wakes at ms
    // precision at best (a request due 0.2 ms later would leave up to a ms late), so within 2 ms of
    // it the loop polls with setImmediate, which runs after each I/O phase: answers are still read as
    // they arrive. At thousands of requests/s that keeps one core busy, as native generators do.
    const tick = (): void => {
      const now = elapsedNs();
      while (sent < total && sent * intervalNs <= now) send(sent++);
      if (sent >= total) return;
      const waitNs = sent * intervalNs - elapsedNs();
      if (waitNs < 2e6) setImmediate(tick);
      else setTimeout(tick, Math.floor(waitNs / 1e6) - 1);
    };
    tick();
  });
  const seconds = elapsedNs() / 1e9;
  agent.destroy();
  const maxMsBySecond: number[] = [];
  for (let i = 0; i < total; i++) {
    const second = Math.floor(i / options.rate);
    maxMsBySecond[second] = Math.max(maxMsBySecond[second] ?? 0, latencies[i]!);
  }
  const sorted = latencies.sort();
  return {
    requests: total,
    achievedRate: total / seconds,
    errors,
    non2xx,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    p999Ms: quantile(sorted, 0.999),
    maxMs: sorted[sorted.length - 1] ?? 0,
    maxMsBySecond,
  };
}
