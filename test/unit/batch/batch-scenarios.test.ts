/**
 * The batch layer against the TopologyTestDriver on the differential suite's topologies: for
 * generated in-order input, every store a view publishes holds, record for record, what the driver's
 * store holds after the records below the boundary. (Out-of-order input is left out on purpose: the
 * driver runs every sub-topology in one task, so its stream time and late drops differ from a
 * partitioned run's on such input, in the speed layer as much as in the batch layer.)
 */
import { describe, expect, it } from 'vitest';

import { Serdes, TopologyTestDriver } from '../../../src/index.ts';
import type { Topology } from '../../../src/index.ts';
import { planBatch } from '../../../src/batch/batch-plan.ts';
import { exportStoreRecords, type StoreRecord } from '../../../src/state/store-export.ts';
import { caseSeed, generateCase, prng } from '../../differential/generate.ts';
import { TOPOLOGIES } from '../../differential/scenarios.ts';
import { SCENARIOS } from '../../differential/specs.ts';
import { partitionInput, runInMemory, type InputRecord } from './in-memory-batch.ts';

/**
 * With one partition a run has the driver's stream time; with three, each task has its own, so window
 * and session stores keep windows the driver has already expired (as the speed layer's would), and
 * versioned stores keep versions it has expired: those are compared at one partition only.
 */
const PARTITION_COUNTS = [1, 3];
const CASES = Number(process.env.BATCH_SCENARIO_CASES ?? 4);

const render = (records: Iterable<StoreRecord>): string[] =>
  [...records].map((r) => `${r.key.toString('hex')}=${r.value.toString('hex')}`).sort();

function publishedStores(topology: Topology, topics: string[]) {
  const counts = new Map(topics.map((t) => [t, 1]));
  return planBatch('scenario', topology, counts, 1, { includeInternalStores: true }).stores;
}

const withStores = SCENARIOS.filter((spec) => {
  const build = TOPOLOGIES[spec.name];
  return build && publishedStores(build(), spec.input.topics as string[]).length > 0;
});

describe('batch views equal the test driver on the differential topologies (in-order input)', () => {
  it('covers scenarios with queryable stores', () => {
    expect(withStores.length).toBeGreaterThanOrEqual(20);
  });

  for (const spec of withStores) {
    it(spec.name, async () => {
      const build = TOPOLOGIES[spec.name]!;
      for (let i = 0; i < CASES; i++) {
        const partitions = PARTITION_COUNTS[i % PARTITION_COUNTS.length]!;
        const seed = caseSeed(20261202, spec.name, i);
        const inOrder = { ...spec, input: { ...spec.input, outOfOrderRate: 0 } };
        // Strictly increasing timestamps: ties would be ordered by input position in the driver and
        // by (topic, partition) in a partitioned run, which Kafka Streams does not define either.
        const input: InputRecord[] = generateCase(inOrder, seed).input.map((r, n) => ({
          topic: r.topic,
          key: r.key === null ? null : Buffer.from(r.key),
          value: r.value === null ? null : Buffer.from(r.value),
          timestamp: r.timestamp + n,
        }));
        const first = input[0]!.timestamp;
        const last = input[input.length - 1]!.timestamp;
        const boundaryMs = first + Math.floor((last - first) * (0.3 + 0.6 * prng(seed)()));
        const data = partitionInput(
          input,
          new Map(spec.input.topics.map((t) => [t, partitions])),
          prng(seed + 1),
        );
        const view = await runInMemory('scenario', build(), data, boundaryMs, prng(seed + 2), {
          includeInternalStores: true,
        });

        const driver = await TopologyTestDriver.create(build(), { statestoreCacheMaxBytes: 0 });
        try {
          const topics = new Map(
            spec.input.topics.map((t) => [t, driver.createInputTopic(t, Serdes.Bytes(), Serdes.Bytes())]),
          );
          for (const r of input) {
            if (r.timestamp < boundaryMs) topics.get(r.topic)!.pipeInput(r.key, r.value, r.timestamp);
          }
          for (const store of view.plan.stores) {
            const versioned = build().storeMetadata.get(store.name)?.versioned !== undefined;
            if (partitions > 1 && (store.kind !== 'key-value' || versioned)) continue;
            const expected = render(exportStoreRecords(driver.getStateStore(store.name), store.kind));
            const published = render([...(view.stores.get(store.name)?.values() ?? [])].flat());
            expect(
              published,
              `${spec.name} case ${i} (seed ${seed}, ${partitions} partitions) store ${store.name}`,
            ).toEqual(expected);
          }
        } finally {
          await driver.close();
        }
      }
    });
  }
});
