/**
 * KStream#deduplicate on a real broker: a worker under exactly_once drops resent records, a worker
 * started on a fresh state directory (its ids restored from the changelog) still drops copies of
 * records seen before it started, and a batch run over the same input counts the same unique records.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Consumed, Grouped, Materialized, Produced, Serdes, StreamsBuilder } from '../../src/index.ts';
import { runBatch } from '../../src/batch/run-batch.ts';
import type { OutgoingRecord } from '../../src/kafka/client.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import {
  freshTopics,
  portClient,
  produceRecords,
  speedStore,
  topicsRead,
  viewStore,
  waitCaughtUp,
} from './batch-support.ts';
import { brokers, consumeN, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';

const BUCKET = 60_000;
const START = Math.floor((Date.now() - 3_600_000) / BUCKET) * BUCKET;
const S = Serdes.String();

function topology(input: string, output: string) {
  const builder = new StreamsBuilder();
  const unique = builder.stream(input, Consumed.with(S, S)).deduplicate(600_000);
  unique.to(output, Produced.with(S, S));
  unique.groupBy((_k, v) => v.split(':')[0]!, Grouped.with(S, S)).count(Materialized.as('per-customer'));
  const built = builder.build();
  built.bucketMs = BUCKET;
  return built;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
});

describe('deduplicate on a real broker', () => {
  it('drops resent records across a restart that restores the ids from the changelog, and a batch run agrees', async () => {
    const client = portClient();
    const admin = await client.admin();
    cleanup.push(() => admin.close());
    const input = uniqueTopic('dedup-in');
    const output = uniqueTopic('dedup-out');
    await freshTopics({ [input]: 2, [output]: 1 });
    const applicationId = uniqueGroup('dedup');
    const payment = (id: number, at: number): OutgoingRecord => ({
      topic: input,
      key: Buffer.from(`pay-${id}`),
      value: Buffer.from(`c${id % 3}:${id}`),
      timestamp: START + at,
    });
    const start = async (): Promise<KafkaStreams> => {
      const streams = new KafkaStreams(topology(input, output), {
        applicationId,
        bootstrapServers: brokers(),
        stateDir: await tempStateDir(), // fresh each time: the ids come back from the changelog
        processingGuarantee: 'exactly_once',
        commitIntervalMs: 100,
        sessionTimeoutMs: 6_000,
      });
      await streams.start();
      return streams;
    };

    // 30 payments, each of the first 10 sent twice.
    const first = [
      ...Array.from({ length: 30 }, (_, i) => payment(i, i * 1_000)),
      ...Array.from({ length: 10 }, (_, i) => payment(i, i * 1_000 + 500)),
    ];
    await produceRecords(client, first);
    const one = await start();
    await waitCaughtUp(admin, one, applicationId, await topicsRead(admin, applicationId, [input]));
    await one.close();

    // After the restart: copies of 20 payments seen before, and 5 new ones.
    await produceRecords(client, [
      ...Array.from({ length: 20 }, (_, i) => payment(i + 5, 40_000 + i)),
      ...Array.from({ length: 5 }, (_, i) => payment(100 + i, 60_000 + i)),
    ]);
    const two = await start();
    cleanup.push(() => two.close());
    await waitCaughtUp(admin, two, applicationId, await topicsRead(admin, applicationId, [input]));

    const out = await consumeN(output, 35, { settleMs: 2_000 });
    expect(out.map((r) => r.key).sort()).toEqual(
      [
        ...Array.from({ length: 30 }, (_, i) => `pay-${i}`),
        ...Array.from({ length: 5 }, (_, i) => `pay-${100 + i}`),
      ].sort(),
    );
    const metrics = await two.metrics.scrape();
    expect(metrics).toMatch(/lambda_streams_dropped_records_total\{[^}]*reason="duplicate"[^}]*\} \d+/);

    // The batch layer runs the same operator over the whole input: the same counts per customer.
    const result = await runBatch({
      topology: topology(input, output),
      applicationId,
      topologyName: 'dedup',
      bucketMs: BUCKET,
      client,
      untilMs: START + 10 * BUCKET,
    });
    expect(await viewStore(client, admin, result.manifest, 'per-customer')).toEqual(
      speedStore(two, 'per-customer', 'key-value'),
    );
  }, 240_000);
});
