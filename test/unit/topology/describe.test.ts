import { describe, expect, it } from 'vitest';
import {
  Consumed,
  Grouped,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  Topology,
} from '../../../src/index.ts';
import wordCount from '../../../topologies/word-count.ts';

const S = Serdes.String();

function wordCountTopology(): Topology {
  const b = new StreamsBuilder();
  wordCount.build(b);
  return b.build();
}

describe('topology compilation and describe()', () => {
  it('word count prints like Kafka Streams: two sub-topologies split at the repartition topic', () => {
    expect(wordCountTopology().describe().toString()).toBe(
      `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [text-lines])
      --> KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000002
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
      --> word-counts-repartition-filter
      <-- KSTREAM-FLATMAPVALUES-0000000001
    Processor: word-counts-repartition-filter (stores: [])
      --> word-counts-repartition-sink
      <-- KSTREAM-KEY-SELECT-0000000002
    Sink: word-counts-repartition-sink (topic: word-counts-repartition)
      <-- word-counts-repartition-filter

  Sub-topology: 1
    Source: word-counts-repartition-source (topics: [word-counts-repartition])
      --> KSTREAM-AGGREGATE-0000000003
    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [word-counts])
      --> KTABLE-TOSTREAM-0000000007
      <-- word-counts-repartition-source
    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
      --> KSTREAM-SINK-0000000008
      <-- KSTREAM-AGGREGATE-0000000003
    Sink: KSTREAM-SINK-0000000008 (topic: word-counts)
      <-- KTABLE-TOSTREAM-0000000007

`,
    );
  });

  it('declares internal topics: repartition and compacted changelog', () => {
    const topics = wordCountTopology().internalTopics();
    expect(topics.map((t) => [t.name, t.kind, t.config['cleanup.policy']])).toEqual(
      expect.arrayContaining([
        ['word-counts-repartition', 'repartition', 'delete'],
        ['word-counts-changelog', 'changelog', 'compact'],
      ]),
    );
  });

  it('sub-topologies list their source topics and stores', () => {
    const subs = wordCountTopology().subTopologies();
    expect(subs.map((s) => ({ id: s.id, sources: s.sourceTopics, stores: s.stores }))).toEqual([
      { id: 0, sources: ['text-lines'], stores: [] },
      { id: 1, sources: ['word-counts-repartition'], stores: ['word-counts', 'word-counts-delta'] },
    ]);
    // The delta index's store is part of the task, but describe() shows Kafka Streams' text.
    expect(wordCountTopology().describe().toString()).not.toContain('delta');
  });

  it('no repartition when the key is unchanged; unnamed stores get generated names', () => {
    const b = new StreamsBuilder();
    b.stream('in', Consumed.with(S, S))
      .mapValues((v) => v)
      .groupByKey(Grouped.with(S, S))
      .count()
      .toStream()
      .to('out', Produced.with(S, Serdes.Long()));
    const t = b.build();
    expect(t.subTopologies()).toHaveLength(1);
    expect(t.internalTopics().map((x) => x.name)).toEqual([
      'KSTREAM-AGGREGATE-STATE-STORE-0000000002-changelog',
    ]);
  });

  it('Grouped.as names the repartition topic', () => {
    const b = new StreamsBuilder();
    b.stream('in', Consumed.with(S, S))
      .groupBy((_k, v) => v, Grouped.as<string, string>('by-value'))
      .count(Materialized.as('c'));
    expect(
      b
        .build()
        .internalTopics()
        .map((x) => x.name),
    ).toContain('by-value-repartition');
  });

  it('Mermaid output has one subgraph per sub-topology and the topics between them', () => {
    const mermaid = wordCountTopology().describe().toMermaid();
    expect(mermaid).toMatch(/^flowchart TD/);
    expect(mermaid).toContain('subgraph sub0["Sub-topology 0"]');
    expect(mermaid).toContain('subgraph sub1["Sub-topology 1"]');
    expect(mermaid).toContain('word_counts_repartition_sink --> topic_word_counts_repartition');
    expect(mermaid).toContain('topic_word_counts_repartition --> word_counts_repartition_source');
  });

  it('Processor API misuse is reported clearly', () => {
    const t = new Topology().addSource('s', 'in');
    expect(() => t.addProcessor('p', () => ({ process() {} }), 'missing')).toThrow(
      /Parent 'missing' of 'p' does not exist/,
    );
    expect(() => t.addSource('s2', 'in')).toThrow(/Topic 'in' is already read by source 's'/);
    expect(() => t.addSource('s', 'other')).toThrow(/already added/);
  });
});
