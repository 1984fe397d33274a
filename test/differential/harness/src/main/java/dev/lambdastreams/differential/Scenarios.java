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
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.Suppressed.BufferConfig;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.ValueJoiner;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.BuiltInDslStoreSuppliers;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.SessionStore;
import org.apache.kafka.streams.state.Stores;
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

    // KTable operations
    ALL.put(
        "table-filter",
        new Scenario(
            Scenarios::tableFilter,
            outputs(
                "table-filter-mat", ValueType.STRING,
                "table-filter-plain", ValueType.STRING,
                "table-filternot-plain", ValueType.STRING,
                "table-filternot-mat", ValueType.STRING)));
    ALL.put(
        "table-map-values",
        new Scenario(
            Scenarios::tableMapValues,
            outputs("table-map-plain", ValueType.STRING, "table-map-chain", ValueType.STRING)));
    ALL.put(
        "table-groupby-count",
        new Scenario(Scenarios::tableGroupByCount, outputs("tgb-count-out", ValueType.LONG)));
    ALL.put(
        "table-groupby-reduce",
        new Scenario(Scenarios::tableGroupByReduce, outputs("tgb-reduce-out", ValueType.STRING)));
    ALL.put(
        "table-groupby-aggregate",
        new Scenario(Scenarios::tableGroupByAggregate, outputs("tgb-aggregate-out", ValueType.LONG)));
    ALL.put(
        "stream-to-table",
        new Scenario(
            Scenarios::streamToTable,
            outputs("to-table-plain", ValueType.STRING, "to-table-mat", ValueType.STRING)));

    ALL.put(
        "table-filter-groupby",
        new Scenario(Scenarios::tableFilterGroupBy, outputs("tfg-out", ValueType.LONG)));

    // joins
    ALL.put(
        "table-table-join",
        new Scenario(Scenarios::tableTableJoin, outputs("ttj-out", ValueType.STRING)));
    ALL.put(
        "table-table-left-join",
        new Scenario(Scenarios::tableTableLeftJoin, outputs("ttj-out", ValueType.STRING)));
    ALL.put(
        "table-table-outer-join",
        new Scenario(Scenarios::tableTableOuterJoin, outputs("ttj-out", ValueType.STRING)));
    ALL.put(
        "versioned-stream-table-join",
        new Scenario(
            Scenarios::versionedStreamTableJoin,
            outputs(
                "vstj-out", ValueType.STRING,
                "vstj-left-out", ValueType.STRING,
                "vstj-updates", ValueType.STRING)));
    ALL.put(
        "versioned-table-ops",
        new Scenario(
            Scenarios::versionedTableOps,
            outputs("vt-count-out", ValueType.LONG, "vt-join-out", ValueType.STRING)));
    ALL.put(
        "stream-table-join",
        new Scenario(Scenarios::streamTableJoin, outputs("stj-out", ValueType.STRING)));
    ALL.put(
        "stream-table-left-join",
        new Scenario(Scenarios::streamTableLeftJoin, outputs("stj-out", ValueType.STRING)));
    ALL.put(
        "stream-table-join-rekeyed",
        new Scenario(Scenarios::streamTableJoinRekeyed, outputs("stj-out", ValueType.STRING)));
    ALL.put(
        "stream-global-join",
        new Scenario(Scenarios::streamGlobalJoin, outputs("sgj-out", ValueType.STRING)));
    ALL.put(
        "stream-global-left-join",
        new Scenario(Scenarios::streamGlobalLeftJoin, outputs("sgj-out", ValueType.STRING)));
    ALL.put(
        "stream-stream-join",
        new Scenario(() -> streamStreamJoin("inner", true), outputs("ssj-out", ValueType.STRING)));
    ALL.put(
        "stream-stream-left-join",
        new Scenario(() -> streamStreamJoin("left", true), outputs("ssj-out", ValueType.STRING)));
    ALL.put(
        "stream-stream-outer-join",
        new Scenario(() -> streamStreamJoin("outer", true), outputs("ssj-out", ValueType.STRING)));
    ALL.put(
        "stream-stream-join-no-grace",
        new Scenario(() -> streamStreamJoin("inner", false), outputs("ssj-out", ValueType.STRING)));
    ALL.put(
        "stream-stream-left-join-no-grace",
        new Scenario(() -> streamStreamJoin("left", false), outputs("ssj-out", ValueType.STRING)));
    ALL.put(
        "stream-stream-outer-join-no-grace",
        new Scenario(() -> streamStreamJoin("outer", false), outputs("ssj-out", ValueType.STRING)));
    ALL.put(
        "fk-join",
        new Scenario(() -> foreignKeyJoin(false), outputs("fk-out", ValueType.STRING)));
    ALL.put(
        "fk-left-join",
        new Scenario(() -> foreignKeyJoin(true), outputs("fk-out", ValueType.STRING)));

    // session and sliding windows
    ALL.put(
        "session-count", new Scenario(Scenarios::sessionCount, outputs("session-count-out", ValueType.LONG)));
    ALL.put(
        "session-aggregate",
        new Scenario(Scenarios::sessionAggregate, outputs("session-aggregate-out", ValueType.STRING)));
    ALL.put(
        "sliding-count", new Scenario(Scenarios::slidingCount, outputs("sliding-count-out", ValueType.LONG)));
    ALL.put(
        "sliding-aggregate",
        new Scenario(Scenarios::slidingAggregate, outputs("sliding-aggregate-out", ValueType.STRING)));

    // cogroup (KIP-150) and emit strategy (KIP-825)
    ALL.put(
        "cogroup",
        new Scenario(Scenarios::cogroup, outputs("cogroup-out", ValueType.STRING, "cogroup-named-out", ValueType.STRING)));
    ALL.put(
        "cogroup-windowed",
        new Scenario(
            Scenarios::cogroupWindowed,
            outputs(
                "cogroup-hopping-out", ValueType.STRING,
                "cogroup-sliding-out", ValueType.STRING,
                "cogroup-session-out", ValueType.STRING)));
    ALL.put(
        "emit-window-close",
        new Scenario(
            Scenarios::emitWindowClose,
            outputs("emit-wc-tumbling-out", ValueType.LONG, "emit-wc-hopping-out", ValueType.STRING)));
    ALL.put(
        "emit-window-close-sliding",
        new Scenario(
            Scenarios::emitWindowCloseSliding,
            outputs("emit-wc-sliding-count", ValueType.LONG, "emit-wc-sliding-out", ValueType.STRING)));

    // suppress
    ALL.put(
        "suppress-window-close",
        new Scenario(Scenarios::suppressWindowClose, outputs("suppress-wc-out", ValueType.LONG)));
    ALL.put(
        "suppress-time-limit",
        new Scenario(
            Scenarios::suppressTimeLimit,
            outputs("suppress-tl-count", ValueType.LONG, "suppress-tl-table-out", ValueType.STRING)));
    ALL.put(
        "suppress-early-emit",
        new Scenario(Scenarios::suppressEarlyEmit, outputs("suppress-ee-out", ValueType.LONG)));

    // split and repartition
    ALL.put(
        "split-branch",
        new Scenario(
            Scenarios::splitBranch,
            outputs("split-a", ValueType.STRING, "split-long", ValueType.STRING, "split-rest", ValueType.STRING)));
    ALL.put(
        "repartition",
        new Scenario(
            Scenarios::repartition,
            outputs("repartition-through", ValueType.STRING, "repartition-count", ValueType.LONG)));
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
    props.put(StreamsConfig.DSL_STORE_SUPPLIERS_CLASS_CONFIG, dslStoreSuppliers());
    return new StreamsBuilder(new TopologyConfig(new StreamsConfig(props)));
  }

  /**
   * In-memory DSL stores unless LAMBDA_STREAMS_HARNESS_STORE=rocksdb. Needed both here (stores the
   * builder creates) and in the driver's config (stores named with Materialized.as(name) and the
   * foreign-key join's subscription store are configured from it).
   */
  static Class<?> dslStoreSuppliers() {
    return "rocksdb".equalsIgnoreCase(System.getenv("LAMBDA_STREAMS_HARNESS_STORE"))
        ? BuiltInDslStoreSuppliers.RocksDBDslStoreSuppliers.class
        : BuiltInDslStoreSuppliers.InMemoryDslStoreSuppliers.class;
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

  // ---------------------------------------------------------------------------------------------
  // Helpers shared by the scenarios below.

  private static Consumed<String, String> strings() {
    return Consumed.with(Serdes.String(), Serdes.String());
  }

  /** Materialized.as(name) with String serdes. */
  private static Materialized<String, String, KeyValueStore<Bytes, byte[]>> named(String storeName) {
    return Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as(storeName)
        .withKeySerde(Serdes.String())
        .withValueSerde(Serdes.String());
  }

  /** A windowed key rendered as "key@start-end". */
  private static String window(Windowed<String> wk) {
    return wk.key() + "@" + wk.window().start() + "-" + wk.window().end();
  }

  private static final Produced<String, Long> LONGS = Produced.with(Serdes.String(), Serdes.Long());

  // ---------------------------------------------------------------------------------------------
  // KTable operations. Table processors never hand a null value to a predicate or mapper; the
  // lambdas are null-safe anyway (with a visible result) so a difference shows up as output.

  /**
   * filter / filterNot, materialized and not: an update the predicate rejects becomes a tombstone
   * (also when the key was absent or already filtered out, since no old values are sent here).
   */
  static Topology tableFilter() {
    StreamsBuilder builder = builder();
    KTable<String, String> t = builder.table("table-filter-in", strings());
    t.filter((k, v) -> v != null && v.length() % 2 == 0, named("table-filter-store"))
        .toStream()
        .to("table-filter-mat");
    t.filter((k, v) -> v != null && v.length() % 2 == 0).toStream().to("table-filter-plain");
    t.filterNot((k, v) -> v == null || v.startsWith("a") || v.startsWith("b"))
        .toStream()
        .to("table-filternot-plain");
    t.filterNot((k, v) -> k.endsWith("1"), named("table-filternot-store"))
        .toStream()
        .to("table-filternot-mat");
    return builder.build();
  }

  /** mapValues with and without key, plain and materialized, chained after a filter. */
  static Topology tableMapValues() {
    StreamsBuilder builder = builder();
    KTable<String, String> t = builder.table("table-map-in", strings());
    t.mapValues((k, v) -> k + "=" + (v == null ? "<null>" : v.toUpperCase()))
        .toStream()
        .to("table-map-plain");
    t.filter((k, v) -> v != null && v.length() > 2)
        .mapValues(v -> v == null ? "<null>" : v.length() + ":" + v, named("table-map-store"))
        .toStream()
        .to("table-map-chain");
    return builder.build();
  }

  /** Table groupBy (re-key by value length mod 3) then count: an update subtracts from the old group. */
  static Topology tableGroupByCount() {
    StreamsBuilder builder = builder();
    builder.table("tgb-count-in", strings())
        .groupBy(
            (k, v) -> KeyValue.pair(v == null ? "<null>" : "g" + (v.length() % 3), v),
            Grouped.with(Serdes.String(), Serdes.String()))
        .count()
        .toStream()
        .to("tgb-count-out", LONGS);
    return builder.build();
  }

  /** Table groupBy (re-key by first letter) then reduce with an adder and a subtractor (order visible). */
  static Topology tableGroupByReduce() {
    StreamsBuilder builder = builder();
    builder.table("tgb-reduce-in", strings())
        .groupBy(
            (k, v) -> KeyValue.pair(v == null ? "<null>" : v.substring(0, 1), k + ":" + v),
            Grouped.with(Serdes.String(), Serdes.String()))
        .reduce((agg, v) -> agg + "+" + v, (agg, v) -> agg + "-" + v)
        .toStream()
        .to("tgb-reduce-out");
    return builder.build();
  }

  /** Table groupBy then aggregate(0, +length, -length) into a Long. */
  static Topology tableGroupByAggregate() {
    StreamsBuilder builder = builder();
    builder.table("tgb-aggregate-in", strings())
        .groupBy(
            (k, v) -> KeyValue.pair(v == null ? "<null>" : "g" + (v.length() % 3), v),
            Grouped.with(Serdes.String(), Serdes.String()))
        .aggregate(
            () -> 0L,
            (k, v, agg) -> agg + (v == null ? 0 : v.length()),
            (k, v, agg) -> agg - (v == null ? 0 : v.length()),
            Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>with(Serdes.String(), Serdes.Long()))
        .toStream()
        .to("tgb-aggregate-out", LONGS);
    return builder.build();
  }

  /** KStream.toTable(), plain and materialized (null keys dropped, null values are tombstones). */
  static Topology streamToTable() {
    StreamsBuilder builder = builder();
    KStream<String, String> s = builder.stream("to-table-in", strings());
    s.toTable().toStream().to("to-table-plain");
    s.mapValues(v -> v == null ? null : v.toUpperCase())
        .toTable(named("to-table-store"))
        .toStream()
        .to("to-table-mat");
    return builder.build();
  }

  /**
   * filter then mapValues then groupBy/count: the aggregation asks its parents for old values, so the
   * filter now drops updates whose old and new values are both filtered out (no tombstone to subtract).
   */
  static Topology tableFilterGroupBy() {
    StreamsBuilder builder = builder();
    builder.table("tfg-in", strings())
        .filter((k, v) -> v != null && v.length() > 2)
        .mapValues(v -> v == null ? "<null>" : v.toUpperCase())
        .groupBy(
            (k, v) -> KeyValue.pair(v == null ? "<null>" : v.substring(0, 1), v),
            Grouped.with(Serdes.String(), Serdes.String()))
        .count()
        .toStream()
        .to("tfg-out", LONGS);
    return builder.build();
  }

  // ---------------------------------------------------------------------------------------------
  // Joins. Joiners render null sides as "null" (Java string concatenation; String(v) in TS).

  private static final ValueJoiner<String, String, String> PLUS = (a, b) -> a + "+" + b;

  static Topology tableTableJoin() {
    StreamsBuilder builder = builder();
    KTable<String, String> left = builder.table("ttj-left", strings());
    KTable<String, String> right = builder.table("ttj-right", strings());
    left.join(right, PLUS, named("ttj-store")).toStream().to("ttj-out");
    return builder.build();
  }

  static Topology tableTableLeftJoin() {
    StreamsBuilder builder = builder();
    KTable<String, String> left = builder.table("ttj-left", strings());
    KTable<String, String> right = builder.table("ttj-right", strings());
    left.leftJoin(right, PLUS).toStream().to("ttj-out");
    return builder.build();
  }

  static Topology tableTableOuterJoin() {
    StreamsBuilder builder = builder();
    KTable<String, String> left = builder.table("ttj-left", strings());
    KTable<String, String> right = builder.table("ttj-right", strings());
    left.outerJoin(right, PLUS).toStream().to("ttj-out");
    return builder.build();
  }

  /** Stream-table inner join (with Joined): table updates never emit; stream records look up. */
  /** Materialized on a versioned store (KIP-889) with String serdes. */
  private static Materialized<String, String, KeyValueStore<Bytes, byte[]>> versioned(
      String storeName, long historyRetentionMs) {
    return Materialized.<String, String>as(
            Stores.persistentVersionedKeyValueStore(storeName, Duration.ofMillis(historyRetentionMs)))
        .withKeySerde(Serdes.String())
        .withValueSerde(Serdes.String());
  }

  static Topology versionedStreamTableJoin() {
    StreamsBuilder builder = builder();
    KStream<String, String> s = builder.stream("vstj-stream", strings());
    KTable<String, String> t = builder.table("vstj-table", strings(), versioned("vstj-store", 5_000));
    t.toStream().to("vstj-updates");
    s.join(t, (v, tv) -> v + "|" + tv).to("vstj-out");
    s.leftJoin(t, (v, tv) -> v + "|" + tv).to("vstj-left-out");
    return builder.build();
  }

  static Topology versionedTableOps() {
    StreamsBuilder builder = builder();
    KTable<String, String> t = builder.table("vt-in", strings(), versioned("vt-store", 5_000));
    t.mapValues(v -> "m" + v)
        .groupBy(
            (k, v) -> KeyValue.pair("g" + (v.length() % 3), v),
            Grouped.with(Serdes.String(), Serdes.String()))
        .count()
        .toStream()
        .to("vt-count-out", LONGS);
    KTable<String, String> other = builder.table("vt-other", strings());
    t.join(other, (a, b) -> a + "+" + b).toStream().to("vt-join-out");
    return builder.build();
  }

  static Topology streamTableJoin() {
    StreamsBuilder builder = builder();
    KStream<String, String> s = builder.stream("stj-stream", strings());
    KTable<String, String> t = builder.table("stj-table", strings());
    s.join(t, (v, tv) -> v + "|" + tv, Joined.with(Serdes.String(), Serdes.String(), Serdes.String()))
        .to("stj-out");
    return builder.build();
  }

  static Topology streamTableLeftJoin() {
    StreamsBuilder builder = builder();
    KStream<String, String> s = builder.stream("stj-stream", strings());
    KTable<String, String> t = builder.table("stj-table", strings());
    s.leftJoin(t, (v, tv) -> v + "|" + tv).to("stj-out");
    return builder.build();
  }

  /** The stream is re-keyed before the join, so Kafka Streams repartitions it (null keys dropped). */
  static Topology streamTableJoinRekeyed() {
    StreamsBuilder builder = builder();
    KStream<String, String> s = builder.stream("stj-stream", strings());
    KTable<String, String> t = builder.table("stj-table", strings());
    s.selectKey((k, v) -> v == null ? k : "k" + (v.length() % 5))
        .leftJoin(t, (v, tv) -> v + "|" + tv)
        .to("stj-out");
    return builder.build();
  }

  /** Global table key: the stream key for null values, else k(length of value mod 6). */
  private static String globalKey(String k, String v) {
    return v == null ? k : "k" + (v.length() % 6);
  }

  static Topology streamGlobalJoin() {
    StreamsBuilder builder = builder();
    KStream<String, String> s = builder.stream("sgj-stream", strings());
    GlobalKTable<String, String> g = builder.globalTable("sgj-global", strings());
    s.join(g, Scenarios::globalKey, (v, gv) -> v + "|" + gv).to("sgj-out");
    return builder.build();
  }

  static Topology streamGlobalLeftJoin() {
    StreamsBuilder builder = builder();
    KStream<String, String> s = builder.stream("sgj-stream", strings());
    GlobalKTable<String, String> g = builder.globalTable("sgj-global", strings());
    s.leftJoin(g, Scenarios::globalKey, (v, gv) -> v + "|" + gv).to("sgj-out");
    return builder.build();
  }

  /**
   * Stream-stream joins over 5s windows, with 2s grace or none; StreamJoined given in the grace
   * variants only. Left/outer emit unmatched records once the window closes (the harness turns off
   * the wall-clock throttle of that emission, see Harness.props).
   */
  static Topology streamStreamJoin(String type, boolean grace) {
    StreamsBuilder builder = builder();
    KStream<String, String> left = builder.stream("ssj-left", strings());
    KStream<String, String> right = builder.stream("ssj-right", strings());
    JoinWindows windows =
        grace
            ? JoinWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(2))
            : JoinWindows.ofTimeDifferenceWithNoGrace(Duration.ofSeconds(5));
    KStream<String, String> joined;
    if (grace) {
      StreamJoined<String, String, String> sj =
          StreamJoined.with(Serdes.String(), Serdes.String(), Serdes.String());
      joined =
          switch (type) {
            case "inner" -> left.join(right, PLUS, windows, sj);
            case "left" -> left.leftJoin(right, PLUS, windows, sj);
            default -> left.outerJoin(right, PLUS, windows, sj);
          };
    } else {
      joined =
          switch (type) {
            case "inner" -> left.join(right, PLUS, windows);
            case "left" -> left.leftJoin(right, PLUS, windows);
            default -> left.outerJoin(right, PLUS, windows);
          };
    }
    joined.to("ssj-out");
    return builder.build();
  }

  /** Foreign key of a left value: none for values starting with "h", else k(length mod 5). */
  private static String foreignKey(String v) {
    return v == null || v.startsWith("h") ? null : "k" + (v.length() % 5);
  }

  /** Table-table foreign-key join (subscription/response topics), inner or left. */
  static Topology foreignKeyJoin(boolean leftJoin) {
    StreamsBuilder builder = builder();
    KTable<String, String> left = builder.table("fk-left", strings());
    KTable<String, String> right = builder.table("fk-right", strings());
    ValueJoiner<String, String, String> joiner = (lv, rv) -> lv + "/" + rv;
    (leftJoin ? left.leftJoin(right, Scenarios::foreignKey, joiner) : left.join(right, Scenarios::foreignKey, joiner))
        .toStream()
        .to("fk-out");
    return builder.build();
  }

  // ---------------------------------------------------------------------------------------------
  // Session and sliding windows; windowed keys rendered "key@start-end".

  static Topology sessionCount() {
    StreamsBuilder builder = builder();
    builder.stream("session-count-in", strings())
        .groupByKey()
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(2)))
        .count()
        .toStream((wk, v) -> window(wk))
        .to("session-count-out", LONGS);
    return builder.build();
  }

  /** Session aggregate: concatenated first letters; merging sessions joins the two with "|". */
  static Topology sessionAggregate() {
    StreamsBuilder builder = builder();
    builder.stream("session-aggregate-in", strings())
        .groupByKey()
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(2)))
        .aggregate(
            () -> "",
            (k, v, agg) -> agg + (v == null ? "_" : v.substring(0, 1)),
            (k, a, b) -> a + "|" + b,
            Materialized.<String, String, SessionStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
        .toStream((wk, v) -> window(wk))
        .to("session-aggregate-out");
    return builder.build();
  }

  static Topology slidingCount() {
    StreamsBuilder builder = builder();
    builder.stream("sliding-count-in", strings())
        .groupByKey()
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(2)))
        .count()
        .toStream((wk, v) -> window(wk))
        .to("sliding-count-out", LONGS);
    return builder.build();
  }

  static Topology slidingAggregate() {
    StreamsBuilder builder = builder();
    builder.stream("sliding-aggregate-in", strings())
        .groupByKey()
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(2)))
        .aggregate(
            () -> "",
            (k, v, agg) -> agg + (v == null ? "_" : v.substring(0, 1)),
            Materialized.<String, String, WindowStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
        .toStream((wk, v) -> window(wk))
        .to("sliding-aggregate-out");
    return builder.build();
  }

  // ---------------------------------------------------------------------------------------------
  // cogroup and emit strategy

  private static String first(String v) {
    return v == null ? "_" : v.substring(0, 1);
  }

  /**
   * Three inputs into one aggregate per key: "cogroup-a" by key, "cogroup-b" re-keyed by its first
   * letter (repartitioned through the store-named topic), "cogroup-c" by key; each input marks its
   * letters differently. A second cogroup reuses a and c under Named with a named repartition-free plan.
   */
  static Topology cogroup() {
    StreamsBuilder builder = builder();
    KStream<String, String> a = builder.stream("cogroup-a", strings());
    KStream<String, String> b = builder.stream("cogroup-b", strings());
    KStream<String, String> c = builder.stream("cogroup-c", strings());
    var groupedA = a.groupByKey();
    var groupedB = b.groupBy((k, v) -> v == null ? "k0" : "k" + (v.length() % 4));
    var groupedC = c.groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
    groupedA
        .<String>cogroup((k, v, agg) -> agg + "a" + first(v))
        .cogroup(groupedB, (k, v, agg) -> agg + "B" + first(v))
        .cogroup(groupedC, (k, v, agg) -> agg.length() > 12 ? "c" + v.length() : agg + "c" + v.length())
        .aggregate(() -> "", named("cogroup-store"))
        .toStream()
        .to("cogroup-out");
    groupedC
        .<String>cogroup((k, v, agg) -> agg + v.length())
        .cogroup(groupedA, (k, v, agg) -> agg.length() > 6 ? first(v) : agg + first(v))
        .aggregate(() -> "!", Named.as("cg"))
        .toStream()
        .to("cogroup-named-out");
    return builder.build();
  }

  /** Two inputs cogrouped into hopping windows (10s advancing 5s, 2s grace), sliding windows and sessions. */
  static Topology cogroupWindowed() {
    StreamsBuilder builder = builder();
    var a = builder.stream("cogroup-w-a", strings()).groupByKey();
    var b = builder.stream("cogroup-w-b", strings()).groupByKey();
    var cogrouped =
        a.<String>cogroup((k, v, agg) -> agg + first(v)).cogroup(b, (k, v, agg) -> agg + first(v).toUpperCase());
    cogrouped
        .windowedBy(
            TimeWindows.ofSizeAndGrace(Duration.ofSeconds(10), Duration.ofSeconds(2)).advanceBy(Duration.ofSeconds(5)))
        .aggregate(() -> "", Materialized.<String, String, WindowStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
        .toStream((wk, v) -> window(wk))
        .to("cogroup-hopping-out");
    cogrouped
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(2)))
        .aggregate(() -> "")
        .toStream((wk, v) -> window(wk))
        .to("cogroup-sliding-out");
    cogrouped
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(2)))
        .aggregate(() -> "", (k, x, y) -> x + "|" + y, Named.as("cg-session"))
        .toStream((wk, v) -> window(wk))
        .to("cogroup-session-out");
    return builder.build();
  }

  /** emitStrategy(onWindowClose): tumbling 10s + 2s grace count, hopping 10s/5s + 1s grace aggregate. */
  static Topology emitWindowClose() {
    StreamsBuilder builder = builder();
    var grouped = builder.stream("emit-wc-in", strings()).groupByKey();
    grouped
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofSeconds(10), Duration.ofSeconds(2)))
        .emitStrategy(EmitStrategy.onWindowClose())
        .count()
        .toStream((wk, v) -> window(wk))
        .to("emit-wc-tumbling-out", LONGS);
    grouped
        .windowedBy(
            TimeWindows.ofSizeAndGrace(Duration.ofSeconds(10), Duration.ofSeconds(1)).advanceBy(Duration.ofSeconds(5)))
        .emitStrategy(EmitStrategy.onWindowClose())
        .aggregate(
            () -> "",
            (k, v, agg) -> agg + first(v),
            Materialized.<String, String, WindowStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
        .toStream((wk, v) -> window(wk))
        .to("emit-wc-hopping-out");
    return builder.build();
  }

  /** emitStrategy(onWindowClose) on sliding windows (difference 5s, grace 2s): count and aggregate. */
  static Topology emitWindowCloseSliding() {
    StreamsBuilder builder = builder();
    var grouped = builder.stream("emit-wc-sliding-in", strings()).groupByKey();
    var windowed =
        grouped
            .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(2)))
            .emitStrategy(EmitStrategy.onWindowClose());
    windowed.count().toStream((wk, v) -> window(wk)).to("emit-wc-sliding-count", LONGS);
    windowed
        .aggregate(
            () -> "",
            (k, v, agg) -> agg + first(v),
            Materialized.<String, String, WindowStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
        .toStream((wk, v) -> window(wk))
        .to("emit-wc-sliding-out");
    return builder.build();
  }

  // ---------------------------------------------------------------------------------------------
  // suppress

  /** Tumbling 10s windows, 2s grace, count, only final results once the window closes. */
  static Topology suppressWindowClose() {
    StreamsBuilder builder = builder();
    builder.stream("suppress-wc-in", strings())
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofSeconds(10), Duration.ofSeconds(2)))
        .count()
        .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
        .toStream((wk, v) -> window(wk))
        .to("suppress-wc-out", LONGS);
    return builder.build();
  }

  /**
   * untilTimeLimit(3s) on a count table (fed by a stream) and on a source table (with tombstones):
   * a key's latest value is emitted once stream time passes its first buffered update + 3s.
   */
  static Topology suppressTimeLimit() {
    StreamsBuilder builder = builder();
    builder.stream("suppress-tl-stream", strings())
        .groupByKey()
        .count()
        .suppress(Suppressed.untilTimeLimit(Duration.ofSeconds(3), BufferConfig.maxRecords(1000)))
        .toStream()
        .to("suppress-tl-count", LONGS);
    builder.table("suppress-tl-table", strings())
        .suppress(Suppressed.untilTimeLimit(Duration.ofSeconds(3), BufferConfig.maxRecords(1000)))
        .toStream()
        .to("suppress-tl-table-out");
    return builder.build();
  }

  /** untilTimeLimit(3s) with a 3-record buffer: when full, the oldest entry is emitted early. */
  static Topology suppressEarlyEmit() {
    StreamsBuilder builder = builder();
    builder.stream("suppress-ee-in", strings())
        .groupByKey()
        .count()
        .suppress(Suppressed.untilTimeLimit(Duration.ofSeconds(3), BufferConfig.maxRecords(3).emitEarlyWhenFull()))
        .toStream()
        .to("suppress-ee-out", LONGS);
    return builder.build();
  }

  // ---------------------------------------------------------------------------------------------
  // split / branch and repartition

  /** split: first matching branch wins; records matching none go to the default branch. */
  static Topology splitBranch() {
    StreamsBuilder builder = builder();
    Map<String, KStream<String, String>> branches =
        builder.stream("split-in", strings())
            .split(Named.as("b-"))
            .branch((k, v) -> v != null && v.startsWith("a"), Branched.as("a"))
            .branch((k, v) -> v != null && v.length() > 4, Branched.as("long"))
            .defaultBranch(Branched.as("rest"));
    branches.get("b-a").to("split-a");
    branches.get("b-long").mapValues(v -> v.toUpperCase()).to("split-long");
    branches.get("b-rest").to("split-rest");
    return builder.build();
  }

  /**
   * selectKey (first letter of the value, the old key for null values) then repartition (2
   * partitions, named) then count; the repartitioned stream is also written out as is. Like every
   * repartition, repartition() drops records whose key is null.
   */
  static Topology repartition() {
    StreamsBuilder builder = builder();
    KStream<String, String> repartitioned =
        builder.stream("repartition-in", strings())
            .selectKey((k, v) -> v == null ? k : v.substring(0, 1))
            .repartition(
                Repartitioned.with(Serdes.String(), Serdes.String())
                    .withNumberOfPartitions(2)
                    .withName("by-letter"));
    repartitioned.to("repartition-through");
    repartitioned.groupByKey().count().toStream().to("repartition-count", LONGS);
    return builder.build();
  }
}
