import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timestampedSerde } from '../../../src/state/timestamped-serde.ts';
import { stringSerde } from './helpers.ts';

describe('timestampedSerde', () => {
  const serde = timestampedSerde(stringSerde);

  it('writes an 8-byte big-endian timestamp before the value bytes', () => {
    const bytes = serde.serialize({ value: 'hi', timestamp: 258 });
    expect(bytes).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 1, 2, 0x68, 0x69]));
    expect(serde.name).toBe('timestamped(string)');
  });

  it('round-trips any value and timestamp, negatives included', () => {
    fc.assert(
      fc.property(fc.string(), fc.maxSafeInteger(), (value, timestamp) => {
        expect(serde.deserialize(serde.serialize({ value, timestamp }))).toEqual({ value, timestamp });
      }),
    );
  });

  it('rejects input shorter than a timestamp', () => {
    expect(() => serde.deserialize(Buffer.from([1, 2]))).toThrow(/too short/);
  });
});
