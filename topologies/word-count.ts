import { Consumed, Grouped, Materialized, Produced, Serdes, defineTopology } from '../src/index.ts';

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
    builder
      .stream('text-lines', Consumed.with(Serdes.String(), Serdes.String()))
      .flatMapValues((line) =>
        line
          .toLowerCase()
          .split(/\W+/u)
          .filter((word) => word.length > 0),
      )
      .groupBy((_key, word) => word, Grouped.with(Serdes.String(), Serdes.String()))
      .count(Materialized.as<string, number>('word-counts').withKeySerde(Serdes.String()))
      .toStream()
      .to('word-counts', Produced.with(Serdes.String(), Serdes.Long()));
  },
});
