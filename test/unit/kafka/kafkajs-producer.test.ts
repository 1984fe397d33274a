/**
 * Producers are idempotent everywhere (docs/reliability.md): every producer the kafkajs adapter
 * creates, plain or transactional, asks kafkajs for idempotence with one request in flight, and every
 * send and transactional send uses acks=-1 (all in-sync replicas). The runtime, the batch layer's
 * publication, the dead-letter topic and the demo all produce through this adapter.
 */
import { describe, expect, it } from 'vitest';

import { KafkajsClient } from '../../../src/kafka/kafkajs-client.ts';

interface Captured {
  options: Array<Record<string, unknown>>;
  sends: Array<Record<string, unknown>>;
}

/** The adapter over a kafkajs whose producer() records its options and sends (no broker needed). */
function adapter(): { client: KafkajsClient; captured: Captured } {
  const client = new KafkajsClient({ brokers: ['127.0.0.1:1'] });
  const captured: Captured = { options: [], sends: [] };
  const sendBatch = async (request: Record<string, unknown>) => {
    captured.sends.push(request);
    return [{ topicName: 't', partition: 0, errorCode: 0, baseOffset: '0' }];
  };
  (client as unknown as { kafka: { producer: (o: Record<string, unknown>) => unknown } }).kafka.producer = (
    options,
  ) => {
    captured.options.push(options);
    return {
      connect: async () => {},
      disconnect: async () => {},
      sendBatch,
      transaction: async () => ({ sendBatch, abort: async () => {}, commit: async () => {} }),
    };
  };
  return { client, captured };
}

const record = { topic: 't', partition: 0, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1 };

describe('kafkajs producers', () => {
  it('are idempotent with one request in flight, plain or transactional', async () => {
    const { client, captured } = adapter();
    await client.producer();
    await client.producer({ idempotent: true });
    await client.producer({ transactionalId: 'app-0_1' });
    expect(captured.options).toHaveLength(3);
    for (const options of captured.options) {
      expect(options).toMatchObject({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
    }
    expect(captured.options[2]).toMatchObject({ transactionalId: 'app-0_1' });
  });

  it('send with acks=-1, in and out of transactions', async () => {
    const { client, captured } = adapter();
    const plain = await client.producer();
    await plain.send([record]);
    const transactional = await client.producer({ transactionalId: 'app-0_1' });
    const txn = await transactional.transaction();
    await txn.send([record]);
    expect(captured.sends).toHaveLength(2);
    for (const send of captured.sends) expect(send).toMatchObject({ acks: -1 });
  });
});
