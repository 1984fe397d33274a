/**
 * The differential scenarios written against lambda-streams' public API. Each one is the twin of the
 * method of the same name in harness/src/main/java/dev/lambdastreams/differential/Scenarios.java:
 * same topics, same functions, same null handling. Change both together.
 *
 * Inputs are String/String with possible null keys and values, so streams are typed `string | null`
 * where Java would leave nullability implicit. Every serde is given explicitly (Kafka side: String
 * defaults, Long where Java says Serdes.Long()).
 */
import {
  Branched,
  BufferConfig,
  Consumed,
  EmitStrategy,
  Grouped,
  JoinWindows,
  Joined,
  KeyValue,
  Materialized,
  Named,
  Produced,
  Repartitioned,
  Serdes,
  SessionWindows,
  SlidingWindows,
  Stores,
  StreamJoined,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
} from '../../src/index.ts';
import type { KStream, KTable, Serde, Topology, Windowed } from '../../src/index.ts';

type S = string | null;

const str = (): Serde<S> => Serdes.String() as Serde<S>;
const long = (): Serde<number> => Serdes.Long();
const consumed = (): Consumed<S, S> => Consumed.with(str(), str());
// Generic so each `to()` infers the key/value types it needs (keys and values are Strings on the wire).
const producedStrings = <K extends S = S, V extends S = S>(): Produced<K, V> =>
  Produced.with(Serdes.String() as Serde<K>, Serdes.String() as Serde<V>);
const producedLongs = <K extends S = S>(): Produced<K, number> =>
  Produced.with(Serdes.String() as Serde<K>, long());

function stateless(): Topology {
  const builder = new StreamsBuilder();
  const a = builder.stream<S, S>('stateless-a', consumed());
  const b = builder.stream<S, S>('stateless-b', consumed());

  a.filter((_k, v) => v !== null && v.length > 4)
    .mapValues((v, k) => `${k === null ? '<nokey>' : k}:${v}`)
    .to('stateless-long', producedStrings());

  let seen = 0;
  a.merge(b)
    .filter((_k, v) => v === null || v.length % 5 !== 0)
    .filterNot((k) => k !== null && k.endsWith('3'))
    .mapValues((v) => (v === null ? '<null>' : v.toUpperCase()))
    .peek(() => {
      seen++;
    })
    .mapValues((v, _k) => `${v}#${seen}`)
    .flatMapValues((v) => (v.length % 3 === 0 ? [] : v.length % 3 === 1 ? [v] : [v, `${v.toLowerCase()}.`]))
    .map((k, v) => KeyValue.pair<S, string>(k === null ? 'nokey' : `${k}~`, v))
    .flatMap((k, v) =>
      v.length % 2 === 0
        ? [KeyValue.pair<S, string>(k, v), KeyValue.pair<S, string>(null, `${v}!`)]
        : [KeyValue.pair<S, string>(`${k}+`, v)],
    )
    .selectKey((k) => (k === null ? null : k.toUpperCase()))
    .to('stateless-out', producedStrings());
  return builder.build();
}

function count(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('count-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .count(Materialized.as<S, number>('counts').withKeySerde(str()).withValueSerde(long()))
    .toStream()
    .to('count-out', producedLongs());
  return builder.build();
}

function groupByReduce(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('reduce-in', consumed())
    .groupBy((k, v) => (v === null ? k : v.substring(0, 1)), Grouped.with(str(), str()))
    .reduce((agg, v) => `${agg},${v}`, Materialized.with(str(), str()))
    .toStream()
    .to('reduce-out', producedStrings());
  return builder.build();
}

function aggregate(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('aggregate-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .aggregate(
      () => 0,
      (_k, v, agg) => agg + (v === null ? 0 : v.length),
      Materialized.with(str(), long()),
    )
    .toStream()
    .to('aggregate-out', producedLongs());
  return builder.build();
}

function windowedCount(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('windowed-count-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 5_000))
    .count(Materialized.with<S, number>(str(), long()))
    .toStream((wk) => `${wk.key}@${wk.window.start}`)
    .to('windowed-count-out', producedLongs());
  return builder.build();
}

function hoppingAggregate(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('hopping-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .windowedBy(TimeWindows.ofSizeWithNoGrace(10_000).advanceBy(3_000))
    .aggregate(
      () => '',
      (_k, v, agg) => agg + (v === null ? '_' : v.substring(0, 1)),
      Materialized.with<S, string>(str(), Serdes.String()),
    )
    .toStream((wk) => `${wk.key}@${wk.window.start}`)
    .to('hopping-out', producedStrings());
  return builder.build();
}

function table(): Topology {
  const builder = new StreamsBuilder();
  builder.table<S, S>('table-in', consumed()).toStream().to('table-out', producedStrings());
  return builder.build();
}

function topicExtractor(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('extractor-in', consumed())
    .to(
      (_k, v) => (v === null ? 'extractor-null' : v.length % 2 === 0 ? 'extractor-even' : 'extractor-odd'),
      producedStrings(),
    );
  return builder.build();
}

// ---- helpers for the scenarios below -------------------------------------------------------------

/** Materialized.as(name) with String serdes (Java: default String serdes). */
const named = (storeName: string): Materialized<S, S> =>
  Materialized.as<S, S>(storeName).withKeySerde(str()).withValueSerde(str());

/** A windowed key rendered as "key@start-end". */
const window = (wk: Windowed<S>): string => `${wk.key}@${wk.window.start}-${wk.window.end}`;

/** Renders a joiner argument as Java's string concatenation does (null as "null"; undefined shows). */
const j = (v: S | undefined): string => String(v);

// ---- KTable operations -----------------------------------------------------------------------------
// Table processors never hand a null value to a predicate or mapper (Kafka); the lambdas are null-safe
// anyway, with a visible result, so calling them with null would show up as a difference.

function tableFilter(): Topology {
  const builder = new StreamsBuilder();
  const t = builder.table<S, S>('table-filter-in', consumed());
  t.filter((_k, v) => v !== null && v.length % 2 === 0, named('table-filter-store'))
    .toStream()
    .to('table-filter-mat', producedStrings());
  t.filter((_k, v) => v !== null && v.length % 2 === 0)
    .toStream()
    .to('table-filter-plain', producedStrings());
  t.filterNot((_k, v) => v === null || v.startsWith('a') || v.startsWith('b'))
    .toStream()
    .to('table-filternot-plain', producedStrings());
  t.filterNot((k) => k!.endsWith('1'), named('table-filternot-store'))
    .toStream()
    .to('table-filternot-mat', producedStrings());
  return builder.build();
}

function tableMapValues(): Topology {
  const builder = new StreamsBuilder();
  const t = builder.table<S, S>('table-map-in', consumed());
  t.mapValues((v, k) => `${k}=${v === null ? '<null>' : v.toUpperCase()}`)
    .toStream()
    .to('table-map-plain', producedStrings());
  t.filter((_k, v) => v !== null && v.length > 2)
    .mapValues<S>((v) => (v === null ? '<null>' : `${v.length}:${v}`), named('table-map-store'))
    .toStream()
    .to('table-map-chain', producedStrings());
  return builder.build();
}

function tableGroupByCount(): Topology {
  const builder = new StreamsBuilder();
  builder
    .table<S, S>('tgb-count-in', consumed())
    .groupBy(
      (_k, v) => KeyValue.pair<S, S>(v === null ? '<null>' : `g${v.length % 3}`, v),
      Grouped.with(str(), str()),
    )
    .count()
    .toStream()
    .to('tgb-count-out', producedLongs());
  return builder.build();
}

function tableGroupByReduce(): Topology {
  const builder = new StreamsBuilder();
  builder
    .table<S, S>('tgb-reduce-in', consumed())
    .groupBy(
      (k, v) => KeyValue.pair<S, S>(v === null ? '<null>' : v.substring(0, 1), `${k}:${v}`),
      Grouped.with(str(), str()),
    )
    .reduce(
      (agg, v) => `${agg}+${v}`,
      (agg, v) => `${agg}-${v}`,
    )
    .toStream()
    .to('tgb-reduce-out', producedStrings());
  return builder.build();
}

function tableGroupByAggregate(): Topology {
  const builder = new StreamsBuilder();
  builder
    .table<S, S>('tgb-aggregate-in', consumed())
    .groupBy(
      (_k, v) => KeyValue.pair<S, S>(v === null ? '<null>' : `g${v.length % 3}`, v),
      Grouped.with(str(), str()),
    )
    .aggregate(
      () => 0,
      (_k, v, agg) => agg + (v === null ? 0 : v.length),
      (_k, v, agg) => agg - (v === null ? 0 : v.length),
      Materialized.with<S, number>(str(), long()),
    )
    .toStream()
    .to('tgb-aggregate-out', producedLongs());
  return builder.build();
}

function streamToTable(): Topology {
  const builder = new StreamsBuilder();
  const s = builder.stream<S, S>('to-table-in', consumed());
  s.toTable().toStream().to('to-table-plain', producedStrings());
  s.mapValues<S>((v) => (v === null ? null : v.toUpperCase()))
    .toTable(named('to-table-store'))
    .toStream()
    .to('to-table-mat', producedStrings());
  return builder.build();
}

function tableFilterGroupBy(): Topology {
  const builder = new StreamsBuilder();
  builder
    .table<S, S>('tfg-in', consumed())
    .filter((_k, v) => v !== null && v.length > 2)
    .mapValues<S>((v) => (v === null ? '<null>' : v.toUpperCase()))
    .groupBy(
      (_k, v) => KeyValue.pair<S, S>(v === null ? '<null>' : v.substring(0, 1), v),
      Grouped.with(str(), str()),
    )
    .count()
    .toStream()
    .to('tfg-out', producedLongs());
  return builder.build();
}

// ---- joins -----------------------------------------------------------------------------------------

const plus = (a: S, b: S): string => `${j(a)}+${j(b)}`;

function tableTables(): [StreamsBuilder, KTable<S, S>, KTable<S, S>] {
  const builder = new StreamsBuilder();
  return [builder, builder.table<S, S>('ttj-left', consumed()), builder.table<S, S>('ttj-right', consumed())];
}

function tableTableJoin(): Topology {
  const [builder, left, right] = tableTables();
  left
    .join(
      right,
      plus,
      Materialized.as<S, string>('ttj-store').withKeySerde(str()).withValueSerde(Serdes.String()),
    )
    .toStream()
    .to('ttj-out', producedStrings());
  return builder.build();
}

function tableTableLeftJoin(): Topology {
  const [builder, left, right] = tableTables();
  left.leftJoin<S, string>(right, plus).toStream().to('ttj-out', producedStrings());
  return builder.build();
}

function tableTableOuterJoin(): Topology {
  const [builder, left, right] = tableTables();
  left.outerJoin<S, string>(right, plus).toStream().to('ttj-out', producedStrings());
  return builder.build();
}

function streamTableJoin(): Topology {
  const builder = new StreamsBuilder();
  const s = builder.stream<S, S>('stj-stream', consumed());
  const t = builder.table<S, S>('stj-table', consumed());
  s.join(t, (v, tv) => `${j(v)}|${j(tv)}`, Joined.with(str(), str(), str())).to('stj-out', producedStrings());
  return builder.build();
}

function streamTableLeftJoin(): Topology {
  const builder = new StreamsBuilder();
  const s = builder.stream<S, S>('stj-stream', consumed());
  const t = builder.table<S, S>('stj-table', consumed());
  s.leftJoin<S, string>(t, (v, tv) => `${j(v)}|${j(tv)}`).to('stj-out', producedStrings());
  return builder.build();
}

/** The stream is re-keyed before the join, so it is repartitioned (null keys dropped). */
function streamTableJoinRekeyed(): Topology {
  const builder = new StreamsBuilder();
  const s = builder.stream<S, S>('stj-stream', consumed());
  const t = builder.table<S, S>('stj-table', consumed());
  s.selectKey((k, v) => (v === null ? k : `k${v.length % 5}`))
    .leftJoin<S, string>(t, (v, tv) => `${j(v)}|${j(tv)}`)
    .to('stj-out', producedStrings());
  return builder.build();
}

/** Global table key: the stream key for null values, else k(length of value mod 6). */
const globalKey = (k: S, v: S): S => (v === null ? k : `k${v.length % 6}`);

function streamGlobalJoin(): Topology {
  const builder = new StreamsBuilder();
  const s = builder.stream<S, S>('sgj-stream', consumed());
  const g = builder.globalTable<S, S>('sgj-global', consumed());
  s.join(g, globalKey, (v, gv) => `${j(v)}|${j(gv)}`).to('sgj-out', producedStrings());
  return builder.build();
}

function streamGlobalLeftJoin(): Topology {
  const builder = new StreamsBuilder();
  const s = builder.stream<S, S>('sgj-stream', consumed());
  const g = builder.globalTable<S, S>('sgj-global', consumed());
  s.leftJoin<S, S, string>(g, globalKey, (v, gv) => `${j(v)}|${j(gv)}`).to('sgj-out', producedStrings());
  return builder.build();
}

/** Stream-stream joins over 5s windows, with 2s grace (and StreamJoined) or no grace (no StreamJoined). */
function streamStreamJoin(type: 'inner' | 'left' | 'outer', grace: boolean): () => Topology {
  return () => {
    const builder = new StreamsBuilder();
    const left = builder.stream<S, S>('ssj-left', consumed());
    const right = builder.stream<S, S>('ssj-right', consumed());
    const windows = grace
      ? JoinWindows.ofTimeDifferenceAndGrace(5_000, 2_000)
      : JoinWindows.ofTimeDifferenceWithNoGrace(5_000);
    const sj = grace ? StreamJoined.with(str(), str(), str()) : undefined;
    let joined: KStream<S, string>;
    if (type === 'inner') joined = left.join(right, plus, windows, sj);
    else if (type === 'left') joined = left.leftJoin<S, string>(right, plus, windows, sj);
    else joined = left.outerJoin<S, string>(right, plus, windows, sj);
    joined.to('ssj-out', producedStrings());
    return builder.build();
  };
}

/** Foreign key of a left value: none for values starting with "h", else k(length mod 5). */
const foreignKeyOf = (v: S): S => (v === null || v.startsWith('h') ? null : `k${v.length % 5}`);

function foreignKeyJoin(leftJoin: boolean): () => Topology {
  return () => {
    const builder = new StreamsBuilder();
    const left = builder.table<S, S>('fk-left', consumed());
    const right = builder.table<S, S>('fk-right', consumed());
    const joiner = (lv: S, rv: S): string => `${j(lv)}/${j(rv)}`;
    (leftJoin
      ? left.leftJoin<S, S, string>(right, foreignKeyOf, joiner)
      : left.join<S, S, string>(right, foreignKeyOf, joiner)
    )
      .toStream()
      .to('fk-out', producedStrings());
    return builder.build();
  };
}

// ---- session and sliding windows ---------------------------------------------------------------------

function sessionCount(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('session-count-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(5_000, 2_000))
    .count()
    .toStream(window)
    .to('session-count-out', producedLongs());
  return builder.build();
}

function sessionAggregate(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('session-aggregate-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(5_000, 2_000))
    .aggregate(
      () => '',
      (_k, v, agg) => agg + (v === null ? '_' : v.substring(0, 1)),
      (_k, a, b) => `${a}|${b}`,
      Materialized.with<S, string>(str(), Serdes.String()),
    )
    .toStream(window)
    .to('session-aggregate-out', producedStrings());
  return builder.build();
}

function slidingCount(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('sliding-count-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(5_000, 2_000))
    .count()
    .toStream(window)
    .to('sliding-count-out', producedLongs());
  return builder.build();
}

function slidingAggregate(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('sliding-aggregate-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(5_000, 2_000))
    .aggregate(
      () => '',
      (_k, v, agg) => agg + (v === null ? '_' : v.substring(0, 1)),
      Materialized.with<S, string>(str(), Serdes.String()),
    )
    .toStream(window)
    .to('sliding-aggregate-out', producedStrings());
  return builder.build();
}

// ---- versioned tables (KIP-889, KIP-914) ------------------------------------------------------------

const versioned = (storeName: string, historyRetentionMs: number): Materialized<S, S> =>
  Materialized.as<S, S>(Stores.persistentVersionedKeyValueStore(storeName, historyRetentionMs))
    .withKeySerde(str())
    .withValueSerde(str());

function versionedStreamTableJoin(): Topology {
  const builder = new StreamsBuilder();
  const s = builder.stream<S, S>('vstj-stream', consumed());
  const t = builder.table<S, S>('vstj-table', consumed(), versioned('vstj-store', 5_000));
  t.toStream().to('vstj-updates', producedStrings());
  s.join(t, (v, tv) => `${j(v)}|${j(tv)}`).to('vstj-out', producedStrings());
  s.leftJoin<S, string>(t, (v, tv) => `${j(v)}|${j(tv)}`).to('vstj-left-out', producedStrings());
  return builder.build();
}

function versionedTableOps(): Topology {
  const builder = new StreamsBuilder();
  const t = builder.table<S, S>('vt-in', consumed(), versioned('vt-store', 5_000));
  t.mapValues((v) => `m${v}`)
    .groupBy((_k, v) => KeyValue.pair<S, S>(`g${v.length % 3}`, v), Grouped.with(str(), str()))
    .count()
    .toStream()
    .to('vt-count-out', producedLongs());
  const other = builder.table<S, S>('vt-other', consumed());
  t.join(other, (a, b) => `${j(a)}+${j(b)}`)
    .toStream()
    .to('vt-join-out', producedStrings());
  return builder.build();
}

// ---- cogroup ---------------------------------------------------------------------------------------

const first = (v: S): string => (v === null ? '_' : v.substring(0, 1));

function cogroup(): Topology {
  const builder = new StreamsBuilder();
  const a = builder.stream<S, S>('cogroup-a', consumed());
  const b = builder.stream<S, S>('cogroup-b', consumed());
  const c = builder.stream<S, S>('cogroup-c', consumed());
  const groupedA = a.groupByKey(Grouped.with(str(), str()));
  const groupedB = b.groupBy((_k, v) => (v === null ? 'k0' : `k${v.length % 4}`), Grouped.with(str(), str()));
  const groupedC = c.groupByKey(Grouped.with(str(), str()));
  groupedA
    .cogroup<string>((_k, v, agg) => `${agg}a${first(v)}`)
    .cogroup(groupedB, (_k, v, agg) => `${agg}B${first(v)}`)
    .cogroup(groupedC, (_k, v, agg) => (agg.length > 12 ? `c${v!.length}` : `${agg}c${v!.length}`))
    .aggregate(() => '', named('cogroup-store') as Materialized<S, string>)
    .toStream()
    .to('cogroup-out', producedStrings());
  groupedC
    .cogroup<string>((_k, v, agg) => `${agg}${v!.length}`)
    .cogroup(groupedA, (_k, v, agg) => (agg.length > 6 ? first(v) : agg + first(v)))
    .aggregate(() => '!', Named.as('cg'), Materialized.with<S, string>(str(), Serdes.String()))
    .toStream()
    .to('cogroup-named-out', producedStrings());
  return builder.build();
}

function cogroupWindowed(): Topology {
  const builder = new StreamsBuilder();
  const a = builder.stream<S, S>('cogroup-w-a', consumed()).groupByKey(Grouped.with(str(), str()));
  const b = builder.stream<S, S>('cogroup-w-b', consumed()).groupByKey(Grouped.with(str(), str()));
  const cogrouped = a
    .cogroup<string>((_k, v, agg) => agg + first(v))
    .cogroup(b, (_k, v, agg) => agg + first(v).toUpperCase());
  const strings = Materialized.with<S, string>(str(), Serdes.String());
  cogrouped
    .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 2_000).advanceBy(5_000))
    .aggregate(() => '', strings)
    .toStream(window)
    .to('cogroup-hopping-out', producedStrings());
  cogrouped
    .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(5_000, 2_000))
    .aggregate(() => '', strings)
    .toStream(window)
    .to('cogroup-sliding-out', producedStrings());
  cogrouped
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(5_000, 2_000))
    .aggregate(
      () => '',
      (_k, x, y) => `${x}|${y}`,
      Named.as('cg-session'),
      strings,
    )
    .toStream(window)
    .to('cogroup-session-out', producedStrings());
  return builder.build();
}

// ---- emit strategy (KIP-825) -----------------------------------------------------------------------

function emitWindowClose(): Topology {
  const builder = new StreamsBuilder();
  const grouped = builder.stream<S, S>('emit-wc-in', consumed()).groupByKey(Grouped.with(str(), str()));
  grouped
    .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 2_000))
    .emitStrategy(EmitStrategy.onWindowClose())
    .count(Materialized.with<S, number>(str(), long()))
    .toStream(window)
    .to('emit-wc-tumbling-out', producedLongs());
  grouped
    .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 1_000).advanceBy(5_000))
    .emitStrategy(EmitStrategy.onWindowClose())
    .aggregate(
      () => '',
      (_k, v, agg) => agg + first(v),
      Materialized.with<S, string>(str(), Serdes.String()),
    )
    .toStream(window)
    .to('emit-wc-hopping-out', producedStrings());
  return builder.build();
}

function emitWindowCloseSliding(): Topology {
  const builder = new StreamsBuilder();
  const grouped = builder
    .stream<S, S>('emit-wc-sliding-in', consumed())
    .groupByKey(Grouped.with(str(), str()));
  const windowed = grouped
    .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(5_000, 2_000))
    .emitStrategy(EmitStrategy.onWindowClose());
  windowed
    .count(Materialized.with<S, number>(str(), long()))
    .toStream(window)
    .to('emit-wc-sliding-count', producedLongs());
  windowed
    .aggregate(
      () => '',
      (_k, v, agg) => agg + first(v),
      Materialized.with<S, string>(str(), Serdes.String()),
    )
    .toStream(window)
    .to('emit-wc-sliding-out', producedStrings());
  return builder.build();
}

// ---- suppress --------------------------------------------------------------------------------------

function suppressWindowClose(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('suppress-wc-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 2_000))
    .count()
    .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
    .toStream(window)
    .to('suppress-wc-out', producedLongs());
  return builder.build();
}

function suppressTimeLimit(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('suppress-tl-stream', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .count()
    .suppress(Suppressed.untilTimeLimit(3_000, BufferConfig.maxRecords(1_000)))
    .toStream()
    .to('suppress-tl-count', producedLongs());
  builder
    .table<S, S>('suppress-tl-table', consumed())
    .suppress(Suppressed.untilTimeLimit(3_000, BufferConfig.maxRecords(1_000)))
    .toStream()
    .to('suppress-tl-table-out', producedStrings());
  return builder.build();
}

function suppressEarlyEmit(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<S, S>('suppress-ee-in', consumed())
    .groupByKey(Grouped.with(str(), str()))
    .count()
    .suppress(Suppressed.untilTimeLimit(3_000, BufferConfig.maxRecords(3).emitEarlyWhenFull()))
    .toStream()
    .to('suppress-ee-out', producedLongs());
  return builder.build();
}

// ---- split and repartition ---------------------------------------------------------------------------

/** A branch of split() by its full name; a missing branch is an error, not an empty stream. */
function branch(branches: Map<string, KStream<any, any>>, name: string): KStream<S, S> {
  const b = branches.get(name);
  if (!b) throw new Error(`split() returned no branch '${name}' (has: ${[...branches.keys()].join(', ')})`);
  return b as KStream<S, S>;
}

function splitBranch(): Topology {
  const builder = new StreamsBuilder();
  const branches = builder
    .stream<S, S>('split-in', consumed())
    .split(Named.as('b-'))
    .branch((_k, v) => v !== null && v.startsWith('a'), Branched.as('a'))
    .branch((_k, v) => v !== null && v.length > 4, Branched.as('long'))
    .defaultBranch(Branched.as('rest'));
  branch(branches, 'b-a').to('split-a', producedStrings());
  branch(branches, 'b-long')
    .mapValues((v) => (v === null ? null : v.toUpperCase()))
    .to('split-long', producedStrings());
  branch(branches, 'b-rest').to('split-rest', producedStrings());
  return builder.build();
}

function repartition(): Topology {
  const builder = new StreamsBuilder();
  const repartitioned = builder
    .stream<S, S>('repartition-in', consumed())
    .selectKey((k, v) => (v === null ? k : v.substring(0, 1)))
    .repartition(Repartitioned.with(str(), str()).withNumberOfPartitions(2).withName('by-letter'));
  repartitioned.to('repartition-through', producedStrings());
  repartitioned
    .groupByKey(Grouped.with(str(), str()))
    .count()
    .toStream()
    .to('repartition-count', producedLongs());
  return builder.build();
}

/** Topology builders by scenario name (see specs.ts for topics and inputs). */
export const TOPOLOGIES: Readonly<Record<string, () => Topology>> = {
  stateless,
  count,
  'groupby-reduce': groupByReduce,
  aggregate,
  'windowed-count': windowedCount,
  'hopping-aggregate': hoppingAggregate,
  table,
  'topic-extractor': topicExtractor,
  'table-filter': tableFilter,
  'table-map-values': tableMapValues,
  'table-groupby-count': tableGroupByCount,
  'table-groupby-reduce': tableGroupByReduce,
  'table-groupby-aggregate': tableGroupByAggregate,
  'stream-to-table': streamToTable,
  'table-filter-groupby': tableFilterGroupBy,
  'table-table-join': tableTableJoin,
  'table-table-left-join': tableTableLeftJoin,
  'table-table-outer-join': tableTableOuterJoin,
  'versioned-stream-table-join': versionedStreamTableJoin,
  'versioned-table-ops': versionedTableOps,
  'stream-table-join': streamTableJoin,
  'stream-table-left-join': streamTableLeftJoin,
  'stream-table-join-rekeyed': streamTableJoinRekeyed,
  'stream-global-join': streamGlobalJoin,
  'stream-global-left-join': streamGlobalLeftJoin,
  'stream-stream-join': streamStreamJoin('inner', true),
  'stream-stream-left-join': streamStreamJoin('left', true),
  'stream-stream-outer-join': streamStreamJoin('outer', true),
  'stream-stream-join-no-grace': streamStreamJoin('inner', false),
  'stream-stream-left-join-no-grace': streamStreamJoin('left', false),
  'stream-stream-outer-join-no-grace': streamStreamJoin('outer', false),
  'fk-join': foreignKeyJoin(false),
  'fk-left-join': foreignKeyJoin(true),
  'session-count': sessionCount,
  'session-aggregate': sessionAggregate,
  'sliding-count': slidingCount,
  'sliding-aggregate': slidingAggregate,
  cogroup,
  'cogroup-windowed': cogroupWindowed,
  'emit-window-close': emitWindowClose,
  'emit-window-close-sliding': emitWindowCloseSliding,
  'suppress-window-close': suppressWindowClose,
  'suppress-time-limit': suppressTimeLimit,
  'suppress-early-emit': suppressEarlyEmit,
  'split-branch': splitBranch,
  repartition,
};
