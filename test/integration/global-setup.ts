/**
 * vitest globalSetup of the integration project: one real Kafka broker for the whole run (see
 * docs/broker.md for how it is found or started). Tests get its bootstrap addresses through
 * `inject('kafkaBrokers')` (or helpers.ts `brokers()`), and worker processes also through
 * KAFKA_BROKERS. No broker → the run fails here; integration tests never skip.
 */
import type { TestProject } from 'vitest/node';

import { kafkaClientFromEnv } from '../../src/kafka/factory.ts';
import { ensureBroker } from '../../src/kafka/local-broker.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // An unknown LAMBDA_STREAMS_KAFKA_CLIENT fails here, before any suite runs.
  process.stderr.write(`[integration] Kafka client under test: ${kafkaClientFromEnv()}\n`);
  const started = Date.now();
  const broker = await ensureBroker({
    log: (line) => process.stderr.write(`[integration] ${line}\n`),
  });
  process.stderr.write(
    `[integration] Kafka at ${broker.brokers.join(',')} (${broker.kind}${broker.reused ? ', reused' : ''}) ` +
      `ready after ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  project.provide('kafkaBrokers', broker.brokers);
  const previous = process.env.KAFKA_BROKERS;
  process.env.KAFKA_BROKERS = broker.brokers.join(',');

  return async () => {
    if (previous === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = previous;
    await broker.stop();
  };
}
