import type { Serde } from '../serde/serde.ts';
import type { Change } from './processors/change.ts';

/**
 * Serde for table updates on a repartition topic (KTable.groupBy): one record carries the new and the
 * old value. Layout: flags (bit 0: new present, bit 1: old present), new length (4 bytes BE), new
 * bytes, old bytes.
 */
export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    name: `Change<${inner.name ?? 'value'}>`,
    serialize(change, topic) {
      const n =
        change.newValue === null || change.newValue === undefined
          ? null
          : inner.serialize(change.newValue, topic);
      const o =
        change.oldValue === null || change.oldValue === undefined
          ? null
          : inner.serialize(change.oldValue, topic);
      const header = Buffer.alloc(5);
      header[0] = (n ? 1 : 0) | (o ? 2 : 0);
      header.writeUInt32BE(n ? n.length : 0, 1);
      return Buffer.concat([header, n ?? Buffer.alloc(0), o ?? Buffer.alloc(0)]);
    },
    deserialize(data, topic) {
      if (data.length < 5) throw new Error(`table change record too short (${data.length} bytes)`);
      const flags = data[0]!;
      const newLength = data.readUInt32BE(1);
      const n = flags & 1 ? inner.deserialize(data.subarray(5, 5 + newLength), topic) : null;
      const o = flags & 2 ? inner.deserialize(data.subarray(5 + newLength), topic) : null;
      return { newValue: n, oldValue: o };
    },
  };
}
