/**
 * `--kafka-client <kafkajs|platformatic>` (env LAMBDA_STREAMS_KAFKA_CLIENT) for the commands that talk
 * to Kafka: which client library sits behind the port (src/kafka/factory.ts). kafkajs is the default.
 */
import { Option, type Command } from 'commander';

import {
  KAFKA_CLIENT_ENV,
  KAFKA_CLIENT_NAMES,
  loadKafkaClient,
  type KafkaClientName,
} from '../kafka/factory.ts';

export interface KafkaClientFlags {
  kafkaClient?: KafkaClientName;
}

export function addKafkaClientOption(command: Command): Command {
  return command.addOption(
    new Option('--kafka-client <client>', 'Kafka client library behind the port')
      .choices([...KAFKA_CLIENT_NAMES])
      .default('kafkajs')
      .env(KAFKA_CLIENT_ENV),
  );
}

/**
 * Makes the chosen client the process's default: the commands, the runtime, batch worker threads
 * (which copy the environment when they start) and processes they spawn all create their clients
 * through the default factory, which reads LAMBDA_STREAMS_KAFKA_CLIENT. Loads the client's adapter.
 */
export async function applyKafkaClientOption(flags: KafkaClientFlags): Promise<void> {
  const name = flags.kafkaClient ?? 'kafkajs';
  process.env[KAFKA_CLIENT_ENV] = name;
  await loadKafkaClient(name);
}
