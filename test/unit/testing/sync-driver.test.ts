import { describe, expect, it } from 'vitest';
import {
  Consumed,
  JoinWindows,
  Produced,
  Serdes,
  SessionWindows,
  SlidingWindows,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
} from '../../../src/index.ts';

const S = Serdes.String();
const L = Serdes.Long();

/** Every store kind the DSL creates must be usable right after `new TopologyTestDriver(...)`. */
const cases: Record<string, (b: StreamsBuilder) => void> = {
  'key-value aggregation': (b) =>
    b.stream('in', Consumed.with(S, S)).groupByKey().count().toStream().to('out', Produced.with(S, L)),
  'time windows': (b) =>
    b
      .stream('in', Consumed.with(S, S))
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .count()
      .toStream((wk) => wk.key)
      .to('out', Produced.with(S, L)),
  'session windows': (b) =>
    b
      .stream('in', Consumed.with(S, S))
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(10))
      .count()
      .toStream((wk) => wk.key)
      .to('out', Produced.with(S, L)),
  'sliding windows': (b) =>
    b
      .stream('in', Consumed.with(S, S))
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10))
      .count()
      .toStream((wk) => wk.key)
      .to('out', Produced.with(S, L)),
  'stream-stream join': (b) => {
    const s = b.stream('in', Consumed.with(S, S));
    s.join(b.stream('other', Consumed.with(S, S)), () => 1, JoinWindows.ofTimeDifferenceWithNoGrace(10)).to(
      'out',
      Produced.with(S, L),
    );
    s.mapValues(() => 1).to('out', Produced.with(S, L));
  },
};

describe('new TopologyTestDriver(...) without await', () => {
  for (const [name, build] of Object.entries(cases)) {
    it(`takes input at once: ${name}`, async () => {
      const b = new StreamsBuilder();
      build(b);
      const driver = new TopologyTestDriver(b.build(), { statestoreCacheMaxBytes: 0 });
      try {
        driver.createInputTopic('in', S, S).pipeInput('k', 'v', 1);
        expect(driver.createOutputTopic('out', S, L).readKeyValue()).toEqual({ key: 'k', value: 1 });
      } finally {
        await driver.close();
      }
    });
  }
});
