/**
 * `lambda-streams demo` (`npm start`): the whole Lambda loop on a real broker, with
 * topologies/word-count.ts. Starts the local broker if none is configured, resets the word-count
 * topics, produces sentences spread over the last three hourly buckets, and then:
 *
 *   1. runs a worker (speed layer + serving layer + HTTP API) and asks it over HTTP: the speed layer
 *      alone answers, no view yet;
 *   2. runs the batch layer over the same topic: a view of the complete buckets is published, the
 *      worker swaps it in, and the same question answers view ⊕ deltas, with the same counts;
 *   3. produces more live sentences and asks again: the view plus the new deltas.
 *
 * Every answer is checked against counts computed from the sentences; the view id, its boundary and
 * the worker's position are printed. Everything is shut down at the end.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Command } from 'commander';

import type { KafkaAdmin } from '../kafka/client.ts';

import {
  addKafkaClientOption,
  applyKafkaClientOption,
  type KafkaClientFlags,
} from './kafka-client-option.ts';

export const DEMO_SENTENCES = [
  'the quick brown fox jumps over the lazy dog',
  'all streams flow to the sea',
  'the sea is never full',
  'kafka streams in node',
  'a stream is a table is a stream',
];

/** Produced once the view is in: the speed layer's part of the last answer. */
export const LIVE_SENTENCES = ['the stream goes on', 'kafka and the sea'];

/** Words the demo asks the worker about. */
const ASKED = ['the', 'stream', 'sea', 'kafka', 'streams'];

function info(line: string): void {
  process.stderr.write(`[demo] ${line}\n`);
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
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

interface KeyAnswer {
  value: number | null;
  view: { id: string; boundaryTime: string } | null;
  position: { offsets: Record<string, Record<string, number>>; lagRecords: number };
  servedBy: string;
}

async function ask(url: string, word: string): Promise<KeyAnswer> {
  const res = await fetch(`${url}/stores/word-counts/keys/${encodeURIComponent(word)}`);
  const body = (await res.json()) as KeyAnswer & { message?: string };
  if (res.status !== 200)
    throw new Error(`GET ${url}/stores/word-counts/keys/${word}: ${res.status} ${body.message ?? ''}`);
  return body;
}

/** Asks until every asked word has its expected count with the expected view (or the deadline). */
async function askUntil(
  url: string,
  expected: Map<string, number>,
  viewId: string | null,
  deadline: number,
): Promise<Map<string, KeyAnswer>> {
  for (;;) {
    const answers = new Map<string, KeyAnswer>();
    for (const word of ASKED) answers.set(word, await ask(url, word));
    const ok = ASKED.every(
      (w) =>
        answers.get(w)!.value === (expected.get(w) ?? null) && (answers.get(w)!.view?.id ?? null) === viewId,
    );
    if (ok || Date.now() > deadline) return answers;
    await new Promise((r) => setTimeout(r, 300));
  }
}

function show(url: string, answers: Map<string, KeyAnswer>, expected: Map<string, number>): boolean {
  let ok = true;
  const first = answers.values().next().value!;
  say(
    `  view: ${first.view ? `${first.view.id} (records before ${first.view.boundaryTime})` : 'none yet (the speed layer alone)'}`,
  );
  const positions = Object.entries(first.position.offsets)
    .map(
      ([topic, parts]) =>
        `${topic} ${Object.entries(parts)
          .map(([p, o]) => `${p}:${o}`)
          .join(' ')}`,
    )
    .join(', ');
  say(`  speed layer at: ${positions || '(no records yet)'}; lag ${first.position.lagRecords}`);
  for (const [word, answer] of answers) {
    const want = expected.get(word) ?? null;
    const mark = answer.value === want ? 'ok' : `MISMATCH (expected ${want})`;
    if (answer.value !== want) ok = false;
    say(
      `  GET ${url}/stores/word-counts/keys/${word.padEnd(8)} → ${String(answer.value).padStart(2)}  ${mark}`,
    );
  }
  return ok;
}

export async function runDemo(options: {
  guarantee: 'at_least_once' | 'exactly_once';
  timeoutMs: number;
}): Promise<number> {
  const [{ resolveBrokers }, { loadTopologyFile }, { KafkaStreams }, { defaultKafkaClientFactory }] =
    await Promise.all([
      import('./worker-command.ts'),
      import('./load-topology.ts'),
      import('../runtime/kafka-streams.ts'),
      import('../kafka/factory.ts'),
    ]);
  const [{ startServing }, { createServingServer }, { runBatch }, { formatSummary }] = await Promise.all([
    import('../serving/serving.ts'),
    import('../serving/http/server.ts'),
    import('../batch/run-batch.ts'),
    import('./batch-command.ts'),
  ]);
  const file = fileURLToPath(new URL('../../topologies/word-count.ts', import.meta.url));
  if (!existsSync(file)) {
    // The example topologies are part of the repository, not of the npm package.
    throw new Error(
      `the demo runs from a checkout of the lambda-streams repository (npm start); ${file} is not here`,
    );
  }
  const { definition, topology, bucketMs } = await loadTopologyFile(file);
  const input = definition.inputTopics?.[0] ?? 'text-lines';
  const output = definition.outputTopics?.[0] ?? 'word-counts';
  const broker = await resolveBrokers(process.env.KAFKA_BROKERS);
  const client = defaultKafkaClientFactory({ brokers: broker.brokers, clientId: 'lambda-streams-demo' });
  const admin = await client.admin();
  const stateDir = await mkdtemp(path.join(tmpdir(), 'lambda-streams-demo-'));
  const deadline = (): number => Date.now() + options.timeoutMs;
  let streams: InstanceType<typeof KafkaStreams> | undefined;
  let serving: Awaited<ReturnType<typeof startServing>> | undefined;
  let server: Awaited<ReturnType<typeof createServingServer>> | undefined;
  try {
    // Reset (like kafka-streams-application-reset): the demo's topics, internal topics, views, group.
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
    info(
      `produced ${DEMO_SENTENCES.length} sentences to ${input}, over the last 3 buckets of ${bucketMs / 60_000} min`,
    );

    // 1. A worker: speed layer, serving layer, HTTP API on a free loopback port.
    const { DeferredQueryService } = await import('../serving/deferred-query-service.ts');
    const deferred = new DeferredQueryService(undefined);
    server = await createServingServer({
      service: deferred,
      port: 0,
      scrapeMetrics: async () => ({
        contentType: streams!.metrics.contentType,
        body: await streams!.metrics.scrape(),
      }),
      health: () => ({ ok: streams?.state === 'RUNNING', state: streams?.state ?? 'STARTING' }),
    });
    const url = server.url;
    streams = new KafkaStreams(topology, {
      applicationId: appId,
      bootstrapServers: broker.brokers,
      stateDir,
      processingGuarantee: options.guarantee,
      commitIntervalMs: 200,
      applicationServer: new URL(url).host,
    });
    await streams.start();
    serving = await startServing(streams, { stateDir, endpoint: new URL(url).host });
    deferred.resolve(serving.queries);
    info(`worker started (${options.guarantee}), HTTP API on ${url}`);

    say(`1. The speed layer alone: ${DEMO_SENTENCES.length} sentences, no batch view yet`);
    const all = expectedCounts(DEMO_SENTENCES);
    let ok = show(url, await askUntil(url, all, null, deadline()), all);

    // 2. The batch layer over the same topic: a view of the complete buckets.
    say();
    say('2. A batch run over the same topic, up to the last complete bucket');
    const result = await runBatch({
      topology: (await loadTopologyFile(file)).topology,
      applicationId: appId,
      topologyName: 'word-count.ts',
      bucketMs,
      client,
    });
    for (const line of formatSummary(result, 'topologies/word-count.ts').trimEnd().split('\n'))
      say(`  ${line}`);
    const viewId = result.manifest.viewId;
    say(`  the worker swaps the view in; the same question now answers view ⊕ speed-layer deltas:`);
    ok = show(url, await askUntil(url, all, viewId, deadline()), all) && ok;

    // 3. More live data: the view plus new deltas.
    say();
    say(`3. ${LIVE_SENTENCES.length} more sentences arrive now`);
    await producer.send(
      LIVE_SENTENCES.map((value, i) => ({
        topic: input,
        key: Buffer.from(`live${i}`),
        value: Buffer.from(value),
        timestamp: Date.now(),
      })),
    );
    await producer.close();
    const more = expectedCounts([...DEMO_SENTENCES, ...LIVE_SENTENCES]);
    ok = show(url, await askUntil(url, more, viewId, deadline()), more) && ok;

    say();
    say(
      ok
        ? 'OK: every answer equals the counts of all sentences, before and after the view, with and without new data'
        : 'MISMATCH: an answer differs from the counts of the sentences (see above)',
    );
    return ok ? 0 : 1;
  } finally {
    await serving?.close().catch(() => {});
    await streams?.close();
    await server?.close();
    await admin.close();
    await rm(stateDir, { recursive: true, force: true });
    await broker.stop();
  }
}

export function registerDemoCommand(program: Command): void {
  const command = program
    .command('demo')
    .description(
      'the Lambda loop end to end on a real Kafka broker (starts a local one if none is configured): a worker, a batch view, merged answers over HTTP',
    )
    .option('--exactly-once', 'use the exactly_once processing guarantee', false)
    .option('--timeout <seconds>', 'give up after this long', (v) => Number(v), 120);
  addKafkaClientOption(command).action(
    async (opts: { exactlyOnce: boolean; timeout: number } & KafkaClientFlags) => {
      await applyKafkaClientOption(opts);
      process.exitCode = await runDemo({
        guarantee: opts.exactlyOnce ? 'exactly_once' : 'at_least_once',
        timeoutMs: opts.timeout * 1000,
      });
    },
  );
}
