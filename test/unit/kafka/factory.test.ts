import { describe, expect, it } from 'vitest';

import {
  defaultKafkaClientFactory,
  kafkaClientFactory,
  kafkaClientFromEnv,
  loadKafkaClient,
} from '../../../src/kafka/factory.ts';
import { KafkajsClient } from '../../../src/kafka/kafkajs-client.ts';

const config = { brokers: ['127.0.0.1:1'] };

describe('kafkaClientFactory', () => {
  it('loads the @platformatic/kafka adapter only on demand, and says how', async () => {
    expect(() => kafkaClientFactory('platformatic')).toThrow(
      "the @platformatic/kafka adapter is loaded on demand: `await loadKafkaClient('platformatic')`",
    );
    const { PlatformaticClient } = await import('../../../src/kafka/platformatic-client.ts');
    expect((await loadKafkaClient('platformatic'))(config)).toBeInstanceOf(PlatformaticClient);
  });

  it('makes the named client; kafkajs by default', async () => {
    const { PlatformaticClient } = await import('../../../src/kafka/platformatic-client.ts');
    await loadKafkaClient('platformatic');
    expect(kafkaClientFactory()(config)).toBeInstanceOf(KafkajsClient);
    expect(kafkaClientFactory('kafkajs')(config)).toBeInstanceOf(KafkajsClient);
    const platformatic = kafkaClientFactory('platformatic')(config);
    expect(platformatic).toBeInstanceOf(PlatformaticClient);
    expect(platformatic.supportsGroupMetadataCommit).toBe(true);
    expect(kafkaClientFactory('kafkajs')(config).supportsGroupMetadataCommit).toBeFalsy();
  });

  it('reads LAMBDA_STREAMS_KAFKA_CLIENT and refuses names it does not know', () => {
    expect(kafkaClientFromEnv({})).toBe('kafkajs');
    expect(kafkaClientFromEnv({ LAMBDA_STREAMS_KAFKA_CLIENT: ' platformatic ' })).toBe('platformatic');
    expect(() => kafkaClientFromEnv({ LAMBDA_STREAMS_KAFKA_CLIENT: 'librdkafka' })).toThrow(
      'LAMBDA_STREAMS_KAFKA_CLIENT="librdkafka" is not a Kafka client; expected one of kafkajs, platformatic',
    );
  });

  it('lets the default factory follow the environment at each call', async () => {
    const { PlatformaticClient } = await import('../../../src/kafka/platformatic-client.ts');
    await loadKafkaClient('platformatic');
    const before = process.env.LAMBDA_STREAMS_KAFKA_CLIENT;
    try {
      process.env.LAMBDA_STREAMS_KAFKA_CLIENT = 'platformatic';
      expect(defaultKafkaClientFactory(config)).toBeInstanceOf(PlatformaticClient);
      delete process.env.LAMBDA_STREAMS_KAFKA_CLIENT;
      expect(defaultKafkaClientFactory(config)).toBeInstanceOf(KafkajsClient);
    } finally {
      if (before === undefined) delete process.env.LAMBDA_STREAMS_KAFKA_CLIENT;
      else process.env.LAMBDA_STREAMS_KAFKA_CLIENT = before;
    }
  });
});
