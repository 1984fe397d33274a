/**
 * The read ceiling: a plain kafkajs consumer (eachBatch, a fresh group, from the beginning) that counts
 * the records of a topic and exits once it has seen `expected` of them. Run as a child process by
 * bench/run.ts so its peak RSS is its own; prints one JSON line `{ records, bytes, sinceJoinMs, peakRss }` when done
 * (`sinceJoinMs`: from the consumer's group join to the last record).
 *
 *   node --import tsx bench/raw-consume.ts <brokers> <topic> <expected>
 */
import { randomBytes } from 'node:crypto';

import kafkajs from 'kafkajs';

import { installFastRecordDecoder } from '../src/kafka/kafkajs-record-decoder.ts';
import { peakRssOf } from './lib/children.ts';

// The runtime's kafkajs decodes records with this drop-in (src/kafka/kafkajs-record-decoder.ts): the
// read ceiling uses it too.
installFastRecordDecoder();

const { Kafka, logLevel } = kafkajs;

const [brokers, topic, expectedArg] = process.argv.slice(2);
const expected = Number(expectedArg);
if (!brokers || !topic || !Number.isInteger(expected) || expected <= 0) {
  process.stderr.write('usage: raw-consume.ts <brokers> <topic> <expected>\n');
  process.exit(2);
}

const kafka = new Kafka({ brokers: brokers.split(','), clientId: 'bench-raw', logLevel: logLevel.ERROR });
// The same fetch sizes as the runtime's consumer (src/kafka/kafkajs-client.ts).
const consumer = kafka.consumer({
  groupId: `bench-raw-${randomBytes(6).toString('hex')}`,
  maxBytesPerPartition: 4 * 1024 * 1024,
  maxBytes: 32 * 1024 * 1024,
  maxWaitTimeInMs: 100,
  allowAutoTopicCreation: false,
});
let records = 0;
let bytes = 0;
let joinedAt: number | undefined;
consumer.on(consumer.events.GROUP_JOIN, () => {
  joinedAt ??= performance.now();
});
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    for (const message of batch.messages) bytes += message.value?.length ?? 0;
    records += batch.messages.length;
    if (records >= expected) {
      const sinceJoinMs = joinedAt === undefined ? undefined : performance.now() - joinedAt;
      process.stdout.write(
        `${JSON.stringify({ records, bytes, sinceJoinMs, peakRss: peakRssOf(process.pid) })}\n`,
      );
      // No group leave or disconnect: the time to here is what is measured.
      process.exit(0);
    }
  },
});
