/**
 * Where the runtime gets its Kafka client: a factory it receives (KafkaStreamsConfig.clientFactory),
 * else the default one: kafkajs, or the client LAMBDA_STREAMS_KAFKA_CLIENT names (so that a whole
 * process, its batch threads and the workers it spawns follow one setting). The runtime imports
 * this module, client.ts and errors.ts, never an adapter.
 *
 * The @platformatic/kafka adapter loads on demand (`loadKafkaClient`): that library compiles its
 * option schemas when imported, about half a second of every process start that never uses it.
 */
import type { KafkaClient, KafkaClientConfig } from './client.ts';
import { KafkajsClient } from './kafkajs-client.ts';
import type * as PlatformaticAdapter from './platformatic-client.ts';

let platformatic: typeof PlatformaticAdapter | undefined;

export type KafkaClientFactory = (config: KafkaClientConfig) => KafkaClient;

/** The Kafka clients behind the port (`--kafka-client`). */
export const KAFKA_CLIENT_NAMES = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENT_NAMES)[number];

/** The environment variable that picks the client where none is given explicitly. */
export const KAFKA_CLIENT_ENV = 'LAMBDA_STREAMS_KAFKA_CLIENT';

/** The client LAMBDA_STREAMS_KAFKA_CLIENT names (kafkajs when unset); throws on an unknown name. */
export function kafkaClientFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaClientName {
  const value = env[KAFKA_CLIENT_ENV]?.trim();
  if (!value) return 'kafkajs';
  if (!(KAFKA_CLIENT_NAMES as readonly string[]).includes(value)) {
    throw new Error(
      `${KAFKA_CLIENT_ENV}="${value}" is not a Kafka client; expected one of ${KAFKA_CLIENT_NAMES.join(', ')}`,
    );
  }
  return value as KafkaClientName;
}

/** kafkajs, unless LAMBDA_STREAMS_KAFKA_CLIENT names another client (read at each call). */
export const defaultKafkaClientFactory: KafkaClientFactory = (config) =>
  kafkaClientFactory(kafkaClientFromEnv())(config);

/**
 * Loads a client's adapter (once) and returns its factory. The CLI's --kafka-client does it, and so
 * does importing this module in a process whose LAMBDA_STREAMS_KAFKA_CLIENT names the client.
 */
export async function loadKafkaClient(name: KafkaClientName): Promise<KafkaClientFactory> {
  if (name === 'platformatic') platformatic ??= await import('./platformatic-client.ts');
  return kafkaClientFactory(name);
}

/**
 * The factory of a named client: kafkajs (the default) or @platformatic/kafka, whose adapter must be
 * loaded first (`await loadKafkaClient('platformatic')`).
 */
export function kafkaClientFactory(name: KafkaClientName = 'kafkajs'): KafkaClientFactory {
  switch (name) {
    case 'kafkajs':
      return (config) => new KafkajsClient(config);
    case 'platformatic': {
      const adapter = platformatic;
      if (!adapter) {
        throw new Error(
          "the @platformatic/kafka adapter is loaded on demand: `await loadKafkaClient('platformatic')` " +
            'before creating its client (--kafka-client platformatic and LAMBDA_STREAMS_KAFKA_CLIENT=platformatic do it)',
        );
      }
      return (config) => new adapter.PlatformaticClient(config);
    }
    default:
      throw new Error(
        `unknown Kafka client "${String(name)}"; expected one of ${KAFKA_CLIENT_NAMES.join(', ')}`,
      );
  }
}

// Batch worker threads and spawned workers inherit the environment: their client is ready at import.
if (process.env[KAFKA_CLIENT_ENV]?.trim() === 'platformatic') await loadKafkaClient('platformatic');
