import { describe, expect, it } from 'vitest';

import { Consumed, Grouped, Materialized, Serdes, StreamsBuilder } from '../../../src/index.ts';
import { planTopics } from '../../../src/runtime/topic-plan.ts';

function wordCount() {
  const builder = new StreamsBuilder();
  builder
    .stream('lines', Consumed.with(Serdes.String(), Serdes.String()))
    .flatMapValues((line: string) => line.split(' '))
    .groupBy((_k: string | null, w: string) => w, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>('counts').withKeySerde(Serdes.String()));
  return builder.build();
}

describe('planTopics', () => {
  it('sizes repartition topics from upstream sources and changelogs from their sub-topology', () => {
    const plan = planTopics('app', wordCount(), new Map([['lines', 4]]));
    const byName = new Map(plan.internalTopics.map((t) => [t.name, t]));
    expect(byName.get('app-counts-repartition')?.partitions).toBe(4);
    expect(byName.get('app-counts-changelog')).toMatchObject({
      partitions: 4,
      config: { 'cleanup.policy': 'compact' },
    });
    expect(plan.changelogs.get('counts')).toBe('app-counts-changelog');
    expect(plan.subTopologies.map((s) => s.sourceTopics)).toEqual([['lines'], ['app-counts-repartition']]);
  });

  it('names missing source topics', () => {
    expect(() => planTopics('app', wordCount(), new Map())).toThrow(/'lines' do not exist/);
  });

  it('names missing output topics (they are not created automatically)', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', Consumed.with(Serdes.String(), Serdes.String())).to('out');
    expect(() => planTopics('app', builder.build(), new Map([['in', 2]]))).toThrow(
      /Output topic\(s\) 'out' do not exist; create them/,
    );
    expect(() =>
      planTopics(
        'app',
        builder.build(),
        new Map([
          ['in', 2],
          ['out', 1],
        ]),
      ),
    ).not.toThrow();
  });

  it('rejects sources that are not co-partitioned, naming topics and counts', () => {
    const builder = new StreamsBuilder();
    const left = builder.table('left', Consumed.with(Serdes.String(), Serdes.String()));
    const right = builder.table('right', Consumed.with(Serdes.String(), Serdes.String()));
    void left;
    void right;
    const topology = builder.build();
    // Put both tables into one sub-topology through a shared store-less processor.
    topology.addProcessor('joiner', () => ({ process() {} }), ...topology.sources().map((s) => s.name));
    expect(() =>
      planTopics(
        'app',
        topology,
        new Map([
          ['left', 2],
          ['right', 3],
        ]),
      ),
    ).toThrow(/not co-partitioned.*left has 2.*right has 3/);
  });
});
