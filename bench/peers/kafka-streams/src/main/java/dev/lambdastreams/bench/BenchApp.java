package dev.lambdastreams.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The Kafka Streams side of `npm run bench`: the same three topologies as bench/topologies/*.ts, with
 * Kafka Streams' defaults (RocksDB stores, record caches of 10 MB, one stream thread). Runs until
 * SIGTERM; the benchmark decides when it is done by reading the output topic.
 */
public final class BenchApp {
  private static final Pattern NON_WORD = Pattern.compile("\\W+");
  private static final ObjectMapper JSON = new ObjectMapper();

  private BenchApp() {}

  /** Lines in, a running count per word out (as bench/topologies/word-count.ts). */
  static Topology wordCount(String input, String output) {
    StreamsBuilder builder = new StreamsBuilder();
    builder
        .stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(
            line -> {
              List<String> words = new ArrayList<>();
              for (String word : NON_WORD.split(line.toLowerCase())) {
                if (!word.isEmpty()) words.add(word);
              }
              return words;
            })
        .groupBy((key, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
        .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("word-counts"))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));
    return builder.build();
  }

  /** A count per key, every record with a key of its own (as bench/topologies/distinct-keys.ts). */
  static Topology distinctKeys(String input, String output) {
    StreamsBuilder builder = new StreamsBuilder();
    builder
        .stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey()
        .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("key-counts"))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));
    return builder.build();
  }

  /** Page views per page and one-minute window (as bench/topologies/pageviews.ts). */
  static Topology pageViews(String input, String output, long graceMs) {
    StreamsBuilder builder = new StreamsBuilder();
    builder
        .stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .groupBy((user, json) -> page(json), Grouped.with(Serdes.String(), Serdes.String()))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofMillis(graceMs)))
        .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("pageviews-per-minute"))
        .toStream(
            (windowed, count) ->
                windowed.key() + "@" + Instant.ofEpochMilli(windowed.window().start()).toString())
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));
    return builder.build();
  }

  private static String page(String json) {
    try {
      JsonNode node = JSON.readTree(json);
      return node.get("page").asText();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static void main(String[] args) throws InterruptedException {
    if (args.length < 8) {
      System.err.println(
          "usage: BenchApp word-count|pageviews|distinct-keys <bootstrap> <application-id> <input> <output>"
              + " at_least_once|exactly_once_v2 <commit-interval-ms> <state-dir> [grace-ms]");
      System.exit(2);
    }
    String mode = args[0];
    String input = args[3];
    String output = args[4];
    Topology topology =
        switch (mode) {
          case "word-count" -> wordCount(input, output);
          case "distinct-keys" -> distinctKeys(input, output);
          case "pageviews" -> pageViews(input, output, args.length > 8 ? Long.parseLong(args[8]) : 10_000L);
          default -> throw new IllegalArgumentException("unknown mode " + mode);
        };

    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[2]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[5]);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, args[6]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[7]);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);

    KafkaStreams streams = new KafkaStreams(topology, props);
    CountDownLatch stopped = new CountDownLatch(1);
    int[] exitCode = {0};
    streams.setStateListener(
        (next, previous) -> {
          System.err.println(
              "[kafka-streams-peer] " + Instant.now() + " state " + previous + " -> " + next);
          if (next == KafkaStreams.State.ERROR || next == KafkaStreams.State.NOT_RUNNING) stopped.countDown();
        });
    streams.setUncaughtExceptionHandler(
        error -> {
          System.err.println("[kafka-streams-peer] fatal: " + error);
          error.printStackTrace();
          exitCode[0] = 1;
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close(Duration.ofSeconds(30));
                  stopped.countDown();
                },
                "bench-shutdown"));
    streams.start();
    System.err.println("[kafka-streams-peer] started " + mode + " " + args[5]);
    stopped.await();
    streams.close(Duration.ofSeconds(30));
    System.exit(exitCode[0]);
  }
}
