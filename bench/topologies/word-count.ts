import { Consumed, Grouped, Materialized, Produced, Serdes, defineTopology } from '../../src/index.ts';

/**
 * The benchmark's word count: topologies/word-count.ts on the benchmark's topics (BENCH_INPUT_TOPIC,
 * BENCH_OUTPUT_TOPIC). bench/peers/kafka-streams runs the same topology on Kafka Streams; the bench runs
 * it as the speed layer (`lambda-streams worker`) and as the batch layer (`lambda-streams batch`, with
 * BENCH_BUCKET_MS=1: see bench/README.md).
 */
export default defineTopology({
  applicationId: 'bench-word-count',
  // The bench's batch run sets BENCH_BUCKET_MS=1 so that its view covers every record loaded before it.
  bucketMs: Number(process.env.BENCH_BUCKET_MS ?? 3_600_000),
  build(builder) {
    builder
      .stream(
        process.env.BENCH_INPUT_TOPIC ?? 'bench-sentences',
        Consumed.with(Serdes.String(), Serdes.String()),
      )
      .flatMapValues((line) =>
        line
          .toLowerCase()
          .split(/\W+/u)
          .filter((word) => word.length > 0),
      )
      .groupBy((_key, word) => word, Grouped.with(Serdes.String(), Serdes.String()))
      .count(Materialized.as<string, number>('word-counts').withKeySerde(Serdes.String()))
      .toStream()
      .to(
        process.env.BENCH_OUTPUT_TOPIC ?? 'bench-word-counts',
        Produced.with(Serdes.String(), Serdes.Long()),
      );
  },
});
