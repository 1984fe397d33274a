/**
 * The compose stack (docker-compose.yml, Dockerfile, deploy/): `docker-compose config` accepts it
 * (no Docker engine needed), `up -d kafka` still starts the broker alone, Prometheus scrapes the
 * workers the stack runs, and every metric the Grafana dashboard and the Prometheus rules use is one a
 * real worker exposes on /metrics.
 *
 * docker-compose (1.29, Debian's package) must be installed — `.ci/run` installs it; without it the
 * test fails, it does not skip.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { freshTopics } from './batch-support.ts';
import { eventually, uniqueGroup, uniqueTopic } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

const exec = promisify(execFile);
const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

interface Dashboard {
  panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string }> }>;
  templating: { list: Array<{ query: { query: string } }> };
}

async function compose(...args: string[]): Promise<string> {
  const binary = await exec('which', ['docker-compose']).then(
    (r) => r.stdout.trim(),
    () => {
      throw new Error(
        "the compose test needs docker-compose: install Debian's package (apt-get install -y --no-install-recommends docker-compose; .ci/run does)",
      );
    },
  );
  // No variable from this shell may change the file's meaning: the defaults are what is checked.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  const { stdout } = await exec(binary, ['-f', path.join(root, 'docker-compose.yml'), ...args], {
    cwd: root,
    env,
  });
  return stdout;
}

/** The block of one service in the normalized `docker-compose config` output. */
function serviceBlock(config: string, name: string): string {
  const services = config.split(/^services:\n/m)[1] ?? '';
  const blocks = services.split(/^(?= {2}[\w-]+:\n)/m);
  const block = blocks.find((b) => b.startsWith(`  ${name}:\n`));
  if (!block) throw new Error(`no service ${name} in:\n${config}`);
  return block;
}

/** Metric names a PromQL expression reads (recording-rule names have colons and are not matched). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(lambda_streams_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

const workers: WorkerProcess[] = [];
afterAll(() => {
  for (const worker of workers) worker.stop();
});

describe('the compose stack', () => {
  it('is a valid compose file whose broker still starts alone', async () => {
    await compose('config', '-q');
    await compose('--profile', 'batch', 'config', '-q');
    const config = await compose('config');
    const services = (await compose('config', '--services')).trim().split('\n').sort();
    expect(services).toEqual(
      ['batch', 'grafana', 'kafka', 'lines', 'prometheus', 'topics', 'worker-1', 'worker-2'].sort(),
    );
    // `docker compose up -d kafka` (npm run kafka:start) starts what kafka depends on: nothing.
    const kafka = serviceBlock(config, 'kafka');
    expect(kafka).not.toContain('depends_on');
    expect(kafka).not.toContain('profiles');
    expect(serviceBlock(config, 'batch')).toMatch(/profiles:\n\s+- batch\n/);
    for (const worker of ['worker-1', 'worker-2']) {
      const block = serviceBlock(config, worker);
      expect(block).toContain('--http-host=0.0.0.0');
      expect(block).toContain(`--application-server=${worker}:7070`);
      expect(block).toContain('LAMBDA_STREAMS_HTTP_TOKEN');
    }
    // Files the stack mounts or builds from.
    for (const file of [
      'Dockerfile',
      'deploy/prometheus/prometheus.yml',
      'deploy/prometheus/rules.yml',
      'deploy/grafana/provisioning/datasources/prometheus.yml',
      'deploy/grafana/provisioning/dashboards/lambda-streams.yml',
      'deploy/grafana/dashboards/lambda-streams.json',
    ]) {
      expect(existsSync(path.join(root, file)), file).toBe(true);
    }
    // Prometheus scrapes both workers with the token.
    const prometheus = read('deploy/prometheus/prometheus.yml');
    expect(prometheus).toContain("targets: ['worker-1:7070', 'worker-2:7070']");
    expect(prometheus).toContain('credentials_file: /prometheus/http-token');
    expect(serviceBlock(config, 'prometheus')).toContain('/prometheus/http-token');
  });

  it('uses only metrics a real worker exposes, in a dashboard with lag, throughput, commit latency, restoration, store sizes and HTTP latency', async () => {
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/lambda-streams.json')) as Dashboard;
    const titles = dashboard.panels.map((p) => p.title.toLowerCase());
    for (const subject of [
      'lag',
      'throughput',
      'commit latency',
      'restoration',
      'store sizes',
      'http latency',
    ])
      expect(
        titles.some((t) => t.includes(subject)),
        subject,
      ).toBe(true);
    const datasource = read('deploy/grafana/provisioning/datasources/prometheus.yml');
    for (const panel of dashboard.panels)
      expect(datasource, panel.title).toContain(`uid: ${panel.datasource.uid}`);

    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.map((v) => v.query.query),
      ...[...read('deploy/prometheus/rules.yml').matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!),
    ];
    const used = new Set(exprs.flatMap(metricNames));
    expect(used.size).toBeGreaterThan(10);

    // A real worker of a word count, asked once so every kind of metric has been touched.
    const input = uniqueTopic('compose-in');
    await freshTopics({ [input]: 2 });
    const dir = await tempStateDir();
    const file = path.join(dir, 'compose-word-count.mts');
    await writeFile(
      file,
      `import { Consumed, Grouped, Materialized, Serdes, defineTopology } from ${JSON.stringify(path.join(root, 'src/index.ts'))};
export default defineTopology({
  applicationId: ${JSON.stringify(uniqueGroup('compose-wc'))},
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
    const worker = startWorkerProcess(file, path.join(dir, 'state'), ['--http-token', 'scrape-me']);
    workers.push(worker);
    const url = await worker.url();
    const auth = { authorization: 'Bearer scrape-me' };
    await eventually(
      async () => {
        const res = await fetch(`${url}/stores/word-counts/keys/alpha`, { headers: auth });
        expect(res.status).toBe(200);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // Prometheus must send the token: without it, /metrics is refused.
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const res = await fetch(`${url}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    const exposition = await res.text();
    const exposed = new Map(
      [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const),
    );
    const series = (name: string): boolean => {
      if (exposed.has(name)) return true;
      const histogram = /^(.+)_(bucket|sum|count)$/.exec(name);
      return histogram !== null && exposed.get(histogram[1]!) === 'histogram';
    };
    expect([...used].filter((name) => !series(name))).toEqual([]);
    expect(exposition).toMatch(
      /^lambda_streams_http_request_duration_seconds_count\{.*route="\/stores\/:store\/keys\/:key".*\} [1-9]/m,
    );
  }, 120_000);
});
