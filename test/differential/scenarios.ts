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
  Consumed,
  Grouped,
  KeyValue,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TimeWindows,
} from '../../src/index.ts';
import type { Serde, Topology } from '../../src/index.ts';

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
};
