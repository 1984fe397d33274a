import { afterEach, describe, expect, it } from 'vitest';
import { Serdes, StreamsBuilder, TopologyTestDriver, type TopologyDefinition } from '../../src/index.ts';
import fraudDetection, {
  type AccountProfile,
  type FraudAlert,
  type Transaction,
} from '../../topologies/fraud-detection.ts';
import pageviews, { type PageView } from '../../topologies/pageviews.ts';
import wordCount from '../../topologies/word-count.ts';

const S = Serdes.String();
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

function start(definition: TopologyDefinition): TopologyTestDriver {
  const builder = new StreamsBuilder();
  definition.build(builder);
  driver = new TopologyTestDriver(builder.build(), {
    statestoreCacheMaxBytes: 0,
    applicationId: definition.applicationId,
  });
  return driver;
}

describe('example topologies', () => {
  it('word count counts words across lines', () => {
    const d = start(wordCount);
    const lines = d.createInputTopic('text-lines', S, S);
    lines.pipeInput(null, 'The quick fox', 1);
    lines.pipeInput(null, 'the lazy dog, the end', 2);
    const counts = d.createOutputTopic('word-counts', S, Serdes.Long()).readKeyValuesToMap();
    expect(counts.get('the')).toBe(3);
    expect(counts.get('fox')).toBe(1);
    expect(d.getKeyValueStore<string, number>('word-counts').get('dog')).toBe(1);
  });

  it('page views are counted per page and minute, and late views beyond 10 s of grace are dropped', () => {
    const d = start(pageviews);
    const views = d.createInputTopic('pageviews', S, Serdes.JSON<PageView>());
    views.pipeInput('u1', { page: '/home', user: 'u1' }, 5_000);
    views.pipeInput('u2', { page: '/home', user: 'u2' }, 59_000);
    views.pipeInput('u1', { page: '/docs', user: 'u1' }, 61_000);
    views.pipeInput('u3', { page: '/home', user: 'u3' }, 75_000); // closes [0, 60s) at 70 s
    views.pipeInput('u4', { page: '/home', user: 'u4' }, 30_000); // late: dropped
    const counts = d.createOutputTopic('pageviews-per-minute', S, Serdes.Long()).readKeyValuesToMap();
    expect(counts.get('/home@1970-01-01T00:00:00.000Z')).toBe(2);
    expect(counts.get('/home@1970-01-01T00:01:00.000Z')).toBe(1);
    expect(counts.get('/docs@1970-01-01T00:01:00.000Z')).toBe(1);
    expect(d.droppedRecords()).toEqual({ late: 1 });
  });

  it('fraud detection flags an amount far above the running average of earlier transactions', () => {
    const d = start(fraudDetection);
    d.createInputTopic('account-profiles', S, Serdes.JSON<AccountProfile>()).pipeInput(
      'acc-1',
      { owner: 'Ada', alertFactor: 4 },
      0,
    );
    const txns = d.createInputTopic('transactions', S, Serdes.JSON<Transaction>());
    const alerts = d.createOutputTopic('fraud-alerts', S, Serdes.JSON<FraudAlert>());
    for (const [i, amount] of [10, 12, 8, 500].entries())
      txns.pipeInput('acc-1', { id: `t${i}`, amount }, i + 1);
    expect(alerts.readKeyValuesToList()).toEqual([
      { key: 'acc-1', value: { transactionId: 't3', owner: 'Ada', amount: 500, averageBefore: 10 } },
    ]);
    txns.pipeInput('acc-1', { id: 't4', amount: 100 }, 5); // average before is 132.5: not flagged
    txns.pipeInput('acc-unknown', { id: 't5', amount: 1e6 }, 6); // no profile: inner join drops it
    expect(alerts.isEmpty()).toBe(true);
    expect(d.getKeyValueStore('account-stats').get('acc-1')).toEqual({ count: 5, sum: 630 });
  });
});
