/**
 * `lambda-streams demo`: word count on a real broker, end to end. Starts the local broker if none is
 * configured, resets and creates the word-count topics, produces a few sentences spread over the
 * last three hourly buckets, runs a worker on topologies/word-count.ts until the output topic holds
 * the expected counts, prints the counts from the worker's store and from the output topic, then runs
 * the batch layer over the same topic and checks the published view against the sentences of the
 * complete buckets, and shuts everything down cleanly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Command } from 'commander';

import type { KafkaAdmin, KafkaClient } from '../kafka/client.ts';

export const DEMO_SENTENCES = [
  'the quick brown fox jumps over the lazy dog',
  'all streams flow to the sea',
  'the sea is never full',
  'kafka streams in node',
  'a stream is a table is a stream',
];

function info(line: string): void {
  process.stderr.write(`[demo] ${line}\n`);
}

export function expectedCounts(sentences: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of sentences) {
    for (const w of s
      .toLowerCase()
      .split(/\W+/u)
      .filter((x) => x.length > 0))
      counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

async function waitUntilDeleted(admin: KafkaAdmin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const existing = new Set(await admin.listTopics());
    if (!topics.some((t) => existing.has(t))) return;
    if (Date.now() > deadline)
      throw new Error(`topics ${topics.join(', ')} still exist after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Latest value per key of the output topic (String keys, Long values), read up to its current end. */
async function readOutput(
  client: KafkaClient,
  admin: KafkaAdmin,
  topic: string,
): Promise<Map<string, number>> {
  const { Serdes } = await import('../serde/index.ts');
  const long = Serdes.Long();
  const ends = await admin.endOffsets(topic);
  const latest = new Map<string, number>();
  await client.fetchRanges(
    ends.map((e) => ({ topic, partition: e.partition, fromOffset: e.low, toOffset: e.high })),
    {
      isolationLevel: 'read_committed',
      onBatch: (records) => {
        for (const r of records) {
          const key = r.key?.toString('utf8') ?? '';
          if (r.value === null) latest.delete(key);
          else latest.set(key, long.deserialize(r.value, topic));
        }
      },
    },
  );
  return latest;
}

function format(counts: Map<string, number>): string {
  return [...counts]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([w, n]) => `  ${w.padEnd(10)} ${n}`)
    .join('\n');
}

/**
 * Timestamps for the demo's sentences: the first ones in the bucket two before the current one, the
 * next in the previous bucket, the last ones now (the speed layer's part).
 */
export function demoTimestamps(nowMs: number, bucketMs: number, n: number): number[] {
  const current = Math.floor(nowMs / bucketMs) * bucketMs;
  return Array.from({ length: n }, (_, i) => {
    const back = 2 - Math.min(2, Math.floor((i * 3) / n)); // 2, 2, 1, 1, 0 for five sentences
    return back === 0 ? nowMs : current - back * bucketMs + i * 1_000;
  });
}

function sameCounts(a: Map<string, number>, b: Map<string, number>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

export async function runDemo(options: {
  guarantee: 'at_least_once' | 'exactly_once';
  timeoutMs: number;
}): Promise<number> {
  const [{ resolveBrokers }, { loadTopologyFile }, { KafkaStreams }, { createKafkaClient }] =
    await Promise.all([
      import('./worker-command.ts'),
      import('./load-topology.ts'),
      import('../runtime/kafka-streams.ts'),
      import('../kafka/kafkajs-client.ts'),
    ]);
  const file = fileURLToPath(new URL('../../topologies/word-count.ts', import.meta.url));
  const { definition, topology, bucketMs } = await loadTopologyFile(file);
  const input = definition.inputTopics?.[0] ?? 'text-lines';
  const output = definition.outputTopics?.[0] ?? 'word-counts';
  const broker = await resolveBrokers(process.env.KAFKA_BROKERS);
  const client = createKafkaClient({ brokers: broker.brokers, clientId: 'lambda-streams-demo' });
  const admin = await client.admin();
  const stateDir = await mkdtemp(path.join(tmpdir(), 'lambda-streams-demo-'));
  let streams: InstanceType<typeof KafkaStreams> | undefined;
  try {
    // Reset (like kafka-streams-application-reset): the demo's topics, internal topics and group.
    const appId = definition.applicationId;
    const stale = (await admin.listTopics()).filter(
      (t) => t === input || t === output || t.startsWith(`${appId}-`),
    );
    if (stale.length > 0) {
      info(`resetting: deleting ${stale.join(', ')}`);
      await admin.deleteTopics(stale);
      await waitUntilDeleted(admin, stale);
    }
    await admin.deleteGroups([appId]).catch(() => {});
    await admin.createTopics([
      // The input is the master dataset the batch layer recomputes from: keep it forever.
      { name: input, partitions: 2, config: { 'retention.ms': '-1' } },
      { name: output, partitions: 2 },
    ]);
    // Sentences spread over the last three buckets: the batch layer covers the two complete ones.
    const timestamps = demoTimestamps(Date.now(), bucketMs, DEMO_SENTENCES.length);
    const producer = await client.producer();
    await producer.send(
      DEMO_SENTENCES.map((value, i) => ({
        topic: input,
        key: Buffer.from(`s${i}`),
        value: Buffer.from(value),
        timestamp: timestamps[i]!,
      })),
    );
    await producer.close();
    info(
      `produced ${DEMO_SENTENCES.length} sentences to ${input}, over the last 3 buckets of ${bucketMs / 60_000} min`,
    );

    const expected = expectedCounts(DEMO_SENTENCES);
    streams = new KafkaStreams(topology, {
      applicationId: appId,
      brokers: broker.brokers,
      stateDir,
      processingGuarantee: options.guarantee,
      commitIntervalMs: 200,
    });
    await streams.start();
    info(`worker started (${options.guarantee}); waiting for ${expected.size} word counts on ${output}`);
    const deadline = Date.now() + options.timeoutMs;
    let fromTopic = new Map<string, number>();
    while (!sameCounts(fromTopic, expected)) {
      if (streams.error) throw streams.error;
      if (Date.now() > deadline) {
        throw new Error(
          `output topic ${output} did not reach the expected counts within ${options.timeoutMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 300));
      fromTopic = await readOutput(client, admin, output);
    }
    const fromStore = new Map<string, number>();
    for (const { store } of streams.storesNamed<any>('word-counts')) {
      for (const { key, value } of store.all() as Iterable<{ key: string; value: unknown }>) {
        const v =
          typeof value === 'object' && value !== null && 'value' in value
            ? (value as { value: unknown }).value
            : value;
        fromStore.set(key, Number(v));
      }
    }
    process.stdout.write(`Word counts in the worker's store 'word-counts':\n${format(fromStore)}\n`);
    process.stdout.write(`Word counts on topic ${output}:\n${format(fromTopic)}\n`);
    const ok = sameCounts(fromStore, expected);
    process.stdout.write(
      ok ? 'OK: store and topic agree with the expected counts\n' : 'MISMATCH between store and topic\n',
    );
    await streams.close();

    // The batch layer over the same topic: the view covers the complete buckets.
    info('batch layer: replaying text-lines up to the last complete bucket');
    const [{ runBatch }, { readViewPartition, decodeViewRecords }, { formatSummary }] = await Promise.all([
      import('../batch/run-batch.ts'),
      import('../batch/view-reader.ts'),
      import('./batch-command.ts'),
    ]);
    const result = await runBatch({
      topology: (await loadTopologyFile(file)).topology,
      applicationId: appId,
      topologyName: 'word-count.ts',
      bucketMs,
      client,
    });
    process.stdout.write(`\n${formatSummary(result, 'topologies/word-count.ts')}`);
    const manifest = result.manifest;
    const fromView = new Map<string, number>();
    for (const p of manifest.stores['word-counts']!.partitions) {
      const records = await readViewPartition(client, admin, manifest, 'word-counts', p.partition);
      for (const r of decodeViewRecords(topology, 'word-counts', records))
        fromView.set(String(r.key), Number(r.value));
    }
    const boundaryMs = manifest.boundaryBucket * manifest.bucketMs;
    const expectedView = expectedCounts(DEMO_SENTENCES.filter((_, i) => timestamps[i]! < boundaryMs));
    process.stdout.write(
      `Word counts in batch view ${manifest.viewId} (before ${manifest.boundaryTime}):\n${format(fromView)}\n`,
    );
    const viewOk = sameCounts(fromView, expectedView);
    process.stdout.write(
      viewOk
        ? 'OK: the batch view holds the counts of the sentences before its boundary\n'
        : 'MISMATCH between the batch view and the sentences before its boundary\n',
    );
    return ok && viewOk ? 0 : 1;
  } finally {
    await streams?.close();
    await admin.close();
    await rm(stateDir, { recursive: true, force: true });
    await broker.stop();
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('word count end to end on a real Kafka broker (starts a local one if none is configured)')
    .option('--exactly-once', 'use the exactly_once processing guarantee', false)
    .option('--timeout <seconds>', 'give up after this long', (v) => Number(v), 120)
    .action(async (opts: { exactlyOnce: boolean; timeout: number }) => {
      process.exitCode = await runDemo({
        guarantee: opts.exactlyOnce ? 'exactly_once' : 'at_least_once',
        timeoutMs: opts.timeout * 1000,
      });
    });
}
