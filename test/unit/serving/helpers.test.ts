import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { toHttpError } from '../../../src/serving/http/errors.ts';
import { parseMinOffsets, unmet } from '../../../src/serving/http/freshness.ts';
import { toJsonValue } from '../../../src/serving/http/json-value.ts';
import {
  decodeCursor,
  mergePages,
  mergePositions,
  prefixUpperBound,
  scanLocal,
} from '../../../src/serving/http/scan.ts';
import type { ScanPage, ScanRequest } from '../../../src/serving/http/scan.ts';
import {
  BadQueryError,
  NotLocalError,
  StoreNotReadyError,
  UnknownStoreError,
} from '../../../src/serving/query-service.ts';
import type { QueryService, RangeOptions, ViewRef } from '../../../src/serving/query-service.ts';

const startsWith = (key: Buffer, prefix: Buffer) => key.subarray(0, prefix.length).equals(prefix);

/** A QueryService with only range(), over sorted byte keys. */
function rangeOnly(keys: Buffer[], view: ViewRef | null = null): QueryService {
  const sorted = [...keys].sort(Buffer.compare);
  return {
    range(_store: string, { from, to, after, limit, reverse }: RangeOptions) {
      let rows = sorted.filter(
        (k) => (!from || Buffer.compare(k, from) >= 0) && (!to || Buffer.compare(k, to) <= 0),
      );
      if (reverse) rows = rows.reverse();
      if (after) rows = rows.filter((k) => (reverse ? -1 : 1) * Buffer.compare(k, after) > 0);
      return {
        result: rows
          .slice(0, limit)
          .map((k) => ({ key: k.toString('hex'), value: 1, keyBytes: k.toString('base64') })),
        view,
        position: { offsets: {}, lagRecords: 0 },
        servedBy: 'h',
        stale: false,
      };
    },
  } as unknown as QueryService;
}

const bytes = fc
  .uint8Array({ minLength: 0, maxLength: 4 })
  .map((a) => Buffer.from(a.map((b) => [0, 1, 2, 0x61, 0x62, 0xfe, 0xff][b % 7]!)));

describe('prefix upper bound', () => {
  it('is the successor of the prefix range', () => {
    expect(prefixUpperBound(Buffer.from('ab'))).toEqual(Buffer.from('ac'));
    expect(prefixUpperBound(Buffer.from([0x61, 0xff, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(prefixUpperBound(Buffer.from([0xff]))).toBeUndefined();
    expect(prefixUpperBound(Buffer.alloc(0))).toBeUndefined();
  });

  it('k starts with p exactly when p <= k < bound', () => {
    fc.assert(
      fc.property(bytes, bytes, (prefix, key) => {
        const upper = prefixUpperBound(prefix);
        const inRange =
          Buffer.compare(key, prefix) >= 0 && (upper === undefined || Buffer.compare(key, upper) < 0);
        expect(inRange).toBe(startsWith(key, prefix));
      }),
    );
  });
});

/** Every key a paged scan over `hosts` returns (base64), following cursors to the end. */
function scanAll(hosts: QueryService[], limit: number, reverse: boolean, prefix?: Buffer): string[] {
  const seen: string[] = [];
  let after: Buffer | undefined;
  for (let round = 0; round < 100; round++) {
    const request: ScanRequest = {
      store: 's',
      limit,
      reverse,
      ...(prefix ? { prefix } : {}),
      ...(after ? { after } : {}),
    };
    const page = mergePages(
      hosts.map((h) => scanLocal(h, request)),
      limit,
      reverse,
    );
    expect(page.entries.length).toBeLessThanOrEqual(limit);
    seen.push(...page.entries.map((e) => e.keyBytes));
    if (page.nextCursor === null) return seen;
    expect(page.entries).toHaveLength(limit);
    after = decodeCursor(page.nextCursor);
  }
  throw new Error('the scan did not end');
}

describe('scan pages', () => {
  it('pages merged over random hosts add up to the keys in range, in order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(bytes, { selector: (b) => b.toString('hex'), maxLength: 30 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        fc.option(bytes, { nil: undefined }),
        (keys, hostCount, limit, reverse, prefix) => {
          const hosts = Array.from({ length: hostCount }, (_, h) =>
            rangeOnly(keys.filter((_, i) => i % hostCount === h)),
          );
          const expected = keys
            .filter((k) => !prefix || startsWith(k, prefix))
            .sort(Buffer.compare)
            .map((k) => k.toString('base64'));
          expect(scanAll(hosts, limit, reverse, prefix)).toEqual(reverse ? expected.reverse() : expected);
        },
      ),
    );
  });

  it("a reverse prefix scan does not stop early at the prefix's upper bound", () => {
    const keys = ['a', 'a1', 'a2', 'b', 'b1'].map((k) => Buffer.from(k));
    const b64 = (k: string) => Buffer.from(k).toString('base64');
    for (const limit of [1, 2]) {
      expect(scanAll([rangeOnly(keys)], limit, true, Buffer.from('a'))).toEqual(['a2', 'a1', 'a'].map(b64));
      expect(scanAll([rangeOnly(keys)], limit, false, Buffer.from('a'))).toEqual(['a', 'a1', 'a2'].map(b64));
    }
  });

  it('names the oldest view when workers answered from different views', () => {
    const page = (view: ViewRef | null): ScanPage => ({
      entries: [],
      nextCursor: null,
      view,
      position: { offsets: {}, lagRecords: 0 },
      servedBy: ['x'],
      mixedViews: false,
    });
    const v1 = { id: 'v1', boundaryBucket: 1, boundaryTime: 't1' };
    const v2 = { id: 'v2', boundaryBucket: 2, boundaryTime: 't2' };
    expect(mergePages([page(v1), page(v1)], 10, false)).toMatchObject({ view: v1, mixedViews: false });
    expect(mergePages([page(v2), page(v1)], 10, false)).toMatchObject({ view: v1, mixedViews: true });
    expect(mergePages([page(v2), page(null)], 10, false)).toMatchObject({ view: null, mixedViews: true });
    expect(mergePages([page(null), page(null)], 10, false)).toMatchObject({ view: null, mixedViews: false });
    // Each worker is named once, however many of its pages (its own, one forwarded back) were merged.
    expect(
      mergePages([page(v1), page(v1), { ...page(v1), servedBy: ['y', 'x'] }], 10, false).servedBy,
    ).toEqual(['x', 'y']);
  });

  it('merges positions: offsets of all workers (lower on overlap), lag summed', () => {
    expect(
      mergePositions([
        { offsets: { t: { '0': 5, '1': 9 } }, lagRecords: 2 },
        { offsets: { t: { '1': 7, '2': 3 }, u: { '0': 1 } }, lagRecords: 3 },
      ]),
    ).toEqual({ offsets: { t: { '0': 5, '1': 7, '2': 3 }, u: { '0': 1 } }, lagRecords: 5 });
  });
});

describe('JSON values', () => {
  it('maps what JSON lacks', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(
      toJsonValue({
        big: 12345678901234567890n,
        bytes: Buffer.from('hi'),
        u8: new Uint8Array([1, 2]),
        floats: new Float64Array([1.5, -0]),
        longs: new BigInt64Array([5n]),
        map: new Map([['k', new Set([1, 2])]]),
        objectKeys: new Map([[{ id: 1 }, 'v']]),
        date: new Date(0),
        invalid: new Date(NaN),
        nothing: undefined,
        nan: NaN,
        fn: () => 1,
        nested: [cyclic],
        withToJson: { toJSON: () => 'custom' },
      }),
    ).toEqual({
      big: '12345678901234567890',
      bytes: 'aGk=',
      u8: 'AQI=',
      floats: [1.5, 0],
      longs: ['5'],
      map: { k: [1, 2] },
      objectKeys: [[{ id: 1 }, 'v']],
      date: '1970-01-01T00:00:00.000Z',
      invalid: null,
      nothing: null,
      nan: null,
      fn: null,
      nested: [{ a: 1, self: '[Circular]' }],
      withToJson: 'custom',
    });
  });

  it('keeps a key named __proto__ as data', () => {
    const value = toJsonValue(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":true}}');
  });

  it('always gives something JSON.stringify can write and read back unchanged', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }),
        (value) => {
          const json = toJsonValue(value);
          expect(JSON.parse(JSON.stringify(json))).toEqual(json);
        },
      ),
    );
  });
});

describe('freshness parameters', () => {
  it('parses topic:partition:offset lists', () => {
    expect(parseMinOffsets('orders:0:12,my.topic-v2:3:0')).toEqual([
      { topic: 'orders', partition: 0, offset: 12 },
      { topic: 'my.topic-v2', partition: 3, offset: 0 },
    ]);
    expect(() => parseMinOffsets('orders:0')).toThrow(/topic:partition:offset/);
  });

  it('says what a position does not reach', () => {
    const position = { offsets: { t: { '0': 10 } }, lagRecords: 0, lagMs: 200 };
    expect(unmet(position, { minOffsets: [{ topic: 't', partition: 0, offset: 10 }], waitMs: 0 })).toEqual(
      [],
    );
    expect(unmet(position, { minOffsets: [{ topic: 't', partition: 0, offset: 11 }], waitMs: 0 })).toEqual([
      't:0 is at offset 10, not 11',
    ]);
    expect(unmet(position, { minOffsets: [{ topic: 't', partition: 1, offset: 99 }], waitMs: 0 })).toEqual(
      [],
    );
    expect(unmet(position, { minOffsets: [], maxLagMs: 100, waitMs: 0 })).toEqual([
      'the lag is 200 ms, not at most 100 ms',
    ]);
  });
});

describe('error mapping', () => {
  it('maps the service errors to status codes', () => {
    expect(toHttpError(new UnknownStoreError('no store x'))).toMatchObject({
      status: 404,
      code: 'unknown_store',
    });
    expect(toHttpError(new BadQueryError('bad key'))).toMatchObject({
      status: 400,
      code: 'bad_request',
      message: 'bad key',
    });
    expect(toHttpError(new StoreNotReadyError('restoring', 2.5))).toMatchObject({
      status: 503,
      retryAfterSeconds: 3,
    });
    const metadata = { store: 's', partition: 0, activeHost: null, standbyHosts: [], local: false };
    expect(toHttpError(new NotLocalError('elsewhere', metadata))).toMatchObject({
      status: 503,
      code: 'not_local',
    });
    expect(toHttpError(new Error('bug'))).toMatchObject({ status: 500, code: 'internal' });
    expect(
      toHttpError(
        Object.assign(new Error('too big'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }),
      ),
    ).toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
  });
});
