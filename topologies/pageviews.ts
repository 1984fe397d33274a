import {
  Consumed,
  Grouped,
  Materialized,
  Produced,
  Serdes,
  TimeWindows,
  defineTopology,
} from '../src/index.ts';

/** A page view event, as the demo producer writes it (JSON). */
export interface PageView {
  page: string;
  user: string;
}

/**
 * Page views per page in one-minute tumbling windows, accepting events up to 10 s late. Output keys
 * read "<page>@<window start ISO time>".
 */
export default defineTopology({
  applicationId: 'pageviews',
  bucketMs: 60 * 60 * 1000,
  inputTopics: ['pageviews'],
  outputTopics: ['pageviews-per-minute'],
  build(builder) {
    builder
      .stream('pageviews', Consumed.with(Serdes.String(), Serdes.JSON<PageView>()))
      .groupBy((_user, view) => view.page, Grouped.with(Serdes.String(), Serdes.JSON<PageView>()))
      .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 10_000))
      .count(Materialized.as<string, number>('pageviews-per-minute').withKeySerde(Serdes.String()))
      .toStream((windowed) => `${windowed.key}@${new Date(windowed.window.start).toISOString()}`)
      .to('pageviews-per-minute', Produced.with(Serdes.String(), Serdes.Long()));
  },
});
