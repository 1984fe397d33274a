import { createRequire } from 'node:module';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { defaultPartition, murmur2 } from '../../../src/kafka/partitioner.ts';

// kafkajs' own murmur2 (a port of Java's Utils.murmur2) is the reference.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer,
) => number;

describe('default partitioner', () => {
  it('hashes like Kafka (known values from the Java client tests)', () => {
    // Kafka's UtilsTest.testMurmur2 pairs.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });

  it('agrees with kafkajs on random keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 64 }), (bytes, n) => {
        const key = Buffer.from(bytes);
        expect(murmur2(key)).toBe(kafkajsMurmur2(key));
        const partition = defaultPartition(key, n);
        expect(partition).toBe((kafkajsMurmur2(key) & 0x7fffffff) % n);
        expect(partition).toBeGreaterThanOrEqual(0);
        expect(partition).toBeLessThan(n);
      }),
      { numRuns: 500 },
    );
  });
});
