/**
 * Differential test: random inputs through Kafka Streams' own TopologyTestDriver (the Java harness,
 * caching off) and through ours (statestoreCacheMaxBytes: 0); outputs must match record for record: topic,
 * key, value, timestamp, order, and which input record produced each output.
 *
 *   npm run test:differential
 *   DIFFERENTIAL_SEED=123 DIFFERENTIAL_CASES=50 DIFFERENTIAL_SCENARIOS=count,table npx vitest run --project differential
 *   DIFFERENTIAL_SCENARIOS='stream-stream-*,fk-*' npx vitest run --project differential
 *
 * One test per scenario, so a construct that is missing or wrong fails its own scenarios only. All
 * scenarios run unless DIFFERENTIAL_SCENARIOS (names, `*` wildcards, or `all`) selects some; a
 * pattern that matches no scenario is an error. Nothing is ever skipped.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { firstMismatch, formatInput } from './compare.ts';
import type { Mismatch } from './compare.ts';
import { generateCases } from './generate.ts';
import type { DifferentialCase } from './generate.ts';
import { buildHarness, runHarness } from './harness.ts';
import type { HarnessOutput } from './harness.ts';
import { OursThrew, runOurs } from './ours.ts';
import { TOPOLOGIES } from './scenarios.ts';
import { SCENARIOS, selectScenarios } from './specs.ts';
import type { ScenarioSpec } from './specs.ts';

const SEED = Number(process.env['DIFFERENTIAL_SEED'] ?? 20_250_601);
const PER_SCENARIO = Number(process.env['DIFFERENTIAL_CASES'] ?? 20);
const specs = selectScenarios(SCENARIOS, process.env['DIFFERENTIAL_SCENARIOS']);

const cases = generateCases(specs, SEED, PER_SCENARIO);
let reference: HarnessOutput;

beforeAll(async () => {
  await buildHarness();
  reference = await runHarness(cases);
});

function report(
  spec: ScenarioSpec,
  c: DifferentialCase,
  index: number,
  detail: string,
  upTo?: number,
): string {
  const shown = upTo === undefined ? c.input : c.input.slice(0, upTo + 4);
  const more = c.input.length - shown.length;
  return [
    `scenario '${spec.name}' (${spec.description})`,
    `case ${index} of seed ${SEED} (case seed ${c.seed}, ${c.input.length} input records)`,
    `reproduce: DIFFERENTIAL_SEED=${SEED} DIFFERENTIAL_SCENARIOS=${spec.name} npx vitest run --project differential`,
    '',
    detail,
    '',
    `input${upTo === undefined ? '' : ` (up to shortly after #${upTo}, the input that produced the difference)`}:`,
    formatInput(shown, upTo),
    more > 0 ? `   ... ${more} more` : '',
    '',
    `Kafka Streams topology:\n${reference.topologies[spec.name] ?? '(none)'}`,
  ].join('\n');
}

describe('lambda-streams matches Kafka Streams (TopologyTestDriver, caching off)', () => {
  it('has a topology for every scenario', () => {
    expect(Object.keys(TOPOLOGIES)).toEqual(SCENARIOS.map((s) => s.name));
  });

  for (const spec of specs) {
    it(`${spec.name}: ${spec.description}`, async () => {
      let firstReport: string | undefined;
      let failed = 0;
      const mine = cases.map((c, i) => [c, i] as const).filter(([c]) => c.scenario === spec.name);
      for (const [c, globalIndex] of mine) {
        const index = mine.findIndex(([, g]) => g === globalIndex);
        const expected = reference.results[globalIndex]!;
        if (expected.error !== null) {
          throw new Error(
            report(spec, c, index, `Kafka Streams itself failed (harness bug?):\n${expected.error}`),
          );
        }
        let mismatch: Mismatch | undefined;
        let detail: string | undefined;
        try {
          mismatch = firstMismatch(expected.records, await runOurs(spec, c), Object.keys(spec.outputs));
          if (mismatch) detail = mismatch.report;
        } catch (err) {
          if (!(err instanceof OursThrew)) throw err;
          const before = expected.records.filter((r) => r.input === err.input);
          detail = `${err.message}\nKafka Streams' output for that input:\n${before.map((r) => `  ${r.topic} key=${r.key} value=${r.value} ts=${r.timestamp}`).join('\n') || '  (nothing)'}`;
          mismatch = {
            topic: '',
            index: -1,
            expected: undefined,
            actual: undefined,
            input: err.input,
            report: detail,
          };
        }
        if (mismatch) {
          failed++;
          firstReport ??= report(spec, c, index, detail!, mismatch.input);
        }
      }
      if (firstReport) {
        throw new Error(
          `${failed} of ${mine.length} cases differ from Kafka Streams; the first one:\n\n${firstReport}`,
        );
      }
      expect(failed).toBe(0);
    });
  }
});
