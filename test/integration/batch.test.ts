/**
 * The batch layer on the real broker, with the example topologies of topologies/: a published view
 * holds, store partition for store partition, what the speed layer's stores hold after processing the
 * same records below the boundary; records past the boundary stay out; runs over one snapshot publish
 * identical checksums, in one process or three; a killed run publishes nothing and the next run
 * cleans up after it; a record that cannot be read fails the run with its topic, partition and offset.
 */
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runBatch } from '../../src/batch/run-batch.ts';
import { viewDataTopicPrefix, type ViewManifest } from '../../src/batch/view-manifest.ts';
import { loadTopologyFile } from '../../src/cli/load-topology.ts';
import type { KafkaAdmin, KafkaClient, OutgoingRecord } from '../../src/kafka/client.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { brokers, uniqueGroup } from './helpers.ts';
import {
  ROOT,
  freshTopics,
  portClient,
  produceRecords,
  runCli,
  speedStore,
  topicsRead,
  viewStore,
  views,
  waitCaughtUp,
} from './batch-support.ts';
import { tempStateDir } from './runtime-support.ts';

const HOUR = 3_600_000;
/**
 * Data spans buckets [START, START + 6 h), ending 2 h before now (so every boundary has begun); the
 * boundary falls after 4 of them.
 */
const START = Math.floor((Date.now() - 8 * 3_600_000) / 3_600_000) * 3_600_000;
const BOUNDARY = START + 4 * HOUR;
const TEST_MS = 300_000;

let client: KafkaClient;
let admin: KafkaAdmin;

beforeAll(async () => {
  client = portClient();
  admin = await client.admin();
});

afterAll(async () => {
  await admin.close();
});

const enc = (s: string): Buffer => Buffer.from(s);
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

interface Example {
  file: string;
  topics: Record<string, number>;
  /** Records with timestamps in [START, START + 6 h), in time order. */
  records: () => OutgoingRecord[];
  stores: Array<{ name: string; kind: 'key-value' | 'window' }>;
  /** Threads a run asked for 3 uses: at most one per task of the widest stage. */
  threads: number;
}

const WORDS = ['kafka', 'stream', 'lambda', 'batch', 'speed', 'view', 'merge', 'bucket', 'table'];

const EXAMPLES: Example[] = [
  {
    file: 'word-count.ts',
    topics: { 'text-lines': 3, 'word-counts': 3 },
    records: () =>
      Array.from({ length: 3_000 }, (_, i) => ({
        topic: 'text-lines',
        key: enc(`line-${i}`),
        value: enc(`${WORDS[i % 9]} ${WORDS[(i * 7) % 9]} ${WORDS[(i * 5 + 1) % 9]}`),
        timestamp: START + Math.floor((i * 6 * HOUR) / 3_000),
      })),
    stores: [{ name: 'word-counts', kind: 'key-value' }],
    threads: 3,
  },
  {
    // One input partition: the windowed count sits behind a repartition topic, and several upstream
    // tasks far apart in stream time would make the speed layer drop records as late (the batch
    // layer reads the repartitioned records in time order and would not).
    file: 'pageviews.ts',
    topics: { pageviews: 1, 'pageviews-per-minute': 3 },
    records: () =>
      Array.from({ length: 3_000 }, (_, i) => ({
        topic: 'pageviews',
        key: enc(`user-${i % 17}`),
        value: json({ page: `/page/${(i * 13) % 7}`, user: `user-${i % 17}` }),
        timestamp: START + Math.floor((i * 6 * HOUR) / 3_000),
      })),
    stores: [{ name: 'pageviews-per-minute', kind: 'window' }],
    // One source partition, so one repartition partition: every stage has a single task.
    threads: 1,
  },
  {
    file: 'fraud-detection.ts',
    topics: { transactions: 3, 'account-profiles': 3, 'fraud-alerts': 3 },
    records: () => [
      ...Array.from({ length: 20 }, (_, a) => ({
        topic: 'account-profiles',
        key: enc(`acct-${a}`),
        value: json({ owner: `owner-${a}` }),
        timestamp: START,
      })),
      ...Array.from({ length: 2_000 }, (_, i) => ({
        topic: 'transactions',
        key: enc(`acct-${i % 20}`),
        value: json({ id: `t-${i}`, amount: 10 + ((i * 37) % 90) + (i % 97 === 0 ? 5_000 : 0) }),
        timestamp: START + 1_000 + Math.floor((i * 6 * HOUR) / 2_000),
      })),
    ],
    stores: [{ name: 'account-stats', kind: 'key-value' }],
    threads: 3,
  },
];

const storeChecksums = (m: ViewManifest): string[] =>
  Object.entries(m.stores).flatMap(([store, s]) =>
    s.partitions.map((p) => `${store}/${p.partition}:${p.records}:${p.checksum}`),
  );

describe('batch layer on a real broker', () => {
  for (const example of EXAMPLES) {
    it(
      `${example.file}: the view equals the speed layer's stores over the records below the boundary`,
      async () => {
        const file = path.join(ROOT, 'topologies', example.file);
        const { topology, bucketMs } = await loadTopologyFile(file);
        expect(bucketMs).toBe(HOUR);
        // The broker's default retention (7 days): the view records a warning about it.
        await freshTopics(example.topics, { finiteRetention: true });
        const all = example.records();
        const below = all.filter((r) => r.timestamp < BOUNDARY);
        const above = all.filter((r) => r.timestamp >= BOUNDARY);
        expect(below.length).toBeGreaterThan(0);
        expect(above.length).toBeGreaterThan(0);
        await produceRecords(client, below);

        // The speed layer over the records below the boundary.
        const applicationId = uniqueGroup(`batch-${path.basename(example.file, '.ts')}`);
        const streams = new KafkaStreams(topology, {
          applicationId,
          bootstrapServers: brokers(),
          stateDir: await tempStateDir(),
          commitIntervalMs: 100,
          sessionTimeoutMs: 6_000,
        });
        const speed = new Map<string, Map<number, string[]>>();
        try {
          await streams.start();
          const sources = Object.keys(example.topics).filter((t) =>
            topology.sources().some((s) => s.topics.includes(t)),
          );
          await waitCaughtUp(admin, streams, applicationId, await topicsRead(admin, applicationId, sources));
          for (const store of example.stores)
            speed.set(store.name, speedStore(streams, store.name, store.kind));
        } finally {
          await streams.close();
        }

        // Then records past the boundary arrive, and the batch layer runs with that boundary.
        await produceRecords(client, above);
        const { topology: again } = await loadTopologyFile(file);
        const result = await runBatch({
          topology: again,
          applicationId,
          topologyName: example.file,
          bucketMs,
          client,
          untilMs: BOUNDARY + 1_234,
        });
        const manifest = result.manifest;
        expect(manifest.boundaryBucket).toBe(BOUNDARY / HOUR);
        expect(manifest.boundaryTime).toBe(new Date(BOUNDARY).toISOString());
        expect(manifest.records.read).toBe(all.length);
        expect(manifest.records.processed).toBe(below.length);
        expect(manifest.records.beyondBoundary).toBe(above.length);
        expect(Object.keys(manifest.stores).sort()).toEqual(example.stores.map((s) => s.name).sort());
        // Source topics created with the broker's default retention: the view says so.
        expect(manifest.warnings.some((w) => w.includes('retention.ms'))).toBe(true);
        expect(manifest.sources.map((s) => s.topic).sort()).toEqual(
          Object.keys(example.topics)
            .filter((t) => topology.sources().some((s) => s.topics.includes(t)))
            .sort(),
        );

        for (const store of example.stores) {
          const published = await viewStore(client, admin, manifest, store.name);
          const expected = speed.get(store.name)!;
          expect([...published.keys()].sort()).toEqual([...expected.keys()].sort());
          for (const [partition, records] of expected) {
            expect(published.get(partition), `${store.name} partition ${partition}`).toEqual(records);
          }
          expect([...expected.values()].flat().length).toBeGreaterThan(0);
        }
        const listed = await views(client, admin, applicationId);
        expect(listed.map((v) => v.viewId)).toEqual([manifest.viewId]);

        // Three threads of one process (batch-threads.ts) publish the very same view.
        const threaded = await runBatch({
          topology: (await loadTopologyFile(file)).topology,
          applicationId,
          topologyName: example.file,
          bucketMs,
          client,
          untilMs: BOUNDARY + 1_234,
          threads: 3,
          topologyFile: file,
          clientConfig: { brokers: brokers(), clientId: 'lambda-streams-batch-test' },
        });
        // Asked for 3, a run keeps one thread per task of its widest stage.
        expect(threaded.threads).toBe(example.threads);
        expect(threaded.manifest.viewId).not.toBe(manifest.viewId);
        expect(threaded.manifest.records).toEqual(manifest.records);
        expect(threaded.stats.read).toBe(all.length);
        expect(storeChecksums(threaded.manifest)).toEqual(storeChecksums(manifest));
      },
      TEST_MS,
    );
  }

  describe('runs of the word count over one snapshot', () => {
    const applicationId = uniqueGroup('batch-wc-runs');
    const file = path.join(ROOT, 'topologies', 'word-count.ts');
    const batchArgs = [
      'batch',
      file,
      '--application-id',
      applicationId,
      '--until',
      String(BOUNDARY),
      '--json',
    ];

    beforeAll(async () => {
      await freshTopics({ 'text-lines': 3, 'word-counts': 3 });
      await produceRecords(client, EXAMPLES[0]!.records());
    }, TEST_MS);

    const checksums = (m: ViewManifest): string[] =>
      Object.entries(m.stores).flatMap(([store, s]) =>
        s.partitions.map((p) => `${store}/${p.partition}:${p.records}:${p.checksum}`),
      );

    it(
      'publish identical checksums, in one process or three, and keep the newest views',
      async () => {
        const first = await runCli(batchArgs);
        expect(first.code, first.stderr).toBe(0);
        const one = JSON.parse(first.stdout) as ViewManifest & { run: { threads: number } };
        // --threads auto (the default) runs a run this small on one thread.
        expect(one.run.threads).toBe(1);
        // The source topic keeps its records forever (retention.ms=-1): nothing to warn about.
        expect(one.warnings).toEqual([]);
        expect(one.sources[0]!.retentionMs).toBe(-1);
        const second = await runCli(batchArgs);
        expect(second.code, second.stderr).toBe(0);
        const again = JSON.parse(second.stdout) as ViewManifest;
        expect(again.viewId).not.toBe(one.viewId);
        expect(checksums(again)).toEqual(checksums(one));

        const threads = await runCli([...batchArgs, '--threads', '2']);
        expect(threads.code, threads.stderr).toBe(0);
        const viaThreads = JSON.parse(threads.stdout) as ViewManifest & { run: { threads: number } };
        expect(viaThreads.run.threads).toBe(2);
        expect(checksums(viaThreads)).toEqual(checksums(one));

        const three = await Promise.all(
          [0, 1, 2].map((i) =>
            runCli([
              ...batchArgs,
              '--instances',
              '3',
              '--instance-id',
              String(i),
              '--instance-timeout',
              '120',
            ]),
          ),
        );
        for (const run of three) expect(run.code, run.stderr).toBe(0);
        const manifests = three.map((r) => JSON.parse(r.stdout) as ViewManifest);
        expect(new Set(manifests.map((m) => m.viewId)).size).toBe(1);
        expect(manifests[0]!.instances).toBe(3);
        expect(checksums(manifests[0]!)).toEqual(checksums(one));

        // --keep-views 2 (the default): the older views were retired, their data topics deleted.
        const listed = await views(client, admin, applicationId);
        expect(listed.map((v) => v.viewId).sort()).toEqual([viaThreads.viewId, manifests[0]!.viewId].sort());
        const topics = await admin.listTopics();
        expect(topics.filter((t) => t.startsWith(viewDataTopicPrefix(applicationId, one.viewId)))).toEqual(
          [],
        );
        expect(topics.filter((t) => t.startsWith(`${applicationId}-batch-run-`))).toEqual([]);

        const listing = await runCli(['batch', 'views', file, '--application-id', applicationId]);
        expect(listing.code, listing.stderr).toBe(0);
        expect(listing.stdout).toContain(manifests[0]!.viewId);
        expect(listing.stdout).toContain(new Date(BOUNDARY).toISOString());
      },
      TEST_MS,
    );

    it(
      'a run killed midway publishes nothing; the next run removes its data and publishes',
      async () => {
        const before = (await views(client, admin, applicationId)).map((v) => v.viewId);
        // Instance 0 of a two-instance run whose instance 1 never comes: it has created its view topics
        // and computed its share when it waits at the first barrier; it is killed there.
        const killed = await runCli(
          [...batchArgs, '--instances', '2', '--instance-id', '0', '--instance-timeout', '120'],
          {
            env: { LOG_LEVEL: 'info' },
            onStderr: (text, kill) => {
              if (text.includes('waiting for the other instances')) kill('SIGKILL');
            },
          },
        );
        expect(killed.signal).toBe('SIGKILL');
        const runTopics = (await admin.listTopics()).filter(
          (t) => t.startsWith(viewDataTopicPrefix(applicationId)) && !before.some((id) => t.includes(id)),
        );
        expect(runTopics.length).toBeGreaterThan(0); // its partial data exists...
        expect((await views(client, admin, applicationId)).map((v) => v.viewId)).toEqual(before); // ...unpublished

        const next = await runCli(batchArgs);
        expect(next.code, next.stderr).toBe(0);
        const published = JSON.parse(next.stdout) as ViewManifest;
        const left = new Set(await admin.listTopics());
        for (const t of runTopics) expect(left.has(t), `${t} was left behind`).toBe(false);
        expect((await views(client, admin, applicationId)).map((v) => v.viewId)).toContain(published.viewId);
      },
      TEST_MS,
    );

    it(
      'Ctrl-C stops a run with exit code 130 and publishes nothing',
      async () => {
        const before = (await views(client, admin, applicationId)).map((v) => v.viewId);
        let sent = false;
        const interrupted = await runCli(
          [...batchArgs, '--instances', '2', '--instance-id', '0', '--instance-timeout', '120'],
          {
            env: { LOG_LEVEL: 'info' },
            onStderr: (text, kill) => {
              // Once: a second Ctrl-C ends the process at once, as in a terminal.
              if (sent || !text.includes('waiting for the other instances')) return;
              sent = true;
              kill('SIGINT');
            },
          },
        );
        expect(interrupted.code).toBe(130);
        expect(interrupted.stderr).toContain('no view was published');
        expect((await views(client, admin, applicationId)).map((v) => v.viewId)).toEqual(before);
        // A clean stop removes its own data at once.
        const orphans = (await admin.listTopics()).filter(
          (t) => t.startsWith(viewDataTopicPrefix(applicationId)) && !before.some((id) => t.includes(id)),
        );
        expect(orphans).toEqual([]);
      },
      TEST_MS,
    );
  });

  it(
    'a record that cannot be deserialized fails the run (--on-bad-record fail), naming topic, partition and offset',
    async () => {
      await freshTopics({ pageviews: 1, 'pageviews-per-minute': 1 });
      await produceRecords(client, [
        { topic: 'pageviews', key: enc('u1'), value: json({ page: '/a', user: 'u1' }), timestamp: START },
        { topic: 'pageviews', key: enc('u2'), value: enc('{not json'), timestamp: START + 1 },
      ]);
      const applicationId = uniqueGroup('batch-bad');
      const file = path.join(ROOT, 'topologies', 'pageviews.ts');
      const failed = await runCli([
        'batch',
        file,
        '--application-id',
        applicationId,
        '--until',
        String(BOUNDARY),
        '--on-bad-record',
        'fail',
      ]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/no view was published/);
      expect(failed.stderr).toMatch(/topic 'pageviews' partition 0 offset 1/);
      expect(await views(client, admin, applicationId)).toEqual([]);
      expect(
        (await admin.listTopics()).filter((t) => t.startsWith(viewDataTopicPrefix(applicationId))),
      ).toEqual([]);

      // The default skips it, counts it and publishes.
      const skipped = await runCli([
        'batch',
        file,
        '--application-id',
        applicationId,
        '--until',
        String(BOUNDARY),
        '--json',
      ]);
      expect(skipped.code, skipped.stderr).toBe(0);
      const manifest = JSON.parse(skipped.stdout) as ViewManifest;
      expect(manifest.records).toMatchObject({ read: 2, processed: 1, skipped: 1 });
    },
    TEST_MS,
  );

  it(
    'a bad record on a worker thread fails a threaded run: the process exits 1 and publishes nothing',
    async () => {
      // Two source partitions over two threads: partition 1 is thread 1's (partition % threads).
      await freshTopics({ pageviews: 2, 'pageviews-per-minute': 1 });
      await produceRecords(client, [
        ...[0, 1].map((partition) => ({
          topic: 'pageviews',
          partition,
          key: enc('u1'),
          value: json({ page: '/a', user: 'u1' }),
          timestamp: START,
        })),
        { topic: 'pageviews', partition: 1, key: enc('u2'), value: enc('{not json'), timestamp: START + 1 },
      ]);
      const applicationId = uniqueGroup('batch-bad-threads');
      const failed = await runCli([
        'batch',
        path.join(ROOT, 'topologies', 'pageviews.ts'),
        '--application-id',
        applicationId,
        '--until',
        String(BOUNDARY),
        '--on-bad-record',
        'fail',
        '--threads',
        '2',
      ]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/no view was published/);
      expect(failed.stderr).toMatch(/batch thread 1: .*topic 'pageviews' partition 1 offset 1/);
      expect(await views(client, admin, applicationId)).toEqual([]);
      expect(
        (await admin.listTopics()).filter((t) => t.startsWith(viewDataTopicPrefix(applicationId))),
      ).toEqual([]);
    },
    TEST_MS,
  );

  it(
    'refuses a boundary in the future, a missing source topic and an unknown file, publishing nothing',
    async () => {
      const file = path.join(ROOT, 'topologies', 'word-count.ts');
      const future = await runCli([
        'batch',
        file,
        '--application-id',
        uniqueGroup('batch-future'),
        '--until',
        '2999-01-01T00:00:00Z',
      ]);
      expect(future.code).toBe(1);
      expect(future.stderr).toMatch(/is in the future/);
      const missing = await runCli(['batch', path.join(ROOT, 'test/integration/fixtures/missing-source.ts')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/'lambda-streams-no-such-topic' do not exist/);
      const unknown = await runCli(['batch', path.join(ROOT, 'topologies', 'no-such-file.ts')]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/Topology file not found/);
    },
    TEST_MS,
  );
});
