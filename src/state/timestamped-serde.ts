import type { Serde } from '../serde/serde.ts';
import { readInt64BE, writeInt64BE } from './key-encoding.ts';

/** A value with the timestamp of the record that last wrote it (Kafka Streams' ValueAndTimestamp). */
export interface ValueAndTimestamp<V> {
  value: V;
  timestamp: number;
}

/**
 * Serde of ValueAndTimestamp over the value's serde: 8-byte big-endian timestamp, then the value
 * bytes (Kafka Streams' ValueAndTimestampSerializer layout).
 */
export function timestampedSerde<V>(inner: Serde<V>): Serde<ValueAndTimestamp<V>> {
  return {
    name: `timestamped(${inner.name ?? 'serde'})`,
    serialize(data: ValueAndTimestamp<V>, topic?: string): Buffer {
      const value = inner.serialize(data.value, topic);
      const out = Buffer.allocUnsafe(8 + value.length);
      writeInt64BE(out, data.timestamp, 0);
      value.copy(out, 8);
      return out;
    },
    deserialize(data: Buffer, topic?: string): ValueAndTimestamp<V> {
      if (data.length < 8) throw new Error(`timestamped value too short (${data.length} bytes)`);
      return { timestamp: readInt64BE(data, 0), value: inner.deserialize(data.subarray(8), topic) };
    },
  };
}
