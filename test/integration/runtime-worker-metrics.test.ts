/**
 * A `lambda-streams worker` process: its /metrics endpoint serves the conventional Prometheus names
 * with plausible values, and a record it cannot deserialize is skipped by default (logged with topic,
 * partition and offset, counted as dropped, left in its topic) or stops the worker with
 * `--on-bad-record fail`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { brokers, eventually, produce, uniqueGroup } from './helpers.ts';
import {
  LatestValues,
  RUNTIME_TEST_MS,
  SETTLE_MS,
  makeLines,
  setupWordCount,
  sorted,
  tempStateDir,
} from './runtime-support.ts';

const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
const children: ChildProcess[] = [];
const views: LatestValues[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

/** Word count over JSON values `{ "text": "..." }`. */
async function topologyFile(
  dir: string,
  applicationId: string,
  input: string,
  output: string,
): Promise<string> {
  const file = path.join(dir, 'json-word-count.mts');
  await writeFile(
    file,
    `import { Consumed, Grouped, Materialized, Produced, Serdes, defineTopology } from ${JSON.stringify(path.join(root, 'src/index.ts'))};
export default defineTopology({
  applicationId: ${JSON.stringify(applicationId)},
  build(builder) {
    builder
      .stream(${JSON.stringify(input)}, Consumed.with(Serdes.String(), Serdes.JSON()))
      .flatMapValues((line) => String(line.text).toLowerCase().split(/\\W+/u).filter((w) => w.length > 0))
      .groupBy((_k, w) => w, Grouped.with(Serdes.String(), Serdes.String()))
      .count(Materialized.as('word-counts').withKeySerde(Serdes.String()))
      .toStream()
      .to(${JSON.stringify(output)}, Produced.with(Serdes.String(), Serdes.Long()));
  },
});
`,
  );
  return file;
}

interface Worker {
  child: ChildProcess;
  stderr: () => string;
}

function startWorker(file: string, stateDir: string, extra: string[]): Worker {
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
      ...extra,
    ],
    {
      cwd: root,
      env: { ...process.env, KAFKA_BROKERS: brokers().join(','), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  children.push(child);
  return { child, stderr: () => stderr };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Value of one sample line `name{labels} value` (labels matched as a substring). */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    if (labels && !rest.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function sum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('worker process', () => {
  it(
    'serves Prometheus metrics and skips an undeserializable record by default',
    async () => {
      const setup = await setupWordCount(2);
      const applicationId = uniqueGroup('metrics-app');
      const dir = await tempStateDir();
      const file = await topologyFile(dir, applicationId, setup.input, setup.output);
      const { lines, counts } = makeLines(300, 7);
      const messages = lines.map((line, i) => ({ key: `line-${i}`, value: JSON.stringify({ text: line }) }));
      messages.splice(150, 0, { key: 'bad', value: '{"text": not json' });
      await produce(setup.input, messages);
      const output = await LatestValues.start(setup.output);
      views.push(output);

      const worker = startWorker(file, path.join(dir, 'state'), []);
      const port = await eventually(
        () => {
          const match = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(worker.stderr());
          expect(match).not.toBeNull();
          return Number(match![1]);
        },
        { timeoutMs: SETTLE_MS },
      );
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(counts)), { timeoutMs: SETTLE_MS });

      const text = await eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`);
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toContain('text/plain');
          const body = await res.text();
          // The commit after the last batch has happened and its offsets are visible.
          expect(sample(body, 'lambda_streams_consumer_lag', `topic="${setup.input}"`)).toBe(0);
          return body;
        },
        { timeoutMs: SETTLE_MS },
      );
      for (const name of [
        'lambda_streams_records_consumed_total',
        'lambda_streams_records_processed_total',
        'lambda_streams_records_produced_total',
        'lambda_streams_commit_latency_seconds',
        'lambda_streams_process_latency_seconds',
        'lambda_streams_consumer_lag',
        'lambda_streams_dropped_records_total',
        'lambda_streams_restore_records_total',
        'lambda_streams_assigned_tasks',
        'lambda_streams_rebalances_total',
      ]) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      expect(sample(text, 'lambda_streams_records_consumed_total', `topic="${setup.input}"`)).toBe(301);
      expect(sum(text, 'lambda_streams_records_processed_total')).toBeGreaterThanOrEqual(300);
      expect(
        sample(text, 'lambda_streams_records_produced_total', `topic="${setup.output}"`),
      ).toBeGreaterThan(0);
      expect(sample(text, 'lambda_streams_commit_latency_seconds_count')).toBeGreaterThan(0);
      expect(text).toMatch(/lambda_streams_commit_latency_seconds_bucket\{le="\+Inf"/);
      expect(sample(text, 'lambda_streams_consumer_lag', `partition="0"`)).toBe(0);
      expect(sample(text, 'lambda_streams_dropped_records_total', 'reason="deserialization"')).toBe(1);
      expect(sample(text, 'lambda_streams_assigned_tasks')).toBe(4);
      // The skipped record is named in the log: topic, partition, offset.
      expect(worker.stderr()).toMatch(new RegExp(`skipping record: .*${setup.input}`));

      worker.child.kill('SIGTERM');
      expect(await exited(worker.child)).toBe(0);
    },
    RUNTIME_TEST_MS,
  );

  it(
    'stops with a clear error on an undeserializable record with --on-bad-record fail',
    async () => {
      const setup = await setupWordCount(1);
      const applicationId = uniqueGroup('fail-app');
      const dir = await tempStateDir();
      const file = await topologyFile(dir, applicationId, setup.input, setup.output);
      await produce(setup.input, [
        { key: 'a', value: JSON.stringify({ text: 'fine words' }) },
        { key: 'b', value: 'not json at all' },
      ]);
      const worker = startWorker(file, path.join(dir, 'state'), ['--on-bad-record', 'fail']);
      const code = await Promise.race([
        exited(worker.child),
        new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), SETTLE_MS)),
      ]);
      expect(code).toBe(1);
      expect(worker.stderr()).toContain(
        `[lambda-streams] stopping: Failed to deserialize value of record at topic '${setup.input}' partition 0 offset 1`,
      );
    },
    RUNTIME_TEST_MS,
  );

  it(
    'exits 0 by itself with --until-caught-up once the group has committed the end of its input',
    async () => {
      const setup = await setupWordCount(2);
      const applicationId = uniqueGroup('caught-up-app');
      const dir = await tempStateDir();
      const file = await topologyFile(dir, applicationId, setup.input, setup.output);
      const { lines, counts } = makeLines(400, 11);
      await produce(
        setup.input,
        lines.map((line, i) => ({ key: `line-${i}`, value: JSON.stringify({ text: line }) })),
      );
      const output = await LatestValues.start(setup.output);
      views.push(output);

      const worker = startWorker(file, path.join(dir, 'state'), ['--until-caught-up']);
      expect(await exited(worker.child)).toBe(0);
      expect(worker.stderr()).toMatch(/caught up: the group has committed the end of every input partition/);
      // Exiting means done: every count was committed before it stopped.
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(counts)), { timeoutMs: SETTLE_MS });
    },
    RUNTIME_TEST_MS,
  );
});
