/**
 * The query row's oha report mapping (bench/lib/oha-load.ts): seconds become milliseconds, answers
 * that are not 2xx and connection errors are counted apart. (oha itself is not needed here; the
 * bench runs it when it is installed.)
 */
import { describe, expect, it } from 'vitest';

import { ohaResult } from '../../../bench/lib/oha-load.ts';

describe('ohaResult', () => {
  it('turns an oha JSON report into the row figures', () => {
    const result = ohaResult({
      summary: { requestsPerSec: 4998.6, slowest: 0.0046 },
      latencyPercentiles: { p50: 0.000246, p99: 0.00077, 'p99.9': 0.00216 },
      statusCodeDistribution: { '200': 49_900, '404': 60, '503': 30 },
      errorDistribution: { 'connection closed before message completed': 10 },
    });
    expect(result.requests).toBe(50_000);
    expect(result.non2xx).toBe(90);
    expect(result.errors).toBe(10);
    expect(result.achievedRate).toBeCloseTo(4998.6);
    expect(result.p50Ms).toBeCloseTo(0.246);
    expect(result.p99Ms).toBeCloseTo(0.77);
    expect(result.p999Ms).toBeCloseTo(2.16);
    expect(result.maxMs).toBeCloseTo(4.6);
  });

  it('reports zeros, not NaN, when oha answered nothing', () => {
    const result = ohaResult({
      summary: { requestsPerSec: 0, slowest: null },
      latencyPercentiles: { p50: null, p99: null, 'p99.9': null },
      statusCodeDistribution: {},
      errorDistribution: { 'connection refused': 25 },
    });
    expect(result).toMatchObject({ requests: 25, errors: 25, non2xx: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 });
  });
});
