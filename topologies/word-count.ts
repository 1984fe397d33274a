import { Consumed, Grouped, Materialized, Produced, Serdes, defineTopology } from '../src/index.ts';
import type { StreamsBuilder } from '../src/index.ts';

/** The word count's graph on any pair of topics (the chaos suite runs it on topics of its own). */
export function buildWordCount(
  builder: StreamsBuilder,
  topics: { input: string; output: string } = { input: 'text-lines', output: 'word-counts' },
): void {
  builder
    .stream(topics.input, Consumed.with(Serdes.String(), Serdes.String()))
    .flatMapValues((line) =>
      line
        .toLowerCase()
        .split(/\W+/u)
        .filter((word) => word.length > 0),
    )
    .groupBy((_key, word) => word, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>('word-counts').withKeySerde(Serdes.String()))
    .toStream()
    .to(topics.output, Produced.with(Serdes.String(), Serdes.Long()));
}

/**
 * Word count: lines of text in, a running count per word out. The classic first Kafka Streams app;
 * the count store is mergeable, so the serving layer can add batch and speed-layer counts.
 */
export default defineTopology({
  applicationId: 'word-count',
  bucketMs: 60 * 60 * 1000,
  inputTopics: ['text-lines'],
  outputTopics: ['word-counts'],
  build(builder) {
    buildWordCount(builder);
  },
});
