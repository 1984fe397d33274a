import { Consumed, Materialized, Produced, Serdes, defineTopology } from '../../src/index.ts';

/**
 * The benchmark's high-cardinality workload: a count per key where every input record has a key of
 * its own (1,000,000 distinct keys by default), so the store, the write-back cache and the changelog
 * hold one entry per record. bench/peers/kafka-streams runs the same topology on Kafka Streams.
 */
export default defineTopology({
  applicationId: 'bench-distinct-keys',
  bucketMs: Number(process.env.BENCH_BUCKET_MS ?? 3_600_000),
  build(builder) {
    builder
      .stream(
        process.env.BENCH_INPUT_TOPIC ?? 'bench-distinct-keys',
        Consumed.with(Serdes.String(), Serdes.String()),
      )
      .groupByKey()
      .count(Materialized.as<string, number>('key-counts').withKeySerde(Serdes.String()))
      .toStream()
      .to(
        process.env.BENCH_OUTPUT_TOPIC ?? 'bench-distinct-key-counts',
        Produced.with(Serdes.String(), Serdes.Long()),
      );
  },
});
