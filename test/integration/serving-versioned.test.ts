/**
 * A versioned table over HTTP, on the real broker with the real CLI: `lambda-streams worker` answers
 * `GET /stores/prices-store/keys/:key?asOf=` with the version valid then; SIGKILLed and restarted on
 * its state directory it answers the same history; a batch run publishes the versioned store in a
 * view, the worker swaps the view in, and merged answers at every time (before and after the
 * boundary, deletions included) equal a from-scratch computation over all input.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { runBatch } from '../../src/batch/run-batch.ts';
import { loadTopologyFile } from '../../src/cli/load-topology.ts';
import type { OutgoingRecord } from '../../src/kafka/client.ts';
import { freshTopics, portClient, produceRecords } from './batch-support.ts';
import { eventually, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
const BUCKET = 60_000;
const KEYS = ['apple', 'pear', 'plum'];

const workers: WorkerProcess[] = [];
afterAll(() => {
  for (const worker of workers) worker.stop();
});

async function topologyFile(dir: string, applicationId: string, input: string): Promise<string> {
  const file = path.join(dir, 'prices.mts');
  await writeFile(
    file,
    `import { Consumed, Grouped, Materialized, Serdes, Stores, defineTopology } from ${JSON.stringify(path.join(root, 'src/index.ts'))};
export default defineTopology({
  applicationId: ${JSON.stringify(applicationId)},
  bucketMs: ${BUCKET},
  build(builder) {
    const prices = builder.table(
      ${JSON.stringify(input)},
      Consumed.with(Serdes.String(), Serdes.String()),
      Materialized.as(Stores.persistentVersionedKeyValueStore('prices-store', 24 * 3_600_000)),
    );
    prices
      .toStream()
      .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
      .count(Materialized.as('updates').withKeySerde(Serdes.String()));
  },
});
`,
  );
  return file;
}

/** Price updates of every key, strictly in time order; every fifth one a deletion. */
function updates(input: string, from: number, count: number, first: number): OutgoingRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    return {
      topic: input,
      key: Buffer.from(KEYS[n % KEYS.length]!),
      value: n % 5 === 4 ? null : Buffer.from(`${n}`),
      timestamp: from + i * 7_000,
    };
  });
}

/** What a from-scratch computation answers: the last update at or before asOf (a deletion: none). */
function expectedAt(
  all: OutgoingRecord[],
  key: string,
  asOf: number,
): { value: string | null; timestamp?: number } {
  const last = all.filter((r) => r.key!.toString() === key && r.timestamp <= asOf).at(-1);
  return !last || last.value === null
    ? { value: null }
    : { value: last.value.toString(), timestamp: last.timestamp };
}

interface KeyAnswer {
  value: unknown;
  timestamp?: number;
  view: { id: string } | null;
}

async function get(
  url: string,
  route: string,
): Promise<{ status: number; body: KeyAnswer & { message?: string } }> {
  const res = await fetch(`${url}${route}`);
  return { status: res.status, body: (await res.json()) as KeyAnswer & { message?: string } };
}

/** Every key as of every 3.5 s of the input's span, and the latest, against the expectation. */
async function expectHistory(url: string, all: OutgoingRecord[], viewId?: string): Promise<void> {
  const first = all[0]!.timestamp;
  const last = all.at(-1)!.timestamp;
  for (const key of KEYS) {
    for (let asOf = first - 3_500; asOf <= last + 3_500; asOf += 3_500) {
      const { status, body } = await get(url, `/stores/prices-store/keys/${key}?asOf=${asOf}`);
      expect(status, body.message).toBe(200);
      expect({ value: body.value, timestamp: body.timestamp }, `${key} as of ${asOf}`).toEqual(
        expectedAt(all, key, asOf),
      );
      if (viewId) expect(body.view?.id).toBe(viewId);
    }
    const latest = await get(url, `/stores/prices-store/keys/${key}`);
    expect({ value: latest.body.value, timestamp: latest.body.timestamp }, `${key} latest`).toEqual(
      expectedAt(all, key, Number.MAX_SAFE_INTEGER),
    );
  }
}

describe('versioned store over HTTP (real broker, worker CLI)', () => {
  it('keeps its history across SIGKILL and merges a published batch view as of any time', async () => {
    const client = portClient();
    const input = uniqueTopic('prices-in');
    await freshTopics({ [input]: 2 });
    const applicationId = uniqueGroup('prices');
    const dir = await tempStateDir();
    const file = await topologyFile(dir, applicationId, input);
    const stateDir = path.join(dir, 'worker');

    const start = (Math.floor(Date.now() / BUCKET) - 10) * BUCKET;
    const before = updates(input, start, 30, 0); // 0 .. 203 s: buckets 0..3
    await produceRecords(client, before);
    let worker = startWorkerProcess(file, stateDir);
    workers.push(worker);
    let url = await worker.url();
    await eventually(() => expectHistory(url, before), { timeoutMs: 60_000, intervalMs: 1_000 });

    // Bad queries: asOf on a store that is not versioned, and an asOf that is not a time.
    const notVersioned = await get(url, `/stores/updates/keys/apple?asOf=${start}`);
    expect(notVersioned.status).toBe(400);
    expect(notVersioned.body.message).toMatch(/asOf needs a versioned store; 'updates'/);
    const notATime = await get(url, '/stores/prices-store/keys/apple?asOf=yesterday');
    expect(notATime.status).toBe(400);

    // SIGKILL, restart on the same state directory: the same history.
    worker.child.kill('SIGKILL');
    await new Promise((resolve) => worker.child.once('exit', resolve));
    worker = startWorkerProcess(file, stateDir);
    workers.push(worker);
    url = await worker.url();
    await eventually(() => expectHistory(url, before), { timeoutMs: 60_000, intervalMs: 1_000 });

    // A view of buckets < 2 (before start + 120 s), then updates past it.
    const { topology } = await loadTopologyFile(file);
    const { manifest } = await runBatch({
      topology,
      applicationId,
      topologyName: 'prices',
      bucketMs: BUCKET,
      client,
      untilMs: start + 2 * BUCKET,
    });
    expect(manifest.stores['prices-store']?.partitions.reduce((n, p) => n + p.records, 0)).toBeGreaterThan(0);
    const after = updates(input, before.at(-1)!.timestamp + 7_000, 20, 30);
    await produceRecords(client, after);
    const all = [...before, ...after];
    await eventually(() => expectHistory(url, all, manifest.viewId), {
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
  }, 240_000);
});
