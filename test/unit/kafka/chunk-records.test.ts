/**
 * kafkajs produce requests: chunkRecords keeps each partition's records in order across requests and
 * bounds what one request holds per partition (kafkajs groups a partition's messages in time
 * quadratic in their number per call).
 */
import { describe, expect, it } from 'vitest';

import type { OutgoingRecord } from '../../../src/kafka/client.ts';
import { chunkRecords } from '../../../src/kafka/kafkajs-client.ts';

function record(topic: string, partition: number | undefined, i: number, valueBytes = 10): OutgoingRecord {
  return {
    topic,
    ...(partition === undefined ? {} : { partition }),
    key: Buffer.from(`k${i}`),
    value: Buffer.alloc(valueBytes, i % 256),
    timestamp: i,
  };
}

describe('chunkRecords', () => {
  it('keeps every record, in order per partition, and bounds records per partition and request', () => {
    const records: OutgoingRecord[] = [];
    for (let i = 0; i < 5_500; i++) records.push(record('changelog', i % 2, i));
    for (let i = 0; i < 300; i++) records.push(record('sink', undefined, i));
    const chunks = chunkRecords(records);
    const seen = new Map<string, number[]>();
    for (const chunk of chunks) {
      const perPartition = new Map<string, number>();
      for (const { topic, messages } of chunk) {
        for (const m of messages) {
          const slot = `${topic}:${m.partition ?? ''}`;
          perPartition.set(slot, (perPartition.get(slot) ?? 0) + 1);
          const list = seen.get(slot) ?? [];
          list.push(Number(m.timestamp));
          seen.set(slot, list);
        }
      }
      for (const n of perPartition.values()) expect(n).toBeLessThanOrEqual(1_000);
    }
    expect(seen.get('changelog:0')).toEqual(Array.from({ length: 2_750 }, (_, j) => j * 2));
    expect(seen.get('changelog:1')).toEqual(Array.from({ length: 2_750 }, (_, j) => j * 2 + 1));
    expect(seen.get('sink:')).toEqual(Array.from({ length: 300 }, (_, j) => j));
    // 2,750 records of one partition need three requests; the other partition shares them.
    expect(chunks.length).toBe(3);
  });

  it('keeps a partition below the broker batch limit and a request below its byte bound', () => {
    const records = Array.from({ length: 40 }, (_, i) => record('big', 0, i, 100_000));
    const chunks = chunkRecords(records);
    for (const chunk of chunks) {
      const bytes = chunk.flatMap((c) => c.messages).reduce((n, m) => n + (m.value as Buffer).length, 0);
      expect(bytes).toBeLessThanOrEqual(900 * 1024);
    }
    expect(chunks.flatMap((c) => c.flatMap((t) => t.messages)).length).toBe(40);
  });
});
