/**
 * Two `lambda-streams worker` processes with their HTTP APIs, on a real broker: before and after a
 * batch view is published, both answer every key identically (forwarding to the owner) and equal to
 * the counts of all input; killing one moves every answer to the other worker with the same values;
 * the query command asks a worker from a terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { runBatch } from '../../src/batch/run-batch.ts';
import { loadTopologyFile } from '../../src/cli/load-topology.ts';
import type { OutgoingRecord } from '../../src/kafka/client.ts';
import { freshTopics, portClient, produceRecords, runCli } from './batch-support.ts';
import { brokers, eventually, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';

const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const BUCKET = 60_000;
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];

async function topologyFile(dir: string, applicationId: string, input: string): Promise<string> {
  const file = path.join(dir, 'served-word-count.mts');
  await writeFile(
    file,
    `import { Consumed, Grouped, Materialized, Serdes, defineTopology } from ${JSON.stringify(path.join(root, 'src/index.ts'))};
export default defineTopology({
  applicationId: ${JSON.stringify(applicationId)},
  bucketMs: ${BUCKET},
  build(builder) {
    builder
      .stream(${JSON.stringify(input)}, Consumed.with(Serdes.String(), Serdes.String()))
      .flatMapValues((line) => line.split(' '))
      .groupBy((_k, w) => w, Grouped.with(Serdes.String(), Serdes.String()))
      .count(Materialized.as('word-counts').withKeySerde(Serdes.String()));
  },
});
`,
  );
  return file;
}

interface Worker {
  child: ChildProcess;
  url: () => Promise<string>;
}

function startWorker(file: string, stateDir: string): Worker {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin/lambda-streams.js'),
      'worker',
      file,
      '--state-dir',
      stateDir,
      '--commit-interval',
      '200',
      '--http-port',
      '0',
      '--num-standby-replicas',
      '1',
    ],
    {
      cwd: root,
      env: { ...process.env, KAFKA_BROKERS: brokers().join(','), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    child,
    url: () =>
      eventually(
        () => {
          const match = /HTTP API on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (!match) throw new Error(`no HTTP API line yet: ${stderr.slice(-500)}`);
          return match[1]!;
        },
        { timeoutMs: 60_000 },
      ),
  };
}

interface KeyAnswer {
  value: unknown;
  view: { id: string } | null;
  servedBy: string;
}

async function ask(url: string, word: string): Promise<KeyAnswer> {
  const res = await fetch(`${url}/stores/word-counts/keys/${word}`);
  const body = (await res.json()) as KeyAnswer & { message?: string };
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body.message ?? ''}`);
  return body;
}

function lines(
  input: string,
  from: number,
  n: number,
): { records: OutgoingRecord[]; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const records = Array.from({ length: n }, (_, i) => {
    const words = [WORDS[i % 10]!, WORDS[(i * 7) % 10]!, WORDS[(i * 3 + 1) % 10]!];
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
    return {
      topic: input,
      key: Buffer.from(`l${i}`),
      value: Buffer.from(words.join(' ')),
      timestamp: from + i * 1_000,
    };
  });
  return { records, counts };
}

describe('serving over HTTP, two workers', () => {
  it('answer every key identically before and after a view swap, and after one of them dies', async () => {
    const client = portClient();
    const input = uniqueTopic('http-in');
    await freshTopics({ [input]: 4 });
    const applicationId = uniqueGroup('http-wc');
    const dir = await tempStateDir();
    const file = await topologyFile(dir, applicationId, input);
    // Input over the five buckets before the current one.
    const start = (Math.floor(Date.now() / BUCKET) - 5) * BUCKET;
    const first = lines(input, start, 240);
    await produceRecords(client, first.records);

    const a = startWorker(file, path.join(dir, 'a'));
    const b = startWorker(file, path.join(dir, 'b'));
    const urls = [await a.url(), await b.url()];
    const expectAll = async (
      counts: Map<string, number>,
      viewId: string | null,
      at: string[],
    ): Promise<void> => {
      for (const url of at) {
        for (const word of WORDS) {
          const answer = await ask(url, word);
          expect(answer.value, `${word} from ${url}`).toBe(counts.get(word));
          expect(answer.view?.id ?? null).toBe(viewId);
        }
      }
    };
    await eventually(() => expectAll(first.counts, null, urls), { timeoutMs: 120_000, intervalMs: 500 });

    // A batch view of the first three buckets: the same answers, now merged with it.
    const { topology } = await loadTopologyFile(file);
    const { manifest } = await runBatch({
      topology,
      applicationId,
      topologyName: 'served-word-count',
      bucketMs: BUCKET,
      client,
      untilMs: start + 3 * BUCKET,
    });
    await eventually(() => expectAll(first.counts, manifest.viewId, urls), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });

    // The query command, from a terminal.
    const query = await runCli(['query', 'word-counts', 'alpha', '--url', urls[1]!, '--json']);
    expect(query.code, query.stderr).toBe(0);
    expect(JSON.parse(query.stdout)).toMatchObject({
      value: first.counts.get('alpha'),
      view: { id: manifest.viewId },
    });

    // Worker A dies: B answers every key, with the same values.
    a.child.kill('SIGKILL');
    await eventually(() => expectAll(first.counts, manifest.viewId, [urls[1]!]), {
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });
  }, 300_000);
});
