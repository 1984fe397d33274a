import { describe, expect, it } from 'vitest';

import { childLogger } from '../../../src/logger.ts';
import { Consumed, Serdes, StreamsBuilder } from '../../../src/index.ts';
import { InternalTopicManager } from '../../../src/runtime/internal-topic-manager.ts';
import { fakeWordCount } from './fake-support.ts';
import { FakeKafka } from './fake-kafka.ts';

const log = childLogger({ component: 'test' });

describe('InternalTopicManager on an in-memory Kafka', () => {
  it('creates the planned repartition topic and compacted changelog once', async () => {
    const setup = fakeWordCount(3);
    const admin = await setup.fake.client().admin();
    const manager = new InternalTopicManager(setup.applicationId, setup.topology(), admin, log);
    const plan = await manager.prepare();
    const changelog = `${setup.applicationId}-word-counts-changelog`;
    const repartition = `${setup.applicationId}-word-counts-repartition`;
    // The queryable store's delta index (serving layer) is changelogged like any store.
    const deltaChangelog = `${setup.applicationId}-word-counts-delta-changelog`;
    expect(plan.internalTopics.map((t) => t.name).sort()).toEqual([changelog, deltaChangelog, repartition]);
    expect(setup.fake.topicConfigs.get(deltaChangelog)).toMatchObject({ 'cleanup.policy': 'compact' });
    expect(setup.fake.topics.get(changelog)).toHaveLength(3);
    expect(setup.fake.topics.get(repartition)).toHaveLength(3);
    expect(setup.fake.topicConfigs.get(changelog)).toMatchObject({ 'cleanup.policy': 'compact' });
    // A second instance finds them and creates nothing.
    await expect(manager.prepare()).resolves.toEqual(plan);
  });

  it('stops the start when an internal topic has another partition count', async () => {
    const setup = fakeWordCount(2);
    setup.fake.createTopic(`${setup.applicationId}-word-counts-repartition`, 5);
    const admin = await setup.fake.client().admin();
    const manager = new InternalTopicManager(setup.applicationId, setup.topology(), admin, log);
    await expect(manager.prepare()).rejects.toThrow(
      `Internal topic ${setup.applicationId}-word-counts-repartition has 5 partitions but the topology needs 2; reset the application`,
    );
  });

  it('resolves pattern sources to the matching topics, not internal ones', async () => {
    const fake = new FakeKafka();
    for (const t of ['clicks-eu', 'clicks-us', '__clicks-internal', 'views']) fake.createTopic(t, 2);
    const builder = new StreamsBuilder();
    builder.stream(/clicks-.*/, Consumed.with(Serdes.String(), Serdes.String())).to('views');
    const manager = new InternalTopicManager('app', builder.build(), await fake.client().admin(), log);
    const plan = await manager.plan();
    expect(plan.subTopologies.flatMap((s) => s.sourceTopics).sort()).toEqual(['clicks-eu', 'clicks-us']);
  });
});
