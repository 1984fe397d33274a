/**
 * Kafka's default partitioner for keyed records (Java's `Utils.toPositive(Utils.murmur2(key)) % n`,
 * which kafkajs' DefaultPartitioner reproduces). The batch layer routes repartition records in-process
 * with it, so a key lands in the partition (and task) where the speed layer's producer would put it.
 */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  // The last 1-3 bytes (Java's switch with fall-through).
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner gives a record with this (non-null) key. */
export function defaultPartition(key: Buffer, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}
