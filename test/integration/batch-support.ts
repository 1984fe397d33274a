/**
 * Shared pieces of the batch-layer suites: topics recreated for an example topology, records produced
 * with chosen timestamps, a speed-layer instance run until it has consumed everything, and views read
 * back from Kafka.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

import { readViews } from '../../src/batch/view-catalog.ts';
import type { ViewManifest } from '../../src/batch/view-manifest.ts';
import { readViewPartition } from '../../src/batch/view-reader.ts';
import type { KafkaAdmin, KafkaClient, OutgoingRecord } from '../../src/kafka/client.ts';
import { defaultKafkaClientFactory } from '../../src/kafka/factory.ts';
import type { KafkaStreams } from '../../src/runtime/kafka-streams.ts';
import { exportStoreRecords, type StoreRecord } from '../../src/state/store-export.ts';
import { brokers, createTopic, deleteTopics, eventually, withAdmin } from './helpers.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** The port's client under test: kafkajs, or the one LAMBDA_STREAMS_KAFKA_CLIENT names. */
export function portClient(): KafkaClient {
  return defaultKafkaClientFactory({ brokers: brokers(), clientId: 'lambda-streams-batch-test' });
}

/**
 * Deletes and creates the topics of an example topology, so a test starts from empty topics. Source
 * topics are the master dataset: `retention.ms=-1` keeps the broker from deleting records whose
 * (old, chosen) timestamps lie beyond the default retention of 7 days; `finiteRetention` leaves the
 * broker's default, for the warning tests.
 */
export async function freshTopics(
  topics: Record<string, number>,
  options: { finiteRetention?: boolean; config?: Record<string, string> } = {},
): Promise<void> {
  await deleteTopics(...Object.keys(topics));
  const config: Record<string, string> = {
    ...(options.finiteRetention ? {} : { 'retention.ms': '-1' }),
    ...options.config,
  };
  await eventually(
    async () => {
      const existing = await withAdmin((admin) => admin.listTopics());
      for (const [name, partitions] of Object.entries(topics))
        if (!existing.includes(name)) await createTopic(name, { partitions, config });
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

export async function produceRecords(client: KafkaClient, records: OutgoingRecord[]): Promise<void> {
  const producer = await client.producer();
  try {
    for (let i = 0; i < records.length; i += 5_000) await producer.send(records.slice(i, i + 5_000));
  } finally {
    await producer.close();
  }
}

/** Waits until the application's group has committed the end of every topic it reads. */
export async function waitCaughtUp(
  admin: KafkaAdmin,
  streams: KafkaStreams,
  applicationId: string,
  topics: string[],
  timeoutMs = 120_000,
): Promise<void> {
  await eventually(
    async () => {
      if (streams.error) throw streams.error;
      for (const topic of topics) {
        const ends = await admin.endOffsets(topic);
        const committed = await admin.committedOffsets(applicationId, [topic]);
        for (const end of ends) {
          const at = committed.find((c) => c.partition === end.partition)?.offset ?? -1;
          if (end.high > end.low && at < end.high)
            throw new Error(`${topic}[${end.partition}] committed ${at} < end ${end.high}`);
        }
      }
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Topics an application reads: its sources and its repartition topics. */
export async function topicsRead(
  admin: KafkaAdmin,
  applicationId: string,
  sources: string[],
): Promise<string[]> {
  const repartition = (await admin.listTopics()).filter(
    (t) => t.startsWith(`${applicationId}-`) && t.endsWith('-repartition'),
  );
  return [...sources, ...repartition];
}

/** The values of a key-value store across an instance's tasks, by key (timestamped values unwrapped). */
export function storeValues<V>(streams: KafkaStreams, store: string): Map<string, V> {
  const out = new Map<string, V>();
  for (const task of streams.localTasks()) {
    const instance = task.stores.get(store) as unknown as
      { all(): Iterable<{ key: string; value: V | { value: V } }> } | undefined;
    for (const { key, value } of instance?.all() ?? [])
      out.set(key, typeof value === 'object' && value !== null && 'value' in value ? value.value : value);
  }
  return out;
}

/** The records of a store across an instance's tasks, by task partition, in changelog form. */
export function speedStore(
  streams: KafkaStreams,
  store: string,
  kind: 'key-value' | 'window' | 'session',
): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const task of streams.localTasks()) {
    const instance = task.stores.get(store);
    if (!instance) continue;
    out.set(task.partition, render(exportStoreRecords(instance, kind)));
  }
  return out;
}

/** A view's store as published, by partition, read back from Kafka and checked against its checksums. */
export async function viewStore(
  client: KafkaClient,
  admin: KafkaAdmin,
  manifest: ViewManifest,
  store: string,
): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const p of manifest.stores[store]!.partitions) {
    out.set(p.partition, render(await readViewPartition(client, admin, manifest, store, p.partition)));
  }
  return out;
}

export function render(records: Iterable<StoreRecord>): string[] {
  return [...records].map((r) => `${r.key.toString('hex')}=${r.value.toString('hex')}`).sort();
}

export async function views(
  client: KafkaClient,
  admin: KafkaAdmin,
  applicationId: string,
): Promise<ViewManifest[]> {
  return readViews(client, admin, applicationId);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process (real process: signals, exit codes, stdout/stderr). */
export function runCli(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    onStderr?: (chunk: string, kill: (signal: NodeJS.Signals) => void) => void;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/lambda-streams.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: brokers().join(','), LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr, (signal) => child.kill(signal));
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
