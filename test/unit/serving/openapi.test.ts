import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { get, startPair } from './harness.ts';
import type { Pair } from './harness.ts';

let pair: Pair;
beforeAll(async () => {
  pair = await startPair();
});
afterAll(async () => {
  await pair.close();
});

describe('GET /openapi.json', () => {
  it('lists every route with its parameters', async () => {
    const res = await get(pair.urls[0], '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/health',
        '/metadata/stores/{store}/keys/{key}',
        '/metrics',
        '/openapi.json',
        '/stores',
        '/stores/{store}/keys/{key}',
        '/stores/{store}/keys/{key}/sessions',
        '/stores/{store}/keys/{key}/windows',
        '/stores/{store}/prefix/{prefix}',
        '/stores/{store}/range',
      ].sort(),
    );
    for (const path of Object.values(doc.paths) as Record<string, unknown>[])
      expect(Object.keys(path)).toContain('get');
    const range = doc.paths['/stores/{store}/range'].get;
    const names = range.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    for (const name of [
      'path:store',
      'query:from',
      'query:to',
      'query:limit',
      'query:cursor',
      'query:minOffsets',
    ]) {
      expect(names).toContain(name);
    }
    expect(Object.keys(range.responses)).toEqual(expect.arrayContaining(['200', '4XX', '5XX']));
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/health'].get.security).toEqual([]);
  });
});
