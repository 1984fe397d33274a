import { describe, expect, it } from 'vitest';

import { Consumed, Grouped, Materialized, Serdes, StreamsBuilder } from '../../../src/index.ts';
import { planTopics } from '../../../src/runtime/topic-plan.ts';

describe('planTopics: global tables and pattern sources', () => {
  it('keeps global sub-topologies out of the tasks and their stores out of the task stores', () => {
    const builder = new StreamsBuilder();
    const products = builder.globalTable<string, string>(
      'products',
      Consumed.with(Serdes.String(), Serdes.String()),
    );
    builder
      .stream<string, string>('orders', Consumed.with(Serdes.String(), Serdes.String()))
      .join(
        products,
        (_k: string, v: string) => v,
        (v: string, p: string) => `${v}${p}`,
      )
      .to('out');
    const plan = planTopics(
      'app',
      builder.build(),
      new Map([
        ['orders', 3],
        ['products', 2],
        ['out', 3],
      ]),
    );
    expect(plan.globalSubTopologies.map((s) => s.sourceTopics)).toEqual([['products']]);
    expect(plan.subTopologies.map((s) => s.sourceTopics)).toEqual([['orders']]);
    expect(plan.subTopologies[0]!.stores).toEqual([]);
    expect(plan.taskSpecs).toEqual([{ subtopology: plan.subTopologies[0]!.id, topics: ['orders'] }]);
    expect(plan.internalTopics).toEqual([]);
  });

  it('resolves a pattern source to the matching topics, and names the pattern when none match', () => {
    const build = () => {
      const builder = new StreamsBuilder();
      builder
        .stream<string, string>(/^clicks-/, Consumed.with(Serdes.String(), Serdes.String()))
        .groupBy((_k: string | null, v: string) => v, Grouped.with(Serdes.String(), Serdes.String()))
        .count(Materialized.as<string, number>('n').withKeySerde(Serdes.String()));
      return builder.build();
    };
    const plan = planTopics(
      'app',
      build(),
      new Map([
        ['clicks-eu', 2],
        ['clicks-us', 2],
        ['views', 2],
        ['app-n-changelog', 2],
      ]),
    );
    expect(plan.subTopologies[0]!.sourceTopics).toEqual(['clicks-eu', 'clicks-us']);
    expect(plan.internalTopics.find((t) => t.name === 'app-n-repartition')?.partitions).toBe(2);
    expect(() => planTopics('app', build(), new Map([['views', 2]]))).toThrow(
      /no topic matches \/\^clicks-\//,
    );
  });
});
