/**
 * The exactness invariant (DESIGN.md), checked as a property on a real broker: for random streams
 * with timestamps over many buckets, random bucket sizes, and batch runs with random boundaries at
 * random moments, every merged answer equals a from-scratch computation over all input, for every key
 * — for a count, a sum, a non-mergeable reduce, a windowed count and a table.
 *
 * Cases run one after another on one worker per bucket size; each case has keys and a time range of
 * its own, later than every earlier case's, so no record is late for a view (the invariant's premise).
 * CI runs SERVING_PROPERTY_CASES (default 6) cases; `npm run test:property` runs 10,000 (hours:
 * each case waits for the worker and up to four batch runs; about 3–5 s a case on 2 cores).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runBatch } from '../../src/batch/run-batch.ts';
import {
  Consumed,
  Grouped,
  Materialized,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  startServing,
  type Serving,
} from '../../src/index.ts';
import type { KafkaAdmin, KafkaClient, OutgoingRecord } from '../../src/kafka/client.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { freshTopics, portClient, produceRecords, topicsRead, waitCaughtUp } from './batch-support.ts';
import { brokers, eventually, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';

const CASES = Number(process.env.SERVING_PROPERTY_CASES ?? 6);
const WINDOW_MS = 7_000;

function topology(input: string, bucketMs: number) {
  const builder = new StreamsBuilder();
  const events = builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()));
  const grouped = events.groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
  grouped.count(Materialized.as<string, number>('count'));
  grouped.aggregate<number>(
    () => 0,
    (_key, value, sum) => sum + Number(value),
    Materialized.as<string, number>('sum').withValueSerde(Serdes.JSON<number>()),
    { merge: (_key, a, b) => a + b },
  );
  grouped.reduce((a, b) => `${a},${b}`, Materialized.as<string, string>('joined'));
  grouped
    .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, 365 * 86_400_000))
    .count(Materialized.as<string, number>('windowed'));
  events.toTable(Materialized.as<string, string>('table'));
  const built = builder.build();
  built.bucketMs = bucketMs;
  return built;
}

interface Truth {
  count: Map<string, number>;
  sum: Map<string, number>;
  joined: Map<string, string>;
  table: Map<string, string>;
  windowed: Map<string, number>;
}

/** From scratch, in each key's offset order (one key, one partition: production order). */
function truth(records: OutgoingRecord[]): Truth {
  const t: Truth = {
    count: new Map(),
    sum: new Map(),
    joined: new Map(),
    table: new Map(),
    windowed: new Map(),
  };
  for (const r of records) {
    const key = r.key!.toString();
    const value = r.value!.toString();
    t.count.set(key, (t.count.get(key) ?? 0) + 1);
    t.sum.set(key, (t.sum.get(key) ?? 0) + Number(value));
    t.joined.set(key, t.joined.has(key) ? `${t.joined.get(key)},${value}` : value);
    t.table.set(key, value);
    const start = Math.floor(r.timestamp / WINDOW_MS) * WINDOW_MS;
    t.windowed.set(`${key}@${start}`, (t.windowed.get(`${key}@${start}`) ?? 0) + 1);
  }
  return t;
}

interface Step {
  /** Records to produce (in time order within the case). */
  count: number;
  /** Run a batch after producing, with its boundary this far into the case's produced time span (0–1). */
  batchAt?: number;
}

const caseArb = fc.record({
  keys: fc.integer({ min: 1, max: 6 }),
  spanBuckets: fc.integer({ min: 2, max: 12 }),
  steps: fc.array(
    fc.record({
      count: fc.integer({ min: 1, max: 40 }),
      batchAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  seed: fc.integer(),
});

let client: KafkaClient;
let admin: KafkaAdmin;

beforeAll(async () => {
  client = portClient();
  admin = await client.admin();
});

afterAll(async () => {
  await admin.close();
});

describe('exactness invariant (property, real broker)', () => {
  for (const bucketMs of [1_000, 60_000]) {
    it(
      `merged answers equal a from-scratch computation (bucket ${bucketMs} ms)`,
      async () => {
        const input = uniqueTopic('property-in');
        await freshTopics({ [input]: 3 });
        const applicationId = uniqueGroup('property');
        const streams = new KafkaStreams(topology(input, bucketMs), {
          applicationId,
          bootstrapServers: brokers(),
          stateDir: await tempStateDir(),
          commitIntervalMs: 100,
          sessionTimeoutMs: 6_000,
        });
        let serving: Serving | undefined;
        try {
          await streams.start();
          serving = await startServing(streams, { stateDir: await tempStateDir() });
          const { queries, views } = serving;
          const caughtUp = async (): Promise<void> =>
            waitCaughtUp(admin, streams, applicationId, await topicsRead(admin, applicationId, [input]));
          // Each case lives in a time range after the previous one's (no record is ever late).
          let clock = Math.ceil(Date.UTC(2026, 0, 1) / bucketMs) * bucketMs;
          let caseNo = 0;
          let mismatches = 0;
          const check = (keys: string[], want: Truth, allRecords: OutgoingRecord[]): void => {
            for (const key of keys) {
              for (const store of ['count', 'sum', 'joined', 'table'] as const) {
                const got = queries.get(store, key).result;
                const expected = want[store].get(key) ?? null;
                if (got !== expected) mismatches++;
                expect(got, `${store}[${key}] view ${queries.get(store, key).view?.id ?? 'none'}`).toEqual(
                  expected,
                );
              }
              const times = allRecords.filter((r) => r.key!.toString() === key).map((r) => r.timestamp);
              if (times.length === 0) continue;
              const windows = queries.fetchWindows(
                'windowed',
                key,
                Math.min(...times) - WINDOW_MS,
                Math.max(...times),
              ).result;
              const got = new Map(windows.map((w) => [`${key}@${w.start}`, w.value]));
              const expected = new Map([...want.windowed].filter(([id]) => id.startsWith(`${key}@`)));
              if (JSON.stringify([...got].sort()) !== JSON.stringify([...expected].sort())) mismatches++;
              expect(got, `windowed[${key}]`).toEqual(expected);
            }
          };
          await fc.assert(
            fc.asyncProperty(caseArb, async ({ keys, spanBuckets, steps, seed }) => {
              const id = caseNo++;
              const keyNames = Array.from({ length: keys }, (_, k) => `c${id}-k${k}`);
              const total = steps.reduce((n, s) => n + s.count, 0);
              const span = spanBuckets * bucketMs;
              const start = clock;
              clock += span + bucketMs;
              let rnd = seed >>> 0;
              const next = (): number => (
                (rnd = (Math.imul(rnd, 1_103_515_245) + 12_345) >>> 0),
                rnd / 2 ** 32
              );
              const produced: OutgoingRecord[] = [];
              let i = 0;
              let lastUntil = start;
              for (const step of steps as Step[]) {
                const batch: OutgoingRecord[] = [];
                for (let j = 0; j < step.count; j++, i++) {
                  batch.push({
                    topic: input,
                    key: Buffer.from(keyNames[Math.floor(next() * keys)]!),
                    value: Buffer.from(String(Math.floor(next() * 100))),
                    timestamp: start + Math.floor((span * i) / total),
                  });
                }
                await produceRecords(client, batch);
                produced.push(...batch);
                await caughtUp();
                if (step.batchAt !== undefined) {
                  // A boundary within what this case produced so far: never past the newest record's bucket.
                  const last = produced[produced.length - 1]!.timestamp;
                  // Boundaries only move forward (the newest view is the one with the largest boundary).
                  const untilMs = Math.max(lastUntil, start + Math.floor((last - start) * step.batchAt));
                  lastUntil = untilMs;
                  const { manifest } = await runBatch({
                    topology: topology(input, bucketMs),
                    applicationId,
                    topologyName: 'property',
                    bucketMs,
                    client,
                    untilMs,
                    keepViews: 1,
                  });
                  await eventually(() => expect(views.current?.ref.id).toBe(manifest.viewId), {
                    timeoutMs: 60_000,
                  });
                }
                await eventually(() => check(keyNames, truth(produced), produced), { timeoutMs: 20_000 });
              }
              expect(mismatches).toBe(0);
            }),
            {
              numRuns: Math.max(1, Math.floor(CASES / 2)),
              endOnFailure: true,
              ...(process.env.SERVING_PROPERTY_EXAMPLE
                ? {
                    examples: [
                      [
                        JSON.parse(
                          process.env.SERVING_PROPERTY_EXAMPLE,
                        ) as fc.Arbitrary<unknown> extends never
                          ? never
                          : Parameters<typeof caseArb.filter>[0] extends (v: infer T) => unknown
                            ? T
                            : never,
                      ],
                    ],
                  }
                : {}),
            },
          );
        } finally {
          await serving?.close();
          await streams.close();
        }
      },
      Math.max(1_800_000, CASES * 60_000),
    );
  }
});
