/**
 * `lambda-streams reset` on the real broker, with real worker processes: a worker counts words to the
 * end of its input and stops; reset moves the group back to the earliest offsets, deletes the
 * changelog and repartition topics and wipes the local state; the next run ends with the same counts
 * (not doubled, as they would be with the old changelog restored). Along the way: the topology file's
 * `config` supplies the default serdes, and each command keeps its human output on stdout and its
 * JSON log lines on stderr.
 */
import { execFile, spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { brokers, eventually, uniqueGroup, withAdmin } from './helpers.ts';
import {
  LatestValues,
  RUNTIME_TEST_MS,
  SETTLE_MS,
  makeLines,
  produceLines,
  setupWordCount,
  sorted,
  tempStateDir,
} from './runtime-support.ts';

const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
const execFileP = promisify(execFile);
const views: LatestValues[] = [];
afterEach(async () => {
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

/** Word count that names no serdes at its source: the file's config sets String defaults. */
async function topologyFile(
  dir: string,
  applicationId: string,
  input: string,
  output: string,
): Promise<string> {
  const file = path.join(dir, 'default-serde-word-count.mts');
  await writeFile(
    file,
    `import { Grouped, Materialized, Produced, Serdes, defineTopology } from ${JSON.stringify(path.join(root, 'src/index.ts'))};
export default defineTopology({
  applicationId: ${JSON.stringify(applicationId)},
  config: { 'default.key.serde': Serdes.String(), defaultValueSerde: Serdes.String(), commitIntervalMs: 200 },
  build(builder) {
    builder
      .stream(${JSON.stringify(input)})
      .flatMapValues((line) => String(line).toLowerCase().split(/\\W+/u).filter((w) => w.length > 0))
      .groupBy((_k, w) => w, Grouped.as('words'))
      .count(Materialized.as('word-counts'))
      .toStream()
      .to(${JSON.stringify(output)}, Produced.with(Serdes.String(), Serdes.Long()));
  },
});
`,
  );
  return file;
}

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  KAFKA_BROKERS: brokers().join(','),
  LOG_LEVEL: 'info',
});

/** Runs a worker until it has consumed its input (--until-caught-up); returns its output streams. */
function runWorker(
  file: string,
  stateDir: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'bin/lambda-streams.js'),
        'worker',
        file,
        '--state-dir',
        stateDir,
        '--no-http',
        '--until-caught-up',
      ],
      { cwd: root, env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const jsonLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('{'));

describe('lambda-streams reset', () => {
  it(
    "resets offsets, internal topics and local state so that a second run gives the first run's counts",
    async () => {
      const setup = await setupWordCount(2);
      const applicationId = uniqueGroup('reset-app');
      const stateDir = await tempStateDir();
      const file = await topologyFile(stateDir, applicationId, setup.input, setup.output);
      const { lines, counts } = makeLines(200, 11);
      await produceLines(setup.input, lines);

      const first = await runWorker(file, stateDir);
      expect(first.code, first.stderr.slice(-3000)).toBe(0);
      // Logs go to stderr as JSON lines (not a TTY); stdout carries none.
      expect(jsonLines(first.stderr).length).toBeGreaterThan(0);
      expect(jsonLines(first.stdout)).toEqual([]);
      const view = await LatestValues.start(setup.output);
      views.push(view);
      await eventually(() => expect(sorted(view.values)).toEqual(sorted(counts)), { timeoutMs: SETTLE_MS });

      // The store's changelog, the serving layer's delta index changelog and the groupBy's repartition topic.
      const internal = [
        `${applicationId}-word-counts-changelog`,
        `${applicationId}-word-counts-delta-changelog`,
        `${applicationId}-words-repartition`,
      ];
      const cli = [path.join(root, 'bin/lambda-streams.js'), 'reset', file, '--state-dir', stateDir];
      const dry = await execFileP(process.execPath, [...cli, '--dry-run'], { cwd: root, env: env() });
      expect(dry.stdout).toContain(`dry run: reset of application ${applicationId}`);
      for (const t of internal) expect(dry.stdout).toContain(t);
      expect(jsonLines(dry.stdout)).toEqual([]);
      await withAdmin(async (admin) =>
        expect(await admin.listTopics()).toEqual(expect.arrayContaining(internal)),
      );

      const reset = await execFileP(process.execPath, [...cli, '--json'], { cwd: root, env: env() });
      const plan = JSON.parse(reset.stdout) as {
        offsets: Array<{ topic: string; from: number; to: number }>;
        internalTopics: string[];
        stateDir: string;
      };
      expect(plan.internalTopics).toEqual([...internal].sort());
      expect(plan.offsets.map((o) => [o.topic, o.to])).toEqual([
        [setup.input, 0],
        [setup.input, 0],
      ]);
      expect(plan.offsets.reduce((n, o) => n + o.from, 0)).toBe(lines.length);
      expect(plan.stateDir).toBe(path.join(stateDir, applicationId));
      expect(await readdir(stateDir)).not.toContain(applicationId);
      await eventually(
        () =>
          withAdmin(async (admin) => {
            const topics = await admin.listTopics();
            for (const t of internal) expect(topics).not.toContain(t);
          }),
        { timeoutMs: 60_000 },
      );

      const recordsBefore = view.records;
      const second = await runWorker(file, stateDir);
      expect(second.code, second.stderr.slice(-3000)).toBe(0);
      await eventually(() => expect(view.records).toBeGreaterThanOrEqual(recordsBefore + counts.size), {
        timeoutMs: SETTLE_MS,
      });
      // Reprocessed from scratch: the same counts, not doubled.
      expect(sorted(view.values)).toEqual(sorted(counts));
    },
    RUNTIME_TEST_MS,
  );

  it(
    'refuses while a worker of the application runs',
    async () => {
      const setup = await setupWordCount(1);
      const applicationId = uniqueGroup('reset-busy');
      const stateDir = await tempStateDir();
      const file = await topologyFile(stateDir, applicationId, setup.input, setup.output);
      const child = spawn(
        process.execPath,
        [path.join(root, 'bin/lambda-streams.js'), 'worker', file, '--state-dir', stateDir, '--no-http'],
        { cwd: root, env: env(), stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      try {
        await eventually(() => expect(stderr).toContain('running on'), { timeoutMs: SETTLE_MS });
        await expect(
          execFileP(process.execPath, [path.join(root, 'bin/lambda-streams.js'), 'reset', file], {
            cwd: root,
            env: env(),
          }),
        ).rejects.toMatchObject({
          code: 1,
          stderr: expect.stringMatching(
            new RegExp(`group '${applicationId}' has 1 active member.*stop every worker`),
          ),
        });
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
    RUNTIME_TEST_MS,
  );
});
