/**
 * Where the runtime gets its Kafka client: a factory it receives (KafkaStreamsConfig.clientFactory),
 * kafkajs by default. The runtime imports this module, client.ts and errors.ts, never an adapter.
 */
import type { KafkaClient, KafkaClientConfig } from './client.ts';
import { KafkajsClient } from './kafkajs-client.ts';

export type KafkaClientFactory = (config: KafkaClientConfig) => KafkaClient;

export const defaultKafkaClientFactory: KafkaClientFactory = (config) => new KafkajsClient(config);
