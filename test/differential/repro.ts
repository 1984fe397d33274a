/**
 * Runs one hand-written input through both Kafka Streams (the Java harness) and lambda-streams and
 * prints both outputs side by side, for minimising a mismatch the differential test found:
 *
 *   npx tsx test/differential/repro.ts fk-join '[["fk-left","k1","bbhcc",4000],["fk-left","k1","hef",6000]]'
 *   npx tsx test/differential/repro.ts fk-join --seed 1892721067     # a generated case by its case seed
 *   npx tsx test/differential/repro.ts fk-join --seed 1892721067 --shrink
 *
 * Input rows are [topic, key, value, timestamp]. With --shrink, chunks of records are removed while
 * the outputs still differ (each round's candidates in one JVM) and the smallest input found is
 * shown. Exits 1 when the outputs differ.
 */
import { firstMismatch, formatInput } from './compare.ts';
import { generateCase } from './generate.ts';
import type { InputRecord } from './generate.ts';
import { buildHarness, runHarness } from './harness.ts';
import type { OutputRecord } from './harness.ts';
import { runOurs } from './ours.ts';
import { scenarioSpec } from './specs.ts';

const args = process.argv.slice(2).filter((a) => a !== '--shrink');
const shrink = process.argv.includes('--shrink');
const [name, arg, seed] = args;
if (!name || !arg) {
  console.error("usage: repro.ts <scenario> '<[[topic, key, value, timestamp], ...]>' | --seed <case seed>");
  process.exit(2);
}
const spec = scenarioSpec(name);
let input: InputRecord[] =
  arg === '--seed'
    ? generateCase(spec, Number(seed)).input
    : (JSON.parse(arg) as [string, string | null, string | null, number][]).map(
        ([topic, key, value, timestamp]) => ({
          topic,
          key,
          value,
          timestamp,
        }),
      );

await buildHarness();

/** Whether each input makes the two sides differ (our side throwing counts as a difference). */
async function differs(inputs: InputRecord[][]): Promise<boolean[]> {
  const { results } = await runHarness(inputs.map((i) => ({ scenario: name!, input: i })));
  const out: boolean[] = [];
  for (let i = 0; i < inputs.length; i++) {
    if (results[i]!.error !== null) {
      out.push(false);
      continue;
    }
    try {
      const ours = await runOurs(spec, { input: inputs[i]! });
      out.push(firstMismatch(results[i]!.records, ours, Object.keys(spec.outputs)) !== undefined);
    } catch {
      out.push(true);
    }
  }
  return out;
}

if (shrink) {
  if (!(await differs([input]))[0]) {
    console.log('the outputs do not differ; nothing to shrink');
    process.exit(0);
  }
  // Each round tries removing every chunk of n/2, n/4, ..., 1 records (all in one harness run) and
  // keeps the largest removal that still differs.
  for (;;) {
    const candidates: InputRecord[][] = [];
    for (let size = Math.max(1, Math.floor(input.length / 2)); ; size = Math.floor(size / 2)) {
      for (let at = 0; at < input.length; at += size) {
        candidates.push([...input.slice(0, at), ...input.slice(at + size)]);
      }
      if (size === 1) break;
    }
    const found = (await differs(candidates)).indexOf(true);
    if (found < 0) break;
    input = candidates[found]!;
  }
  console.log(
    `smallest input found (${input.length} records):\n${JSON.stringify(input.map((r) => [r.topic, r.key, r.value, r.timestamp]))}\n`,
  );
}
const [reference] = (await runHarness([{ scenario: name, input }])).results;
if (reference!.error !== null) throw new Error(`Kafka Streams failed:\n${reference!.error}`);
const ours = await runOurs(spec, { input });
const line = (r: OutputRecord) =>
  `#${r.input} ${r.topic} ${r.key} -> ${r.value === null ? 'null' : JSON.stringify(r.value)} @${r.timestamp}`;
console.log(`input:\n${formatInput(input)}\n`);
console.log(`Kafka Streams:\n${reference!.records.map((r) => `  ${line(r)}`).join('\n') || '  (nothing)'}\n`);
console.log(`lambda-streams:\n${ours.map((r) => `  ${line(r)}`).join('\n') || '  (nothing)'}\n`);
const mismatch = firstMismatch(reference!.records, ours, Object.keys(spec.outputs));
console.log(mismatch ? mismatch.report : 'identical');
process.exit(mismatch ? 1 : 0);
