/**
 * Secured connections, on a private broker with a SASL_PLAINTEXT (PLAIN) listener: a worker process
 * and a batch run reach it with the CLI's SASL settings (the password from the environment), answer
 * queries, and never show the password in their logs (at debug), their errors or /metrics; a wrong
 * password stops the worker with an authentication error that does not show it either.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { defaultKafkaClientFactory } from '../../src/kafka/factory.ts';
import { defaultRootDir, startLocalBroker, type RunningBroker } from '../../src/kafka/local-broker.ts';
import { eventually, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';

const root = defaultRootDir();
const PASSWORD = 'alice-pw-Qm7vX2cZ';
const WRONG = 'not-alices-pw-Lk3';

let broker: RunningBroker | undefined;
let rootDir: string | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // A private broker (not recorded in the repository's broker.json), with the repository's jars.
  rootDir = await mkdtemp(path.join(tmpdir(), 'lambda-streams-sasl-'));
  await symlink(path.join(root, '.cache'), path.join(rootDir, '.cache'));
  broker = await startLocalBroker({
    rootDir,
    saslPlainUsers: { alice: PASSWORD },
    log: (line) => process.stderr.write(`[sasl-broker] ${line}\n`),
  });
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await broker?.stop();
  if (rootDir) await rm(rootDir, { recursive: true, force: true });
}, 60_000);

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function cli(args: string[], password: string): Run {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin/lambda-streams.js'),
      ...args,
      '--brokers',
      broker!.saslBrokers!.join(','),
      '--security-protocol',
      'SASL_PLAINTEXT',
      '--sasl-mechanism',
      'plain',
      '--sasl-username',
      'alice',
    ],
    {
      cwd: root,
      env: { ...process.env, KAFKA_SASL_PASSWORD: password, LOG_LEVEL: 'debug', KAFKA_BROKERS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function topologyFile(applicationId: string, input: string): Promise<string> {
  const file = path.join(await tempStateDir(), 'secured-count.mts');
  await writeFile(
    file,
    `import { Consumed, Grouped, Materialized, Serdes, defineTopology } from ${JSON.stringify(path.join(root, 'src/index.ts'))};
export default defineTopology({
  applicationId: ${JSON.stringify(applicationId)},
  bucketMs: 60_000,
  build(builder) {
    builder
      .stream(${JSON.stringify(input)}, Consumed.with(Serdes.String(), Serdes.String()))
      .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
      .count(Materialized.as('counts'));
  },
});
`,
  );
  return file;
}

describe('SASL from the CLI', () => {
  it('a worker and a batch run reach a SASL broker and never show the password', async () => {
    // Set up through the PLAINTEXT listener.
    const plain = defaultKafkaClientFactory({ brokers: broker!.brokers });
    const admin = await plain.admin();
    const input = uniqueTopic('sasl-in');
    await admin.createTopics([{ name: input, partitions: 2, replicationFactor: 1 }]);
    const producer = await plain.producer();
    const at = Date.now() - 3_600_000;
    await producer.send(
      Array.from({ length: 30 }, (_, i) => ({
        topic: input,
        key: Buffer.from(`k${i % 3}`),
        value: Buffer.from(String(i)),
        timestamp: at + i,
      })),
    );
    await producer.close();
    await admin.close();

    const applicationId = uniqueGroup('sasl');
    const file = await topologyFile(applicationId, input);
    const worker = cli(['worker', file, '--state-dir', await tempStateDir(), '--http-port', '0'], PASSWORD);
    const url = await eventually(
      () => {
        const match = /HTTP API on (http:\/\/127\.0\.0\.1:\d+)/.exec(worker.output());
        expect(match, worker.output().slice(-2_000)).not.toBeNull();
        return match![1]!;
      },
      { timeoutMs: 120_000 },
    );
    await eventually(
      async () => {
        const res = await fetch(`${url}/stores/counts/keys/k1`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { value: unknown }).value).toBe(10);
      },
      { timeoutMs: 120_000 },
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('lambda_streams_records_consumed_total');
    expect(metrics).not.toContain(PASSWORD);
    worker.child.kill('SIGTERM');
    expect(await worker.exit).toBe(0);
    expect(worker.output()).toMatch(/"level":20/); // debug lines were written, and none shows the password
    expect(worker.output()).not.toContain(PASSWORD);

    const batch = cli(['batch', file, '--until', new Date(at + 600_000).toISOString(), '--json'], PASSWORD);
    expect(await batch.exit, batch.output().slice(-2_000)).toBe(0);
    expect(batch.output()).toMatch(/"viewId"/);
    expect(batch.output()).not.toContain(PASSWORD);
  }, 300_000);

  it('a wrong password stops the worker with an authentication error that does not show it', async () => {
    const applicationId = uniqueGroup('sasl-wrong');
    const file = await topologyFile(applicationId, uniqueTopic('sasl-none'));
    const worker = cli(['worker', file, '--state-dir', await tempStateDir(), '--no-http'], WRONG);
    const code = await worker.exit;
    expect(code).not.toBe(0);
    expect(worker.output()).toMatch(/SASL|[Aa]uthentication/);
    expect(worker.output()).not.toContain(WRONG);
  }, 180_000);
});
