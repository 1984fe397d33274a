/**
 * One StreamsConfig for KafkaStreams, the TopologyTestDriver, topology files and the CLI: Kafka
 * Streams' option names (camelCase or dotted), default serdes that reach a topology built before the
 * config was known, statestoreCacheMaxBytes 0 as "caching off", and clear errors for bad options.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  Consumed,
  KafkaStreams,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../src/index.ts';
import { workerConfig } from '../../src/cli/worker-command.ts';
import { mergeStreamsConfigs, resolveStreamsConfig } from '../../src/streams-config.ts';
import { defineTopology } from '../../src/topology/definition.ts';

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

const S = Serdes.String();

/** A count per word, with no serdes named anywhere: everything goes through the default serdes. */
function countWithDefaults() {
  const b = new StreamsBuilder();
  b.stream('lines').groupByKey().count(Materialized.as('counts')).toStream().to('counts-out');
  return b.build();
}

describe('StreamsConfig', () => {
  it('default serdes set in the config reach a topology built before the config was known', async () => {
    const topology = countWithDefaults();
    driver = await TopologyTestDriver.create(topology, {
      defaultKeySerde: Serdes.String(),
      defaultValueSerde: Serdes.String(),
      statestoreCacheMaxBytes: 0,
    });
    const lines = driver.createInputTopic('lines', S, S);
    lines.pipeInput('a', 'x', 1);
    lines.pipeInput('a', 'y', 2);
    // count() keeps its own Long serde; its key goes out with the configured String key serde.
    expect(driver.createOutputTopic('counts-out', S, Serdes.Long()).readKeyValuesToList()).toEqual([
      { key: 'a', value: 1 },
      { key: 'a', value: 2 },
    ]);
    expect(driver.getKeyValueStore<string, number>('counts').get('a')).toBe(2);
  });

  it("accepts Kafka Streams' dotted names", async () => {
    driver = await TopologyTestDriver.create(countWithDefaults(), {
      'default.key.serde': Serdes.String(),
      'default.value.serde': Serdes.String(),
      'statestore.cache.max.bytes': 0,
    });
    driver.createInputTopic('lines', S, S).pipeInput('k', 'v', 1);
    expect(driver.createOutputTopic('counts-out', S, Serdes.Long()).readKeyValuesToList()).toEqual([
      { key: 'k', value: 1 },
    ]);
    expect(
      resolveStreamsConfig({
        'application.id': 'app',
        'processing.guarantee': 'exactly_once_v2',
        'bootstrap.servers': 'a:1, b:2',
      }),
    ).toEqual({
      applicationId: 'app',
      processingGuarantee: 'exactly_once',
      bootstrapServers: ['a:1', 'b:2'],
    });
  });

  it('statestoreCacheMaxBytes: 0 forwards every update; with caching on, one per key and commit', async () => {
    const run = async (cacheBytes: number | undefined): Promise<Array<number | null>> => {
      const b = new StreamsBuilder();
      // One input record becomes two updates of the same key within one commit.
      b.stream('in', Consumed.with(S, S))
        .flatMapValues((v) => [v, v])
        .groupByKey()
        .count()
        .toStream()
        .to('out', Produced.with(S, Serdes.Long()));
      const d = await TopologyTestDriver.create(
        b.build(),
        cacheBytes !== undefined ? { statestoreCacheMaxBytes: cacheBytes } : {},
      );
      d.createInputTopic('in', S, S).pipeInput('a', 'x', 1);
      const values = d.createOutputTopic('out', S, Serdes.Long()).readValuesToList();
      await d.close();
      return values;
    };
    expect(await run(0)).toEqual([1, 2]);
    expect(await run(undefined)).toEqual([2]);
    expect(await run(1024 * 1024)).toEqual([2]);
  });

  it.each([
    [{ 'application.idd': 'x' }, /unknown configuration 'application.idd'/],
    [
      { applicationId: 'a', 'application.id': 'b' },
      /'application.id' is given twice \(also as 'applicationId'\)/,
    ],
    [
      { statestoreCacheMaxBytes: -1 },
      /statestoreCacheMaxBytes \(statestore.cache.max.bytes\) must be a non-negative integer/,
    ],
    [
      { processingGuarantee: 'exactly-once' },
      /processing.guarantee\) must be at_least_once, exactly_once or exactly_once_v2/,
    ],
    [{ defaultKeySerde: 'String' }, /defaultKeySerde must be a serde/],
  ])('rejects %j', (config, message) => {
    expect(() => resolveStreamsConfig(config as never)).toThrow(message);
  });

  it('KafkaStreams requires an application id and takes the dotted form', () => {
    expect(() => new KafkaStreams(countWithDefaults(), {})).toThrow(
      /applicationId \(application.id\) is required/,
    );
    const streams = new KafkaStreams(countWithDefaults(), { 'application.id': 'dotted-app' });
    expect(streams.applicationId).toBe('dotted-app');
  });

  it("the CLI's flags override a topology file's config option by option", () => {
    const file = resolveStreamsConfig({
      commitIntervalMs: 500,
      numStandbyReplicas: 1,
      stateDir: '/from-file',
    });
    const config = workerConfig(file, { stateDir: '/from-flag', cacheMaxBytes: 0 });
    expect(config).toMatchObject({
      commitIntervalMs: 500,
      numStandbyReplicas: 1,
      stateDir: '/from-flag',
      statestoreCacheMaxBytes: 0,
      badRecordHandling: 'skip',
    });
    expect(mergeStreamsConfigs({ commitIntervalMs: 1 }, { 'commit.interval.ms': 2 }).commitIntervalMs).toBe(
      2,
    );
  });

  it('a topology file may not set the application id twice', () => {
    expect(() =>
      defineTopology({
        applicationId: 'app',
        config: { 'application.id': 'other' } as never,
        build: () => {},
      }),
    ).toThrow(/set the application id once/);
  });
});
