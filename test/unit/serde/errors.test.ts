import { describe, expect, it } from 'vitest';
import {
  DeserializationError,
  SerializationError,
  Serdes,
  deserializeOrThrow,
  serializeOrThrow,
} from '../../../src/serde/index.ts';

describe('serde errors', () => {
  it('DeserializationError says where the record was, which part, which serde, and why', () => {
    const bytes = Buffer.from('{"user": oops}');
    let caught: unknown;
    try {
      deserializeOrThrow(Serdes.JSON(), bytes, {
        topic: 'pageviews',
        partition: 2,
        offset: 1234,
        part: 'value',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DeserializationError);
    const e = caught as DeserializationError;
    expect(e.message).toMatch(
      /^Failed to deserialize value of record at topic 'pageviews' partition 2 offset 1234 with serde JSON: .*JSON/,
    );
    expect(e.name).toBe('DeserializationError');
    expect(e.topic).toBe('pageviews');
    expect(e.partition).toBe(2);
    expect(e.offset).toBe(1234);
    expect(e.part).toBe('value');
    expect(e.serde).toBe('JSON');
    expect(e.cause).toBeInstanceOf(SyntaxError);
    expect(e.data).toBe(bytes);
    expect(e).toBeInstanceOf(Error);
  });

  it('SerializationError for a key, without partition and offset', () => {
    expect(() => serializeOrThrow(Serdes.Long(), 0.5, { topic: 'counts', part: 'key' })).toThrow(
      "Failed to serialize key of record for topic 'counts' with serde Long: Serdes.Long() cannot serialize 0.5: it is not an integer",
    );
    try {
      serializeOrThrow(Serdes.Long(), 0.5, { topic: 'counts', part: 'key' });
    } catch (err) {
      expect(err).toBeInstanceOf(SerializationError);
      expect((err as SerializationError).partition).toBeUndefined();
      expect((err as SerializationError).cause).toBeInstanceOf(RangeError);
    }
  });

  it('offsets may be strings (kafkajs) and causes may be non-Errors', () => {
    const throwsString = Serdes.from<string>(
      () => {
        throw 'boom';
      },
      () => '',
      'Weird',
    );
    expect(() => serializeOrThrow(throwsString, 'x', { topic: 't', partition: 0, part: 'value' })).toThrow(
      "Failed to serialize value of record for topic 't' partition 0 with serde Weird: boom",
    );
    const e = new DeserializationError(
      { topic: 't', partition: 1, offset: '99', part: 'key' },
      'Long',
      new Error('x'),
    );
    expect(e.message).toBe(
      "Failed to deserialize key of record at topic 't' partition 1 offset 99 with serde Long: x",
    );
  });

  it('passes results through when nothing fails', () => {
    const ctx = { topic: 't', part: 'value' } as const;
    expect(deserializeOrThrow(Serdes.Long(), serializeOrThrow(Serdes.Long(), 42, ctx), ctx)).toBe(42);
  });
});
