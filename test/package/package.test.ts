/**
 * The npm package as a user gets it: `npm pack` (which builds dist/ through prepack), the tarball
 * installed into a scratch project, then plain Node.js and TypeScript against the installed copy only —
 * no tsx, no src/, no vitest transform. The README's examples are taken from README.md itself, so the
 * README stays true.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROOT_PACKAGE = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
};

/** The environment of a user's shell: no broker, no npm script context, no loader hooks. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package|lifecycle)_/.test(key) || key === 'npm_config_local_prefix') delete env[key];
  }
  delete env.NODE_OPTIONS;
  delete env.KAFKA_BROKERS;
  delete env.VITEST;
  return env;
}

async function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs = 240_000,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await exec(command, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout}\n${e.stderr}`);
  }
}

/** The first ```ts block after a README heading. */
function readmeBlock(readme: string, heading: string): string {
  const section = readme.split(`\n${heading}\n`)[1];
  const code = section && /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error(`README.md has no \`\`\`ts block under "${heading}"`);
  return code;
}

let work: string;
let app: string;
let packedFiles: string[];
let tarball: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'lambda-streams-package-'));
  app = path.join(work, 'app');
  await mkdir(app);

  // prepack builds dist/; with --json npm prints the script output on stderr and the manifest on stdout.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], ROOT, 300_000);
  const [manifest] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!manifest) throw new Error(`npm pack printed no manifest:\n${packed.stdout}`);
  tarball = path.join(work, manifest.filename);
  packedFiles = manifest.files.map((f) => f.path).sort();

  // A user's project: the tarball, TypeScript and Node's types (the shipped declarations use Buffer).
  // Dependencies come from the registry; --prefer-offline takes them from npm's cache when there
  // (`npm ci` filled it).
  await writeFile(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }, null, 2),
  );
  const typescriptVersion = ts.version;
  const typesNodeVersion = (
    JSON.parse(await readFile(path.join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
      `typescript@${typescriptVersion}`,
      `@types/node@${typesNodeVersion}`,
    ],
    app,
    300_000,
  );
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds only what users need: the build, the CLI, the docs (with the README screenshot) and the broker launcher files', () => {
    const allowed =
      /^(dist\/.+\.(js|js\.map|d\.ts)|dist\/serving\/ui\/[\w-]+\.(html|css)|bin\/(lambda-streams|batch-thread)\.js|docs\/[\w-]+\.md|docs\/images\/[\w-]+\.png|kafka\/pom\.xml|docker-compose\.yml|README\.md|LICENSE|package\.json)$/;
    expect(packedFiles.filter((file) => !allowed.test(file))).toEqual([]);
    expect(
      packedFiles.filter((file) => /^(src|test|bench|topologies|\.ci|node_modules)\//.test(file)),
    ).toEqual([]);
    // Everything package.json points at is in the tarball.
    const pointedAt = [
      ROOT_PACKAGE.main,
      ROOT_PACKAGE.types,
      ...Object.values(ROOT_PACKAGE.bin),
      ...Object.values(ROOT_PACKAGE.exports).flatMap((target) =>
        typeof target === 'string' ? [target] : [target.types, target.default],
      ),
    ].map((file) => file.replace(/^\.\//, ''));
    expect(pointedAt.filter((file) => !packedFiles.includes(file))).toEqual([]);
    // Every module comes with its declarations and a source map.
    // The /ui page's files are served as they are (no build step): plain browser modules, no declarations.
    const ui = packedFiles.filter((file) => file.startsWith('dist/serving/ui/'));
    expect(ui).toEqual(
      ['app.js', 'graph.js', 'index.html', 'render.js', 'style.css'].map((f) => `dist/serving/ui/${f}`),
    );
    const modules = packedFiles.filter(
      (file) => file.endsWith('.js') && file.startsWith('dist/') && !ui.includes(file),
    );
    expect(modules.length).toBeGreaterThan(100);
    const incomplete = modules.filter(
      (file) => !packedFiles.includes(file.replace(/\.js$/, '.d.ts')) || !packedFiles.includes(`${file}.map`),
    );
    expect(incomplete).toEqual([]);
  });

  it('ships source maps that carry their sources (src/ is not in the package)', async () => {
    const map = JSON.parse(
      await readFile(path.join(app, 'node_modules/lambda-streams/dist/index.js.map'), 'utf8'),
    ) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sources).toEqual(['../src/index.ts']);
    expect(map.sourcesContent?.[0]).toContain("from './dsl/streams-builder.ts'");
  });

  it('imports on plain Node.js from JavaScript: both entry points, one copy of each class', async () => {
    await writeFile(
      path.join(app, 'entry-points.mjs'),
      [
        "import * as root from 'lambda-streams';",
        "import * as testing from 'lambda-streams/testing';",
        'console.log(JSON.stringify({',
        '  testing: Object.keys(testing).sort(),',
        '  same: testing.TopologyTestDriver === root.TopologyTestDriver,',
        "  classes: ['StreamsBuilder', 'KafkaStreams', 'Serdes', 'TopologyTestDriver'].map((n) => typeof root[n]),",
        '}));',
        "await import('lambda-streams/src/index.ts').then(",
        "  () => console.log('src reachable'),",
        '  (error) => console.log(error.code),',
        ');',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, ['entry-points.mjs'], app);
    const [summary, internal] = stdout.trim().split('\n');
    expect(JSON.parse(summary!)).toEqual({
      testing: ['TestInputTopic', 'TestOutputTopic', 'TopologyTestDriver'],
      same: true,
      classes: ['function', 'function', 'object', 'function'],
    });
    expect(internal).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it("runs the README's first topology with the TopologyTestDriver", async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    await writeFile(path.join(app, 'first-topology.mjs'), readmeBlock(readme, '## A first topology'));
    const { stdout } = await run(process.execPath, ['first-topology.mjs'], app);
    expect(stdout.trim()).toBe("Map(4) { 'to' => 2, 'be' => 2, 'or' => 1, 'not' => 1 }");
  });

  it("runs the README's library example (TypeScript, transpiled without type information)", async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const source = readmeBlock(readme, '## Use as a library');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(path.join(app, 'library.mjs'), outputText);
    const { stdout } = await run(process.execPath, ['library.mjs'], app);
    expect(stdout.trim()).toBe("Map(1) { 'o1' => { amount: 250 } }");
  });

  it('type-checks TypeScript against the shipped declarations (strict, nodenext, no skipLibCheck)', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    await writeFile(path.join(app, 'first-topology.ts'), readmeBlock(readme, '## A first topology'));
    await writeFile(path.join(app, 'library.ts'), readmeBlock(readme, '## Use as a library'));
    // The declarations are real types, not `any`: each line below must be a type error.
    await writeFile(
      path.join(app, 'types.ts'),
      [
        "import { Consumed, Serdes, StreamsBuilder, type KStream } from 'lambda-streams';",
        "import { TopologyTestDriver, type TestRecord } from 'lambda-streams/testing';",
        '',
        'const builder = new StreamsBuilder();',
        "const lines: KStream<string, string> = builder.stream('lines', Consumed.with(Serdes.String(), Serdes.String()));",
        '// @ts-expect-error the values are strings',
        'lines.mapValues((line) => line.toFixed(2));',
        'const driver = new TopologyTestDriver(builder.build());',
        "const record: TestRecord<string, number> | undefined = driver.createOutputTopic('out', Serdes.String(), Serdes.Long()).readRecord();",
        '// @ts-expect-error a Long serde reads numbers',
        'const text: string | null | undefined = record?.value;',
        'void text;',
        '// @ts-expect-error internals are not exported',
        "await import('lambda-streams/src/index.ts');",
      ].join('\n'),
    );
    await writeFile(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['first-topology.ts', 'library.ts', 'types.ts'],
      }),
    );
    await run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
  });

  it('runs the installed CLI on a TypeScript topology file that imports the package', async () => {
    await writeFile(
      path.join(app, 'word-count.ts'),
      [
        "import { Consumed, Grouped, Materialized, Produced, Serdes, defineTopology } from 'lambda-streams';",
        '',
        'export default defineTopology({',
        "  applicationId: 'word-count',",
        '  build(builder) {',
        '    builder',
        "      .stream('text-lines', Consumed.with(Serdes.String(), Serdes.String()))",
        '      .flatMapValues((line: string) => line.toLowerCase().split(/\\W+/).filter(Boolean))',
        '      .groupBy((_key, word) => word, Grouped.with(Serdes.String(), Serdes.String()))',
        "      .count(Materialized.as('word-counts'))",
        '      .toStream()',
        "      .to('word-counts', Produced.with(Serdes.String(), Serdes.Long()));",
        '  },',
        '});',
      ].join('\n'),
    );
    const bin = path.join(app, 'node_modules/.bin/lambda-streams');
    const { stdout } = await run(bin, ['describe', 'word-count.ts'], app);
    expect(stdout).toContain('Application: word-count (bucket 3600000 ms)');
    expect(stdout).toContain('Sink: word-counts-repartition-sink (topic: word-counts-repartition)');
    expect(stdout).toContain('Processor: KSTREAM-AGGREGATE-0000000003 (stores: [word-counts])');
    expect(stdout).toContain('Sink: KSTREAM-SINK-0000000008 (topic: word-counts)');
  });

  it('keeps the broker launcher state in the current directory, and says the demo needs a checkout', async () => {
    const bin = path.join(app, 'node_modules/.bin/lambda-streams');
    const status = await exec(bin, ['kafka', 'status'], { cwd: app, env: userEnv() }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(status?.code).toBe(1);
    expect(status?.stdout.trim()).toBe(
      `no broker recorded in ${path.join(app, '.lambda-streams', 'broker.json')}`,
    );
    const demo = await exec(bin, ['demo'], { cwd: app, env: userEnv() }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(demo?.code).toBe(1);
    expect(demo?.stderr).toContain('the demo runs from a checkout of the lambda-streams repository');
  });
});
