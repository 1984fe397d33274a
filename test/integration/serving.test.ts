/**
 * The Lambda loop on a real broker, through the worker's query engine and Kafka Streams' interactive
 * queries: a worker answers from the speed layer alone until a batch view is published, then from the
 * view merged with its deltas (count: mergeable; latest value: latest-wins; windowed count: per
 * window), with the same answers; records that arrive late for a bucket the view covers stay invisible
 * until the next batch run, which then counts them exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  Consumed,
  Grouped,
  Materialized,
  QueryableStoreTypes,
  Serdes,
  SessionWindows,
  StoreQueryParameters,
  StreamsBuilder,
  TimeWindows,
  startServing,
  type Serving,
} from '../../src/index.ts';
import { runBatch } from '../../src/batch/run-batch.ts';
import type { OutgoingRecord } from '../../src/kafka/client.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { freshTopics, portClient, produceRecords, topicsRead, waitCaughtUp } from './batch-support.ts';
import { brokers, eventually, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';

const BUCKET = 10_000;
/** Bucket-aligned, an hour ago: every boundary of the test has begun. */
const START = Math.floor((Date.now() - 3_600_000) / BUCKET) * BUCKET;

function topology(input: string) {
  const builder = new StreamsBuilder();
  const events = builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()));
  const grouped = events.groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
  grouped.count(Materialized.as<string, number>('counts'));
  grouped
    .windowedBy(TimeWindows.ofSizeAndGrace(15_000, 3_600_000))
    .count(Materialized.as<string, number>('per-window'));
  events.toTable(Materialized.as<string, string>('latest'));
  grouped
    .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5_000))
    .count(Materialized.as<string, number>('sessions'));
  const built = builder.build();
  built.bucketMs = BUCKET;
  return built;
}

interface Expected {
  counts: Map<string, number>;
  latest: Map<string, string>;
  windows: Map<string, number>; // "key@start"
}

function expected(records: OutgoingRecord[]): Expected {
  const out: Expected = { counts: new Map(), latest: new Map(), windows: new Map() };
  // The latest value is the one with the largest timestamp... as processed in offset order per key.
  for (const r of records) {
    const key = r.key!.toString();
    out.counts.set(key, (out.counts.get(key) ?? 0) + 1);
    out.latest.set(key, r.value!.toString());
    for (
      let start = Math.floor((r.timestamp - 15_000) / 15_000 + 1) * 15_000;
      start <= r.timestamp;
      start += 15_000
    ) {
      if (start < 0 || start + 15_000 <= r.timestamp) continue;
      const id = `${key}@${start}`;
      out.windows.set(id, (out.windows.get(id) ?? 0) + 1);
    }
  }
  return out;
}

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

function records(input: string, from: number, to: number, n: number, tag: string): OutgoingRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    topic: input,
    key: Buffer.from(KEYS[(i * 3 + tag.length) % KEYS.length]!),
    value: Buffer.from(`${tag}-${i}`),
    timestamp: from + Math.floor(((to - from) * i) / n),
  }));
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
});

describe('serving: batch view merged with the speed layer', () => {
  it('answers the same before and after a view swap, and counts late records once, after the next run', async () => {
    const client = portClient();
    const admin = await client.admin();
    cleanup.push(() => admin.close());
    const input = uniqueTopic('serving-in');
    await freshTopics({ [input]: 2 });
    const applicationId = uniqueGroup('serving');

    const first = records(input, START, START + 60_000, 300, 'one');
    await produceRecords(client, first);
    const streams = new KafkaStreams(topology(input), {
      applicationId,
      bootstrapServers: brokers(),
      stateDir: await tempStateDir(),
      commitIntervalMs: 100,
      sessionTimeoutMs: 6_000,
    });
    cleanup.push(() => streams.close());
    await streams.start();
    const serving: Serving = await startServing(streams, { stateDir: await tempStateDir() });
    cleanup.push(() => serving.close());
    const { queries } = serving;
    const caughtUp = async (): Promise<void> =>
      waitCaughtUp(admin, streams, applicationId, await topicsRead(admin, applicationId, [input]));

    const check = (want: Expected, viewId: string | null, sessionsExact = false): void => {
      for (const key of KEYS) {
        const count = queries.get('counts', key);
        expect(count.view?.id ?? null).toBe(viewId);
        expect(count.result, `count of ${key} (view ${viewId})`).toBe(want.counts.get(key) ?? null);
        expect(queries.get('latest', key).result, `latest of ${key}`).toBe(want.latest.get(key) ?? null);
        const windows = queries.fetchWindows('per-window', key, START - 60_000, START + 200_000).result;
        const got = new Map(windows.map((w) => [`${key}@${w.start}`, w.value]));
        const wanted = new Map([...want.windows].filter(([id]) => id.startsWith(`${key}@`)));
        expect(got, `windows of ${key} (view ${viewId})`).toEqual(wanted);
      }
      // The interactive-query API answers the same merged values.
      const store = streams.store(
        StoreQueryParameters.fromNameAndType('counts', QueryableStoreTypes.keyValueStore<string, number>()),
      );
      const local = [...store.all()];
      for (const { key, value } of local) expect(value).toBe(want.counts.get(key));
      expect(local.length).toBeGreaterThan(0);
      // Key-range scans of window and session stores equal their per-key fetches.
      const windowStore = streams.store(
        StoreQueryParameters.fromNameAndType('per-window', QueryableStoreTypes.windowStore<string, number>()),
      );
      const all = [...windowStore.fetchAll(START - 60_000, START + 200_000)].map(
        (e) => `${e.key.key}@${e.key.window.start}=${e.value}`,
      );
      const perKey = local.flatMap(({ key }) =>
        [...windowStore.fetchRange(key, START - 60_000, START + 200_000)].map(
          (w) => `${key}@${w.windowStart}=${w.value}`,
        ),
      );
      expect(all.sort()).toEqual(perKey.sort());
      const sessionStore = streams.store(
        StoreQueryParameters.fromNameAndType('sessions', QueryableStoreTypes.sessionStore<string, number>()),
      );
      const scanned = [...sessionStore.fetchRange(undefined, undefined)].map(
        (e) => `${e.key.key}:${e.key.window.start}-${e.key.window.end}=${e.value}`,
      );
      const fetched = local.flatMap(({ key }) =>
        [...sessionStore.fetch(key)].map(
          (e) => `${key}:${e.key.window.start}-${e.key.window.end}=${e.value}`,
        ),
      );
      expect(scanned.sort()).toEqual(fetched.sort());
      // Until late records come, every record of a key sits in exactly one of its merged sessions (the
      // input is in time order per key, with gaps far below the inactivity gap: one session a key,
      // which the speed layer extended past the view's boundary). Late records, with no grace, are
      // dropped or taken depending on how far the task's stream time has moved.
      for (const { key } of sessionsExact ? local : []) {
        const total = [...sessionStore.fetch(key)].reduce((n, e) => n + Number(e.value), 0);
        expect(total, `sessions of ${key}`).toBe(want.counts.get(key));
      }
    };

    await caughtUp();
    await eventually(() => check(expected(first), null, true), { timeoutMs: 30_000 });

    // A batch view of buckets < 4 (records before START + 40 s).
    const view1 = await runBatch({
      topology: topology(input),
      applicationId,
      topologyName: 'serving',
      bucketMs: BUCKET,
      client,
      untilMs: START + 40_000,
    });
    await eventually(() => expect(serving.views.current?.ref.id).toBe(view1.manifest.viewId), {
      timeoutMs: 60_000,
    });
    check(expected(first), view1.manifest.viewId, true);
    // The deltas of the buckets the view covers are gone.
    await eventually(() => {
      for (const task of streams.activeTasks())
        for (const delta of task.task.deltaIndexes.values())
          expect(Math.min(...delta.buckets())).toBeGreaterThanOrEqual(4 + START / BUCKET);
    });

    // New records in later buckets, and late ones for a bucket the view covers.
    const later = records(input, START + 60_000, START + 80_000, 100, 'two');
    const late = records(input, START + 12_000, START + 18_000, 30, 'late');
    await produceRecords(client, [...later, ...late]);
    await caughtUp();
    // Counts and windows: the late records are not merged yet. Latest-wins: a key that changed in a
    // bucket at or past the boundary answers the speed layer's value (which saw the late records
    // too, in offset order); any other key answers the view's value, without them.
    const withoutLate = expected([...first, ...later]);
    const speedLatest = expected([...first, ...later, ...late]).latest;
    const changedSince = new Set(later.map((r) => r.key!.toString()));
    for (const key of changedSince) withoutLate.latest.set(key, speedLatest.get(key)!);
    await eventually(() => check(withoutLate, view1.manifest.viewId), { timeoutMs: 30_000 });
    // Every late record was counted, and nothing else.
    const metrics = await streams.metrics.scrape();
    const lateMetric = /lambda_streams_serving_late_records_total\{[^}]*topic="([^"]+)"[^}]*\} (\d+)/.exec(
      metrics,
    );
    expect(lateMetric?.[1]).toBe(input);
    expect(Number(lateMetric?.[2])).toBe(late.length);

    // The next run covers them: counted exactly once.
    const view2 = await runBatch({
      topology: topology(input),
      applicationId,
      topologyName: 'serving',
      bucketMs: BUCKET,
      client,
      untilMs: START + 70_000,
    });
    await eventually(() => expect(serving.views.current?.ref.id).toBe(view2.manifest.viewId), {
      timeoutMs: 60_000,
    });
    const all = expected([...first, ...later, ...late]);
    // The latest value is by offset order (the late records came last).
    check(all, view2.manifest.viewId);
  }, 300_000);

  it('reports the committed offsets as the position of a restarted worker that has nothing new to process', async () => {
    const client = portClient();
    const admin = await client.admin();
    cleanup.push(() => admin.close());
    const input = uniqueTopic('serving-restart');
    await freshTopics({ [input]: 2 });
    const applicationId = uniqueGroup('serving-restart');
    const sent = records(input, START, START + 30_000, 120, 'one');
    await produceRecords(client, sent);
    const ends = new Map((await admin.endOffsets(input)).map((e) => [String(e.partition), e.high]));
    const stateDir = await tempStateDir();
    const start = async (): Promise<{ streams: KafkaStreams; serving: Serving }> => {
      const streams = new KafkaStreams(topology(input), {
        applicationId,
        bootstrapServers: brokers(),
        stateDir,
        commitIntervalMs: 100,
        sessionTimeoutMs: 6_000,
      });
      await streams.start();
      const serving = await startServing(streams, { stateDir: await tempStateDir() });
      return { streams, serving };
    };

    const first = await start();
    await waitCaughtUp(admin, first.streams, applicationId, await topicsRead(admin, applicationId, [input]));
    await first.serving.close();
    await first.streams.close();

    // Same group, same state: everything is committed, nothing new arrives.
    const second = await start();
    cleanup.push(
      () => second.streams.close(),
      () => second.serving.close(),
    );
    await eventually(
      () => {
        expect(second.serving.queries.get('counts', 'a').result).toBe(expected(sent).counts.get('a'));
        const position = second.serving.queries.position();
        expect(position.offsets[input]).toEqual(Object.fromEntries(ends));
        expect(position.lagRecords).toBe(0);
      },
      { timeoutMs: 60_000 },
    );
  }, 180_000);
});
