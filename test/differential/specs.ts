/**
 * The differential scenarios: names, topics and the shape of the random input each one gets. The
 * topologies themselves live twice, in harness/src/main/java/.../Scenarios.java (Kafka Streams, the
 * reference) and in scenarios.ts (lambda-streams); names and topics here must match both.
 */

/** How the harness renders an output topic's values: Strings as strings, Longs as numbers. */
export type OutputValueType = 'string' | 'long';

export interface InputProfile {
  /** Input topics; each record goes to one of them at random. */
  readonly topics: readonly string[];
  /** Keys are drawn from k0..k{keys-1}. */
  readonly keys: number;
  readonly nullKeyRate: number;
  readonly nullValueRate: number;
  /** Share of records whose timestamp goes back in time (out of order, possibly late). */
  readonly outOfOrderRate: number;
  /** Largest forward step of the timestamp between in-order records. */
  readonly maxStepMs: number;
  /** Largest jump back of an out-of-order record. */
  readonly maxLatenessMs: number;
}

export interface ScenarioSpec {
  readonly name: string;
  readonly description: string;
  readonly input: InputProfile;
  /** Output topics and how their values are rendered (also the order topics are compared in). */
  readonly outputs: Readonly<Record<string, OutputValueType>>;
}

const base: InputProfile = {
  topics: [],
  keys: 8,
  nullKeyRate: 0.05,
  nullValueRate: 0.05,
  outOfOrderRate: 0.15,
  maxStepMs: 2_000,
  maxLatenessMs: 10_000,
};

export const SCENARIOS: readonly ScenarioSpec[] = [
  {
    name: 'stateless',
    description:
      'merge of two streams, fan-out, filter, filterNot, mapValues (with and without key), peek, flatMapValues, map, flatMap, selectKey, to',
    input: {
      ...base,
      topics: ['stateless-a', 'stateless-b'],
      keys: 10,
      nullKeyRate: 0.1,
      nullValueRate: 0.1,
    },
    outputs: { 'stateless-long': 'string', 'stateless-out': 'string' },
  },
  {
    name: 'count',
    description: 'groupByKey().count(): null keys and null values are dropped',
    input: { ...base, topics: ['count-in'], nullKeyRate: 0.1, nullValueRate: 0.1 },
    outputs: { 'count-out': 'long' },
  },
  {
    name: 'groupby-reduce',
    description: 'groupBy(first letter of value) -> repartition -> reduce (concatenation)',
    input: { ...base, topics: ['reduce-in'], nullKeyRate: 0.1, nullValueRate: 0.1 },
    outputs: { 'reduce-out': 'string' },
  },
  {
    name: 'aggregate',
    description: 'groupByKey().aggregate(0, sum of value lengths)',
    input: { ...base, topics: ['aggregate-in'], nullKeyRate: 0.1, nullValueRate: 0.1 },
    outputs: { 'aggregate-out': 'long' },
  },
  {
    name: 'windowed-count',
    description: 'tumbling 10s windows, 5s grace, count; late records dropped; key rendered key@start',
    input: {
      ...base,
      topics: ['windowed-count-in'],
      keys: 4,
      outOfOrderRate: 0.25,
      maxStepMs: 3_000,
      maxLatenessMs: 25_000,
    },
    outputs: { 'windowed-count-out': 'long' },
  },
  {
    name: 'hopping-aggregate',
    description:
      'hopping 10s windows advancing 3s, no grace, aggregate (first letters); key rendered key@start',
    input: {
      ...base,
      topics: ['hopping-in'],
      keys: 4,
      outOfOrderRate: 0.25,
      maxStepMs: 2_500,
      maxLatenessMs: 12_000,
    },
    outputs: { 'hopping-out': 'string' },
  },
  {
    name: 'table',
    description:
      'builder.table(topic).toStream(): updates, tombstones (also for absent keys), null keys dropped',
    input: { ...base, topics: ['table-in'], keys: 6, nullKeyRate: 0.05, nullValueRate: 0.25 },
    outputs: { 'table-out': 'string' },
  },
  {
    name: 'topic-extractor',
    description: 'to(TopicNameExtractor): by value length parity, null values to their own topic',
    input: { ...base, topics: ['extractor-in'], nullValueRate: 0.15 },
    outputs: { 'extractor-even': 'string', 'extractor-odd': 'string', 'extractor-null': 'string' },
  },
];

export function scenarioSpec(name: string): ScenarioSpec {
  const spec = SCENARIOS.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown differential scenario '${name}'`);
  return spec;
}
