import {
  Consumed,
  Grouped,
  Materialized,
  Produced,
  Serdes,
  TimeWindows,
  defineTopology,
} from '../../src/index.ts';

interface PageView {
  page: string;
  user: string;
}

/**
 * The benchmark's windowed page-view count: topologies/pageviews.ts on the benchmark's topics
 * (BENCH_INPUT_TOPIC, BENCH_OUTPUT_TOPIC) with a grace period (BENCH_GRACE_MS) that covers the whole
 * event-time span of the input, so that no record is late whatever order the partitions are processed
 * in and the counts can be checked exactly. bench/peers/kafka-streams runs the same topology; the bench
 * runs it as the speed layer (`lambda-streams worker`) and as the batch layer (`lambda-streams batch`,
 * with BENCH_BUCKET_MS=1: see bench/README.md).
 */
export default defineTopology({
  applicationId: 'bench-pageviews',
  // The bench's batch run sets BENCH_BUCKET_MS=1 so that its view covers every record loaded before it.
  bucketMs: Number(process.env.BENCH_BUCKET_MS ?? 3_600_000),
  build(builder) {
    builder
      .stream(
        process.env.BENCH_INPUT_TOPIC ?? 'bench-pageviews',
        Consumed.with(Serdes.String(), Serdes.JSON<PageView>()),
      )
      .groupBy((_user, view) => view.page, Grouped.with(Serdes.String(), Serdes.JSON<PageView>()))
      .windowedBy(TimeWindows.ofSizeAndGrace(60_000, Number(process.env.BENCH_GRACE_MS ?? 600_000)))
      .count(Materialized.as<string, number>('pageviews-per-minute').withKeySerde(Serdes.String()))
      .toStream((windowed) => `${windowed.key}@${new Date(windowed.window.start).toISOString()}`)
      .to(
        process.env.BENCH_OUTPUT_TOPIC ?? 'bench-pageviews-per-minute',
        Produced.with(Serdes.String(), Serdes.Long()),
      );
  },
});
