/**
 * Error handlers on a real broker: a worker under exactly_once continues past records it cannot
 * deserialize and records its processor throws on, writes each of them (bytes as produced, origin in
 * headers) to a dead-letter topic, and counts everything else exactly; a batch run with the same
 * handlers publishes the same store; a dead-letter topic that does not exist stops the start with a
 * message that names it.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  Consumed,
  DEAD_LETTER_HEADERS as H,
  Grouped,
  LogAndContinueExceptionHandler,
  Materialized,
  Serdes,
  StreamsBuilder,
} from '../../src/index.ts';
import { runBatch } from '../../src/batch/run-batch.ts';
import type { OutgoingRecord } from '../../src/kafka/client.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import {
  freshTopics,
  portClient,
  produceRecords,
  speedStore,
  storeValues,
  topicsRead,
  viewStore,
  waitCaughtUp,
} from './batch-support.ts';
import { brokers, consumeN, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';

const BUCKET = 60_000;
const START = Math.floor((Date.now() - 3_600_000) / BUCKET) * BUCKET;

function topology(input: string) {
  const builder = new StreamsBuilder();
  builder
    .stream(input, Consumed.with(Serdes.String(), Serdes.JSON<{ n: number | string }>()))
    .mapValues((v) => {
      if (v.n === 'boom') throw new Error(`cannot take ${JSON.stringify(v)}`);
      return Number(v.n);
    })
    .groupByKey(Grouped.with(Serdes.String(), Serdes.JSON<number>()))
    .count(Materialized.as<string, number>('counts'));
  const built = builder.build();
  built.bucketMs = BUCKET;
  return built;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
});

describe('error handlers and the dead-letter topic', () => {
  it('a worker continues past bad and failing records, dead-letters each once, and a batch run agrees', async () => {
    const client = portClient();
    const admin = await client.admin();
    cleanup.push(() => admin.close());
    const input = uniqueTopic('handlers-in');
    const dlq = uniqueTopic('handlers-dlq');
    await freshTopics({ [input]: 2, [dlq]: 1 });
    const applicationId = uniqueGroup('handlers');

    const records: OutgoingRecord[] = [];
    const good = new Map<string, number>();
    const bad: Array<{ key: string; value: string; exception: string }> = [];
    for (let i = 0; i < 60; i++) {
      const key = `k${i % 5}`;
      let value = JSON.stringify({ n: i });
      if (i % 13 === 4) {
        value = `{broken-${i}`;
        bad.push({ key, value, exception: 'DeserializationError' });
      } else if (i % 17 === 8) {
        value = JSON.stringify({ n: 'boom' });
        bad.push({ key, value, exception: 'Error' });
      } else good.set(key, (good.get(key) ?? 0) + 1);
      records.push({ topic: input, key: Buffer.from(key), value: Buffer.from(value), timestamp: START + i });
    }
    await produceRecords(client, records);

    const streams = new KafkaStreams(topology(input), {
      applicationId,
      bootstrapServers: brokers(),
      stateDir: await tempStateDir(),
      processingGuarantee: 'exactly_once',
      commitIntervalMs: 100,
      sessionTimeoutMs: 6_000,
      deserializationExceptionHandler: new LogAndContinueExceptionHandler(),
      processingExceptionHandler: new LogAndContinueExceptionHandler(),
      deadLetterQueueTopic: dlq,
    });
    cleanup.push(() => streams.close());
    await streams.start();
    await waitCaughtUp(admin, streams, applicationId, await topicsRead(admin, applicationId, [input]));

    // Every good record counted once; nothing of the bad ones.
    expect(storeValues<number>(streams, 'counts')).toEqual(good);

    // Each bad record once in the dead-letter topic: its bytes as produced, where it was, what failed.
    const dead = await consumeN(dlq, bad.length, { settleMs: 1_000 });
    expect(
      dead.map((d) => ({ key: d.key, value: d.value, exception: d.headers[H.exception] })).sort(byValue),
    ).toEqual([...bad].sort(byValue));
    const ends = new Map((await admin.endOffsets(input)).map((e) => [e.partition, e.high]));
    for (const d of dead) {
      expect(d.headers[H.topic]).toBe(input);
      const partition = Number(d.headers[H.partition]);
      expect(Number(d.headers[H.offset])).toBeLessThan(ends.get(partition)!);
      expect(d.headers[H.timestamp]).toBe(d.timestamp);
      expect(d.headers[H.message]).toMatch(
        d.headers[H.exception] === 'Error' ? /cannot take/ : /deserialize value/,
      );
      expect(d.headers[H.processor]).toMatch(d.headers[H.exception] === 'Error' ? /MAPVALUES/ : /SOURCE/);
    }
    const metrics = await streams.metrics.scrape();
    expect(metrics).toMatch(/lambda_streams_dropped_records_total\{[^}]*reason="processing-error"[^}]*\} 2/);

    // The batch layer with the same handlers publishes the store the worker holds.
    const result = await runBatch({
      topology: topology(input),
      applicationId,
      topologyName: 'handlers',
      bucketMs: BUCKET,
      client,
      untilMs: START + 10 * BUCKET,
      errorHandlers: { processingExceptionHandler: new LogAndContinueExceptionHandler() },
    });
    expect(result.stats.skipped).toBe(bad.length);
    expect(await viewStore(client, admin, result.manifest, 'counts')).toEqual(
      speedStore(streams, 'counts', 'key-value'),
    );
  }, 240_000);

  it('refuses to start when the dead-letter topic does not exist, naming it', async () => {
    const input = uniqueTopic('handlers-in');
    await freshTopics({ [input]: 1 });
    const missing = uniqueTopic('no-such-dlq');
    const streams = new KafkaStreams(topology(input), {
      applicationId: uniqueGroup('handlers'),
      bootstrapServers: brokers(),
      stateDir: await tempStateDir(),
      deadLetterQueueTopic: missing,
    });
    cleanup.push(() => streams.close());
    await expect(streams.start()).rejects.toThrow(
      new RegExp(`dead-letter topic '${missing}' does not exist`),
    );
  }, 120_000);
});

const byValue = (
  a: { key: string | null; value: string | null },
  b: { key: string | null; value: string | null },
): number => `${a.key}|${a.value}`.localeCompare(`${b.key}|${b.value}`);
