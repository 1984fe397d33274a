/**
 * Crash safety under exactly_once: a `lambda-streams worker` process killed with SIGKILL mid-stream,
 * then restarted on the same state dir, ends with exactly the expected counts (no loss, no double
 * count), and a SIGTERM stops it cleanly with exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { brokers, eventually, uniqueGroup } from './helpers.ts';
import {
  LatestValues,
  addCounts,
  makeLines,
  produceLines,
  setupWordCount,
  sorted,
  tempStateDir,
  SETTLE_MS,
  RUNTIME_TEST_MS,
} from './runtime-support.ts';

const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
const children: ChildProcess[] = [];
const views: LatestValues[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

async function topologyFile(
  dir: string,
  applicationId: string,
  input: string,
  output: string,
): Promise<string> {
  const file = path.join(dir, 'word-count-test.mts');
  await writeFile(
    file,
    `import { Consumed, Grouped, Materialized, Produced, Serdes, defineTopology } from ${JSON.stringify(path.join(root, 'src/index.ts'))};
export default defineTopology({
  applicationId: ${JSON.stringify(applicationId)},
  build(builder) {
    builder
      .stream(${JSON.stringify(input)}, Consumed.with(Serdes.String(), Serdes.String()))
      .flatMapValues((line) => line.toLowerCase().split(/\\W+/u).filter((w) => w.length > 0))
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

function startWorker(file: string, stateDir: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin/lambda-streams.js'),
      'worker',
      file,
      '--guarantee',
      'exactly_once',
      '--state-dir',
      stateDir,
      '--commit-interval',
      '100',
      '--http-port',
      '0',
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
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => stderr;
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('worker process under exactly_once', () => {
  it(
    'ends with exact counts after SIGKILL mid-stream and a restart',
    async () => {
      const setup = await setupWordCount(3);
      const stateDir = await tempStateDir();
      const file = await topologyFile(stateDir, uniqueGroup('wc-crash'), setup.input, setup.output);
      const output = await LatestValues.start(setup.output, 'read_committed');
      views.push(output);

      const first = makeLines(1000, 31);
      await produceLines(setup.input, first.lines);
      const worker = startWorker(file, stateDir);
      await eventually(
        () =>
          expect(
            output.records,
            (worker as ChildProcess & { stderrText: () => string }).stderrText(),
          ).toBeGreaterThan(0),
        { timeoutMs: SETTLE_MS },
      );

      // Keep producing while the worker runs, and kill it in the middle.
      const second = makeLines(2000, 32);
      const producing = (async () => {
        for (let i = 0; i < second.lines.length; i += 100) {
          await produceLines(setup.input, second.lines.slice(i, i + 100), 1000 + i);
        }
      })();
      await new Promise((r) => setTimeout(r, 400));
      worker.kill('SIGKILL');
      expect(await exited(worker)).toBe(null);
      await producing;

      const expected = addCounts(first.counts, second.counts);
      const restarted = startWorker(file, stateDir);
      await eventually(() => expect(sorted(output.values)).toEqual(sorted(expected)), { timeoutMs: 90_000 });
      // Nothing more arrives later (no double counting from replays).
      await new Promise((r) => setTimeout(r, 1500));
      expect(sorted(output.values)).toEqual(sorted(expected));

      restarted.kill('SIGTERM');
      const code = await exited(restarted);
      expect(code, (restarted as ChildProcess & { stderrText: () => string }).stderrText()).toBe(0);
    },
    RUNTIME_TEST_MS,
  );
});
