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
  /**
   * Per-topic overrides of the key pool and null rates (a table side with more tombstones, a stream
   * side with null keys, a right-hand table with fewer keys). When set, each record's topic is drawn
   * first, then its key and value with that topic's rates.
   */
  readonly topicProfiles?: Readonly<Record<string, TopicProfile>>;
}

export type TopicProfile = Partial<Pick<InputProfile, 'keys' | 'nullKeyRate' | 'nullValueRate'>>;

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

/** A changelog-like topic: few keys so they update often, many tombstones. */
const table: InputProfile = { ...base, keys: 6, nullKeyRate: 0.05, nullValueRate: 0.25 };

const tableTable: InputProfile = { ...table, topics: ['ttj-left', 'ttj-right'], keys: 5 };

/** Stream side: some null keys and values; table side: tombstones. */
const streamTable: InputProfile = {
  ...base,
  topics: ['stj-stream', 'stj-table'],
  keys: 5,
  nullKeyRate: 0.1,
  nullValueRate: 0.1,
  topicProfiles: { 'stj-table': { nullKeyRate: 0.05, nullValueRate: 0.25 } },
};

const streamGlobal: InputProfile = {
  ...base,
  topics: ['sgj-stream', 'sgj-global'],
  keys: 6,
  nullKeyRate: 0.1,
  nullValueRate: 0.1,
  topicProfiles: { 'sgj-global': { nullKeyRate: 0.05, nullValueRate: 0.25 } },
};

/** Few keys and 2s steps against 5s windows: many matches, some records late beyond the grace. */
const streamStream: InputProfile = {
  ...base,
  topics: ['ssj-left', 'ssj-right'],
  keys: 4,
  outOfOrderRate: 0.2,
  maxStepMs: 2_000,
  maxLatenessMs: 10_000,
};

/** Left values carry the foreign key (k<length mod 5>, none for "h..."); the right table has k0..k4. */
const foreignKey: InputProfile = {
  ...table,
  topics: ['fk-left', 'fk-right'],
  keys: 6,
  nullValueRate: 0.2,
  topicProfiles: { 'fk-right': { keys: 5 } },
};

/** Few keys, steps near the 5s session gap / sliding difference, records late beyond the 2s grace. */
const windowed: InputProfile = {
  ...base,
  keys: 3,
  outOfOrderRate: 0.25,
  maxStepMs: 2_500,
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

  // ---- KTable operations --------------------------------------------------------------------
  {
    name: 'table-filter',
    description:
      'table.filter/filterNot, materialized and not -> toStream: rejected updates become tombstones',
    input: { ...table, topics: ['table-filter-in'] },
    outputs: {
      'table-filter-mat': 'string',
      'table-filter-plain': 'string',
      'table-filternot-plain': 'string',
      'table-filternot-mat': 'string',
    },
  },
  {
    name: 'table-map-values',
    description: 'table.mapValues with key (plain) and after a filter (materialized) -> toStream',
    input: { ...table, topics: ['table-map-in'] },
    outputs: { 'table-map-plain': 'string', 'table-map-chain': 'string' },
  },
  {
    name: 'table-groupby-count',
    description: 'table.groupBy(g(length mod 3)).count(): updates move between groups, tombstones subtract',
    input: { ...table, topics: ['tgb-count-in'], keys: 8 },
    outputs: { 'tgb-count-out': 'long' },
  },
  {
    name: 'table-groupby-reduce',
    description: 'table.groupBy(first letter, "key:value").reduce(adder "+", subtractor "-")',
    input: { ...table, topics: ['tgb-reduce-in'], keys: 8 },
    outputs: { 'tgb-reduce-out': 'string' },
  },
  {
    name: 'table-groupby-aggregate',
    description: 'table.groupBy(g(length mod 3)).aggregate(0, +length, -length)',
    input: { ...table, topics: ['tgb-aggregate-in'], keys: 8 },
    outputs: { 'tgb-aggregate-out': 'long' },
  },
  {
    name: 'stream-to-table',
    description: 'stream.toTable() plain and materialized (after mapValues) -> toStream',
    input: { ...table, topics: ['to-table-in'], nullKeyRate: 0.1, nullValueRate: 0.2 },
    outputs: { 'to-table-plain': 'string', 'to-table-mat': 'string' },
  },

  {
    name: 'table-filter-groupby',
    description:
      'table.filter -> mapValues -> groupBy(first letter) -> count: old values flow through filter and mapValues',
    input: { ...table, topics: ['tfg-in'], keys: 8 },
    outputs: { 'tfg-out': 'long' },
  },

  // ---- joins -----------------------------------------------------------------------------------
  {
    name: 'table-table-join',
    description: 'table.join(table) materialized: tombstones on both sides',
    input: tableTable,
    outputs: { 'ttj-out': 'string' },
  },
  {
    name: 'table-table-left-join',
    description: 'table.leftJoin(table): tombstones on both sides',
    input: tableTable,
    outputs: { 'ttj-out': 'string' },
  },
  {
    name: 'table-table-outer-join',
    description: 'table.outerJoin(table): tombstones on both sides',
    input: tableTable,
    outputs: { 'ttj-out': 'string' },
  },
  // ---- versioned tables (KIP-889, KIP-914) --------------------------------------------------------
  {
    name: 'versioned-stream-table-join',
    description:
      'a table on a versioned store (5 s history) joined by a stream (inner and left) as of each stream ' +
      "record's time, and the table's update stream: out-of-order updates forwarded, too-old ones refused",
    input: {
      ...streamTable,
      topics: ['vstj-stream', 'vstj-table'],
      topicProfiles: { 'vstj-table': { nullKeyRate: 0.05, nullValueRate: 0.25 } },
    },
    outputs: { 'vstj-out': 'string', 'vstj-left-out': 'string', 'vstj-updates': 'string' },
  },
  {
    name: 'versioned-table-ops',
    description:
      'a versioned table (5 s history) through mapValues into groupBy().count() and joined with a plain ' +
      'table: out-of-order updates are not counted and not joined',
    input: { ...tableTable, topics: ['vt-in', 'vt-other'] },
    outputs: { 'vt-count-out': 'long', 'vt-join-out': 'string' },
  },
  {
    name: 'stream-table-join',
    description: 'stream.join(table, Joined): only stream records trigger; null keys/values on both sides',
    input: streamTable,
    outputs: { 'stj-out': 'string' },
  },
  {
    name: 'stream-table-left-join',
    description: 'stream.leftJoin(table): unmatched stream records join with null',
    input: streamTable,
    outputs: { 'stj-out': 'string' },
  },
  {
    name: 'stream-table-join-rekeyed',
    description: 'stream.selectKey(k<length mod 5>).leftJoin(table): the stream is repartitioned first',
    input: streamTable,
    outputs: { 'stj-out': 'string' },
  },
  {
    name: 'stream-global-join',
    description: 'stream.join(globalTable, (k, v) -> global key, joiner): null key/value handling',
    input: streamGlobal,
    outputs: { 'sgj-out': 'string' },
  },
  {
    name: 'stream-global-left-join',
    description: 'stream.leftJoin(globalTable, (k, v) -> global key, joiner)',
    input: streamGlobal,
    outputs: { 'sgj-out': 'string' },
  },
  {
    name: 'stream-stream-join',
    description: 'stream.join(stream) JoinWindows 5s + 2s grace, StreamJoined',
    input: streamStream,
    outputs: { 'ssj-out': 'string' },
  },
  {
    name: 'stream-stream-left-join',
    description: 'stream.leftJoin(stream) 5s + 2s grace: unmatched left records once the window closes',
    input: streamStream,
    outputs: { 'ssj-out': 'string' },
  },
  {
    name: 'stream-stream-outer-join',
    description:
      'stream.outerJoin(stream) 5s + 2s grace: unmatched records of both sides once the window closes',
    input: streamStream,
    outputs: { 'ssj-out': 'string' },
  },
  {
    name: 'stream-stream-join-no-grace',
    description: 'stream.join(stream) JoinWindows.ofTimeDifferenceWithNoGrace(5s)',
    input: streamStream,
    outputs: { 'ssj-out': 'string' },
  },
  {
    name: 'stream-stream-left-join-no-grace',
    description: 'stream.leftJoin(stream) no grace',
    input: streamStream,
    outputs: { 'ssj-out': 'string' },
  },
  {
    name: 'stream-stream-outer-join-no-grace',
    description: 'stream.outerJoin(stream) no grace',
    input: streamStream,
    outputs: { 'ssj-out': 'string' },
  },
  {
    name: 'fk-join',
    description: 'table.join(table, v -> foreign key, joiner): FK changes, null FKs, tombstones both sides',
    input: foreignKey,
    outputs: { 'fk-out': 'string' },
  },
  {
    name: 'fk-left-join',
    description:
      'table.leftJoin(table, v -> foreign key, joiner): FK changes, null FKs, tombstones both sides',
    input: foreignKey,
    outputs: { 'fk-out': 'string' },
  },

  // ---- session and sliding windows -------------------------------------------------------------
  {
    name: 'session-count',
    description: 'session windows (gap 5s, grace 2s) count: merges retract old sessions; key@start-end',
    input: { ...windowed, topics: ['session-count-in'], maxStepMs: 3_000 },
    outputs: { 'session-count-out': 'long' },
  },
  {
    name: 'session-aggregate',
    description: 'session windows (gap 5s, grace 2s) aggregate (first letters) with merger "a|b"',
    input: { ...windowed, topics: ['session-aggregate-in'], maxStepMs: 3_000 },
    outputs: { 'session-aggregate-out': 'string' },
  },
  {
    name: 'sliding-count',
    description: 'sliding windows (difference 5s, grace 2s) count; key@start-end',
    input: { ...windowed, topics: ['sliding-count-in'] },
    outputs: { 'sliding-count-out': 'long' },
  },
  {
    name: 'sliding-aggregate',
    description: 'sliding windows (difference 5s, grace 2s) aggregate (first letters, order visible)',
    input: { ...windowed, topics: ['sliding-aggregate-in'] },
    outputs: { 'sliding-aggregate-out': 'string' },
  },

  // ---- cogroup (KIP-150) ---------------------------------------------------------------------------
  {
    name: 'cogroup',
    description:
      'three grouped streams (one re-keyed through the store-named repartition topic) cogrouped into one ' +
      'aggregate per key, each with its own aggregator; a second cogroup under Named over two of them',
    input: {
      ...base,
      topics: ['cogroup-a', 'cogroup-b', 'cogroup-c'],
      keys: 4,
      nullKeyRate: 0.1,
      nullValueRate: 0.1,
    },
    outputs: { 'cogroup-out': 'string', 'cogroup-named-out': 'string' },
  },
  {
    name: 'cogroup-windowed',
    description:
      'two grouped streams cogrouped into hopping windows (10s/5s, 2s grace), sliding windows (5s, 2s grace) ' +
      'and sessions (gap 5s, 2s grace, merger "a|b"); each input keeps its own stream time for late drops',
    input: { ...windowed, topics: ['cogroup-w-a', 'cogroup-w-b'] },
    outputs: {
      'cogroup-hopping-out': 'string',
      'cogroup-sliding-out': 'string',
      'cogroup-session-out': 'string',
    },
  },

  // ---- emit strategy (KIP-825) -------------------------------------------------------------------
  {
    name: 'emit-window-close',
    description:
      'emitStrategy(onWindowClose): tumbling 10s + 2s grace count and hopping 10s/5s + 1s grace aggregate; ' +
      'each window once, when stream time passes end + grace, by start then key',
    input: { ...windowed, topics: ['emit-wc-in'], keys: 4, maxStepMs: 3_000, maxLatenessMs: 15_000 },
    outputs: { 'emit-wc-tumbling-out': 'long', 'emit-wc-hopping-out': 'string' },
  },
  {
    name: 'emit-window-close-sliding',
    description:
      'emitStrategy(onWindowClose) on sliding windows (difference 5s, 2s grace): count and aggregate',
    input: { ...windowed, topics: ['emit-wc-sliding-in'], keys: 4 },
    outputs: { 'emit-wc-sliding-count': 'long', 'emit-wc-sliding-out': 'string' },
  },

  // ---- suppress ----------------------------------------------------------------------------------
  {
    name: 'suppress-window-close',
    description: 'tumbling 10s + 2s grace count .suppress(untilWindowCloses(unbounded)): final results only',
    input: { ...windowed, topics: ['suppress-wc-in'], keys: 4, maxStepMs: 3_000, maxLatenessMs: 15_000 },
    outputs: { 'suppress-wc-out': 'long' },
  },
  {
    name: 'suppress-time-limit',
    description:
      'untilTimeLimit(3s, maxRecords(1000)) on a count table and on a source table with tombstones',
    input: {
      ...base,
      topics: ['suppress-tl-stream', 'suppress-tl-table'],
      keys: 5,
      maxStepMs: 1_500,
      topicProfiles: { 'suppress-tl-table': { nullValueRate: 0.25 } },
    },
    outputs: { 'suppress-tl-count': 'long', 'suppress-tl-table-out': 'string' },
  },
  {
    name: 'suppress-early-emit',
    description:
      'untilTimeLimit(3s, maxRecords(3).emitEarlyWhenFull()) on a count table: full buffer evicts early',
    input: { ...base, topics: ['suppress-ee-in'], keys: 8, maxStepMs: 800 },
    outputs: { 'suppress-ee-out': 'long' },
  },

  // ---- split and repartition ---------------------------------------------------------------------
  {
    name: 'split-branch',
    description:
      'split(Named "b-").branch(starts with a).branch(longer than 4).defaultBranch: first match wins',
    input: { ...base, topics: ['split-in'], nullKeyRate: 0.1, nullValueRate: 0.1 },
    outputs: { 'split-a': 'string', 'split-long': 'string', 'split-rest': 'string' },
  },
  {
    name: 'repartition',
    description: 'selectKey(first letter) -> repartition(2 partitions, named) -> to + groupByKey().count()',
    input: { ...base, topics: ['repartition-in'], nullKeyRate: 0.1, nullValueRate: 0.1 },
    outputs: { 'repartition-through': 'string', 'repartition-count': 'long' },
  },
];

export function scenarioSpec(name: string): ScenarioSpec {
  const spec = SCENARIOS.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown differential scenario '${name}'`);
  return spec;
}

/**
 * The scenarios a run selects: DIFFERENTIAL_SCENARIOS is a comma-separated list of names, `*`
 * wildcards (`stream-stream-*`) or `all`; unset or empty means all. A pattern matching nothing
 * throws, so a typo in CI cannot turn into a green run of zero scenarios.
 */
export function selectScenarios(
  specs: readonly ScenarioSpec[],
  selection: string | undefined,
): ScenarioSpec[] {
  const patterns = (selection ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (patterns.length === 0 || patterns.includes('all')) return [...specs];
  const regexes = patterns.map((p) => {
    const re = new RegExp(
      `^${p
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    if (!specs.some((s) => re.test(s.name))) {
      throw new Error(
        `DIFFERENTIAL_SCENARIOS: '${p}' matches no scenario; known: ${specs.map((s) => s.name).join(', ')}`,
      );
    }
    return re;
  });
  return specs.filter((s) => regexes.some((re) => re.test(s.name)));
}
