import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';

import {
  decodeAssignment,
  decodeBatches,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type FetchedRecordsBatch,
} from '../../../src/kafka/platformatic-protocol.ts';

const { AssignerProtocol } = kafkajs;

describe('consumer protocol', () => {
  it('writes subscriptions and assignments as kafkajs reads them, and reads what kafkajs writes', () => {
    const subscription = { version: 1, topics: ['a', 'b'], userData: Buffer.from('hi') };
    expect(AssignerProtocol.MemberMetadata.decode(encodeSubscription(subscription))).toEqual(subscription);
    expect(decodeSubscription(AssignerProtocol.MemberMetadata.encode(subscription))).toEqual(subscription);
    const assignment = { version: 1, assignment: { a: [0, 2], b: [1] }, userData: Buffer.from([7]) };
    expect(AssignerProtocol.MemberAssignment.decode(encodeAssignment(assignment))).toEqual(assignment);
    expect(decodeAssignment(AssignerProtocol.MemberAssignment.encode(assignment))).toEqual(assignment);
  });

  it('reads an empty assignment (a member given nothing) as no partitions', () => {
    expect(decodeAssignment(Buffer.alloc(0))).toEqual({
      version: 0,
      assignment: {},
      userData: Buffer.alloc(0),
    });
  });
});

function batch(
  firstOffset: number,
  values: string[],
  extra: Partial<FetchedRecordsBatch> = {},
): FetchedRecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    attributes: 0,
    lastOffsetDelta: values.length - 1,
    firstTimestamp: 1000n,
    maxTimestamp: 1000n + BigInt(values.length),
    producerId: -1n,
    records: values.map((v, i) => ({
      offsetDelta: i,
      timestampDelta: BigInt(i),
      key: null,
      value: Buffer.from(v),
      headers: [[Buffer.from('h'), Buffer.from(v)]],
    })),
    ...extra,
  };
}

/** A commit (type 1) or abort (type 0) marker of a producer. */
function marker(offset: number, producerId: bigint, type: 0 | 1): FetchedRecordsBatch {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type, 2);
  return {
    ...batch(offset, ['']),
    attributes: 0x30,
    producerId,
    records: [{ offsetDelta: 0, timestampDelta: 0n, key, value: null, headers: [] }],
  };
}

const TXN = 0x10;
const values = (d: ReturnType<typeof decodeBatches>): Array<string | undefined> =>
  d.records.map((r) => r.value?.toString());

describe('decodeBatches', () => {
  it('turns batches into records with offsets, timestamps and headers, from the fetch offset on', () => {
    const decoded = decodeBatches('t', 2, [batch(10, ['a', 'b', 'c'])], 11, undefined);
    expect(decoded.records).toEqual([
      {
        topic: 't',
        partition: 2,
        offset: 11,
        key: null,
        value: Buffer.from('b'),
        timestamp: 1001,
        headers: { h: Buffer.from('b') },
      },
      {
        topic: 't',
        partition: 2,
        offset: 12,
        key: null,
        value: Buffer.from('c'),
        timestamp: 1002,
        headers: { h: Buffer.from('c') },
      },
    ]);
    expect(decoded.nextOffset).toBe(13);
  });

  it('drops every aborted transaction of a producer, not only its last one, and skips markers', () => {
    const batches = [
      batch(0, ['x1'], { attributes: TXN, producerId: 5n }),
      marker(1, 5n, 0),
      batch(2, ['c1'], { attributes: TXN, producerId: 5n }),
      marker(3, 5n, 1),
      batch(4, ['x2'], { attributes: TXN, producerId: 5n }),
      marker(5, 5n, 0),
      batch(6, ['plain']),
    ];
    const aborted = [
      { producerId: 5n, firstOffset: 0n },
      { producerId: 5n, firstOffset: 4n },
    ];
    const committed = decodeBatches('t', 0, batches, 0, aborted);
    expect(values(committed)).toEqual(['c1', 'plain']);
    expect(committed.nextOffset).toBe(7);
    expect(values(decodeBatches('t', 0, batches, 0, undefined))).toEqual(['x1', 'c1', 'x2', 'plain']);
  });

  it('moves past a fetch made only of control records without returning records', () => {
    const decoded = decodeBatches('t', 0, [marker(7, 1n, 1)], 7, []);
    expect(decoded).toEqual({ records: [], nextOffset: 8 });
    expect(decodeBatches('t', 0, [], 7, [])).toEqual({ records: [] });
  });
});
