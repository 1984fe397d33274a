/**
 * Runs one hand-written input through both Kafka Streams (the Java harness) and lambda-streams and
 * prints both outputs side by side, for minimising a mismatch the differential test found:
 *
 *   npx tsx test/differential/repro.ts fk-join '[["fk-left","k1","bbhcc",4000],["fk-left","k1","hef",6000]]'
 *   npx tsx test/differential/repro.ts fk-join --seed 1892721067     # a generated case by its case seed
 *
 * Input rows are [topic, key, value, timestamp]. Exits 1 when the outputs differ.
 */
import { firstMismatch, formatInput } from './compare.ts';
import { generateCase } from './generate.ts';
import type { InputRecord } from './generate.ts';
import { buildHarness, runHarness } from './harness.ts';
import type { OutputRecord } from './harness.ts';
import { runOurs } from './ours.ts';
import { scenarioSpec } from './specs.ts';

const [name, arg, seed] = process.argv.slice(2);
if (!name || !arg) {
  console.error("usage: repro.ts <scenario> '<[[topic, key, value, timestamp], ...]>' | --seed <case seed>");
  process.exit(2);
}
const spec = scenarioSpec(name);
const input: InputRecord[] =
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
