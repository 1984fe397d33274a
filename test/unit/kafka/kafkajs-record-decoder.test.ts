import fs from 'node:fs';
import { createRequire, Module } from 'node:module';
import path from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createFastRecordDecoder } from '../../../src/kafka/kafkajs-record-decoder.ts';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js');
const Long = require('kafkajs/src/utils/long.js');
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const TimestampTypes = require('kafkajs/src/protocol/timestampTypes.js');

/** kafkajs' own record decoder, compiled from its file (the require cache may hold the fast one). */
function originalDecoder(): (decoder: any, context: object) => Record<string, unknown> {
  const file = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder.js');
  const source = fs.readFileSync(file, 'utf8');
  expect(source).toContain('Long.fromValue(firstTimestamp)');
  const module = new Module(file) as Module & { _compile(source: string, file: string): void };
  module.filename = file;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    path.dirname(file),
  );
  module._compile(source, file);
  return module.exports as (decoder: any, context: object) => Record<string, unknown>;
}

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const longish = fc.oneof(
  fc.integer({ min: -1_000, max: 1_000 }).map(BigInt),
  fc.bigInt({ min: 0n, max: 2n ** 53n + 10n }),
  fc.bigInt({ min: 1_700_000_000_000n, max: 1_900_000_000_000n }),
  int64,
);
const bytes = fc.option(
  fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
  { nil: null },
);

const record = fc.record({
  firstOffset: longish.filter((n) => n >= 0n),
  firstTimestamp: longish,
  maxTimestamp: longish,
  logAppendTime: fc.boolean(),
  control: fc.boolean(),
  timestampDelta: longish,
  offsetDelta: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  key: bytes,
  value: bytes,
  headers: fc.dictionary(
    fc.string({ maxLength: 4 }),
    fc.oneof(
      fc.string({ maxLength: 5 }),
      fc.array(fc.string({ maxLength: 3 }), { minLength: 1, maxLength: 3 }),
    ),
    { maxKeys: 3 },
  ),
});

describe('fast kafkajs record decoder', () => {
  it('property: returns exactly what kafkajs 2.2.4 returns, record for record', () => {
    const original = originalDecoder();
    const fast = createFastRecordDecoder();
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), (records) => {
        for (const r of records) {
          const encoded = encodeRecord({
            offsetDelta: r.offsetDelta,
            timestampDelta: Long.fromValue(r.timestampDelta),
            key: r.key,
            value: r.value,
            headers: r.headers,
          }).buffer;
          const context = {
            firstOffset: r.firstOffset.toString(),
            firstTimestamp: r.firstTimestamp.toString(),
            maxTimestamp: r.maxTimestamp.toString(),
            timestampType: r.logAppendTime ? TimestampTypes.LOG_APPEND_TIME : TimestampTypes.CREATE_TIME,
            isControlBatch: r.control,
            magicByte: 2,
          };
          const decode = (fn: typeof original) => {
            const outer = new Decoder(encoded);
            const decoder = new Decoder(outer.readVarIntBytes());
            const result = fn(decoder, context);
            return { result, consumed: decoder.offset, length: decoder.buffer.length };
          };
          const expected = decode(original);
          const actual = decode(fast);
          expect(actual).toEqual(expected);
          expect(actual.consumed).toBe(actual.length);
          expect(actual.result.batchContext).toBe(context);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('decodes the common record (no headers, recent timestamp) without Long arithmetic', () => {
    const fast = createFastRecordDecoder();
    const encoded = encodeRecord({
      offsetDelta: 7,
      timestampDelta: Long.fromValue(12),
      key: Buffer.from('k'),
      value: Buffer.from('v'),
    }).buffer;
    const outer = new Decoder(encoded);
    const result = fast(new Decoder(outer.readVarIntBytes()), {
      firstOffset: '1000',
      firstTimestamp: '1796222000000',
      timestampType: TimestampTypes.CREATE_TIME,
    });
    expect(result).toMatchObject({ offset: '1007', timestamp: '1796222000012', headers: {} });
  });
});
