/**
 * The batch layer against the speed layer on the real broker, for topologies and generated input of
 * the differential suite: after the speed layer (caching off, so every update is applied as in the
 * batch layer) has processed the records below the boundary, each of its stores holds exactly what
 * the batch view publishes for it, record for record (internal stores included). One partition per
 * topic: stream time is then the same in both layers (see test/unit/batch/batch-scenarios.test.ts for
 * more partitions without a broker). Input is in time order; late records are the speed layer's
 * business, not a batch view's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runBatch } from '../../src/batch/run-batch.ts';
import type { KafkaAdmin, KafkaClient, OutgoingRecord } from '../../src/kafka/client.ts';
import { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { caseSeed, generateCase } from '../differential/generate.ts';
import { TOPOLOGIES } from '../differential/scenarios.ts';
import { scenarioSpec } from '../differential/specs.ts';
import {
  freshTopics,
  portClient,
  produceRecords,
  speedStore,
  topicsRead,
  viewStore,
  waitCaughtUp,
} from './batch-support.ts';
import { brokers, uniqueGroup } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';

/** Aggregations, tables, windows of every kind, suppress and a foreign-key join (cyclic stage). */
const SCENARIOS = [
  'count',
  'windowed-count',
  'table-groupby-count',
  'table-table-join',
  'fk-join',
  'session-count',
  'sliding-count',
  'suppress-window-close',
];
const BUCKET_MS = 10_000;

let client: KafkaClient;
let admin: KafkaAdmin;

beforeAll(async () => {
  client = portClient();
  admin = await client.admin();
});

afterAll(async () => {
  await admin.close();
});

describe('batch views equal the speed layer on differential topologies (real broker)', () => {
  for (const name of SCENARIOS) {
    it(
      name,
      async () => {
        const spec = scenarioSpec(name);
        const build = TOPOLOGIES[name]!;
        const seed = caseSeed(7, name, 0);
        const input = generateCase({ ...spec, input: { ...spec.input, outOfOrderRate: 0 } }, seed).input;
        const records: OutgoingRecord[] = input.map((r, i) => ({
          topic: r.topic,
          key: r.key === null ? null : Buffer.from(r.key),
          value: r.value === null ? null : Buffer.from(r.value),
          timestamp: r.timestamp + i, // strictly increasing (see the unit suite)
        }));
        const first = records[0]!.timestamp;
        const last = records.at(-1)!.timestamp;
        const boundaryBucket = Math.floor((first + (last - first) * 0.6) / BUCKET_MS);
        const boundaryMs = boundaryBucket * BUCKET_MS;
        const below = records.filter((r) => r.timestamp < boundaryMs);
        const above = records.filter((r) => r.timestamp >= boundaryMs);

        const topics: Record<string, number> = {};
        for (const t of [...spec.input.topics, ...Object.keys(spec.outputs)]) topics[t] = 1;
        await freshTopics(topics);
        await produceRecords(client, below);

        const applicationId = uniqueGroup(`batch-${name}`);
        const streams = new KafkaStreams(build(), {
          applicationId,
          bootstrapServers: brokers(),
          stateDir: await tempStateDir(),
          commitIntervalMs: 100,
          sessionTimeoutMs: 6_000,
          statestoreCacheMaxBytes: 0,
        });
        let speed: Map<string, Map<number, string[]>>;
        const topology = build();
        try {
          await streams.start();
          await waitCaughtUp(
            admin,
            streams,
            applicationId,
            await topicsRead(admin, applicationId, [...spec.input.topics]),
          );
          speed = new Map(
            [...topology.storeMetadata]
              .filter(([store]) => !topology.globalStores.has(store))
              .map(([store, meta]) => [store, speedStore(streams, store, meta.kind)]),
          );
        } finally {
          await streams.close();
        }

        await produceRecords(client, above);
        const { manifest } = await runBatch({
          topology: build(),
          applicationId,
          topologyName: name,
          bucketMs: BUCKET_MS,
          client,
          untilMs: boundaryMs,
          publishInternalStores: true,
        });
        expect(manifest.records.processed).toBe(below.length);
        expect(Object.keys(manifest.stores).sort()).toEqual([...speed.keys()].sort());
        const total = [...speed.values()].reduce((n, parts) => n + [...parts.values()].flat().length, 0);
        expect(total, `${name}: the speed layer's stores hold records`).toBeGreaterThan(0);
        for (const [store, expected] of speed) {
          const published = await viewStore(client, admin, manifest, store);
          expect(Object.fromEntries(published), `${name}: store ${store}`).toEqual(
            Object.fromEntries(expected),
          );
        }
      },
      180_000,
    );
  }
});
