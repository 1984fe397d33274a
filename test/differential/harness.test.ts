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

  it('gives known answers for the table, join, window, suppress, split and repartition scenarios', async () => {
    // [scenario, input as [topic, key, value, timestamp], expected as "#input topic key -> value @ts"]
    type Row = [string, string | null, string | null, number];
    const known: [string, Row[], string[]][] = [
      [
        'table-filter',
        [
          ['table-filter-in', 'a', 'xx', 1],
          ['table-filter-in', 'a', 'xxx', 2], // rejected by filter: tombstone
          ['table-filter-in', 'b', null, 3], // tombstone for an absent key passes through
          ['table-filter-in', 'k1', 'ab', 4],
        ],
        [
          '#0 table-filter-mat a -> "xx" @1',
          '#1 table-filter-mat a -> null @2',
          '#2 table-filter-mat b -> null @3',
          '#3 table-filter-mat k1 -> "ab" @4',
          '#0 table-filter-plain a -> "xx" @1',
          '#1 table-filter-plain a -> null @2',
          '#2 table-filter-plain b -> null @3',
          '#3 table-filter-plain k1 -> "ab" @4',
          '#0 table-filternot-plain a -> "xx" @1',
          '#1 table-filternot-plain a -> "xxx" @2',
          '#2 table-filternot-plain b -> null @3',
          '#3 table-filternot-plain k1 -> null @4',
          '#0 table-filternot-mat a -> "xx" @1',
          '#1 table-filternot-mat a -> "xxx" @2',
          '#2 table-filternot-mat b -> null @3',
          '#3 table-filternot-mat k1 -> null @4',
        ],
      ],
      [
        'table-groupby-reduce',
        [
          ['tgb-reduce-in', 'a', 'xx', 1],
          ['tgb-reduce-in', 'b', 'xy', 2],
          ['tgb-reduce-in', 'a', 'yy', 3], // moves a from group x to y: subtract, then add
          ['tgb-reduce-in', 'b', null, 4], // tombstone subtracts
          ['tgb-reduce-in', 'a', 'xz', 5],
        ],
        [
          '#0 tgb-reduce-out x -> "a:xx" @1',
          '#1 tgb-reduce-out x -> "a:xx+b:xy" @2',
          '#2 tgb-reduce-out x -> "a:xx+b:xy-a:xx" @3',
          '#2 tgb-reduce-out y -> "a:yy" @3',
          '#3 tgb-reduce-out x -> "a:xx+b:xy-a:xx-b:xy" @4',
          '#4 tgb-reduce-out y -> "a:yy-a:yy" @5',
          '#4 tgb-reduce-out x -> "a:xx+b:xy-a:xx-b:xy+a:xz" @5',
        ],
      ],
      [
        'table-table-outer-join',
        [
          ['ttj-left', 'a', 'L1', 1],
          ['ttj-right', 'a', 'R1', 2],
          ['ttj-left', 'a', null, 3],
          ['ttj-right', 'a', null, 4],
          ['ttj-right', 'b', null, 5], // both sides absent: nothing
        ],
        [
          '#0 ttj-out a -> "L1+null" @1',
          '#1 ttj-out a -> "L1+R1" @2',
          '#2 ttj-out a -> "null+R1" @3',
          '#3 ttj-out a -> null @4',
        ],
      ],
      [
        'stream-stream-left-join',
        [
          ['ssj-left', 'a', 'L1', 1_000],
          ['ssj-right', 'a', 'R1', 3_000],
          ['ssj-left', 'b', 'L2', 4_000],
          ['ssj-left', 'c', 'L3', 12_000], // stream time 12s > 4s + 5s + 2s: L2 unmatched
          ['ssj-right', 'c', 'R3', 30_000], // 18s apart: L3 unmatched
        ],
        [
          '#1 ssj-out a -> "L1+R1" @3000',
          '#3 ssj-out b -> "L2+null" @4000',
          '#4 ssj-out c -> "L3+null" @12000',
        ],
      ],
      [
        'stream-table-left-join',
        [
          ['stj-table', 'a', 'T', 1],
          ['stj-stream', 'a', 'x', 2],
          ['stj-stream', null, 'x', 3], // null key: joins with null (KIP-962)
          ['stj-stream', 'a', null, 4], // null value: dropped
          ['stj-stream', 'b', 'y', 5],
          ['stj-table', 'a', null, 6], // table updates never emit
          ['stj-stream', 'a', 'z', 7],
        ],
        [
          '#1 stj-out a -> "x|T" @2',
          '#2 stj-out null -> "x|null" @3',
          '#4 stj-out b -> "y|null" @5',
          '#6 stj-out a -> "z|null" @7',
        ],
      ],
      [
        'stream-global-left-join',
        [
          ['sgj-global', 'k2', 'G2', 1],
          ['sgj-stream', 'a', 'xx', 2],
          ['sgj-stream', null, 'xx', 3],
          ['sgj-stream', 'k2', null, 4], // null value: dropped
          ['sgj-stream', null, null, 5], // no global key: dropped
          ['sgj-stream', 'a', 'x', 6],
        ],
        ['#1 sgj-out a -> "xx|G2" @2', '#2 sgj-out null -> "xx|G2" @3', '#5 sgj-out a -> "x|null" @6'],
      ],
      [
        'fk-join',
        [
          ['fk-left', 'a', 'xx', 1], // FK k2, no match yet
          ['fk-right', 'k2', 'R2', 2],
          ['fk-left', 'a', 'xxx', 3], // FK k3: result deleted
          ['fk-right', 'k3', 'R3', 4],
          ['fk-left', 'a', 'hhh', 5], // null FK: result deleted
          ['fk-left', 'a', 'yyy', 6],
          ['fk-right', 'k3', null, 7],
          ['fk-left', 'a', null, 8], // (needless) tombstone
        ],
        [
          '#1 fk-out a -> "xx/R2" @2',
          '#2 fk-out a -> null @3',
          '#3 fk-out a -> "xxx/R3" @4',
          '#4 fk-out a -> null @5',
          '#5 fk-out a -> "yyy/R3" @6',
          '#6 fk-out a -> null @7',
          '#7 fk-out a -> null @8',
        ],
      ],
      [
        'session-aggregate',
        [
          ['session-aggregate-in', 'a', 'xx', 1_000],
          ['session-aggregate-in', 'a', 'yy', 10_000],
          ['session-aggregate-in', 'a', 'zz', 5_000], // merges with 10s; the 1s session is already past retention (gap + grace)
          ['session-aggregate-in', 'a', 'late', 0], // within the gap of the 5s-10s session, which is still open
          ['session-aggregate-in', 'a', 'q', 20_000],
          ['session-aggregate-in', 'a', 'r', 8_000], // session 5s-10s closed (10s + 2s grace < 20s): dropped
        ],
        [
          '#0 session-aggregate-out a@1000-1000 -> "x" @1000',
          '#1 session-aggregate-out a@10000-10000 -> "y" @10000',
          '#2 session-aggregate-out a@10000-10000 -> null @10000',
          '#2 session-aggregate-out a@5000-10000 -> "|yz" @10000',
          '#3 session-aggregate-out a@5000-10000 -> null @10000',
          '#3 session-aggregate-out a@0-10000 -> "||yzl" @10000',
          '#4 session-aggregate-out a@20000-20000 -> "q" @20000',
        ],
      ],
      [
        'sliding-count',
        [
          ['sliding-count-in', 'a', 'x', 10_000],
          ['sliding-count-in', 'a', 'y', 12_000],
          ['sliding-count-in', 'a', 'z', 20_000],
        ],
        [
          '#0 sliding-count-out a@5000-10000 -> 1 @10000',
          '#1 sliding-count-out a@10001-15001 -> 1 @12000',
          '#1 sliding-count-out a@7000-12000 -> 2 @12000',
          '#2 sliding-count-out a@15000-20000 -> 1 @20000',
        ],
      ],
      [
        'suppress-window-close',
        [
          ['suppress-wc-in', 'a', 'x', 1_000],
          ['suppress-wc-in', 'a', 'y', 5_000],
          ['suppress-wc-in', 'b', 'y', 11_000],
          ['suppress-wc-in', 'a', 'y', 12_000], // closes [0s,10s) (+2s grace)
        ],
        ['#3 suppress-wc-out a@0-10000 -> 2 @5000'],
      ],
      [
        'suppress-time-limit',
        [
          ['suppress-tl-stream', 'a', 'x', 1_000],
          ['suppress-tl-stream', 'a', 'x', 2_000],
          ['suppress-tl-stream', 'b', 'x', 3_999],
          ['suppress-tl-stream', 'b', 'x', 4_000], // 1s + 3s: a's latest count leaves the buffer
          ['suppress-tl-table', 'a', 'x', 1_000],
          ['suppress-tl-table', 'a', null, 2_000],
          ['suppress-tl-table', 'c', 'x', 9_000], // the table's task has its own stream time
        ],
        ['#3 suppress-tl-count a -> 2 @2000', '#6 suppress-tl-table-out a -> null @2000'],
      ],
      [
        'split-branch',
        [
          ['split-in', 'a', 'abcdef', 1], // matches both predicates: first branch wins
          ['split-in', 'b', 'bcdefg', 2],
          ['split-in', null, null, 3],
          ['split-in', 'c', 'ab', 4],
        ],
        [
          '#0 split-a a -> "abcdef" @1',
          '#3 split-a c -> "ab" @4',
          '#1 split-long b -> "BCDEFG" @2',
          '#2 split-rest null -> null @3',
        ],
      ],
      [
        'repartition',
        [
          ['repartition-in', 'a', 'abc', 1],
          ['repartition-in', 'b', 'axy', 2],
          ['repartition-in', null, 'bb', 3],
          ['repartition-in', null, null, 4], // key stays null: dropped by the repartition
          ['repartition-in', 'c', null, 5], // count drops null values
        ],
        [
          '#0 repartition-through a -> "abc" @1',
          '#1 repartition-through a -> "axy" @2',
          '#2 repartition-through b -> "bb" @3',
          '#4 repartition-through c -> null @5',
          '#0 repartition-count a -> 1 @1',
          '#1 repartition-count a -> 2 @2',
          '#2 repartition-count b -> 1 @3',
        ],
      ],
    ];
    const { results } = await runHarness(
      known.map(([scenario, rows]) => ({ scenario, input: rows.map(([t, k, v, ts]) => rec(t, k, v, ts)) })),
    );
    const render = (r: OutputRecord) =>
      `#${r.input} ${r.topic} ${r.key} -> ${JSON.stringify(r.value)} @${r.timestamp}`;
    results.forEach((result, i) => {
      expect(result.error, known[i]![0]).toBeNull();
      expect(result.records.map(render), known[i]![0]).toEqual(known[i]![2]);
    });
  });

  it('never writes to a topic a scenario reads (the driver would feed it back in)', () => {
    for (const spec of SCENARIOS) {
      for (const out of Object.keys(spec.outputs)) expect(spec.input.topics, spec.name).not.toContain(out);
    }
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
