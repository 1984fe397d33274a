/**
 * Checks the Kafka Streams reference harness on its own (no lambda-streams code involved): it builds,
 * knows the same scenarios as specs.ts, gives known answers on hand-written input, and agrees with
 * small models on generated input, which also shows the generator produces late records.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCase, generateCases, caseSeed } from './generate.ts';
import type { DifferentialCase, InputRecord } from './generate.ts';
import { buildHarness, harnessScenarios, runHarness } from './harness.ts';
import type { OutputRecord } from './harness.ts';
import { countModel, windowedModel } from './models.ts';
import type { WindowModelStats } from './models.ts';
import { firstMismatch, formatInput } from './compare.ts';
import { SCENARIOS, scenarioSpec } from './specs.ts';

const rec = (topic: string, key: string | null, value: string | null, timestamp: number): InputRecord => ({
  topic,
  key,
  value,
  timestamp,
});
const strip = (records: OutputRecord[]) =>
  records.map(({ key, value, timestamp }) => [key, value, timestamp]);

beforeAll(async () => {
  await buildHarness();
});

describe('Kafka Streams reference harness', () => {
  it('knows exactly the scenarios of specs.ts', async () => {
    expect(await harnessScenarios()).toEqual(SCENARIOS.map((s) => s.name));
  });

  it('gives known answers on hand-written input', async () => {
    const W = 'windowed-count-in';
    const cases = [
      {
        scenario: 'count',
        input: [
          rec('count-in', 'a', 'x', 5),
          rec('count-in', 'a', null, 6),
          rec('count-in', null, 'x', 7),
          rec('count-in', 'a', 'y', 2),
        ],
      },
      {
        scenario: 'windowed-count',
        input: [
          rec(W, 'a', 'x', 1_000),
          rec(W, 'a', null, 2_000), // windowed aggregations keep null values
          rec(W, null, 'x', 3_000), // ...but drop null keys
          rec(W, 'a', 'x', 16_000), // stream time 16s: window [0,10s) closed at 10s + 5s grace
          rec(W, 'a', 'x', 9_999), // late: dropped
          rec(W, 'a', 'x', 12_000), // window [10s,20s) still open
        ],
      },
      {
        scenario: 'table',
        input: [
          rec('table-in', 'a', 'x', 5),
          rec('table-in', 'b', null, 3),
          rec('table-in', null, 'x', 7),
          rec('table-in', 'a', null, 1),
        ],
      },
      { scenario: 'nope', input: [] },
    ];
    const { results, topologies } = await runHarness(cases);
    expect(strip(results[0]!.records)).toEqual([
      ['a', 1, 5],
      ['a', 2, 5],
    ]);
    expect(strip(results[1]!.records)).toEqual([
      ['a@0', 1, 1_000],
      ['a@0', 2, 2_000],
      ['a@10000', 1, 16_000],
      ['a@10000', 2, 16_000],
    ]);
    expect(results[1]!.records.map((r) => r.input)).toEqual([0, 1, 3, 5]);
    expect(strip(results[2]!.records)).toEqual([
      ['a', 'x', 5],
      ['b', null, 3],
      ['a', null, 1],
    ]);
    expect(results[3]!.error).toMatch(/unknown scenario 'nope'/);
    expect(topologies['count']).toMatch(/KSTREAM-AGGREGATE/);
  });

  it('agrees with models of count and windowed aggregation on generated input', async () => {
    const seed = 7;
    const cases: DifferentialCase[] = ['count', 'windowed-count', 'hopping-aggregate'].flatMap((name) =>
      Array.from({ length: 10 }, (_, i) => generateCase(scenarioSpec(name), caseSeed(seed, name, i))),
    );
    const { results } = await runHarness(cases);
    const tumbling: WindowModelStats = { lateDrops: 0, lateRecords: 0 };
    const hopping: WindowModelStats = { lateDrops: 0, lateRecords: 0 };
    cases.forEach((c, i) => {
      const result = results[i]!;
      expect(result.error).toBeNull();
      let model: OutputRecord[];
      if (c.scenario === 'count') model = countModel(c.input, 'count-out');
      else if (c.scenario === 'windowed-count') {
        model = windowedModel(
          c.input,
          'windowed-count-out',
          { sizeMs: 10_000, advanceMs: 10_000, graceMs: 5_000 },
          0,
          (_v, n) => n + 1,
          (n) => n,
          tumbling,
        );
      } else {
        model = windowedModel(
          c.input,
          'hopping-out',
          { sizeMs: 10_000, advanceMs: 3_000, graceMs: 0 },
          '',
          (v, acc) => acc + (v === null ? '_' : v.slice(0, 1)),
          (acc) => acc,
          hopping,
        );
      }
      const mismatch = firstMismatch(model, result.records);
      if (mismatch) {
        throw new Error(
          `${c.scenario} case ${i} (seed ${c.seed}): the model (shown as "Kafka Streams") disagrees with the harness\n` +
            `${mismatch.report}\ninput:\n${formatInput(c.input, mismatch.input)}`,
        );
      }
    });
    // The generator must exercise grace: some records late for every window, some for a few.
    expect(tumbling.lateRecords).toBeGreaterThan(10);
    expect(hopping.lateDrops).toBeGreaterThan(hopping.lateRecords);
    expect(hopping.lateRecords).toBeGreaterThan(10);
  });

  it('generates the same cases from the same seed', () => {
    expect(generateCases(SCENARIOS, 42, 3)).toEqual(generateCases(SCENARIOS, 42, 3));
    expect(generateCases(SCENARIOS, 42, 3)).not.toEqual(generateCases(SCENARIOS, 43, 3));
    const c = generateCase(scenarioSpec('stateless'), 1);
    expect(c.input.length).toBeGreaterThanOrEqual(30);
    expect(c.input.length).toBeLessThanOrEqual(200);
    expect(new Set(c.input.map((r) => r.topic))).toEqual(new Set(['stateless-a', 'stateless-b']));
  });
});
