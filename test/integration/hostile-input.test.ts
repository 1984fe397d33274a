/**
 * Hostile input on a real broker: 10,000 malformed records (garbage bytes, truncated MessagePack,
 * wrong types, missing fields, 5 MB values, null keys) mixed into a topic with good ones. A worker
 * with the continue handlers and a dead-letter topic neither crashes nor miscounts: the good records
 * are summed exactly, and every malformed record is accounted for, either dead-lettered (once) or
 * counted as a dropped null key.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  Consumed,
  Grouped,
  LogAndContinueExceptionHandler,
  Materialized,
  Serdes,
  StreamsBuilder,
} from '../../src/index.ts';
import type { OutgoingRecord } from '../../src/kafka/client.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import {
  freshTopics,
  portClient,
  produceRecords,
  storeValues,
  topicsRead,
  waitCaughtUp,
} from './batch-support.ts';
import { brokers, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';

const MALFORMED = 10_000;
const GOOD = 2_000;
const BIG = 5 * 1024 * 1024;

interface Payment {
  user: string;
  amount: number;
}

function topology(input: string) {
  const builder = new StreamsBuilder();
  builder
    .stream(input, Consumed.with(Serdes.String(), Serdes.MsgPack<Payment>()))
    .mapValues((p) => {
      // What careful user code does with input it cannot trust: refuse it loudly.
      if (typeof p !== 'object' || p === null) throw new TypeError(`not a payment: ${typeof p}`);
      if (typeof p.amount !== 'number' || !Number.isFinite(p.amount))
        throw new TypeError(`payment without a numeric amount`);
      return p.amount;
    })
    .groupByKey(Grouped.with(Serdes.String(), Serdes.JSON<number>()))
    .reduce((a, b) => a + b, Materialized.as('totals'));
  return builder.build();
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
});

/** A deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('hostile input', () => {
  it('10,000 malformed records: no crash, good totals exact, every bad record accounted for', async () => {
    const client = portClient();
    const admin = await client.admin();
    cleanup.push(() => admin.close());
    const input = uniqueTopic('hostile-in');
    const dlq = uniqueTopic('hostile-dlq');
    // Room for the 5 MB values.
    await freshTopics({ [input]: 3, [dlq]: 1 }, { config: { 'max.message.bytes': String(8 * 1024 * 1024) } });

    const msgpack = Serdes.MsgPack<unknown>();
    const rnd = random(20261202);
    const totals = new Map<string, number>();
    const records: OutgoingRecord[] = [];
    let nullKeys = 0;
    const kinds = new Map<string, number>();
    for (let i = 0; i < GOOD + MALFORMED; i++) {
      const user = `u${Math.floor(rnd() * 50)}`;
      if (i % ((GOOD + MALFORMED) / GOOD) === 0) {
        const amount = Math.floor(rnd() * 1000);
        records.push({
          topic: input,
          key: Buffer.from(user),
          value: msgpack.serialize({ user, amount }),
          timestamp: i,
        });
        continue;
      }
      const kind = ['garbage', 'truncated', 'wrong-type', 'missing-field', 'null-key', 'big'][
        i % 997 === 0 ? 5 : Math.floor(rnd() * 5)
      ]!;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      let value: Buffer;
      let key: Buffer | null = Buffer.from(user);
      switch (kind) {
        case 'garbage':
          value = Buffer.from(
            Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)),
          );
          break;
        case 'truncated': {
          const whole = msgpack.serialize({ user, amount: 12.5, note: 'x'.repeat(20) });
          value = whole.subarray(0, 1 + Math.floor(rnd() * (whole.length - 2)));
          break;
        }
        case 'wrong-type':
          value = msgpack.serialize({ user, amount: 'a lot' });
          break;
        case 'missing-field':
          value = msgpack.serialize({ user });
          break;
        case 'null-key':
          key = null;
          nullKeys++;
          value = msgpack.serialize({ user, amount: 1 });
          break;
        default:
          value = Buffer.alloc(BIG, 0xc1); // 0xc1: never used in MessagePack
      }
      records.push({ topic: input, key, value, timestamp: i });
    }
    // The expected totals, from scratch: every record that is a well-formed payment with a key.
    const good = records.filter((r) => isGood(r, msgpack));
    for (const r of good) {
      const { amount } = msgpack.deserialize(r.value!) as Payment;
      totals.set(r.key!.toString(), (totals.get(r.key!.toString()) ?? 0) + amount);
    }
    const malformed = records.length - good.length;
    expect(good.length).toBe(GOOD);
    expect(malformed).toBe(MALFORMED);
    for (let i = 0; i < records.length; i += 500) await produceRecords(client, records.slice(i, i + 500));

    const applicationId = uniqueGroup('hostile');
    const streams = new KafkaStreams(topology(input), {
      applicationId,
      bootstrapServers: brokers(),
      stateDir: await tempStateDir(),
      commitIntervalMs: 200,
      sessionTimeoutMs: 6_000,
      deserializationExceptionHandler: new LogAndContinueExceptionHandler(),
      processingExceptionHandler: new LogAndContinueExceptionHandler(),
      deadLetterQueueTopic: dlq,
    });
    cleanup.push(() => streams.close());
    await streams.start();
    await waitCaughtUp(
      admin,
      streams,
      applicationId,
      await topicsRead(admin, applicationId, [input]),
      300_000,
    );
    expect(streams.state).toBe('RUNNING');

    // Good records: summed exactly.
    expect(storeValues<number>(streams, 'totals')).toEqual(totals);

    // Every malformed record accounted for: dead-lettered once, or a dropped null key.
    const deadLetters = (await admin.endOffsets(dlq)).reduce((n, p) => n + p.high, 0);
    const metrics = await streams.metrics.scrape();
    const droppedNullKeys = sumOf(metrics, 'lambda_streams_dropped_records_total', 'reason="null-key"');
    expect(droppedNullKeys).toBe(nullKeys);
    expect(deadLetters + droppedNullKeys).toBe(malformed);
    expect(
      sumOf(metrics, 'lambda_streams_dropped_records_total', 'reason="deserialization"') +
        sumOf(metrics, 'lambda_streams_dropped_records_total', 'reason="processing-error"'),
    ).toBe(deadLetters);
    expect(kinds.get('big')).toBeGreaterThan(0);
  }, 600_000);
});

function isGood(r: OutgoingRecord, msgpack: ReturnType<typeof Serdes.MsgPack<unknown>>): boolean {
  if (r.key === null || r.value === null) return false;
  try {
    const v = msgpack.deserialize(r.value) as Partial<Payment> | null;
    return typeof v === 'object' && v !== null && typeof v.amount === 'number' && Number.isFinite(v.amount);
  } catch {
    return false;
  }
}

function sumOf(metrics: string, name: string, label: string): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
