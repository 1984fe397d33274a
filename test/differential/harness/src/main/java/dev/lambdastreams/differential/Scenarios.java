package dev.lambdastreams.differential;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.BuiltInDslStoreSuppliers;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The reference side of the differential scenarios. Every method here has a twin of the same name in
 * test/differential/scenarios.ts written against the lambda-streams DSL; keep the two in lockstep
 * (same topics, same functions, same null handling). Inputs are always String/String; output
 * topics declare whether their values are Strings or Longs.
 */
final class Scenarios {
  private Scenarios() {}

  enum ValueType {
    STRING,
    LONG
  }

  record Scenario(Supplier<Topology> topology, Map<String, ValueType> outputs) {}

  static final Map<String, Scenario> ALL = new LinkedHashMap<>();

  static {
    ALL.put(
        "stateless",
        new Scenario(
            Scenarios::stateless,
            outputs("stateless-long", ValueType.STRING, "stateless-out", ValueType.STRING)));
    ALL.put("count", new Scenario(Scenarios::count, outputs("count-out", ValueType.LONG)));
    ALL.put(
        "groupby-reduce", new Scenario(Scenarios::groupByReduce, outputs("reduce-out", ValueType.STRING)));
    ALL.put("aggregate", new Scenario(Scenarios::aggregate, outputs("aggregate-out", ValueType.LONG)));
    ALL.put(
        "windowed-count",
        new Scenario(Scenarios::windowedCount, outputs("windowed-count-out", ValueType.LONG)));
    ALL.put(
        "hopping-aggregate",
        new Scenario(Scenarios::hoppingAggregate, outputs("hopping-out", ValueType.STRING)));
    ALL.put("table", new Scenario(Scenarios::table, outputs("table-out", ValueType.STRING)));
    ALL.put(
        "topic-extractor",
        new Scenario(
            Scenarios::topicExtractor,
            outputs(
                "extractor-even", ValueType.STRING,
                "extractor-odd", ValueType.STRING,
                "extractor-null", ValueType.STRING)));
  }

  /**
   * A builder whose DSL stores are in memory. Store type does not change what the processors forward,
   * and with RocksDB the test driver's per-record commit flushes a memtable per record (about 25x slower).
   * Set LAMBDA_STREAMS_HARNESS_STORE=rocksdb to use Kafka Streams' default stores instead.
   */
  static StreamsBuilder builder() {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, Harness.APPLICATION_ID);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    props.put(
        StreamsConfig.DSL_STORE_SUPPLIERS_CLASS_CONFIG,
        "rocksdb".equalsIgnoreCase(System.getenv("LAMBDA_STREAMS_HARNESS_STORE"))
            ? BuiltInDslStoreSuppliers.RocksDBDslStoreSuppliers.class
            : BuiltInDslStoreSuppliers.InMemoryDslStoreSuppliers.class);
    return new StreamsBuilder(new TopologyConfig(new StreamsConfig(props)));
  }

  private static Map<String, ValueType> outputs(Object... topicAndType) {
    Map<String, ValueType> m = new LinkedHashMap<>();
    for (int i = 0; i < topicAndType.length; i += 2) {
      m.put((String) topicAndType[i], (ValueType) topicAndType[i + 1]);
    }
    return m;
  }

  /** filter, filterNot, map, mapValues (with and without key), flatMap, flatMapValues, selectKey, peek, merge, fan-out, to. */
  static Topology stateless() {
    StreamsBuilder builder = builder();
    KStream<String, String> a = builder.stream("stateless-a");
    KStream<String, String> b = builder.stream("stateless-b");

    a.filter((k, v) -> v != null && v.length() > 4)
        .mapValues((k, v) -> (k == null ? "<nokey>" : k) + ":" + v)
        .to("stateless-long");

    int[] seen = {0};
    a.merge(b)
        .filter((k, v) -> v == null || v.length() % 5 != 0)
        .filterNot((k, v) -> k != null && k.endsWith("3"))
        .mapValues(v -> v == null ? "<null>" : v.toUpperCase())
        .peek((k, v) -> seen[0]++)
        .mapValues((k, v) -> v + "#" + seen[0])
        .flatMapValues(
            v -> v.length() % 3 == 0 ? List.of() : v.length() % 3 == 1 ? List.of(v) : List.of(v, v.toLowerCase() + "."))
        .map((k, v) -> KeyValue.pair(k == null ? "nokey" : k + "~", v))
        .flatMap(
            (k, v) ->
                v.length() % 2 == 0
                    ? List.of(KeyValue.pair(k, v), KeyValue.pair((String) null, v + "!"))
                    : List.of(KeyValue.pair(k + "+", v)))
        .selectKey((k, v) -> k == null ? null : k.toUpperCase())
        .to("stateless-out");
    return builder.build();
  }

  /** groupByKey().count(): null keys and null values are dropped by the aggregation. */
  static Topology count() {
    StreamsBuilder builder = builder();
    builder.<String, String>stream("count-in")
        .groupByKey()
        .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts"))
        .toStream()
        .to("count-out", Produced.with(Serdes.String(), Serdes.Long()));
    return builder.build();
  }

  /** groupBy(new key) -> repartition -> reduce (string concatenation, so order matters). */
  static Topology groupByReduce() {
    StreamsBuilder builder = builder();
    builder.<String, String>stream("reduce-in")
        .groupBy((k, v) -> v == null ? k : v.substring(0, 1), Grouped.with(Serdes.String(), Serdes.String()))
        .reduce(
            (agg, v) -> agg + "," + v,
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
        .toStream()
        .to("reduce-out");
    return builder.build();
  }

  /** groupByKey().aggregate(initializer, aggregator): sum of value lengths. */
  static Topology aggregate() {
    StreamsBuilder builder = builder();
    builder.<String, String>stream("aggregate-in")
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
        .aggregate(
            () -> 0L,
            (k, v, agg) -> agg + (v == null ? 0 : v.length()),
            Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>with(Serdes.String(), Serdes.Long()))
        .toStream()
        .to("aggregate-out", Produced.with(Serdes.String(), Serdes.Long()));
    return builder.build();
  }

  /** Tumbling 10s windows with 5s grace, count; windowed key rendered as "key@start". */
  static Topology windowedCount() {
    StreamsBuilder builder = builder();
    builder.<String, String>stream("windowed-count-in")
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(10_000), Duration.ofMillis(5_000)))
        .count()
        .toStream((wk, v) -> wk.key() + "@" + wk.window().start())
        .to("windowed-count-out", Produced.with(Serdes.String(), Serdes.Long()));
    return builder.build();
  }

  /**
   * Hopping 10s windows advancing by 3s, no grace; aggregate concatenates first characters. Windowed
   * aggregations drop null keys but, unlike groupByKey().aggregate(), do pass null values on.
   */
  static Topology hoppingAggregate() {
    StreamsBuilder builder = builder();
    builder.<String, String>stream("hopping-in")
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofMillis(10_000)).advanceBy(Duration.ofMillis(3_000)))
        .aggregate(
            () -> "",
            (k, v, agg) -> agg + (v == null ? "_" : v.substring(0, 1)),
            Materialized.<String, String, WindowStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
        .toStream((wk, v) -> wk.key() + "@" + wk.window().start())
        .to("hopping-out");
    return builder.build();
  }

  /** builder.table(topic).toStream(): updates and tombstones (null keys are dropped by the source). */
  static Topology table() {
    StreamsBuilder builder = builder();
    builder.table("table-in", Consumed.with(Serdes.String(), Serdes.String())).toStream().to("table-out");
    return builder.build();
  }

  /** to(TopicNameExtractor): route by value length parity, null values to their own topic. */
  static Topology topicExtractor() {
    StreamsBuilder builder = builder();
    builder.<String, String>stream("extractor-in")
        .to(
            (k, v, ctx) ->
                v == null ? "extractor-null" : v.length() % 2 == 0 ? "extractor-even" : "extractor-odd",
            Produced.with(Serdes.String(), Serdes.String()));
    return builder.build();
  }
}
