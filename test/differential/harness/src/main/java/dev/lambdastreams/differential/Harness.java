package dev.lambdastreams.differential;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Runs differential-test cases through Kafka Streams' own TopologyTestDriver (caching off, so every
 * update is forwarded).
 *
 * <p>Usage: {@code Harness <cases.json> <results.json>} or {@code Harness --list}.
 *
 * <p>Input: {@code [{"scenario": name, "input": [{"topic", "key": string|null, "value": string|null,
 * "timestamp": number}]}]}. Output: {@code {"topologies": {name: describe()}, "results": [{"scenario",
 * "records": [{"topic", "key", "value", "timestamp", "input"}], "error": string|null, "millis"}]}}, one result
 * per case in input order; records are grouped by output topic (declared topics first, in declaration
 * order, then any other non-internal topic the case produced to), each topic's records in production
 * order; "input" is the index of the input record whose processing produced the output record.
 */
public final class Harness {
  static final String APPLICATION_ID = "differential";

  private Harness() {}

  public static void main(String[] args) throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    if (args.length == 1 && args[0].equals("--list")) {
      System.out.println(mapper.writeValueAsString(Scenarios.ALL.keySet()));
      return;
    }
    if (args.length != 2) {
      System.err.println("usage: Harness <cases.json> <results.json> | Harness --list");
      System.exit(2);
    }
    JsonNode cases = mapper.readTree(new File(args[0]));
    Path stateRoot = Files.createTempDirectory("lambda-streams-differential-");

    ObjectNode out = mapper.createObjectNode();
    ObjectNode topologies = out.putObject("topologies");
    ArrayNode results = out.putArray("results");
    int index = 0;
    for (JsonNode testCase : cases) {
      String name = testCase.get("scenario").asText();
      ObjectNode result = results.addObject();
      result.put("scenario", name);
      ArrayNode records = result.putArray("records");
      Scenarios.Scenario scenario = Scenarios.ALL.get(name);
      if (scenario == null) {
        result.put("error", "unknown scenario '" + name + "'; known: " + Scenarios.ALL.keySet());
        index++;
        continue;
      }
      long started = System.nanoTime();
      try {
        Topology topology = scenario.topology().get();
        if (!topologies.has(name)) {
          topologies.put(name, topology.describe().toString());
        }
        runCase(topology, scenario, testCase.get("input"), records, stateRoot.resolve("case-" + index));
        result.putNull("error");
      } catch (Exception | AssertionError e) {
        StringWriter sw = new StringWriter();
        e.printStackTrace(new PrintWriter(sw));
        result.put("error", sw.toString());
      }
      result.put("millis", (System.nanoTime() - started) / 1_000_000);
      index++;
    }
    mapper.writeValue(new File(args[1]), out);
    deleteRecursively(stateRoot);
  }

  private static void deleteRecursively(Path root) throws java.io.IOException {
    try (var paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  static Properties props(Path stateDir) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
    // Caching off: every update is forwarded downstream, as our TopologyTestDriver does with statestoreCacheMaxBytes: 0.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.DSL_STORE_SUPPLIERS_CLASS_CONFIG, Scenarios.dslStoreSuppliers());
    // Left/outer stream-stream joins emit records that found no partner once their window closes, but
    // throttle that check by wall-clock time (default 1s). The driver's wall clock stands still, so
    // with the throttle only the first two checks would ever run; 0 makes emission a pure function of
    // stream time, which is what lambda-streams implements.
    props.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_OUTER_JOIN_SPURIOUS_RESULTS_FIX, 0L);
    // The same wall-clock throttle guards emitStrategy(onWindowClose) of windowed aggregations
    // (KIP-825, default 1s): 0 checks for closed windows after every record, as lambda-streams does.
    props.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_WINDOWED_AGGREGATION, 0L);
    return props;
  }

  static void runCase(
      Topology topology, Scenarios.Scenario scenario, JsonNode input, ArrayNode records, Path stateDir)
      throws Exception {
    Files.createDirectories(stateDir);
    try (TopologyTestDriver driver = new TopologyTestDriver(topology, props(stateDir))) {
      Map<String, TestInputTopic<String, String>> inputs = new HashMap<>();
      Map<String, TestOutputTopic<String, ?>> outputs = new LinkedHashMap<>();
      Map<String, ArrayNode> byTopic = new LinkedHashMap<>();
      for (String topic : scenario.outputs().keySet()) {
        byTopic.put(topic, records.arrayNode());
      }
      StringSerializer ser = new StringSerializer();
      int index = 0;
      for (JsonNode r : input) {
        String topic = r.get("topic").asText();
        TestInputTopic<String, String> in =
            inputs.computeIfAbsent(topic, t -> driver.createInputTopic(t, ser, ser));
        in.pipeInput(text(r.get("key")), text(r.get("value")), r.get("timestamp").asLong());
        // Drain every output topic after each input so each output record says which input caused it.
        for (String produced : driver.producedTopicNames()) {
          if (produced.startsWith(APPLICATION_ID + "-") && !scenario.outputs().containsKey(produced)) {
            continue; // internal (repartition / changelog) topic
          }
          TestOutputTopic<String, ?> out =
              outputs.computeIfAbsent(produced, t -> outputTopic(driver, t, scenario.outputs().get(t)));
          ArrayNode dest = byTopic.computeIfAbsent(produced, t -> records.arrayNode());
          for (TestRecord<String, ?> rec : out.readRecordsToList()) {
            ObjectNode o = dest.addObject();
            o.put("topic", produced);
            if (rec.key() == null) o.putNull("key");
            else o.put("key", rec.key());
            Object v = rec.value();
            if (v == null) o.putNull("value");
            else if (v instanceof Long l) o.put("value", l);
            else o.put("value", v.toString());
            o.put("timestamp", rec.timestamp());
            o.put("input", index);
          }
        }
        index++;
      }
      for (ArrayNode topicRecords : byTopic.values()) {
        records.addAll(topicRecords);
      }
    }
  }

  private static TestOutputTopic<String, ?> outputTopic(
      TopologyTestDriver driver, String topic, Scenarios.ValueType type) {
    Deserializer<?> valueDeserializer =
        type == Scenarios.ValueType.LONG ? new LongDeserializer() : new StringDeserializer();
    return driver.createOutputTopic(topic, new StringDeserializer(), valueDeserializer);
  }

  private static String text(JsonNode n) {
    return n == null || n.isNull() ? null : n.asText();
  }
}
