/** A large fetched batch runs in slices; offsets stay right for the partial and the last slice. */
import { describe, expect, it } from 'vitest';

import type { ConsumerBatch } from '../../../src/kafka/client.ts';
import { sliceBatch } from '../../../src/runtime/stream-thread.ts';

const batch = (offsets: number[], nextOffset: number, committableOffset?: number): ConsumerBatch => ({
  topic: 't',
  partition: 2,
  records: offsets.map((offset) => ({
    topic: 't',
    partition: 2,
    offset,
    key: null,
    value: Buffer.from(String(offset)),
    timestamp: offset,
    headers: {},
  })),
  highWatermark: nextOffset + 5,
  nextOffset,
  ...(committableOffset === undefined ? {} : { committableOffset }),
});

describe('sliceBatch', () => {
  it('keeps a small batch whole', () => {
    const b = batch([0, 1, 2], 3, 3);
    expect(sliceBatch(b, 5)).toEqual([b]);
  });

  it('cuts a large batch in order; only the last slice carries the committable offset', () => {
    // Offsets 10..16 with a gap (a compacted or control record) and a trailing control record at 17.
    const slices = sliceBatch(batch([10, 11, 12, 14, 15, 16], 18, 18), 4);
    expect(slices.map((s) => s.records.map((r) => r.offset))).toEqual([
      [10, 11, 12, 14],
      [15, 16],
    ]);
    expect(slices.map((s) => s.nextOffset)).toEqual([15, 18]);
    expect(slices.map((s) => s.committableOffset)).toEqual([undefined, 18]);
    expect(slices.every((s) => s.highWatermark === 23 && s.topic === 't' && s.partition === 2)).toBe(true);
  });
});
