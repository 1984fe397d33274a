/**
 * Runs one differential case through lambda-streams' TopologyTestDriver (caching off), rendering the
 * output as the Java harness does, so the two can be compared record for record.
 */
import { Serdes, TopologyTestDriver } from '../../src/index.ts';
import type { DifferentialCase } from './generate.ts';
import type { OutputRecord } from './harness.ts';
import { TOPOLOGIES } from './scenarios.ts';
import type { ScenarioSpec } from './specs.ts';

/** Our side threw while processing input record `input`. */
export class OursThrew extends Error {
  constructor(
    readonly input: number,
    readonly error: unknown,
  ) {
    super(
      `lambda-streams threw while processing input #${input}: ${error instanceof Error ? error.stack : String(error)}`,
    );
  }
}

/** Runs one case through our TopologyTestDriver, draining every output topic after each input. */
export async function runOurs(
  spec: ScenarioSpec,
  c: Pick<DifferentialCase, 'input'>,
): Promise<OutputRecord[]> {
  const build = TOPOLOGIES[spec.name];
  if (!build) throw new Error(`scenarios.ts has no topology for '${spec.name}'`);
  let driver: TopologyTestDriver;
  try {
    driver = await TopologyTestDriver.create(build(), { statestoreCacheMaxBytes: 0 });
  } catch (err) {
    // A construct that is missing or rejects its arguments fails this scenario only.
    throw new Error(
      `lambda-streams could not build the '${spec.name}' topology: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
  }
  try {
    const inputs = new Map(
      spec.input.topics.map((t) => [t, driver.createInputTopic(t, Serdes.String(), Serdes.String())]),
    );
    const outputs = Object.entries(spec.outputs).map(
      ([topic, type]) =>
        [
          topic,
          driver.createOutputTopic<string | null, string | number | null>(
            topic,
            Serdes.String(),
            type === 'long' ? Serdes.Long() : Serdes.String(),
          ),
        ] as const,
    );
    const byTopic = new Map<string, OutputRecord[]>(outputs.map(([t]) => [t, []]));
    for (let i = 0; i < c.input.length; i++) {
      const r = c.input[i]!;
      try {
        await inputs.get(r.topic)!.pipeInput(r.key, r.value, r.timestamp);
      } catch (err) {
        throw new OursThrew(i, err);
      }
      for (const [topic, out] of outputs) {
        for (const rec of out.readRecordsToList()) {
          byTopic
            .get(topic)!
            .push({ topic, key: rec.key, value: rec.value, timestamp: rec.timestamp, input: i });
        }
      }
    }
    return [...byTopic.values()].flat();
  } finally {
    await driver.close();
  }
}
