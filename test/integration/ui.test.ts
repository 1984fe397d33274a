/**
 * The /ui page in a real headless Chromium (Debian's `chromium`, driven by playwright-core) against a
 * real `lambda-streams worker` on the real broker, with a published batch view: the page loads
 * without console errors, asks for the worker's token, draws a node for every node of the topology,
 * shows the view in use, and its store browser shows the merged value the HTTP API answers — batch
 * view ⊕ speed layer, here different from what the speed layer alone holds. User data shows as text,
 * never as markup. With UPDATE_SCREENSHOT=1 it saves the screenshot the README shows (docs/images/ui.png);
 * otherwise it writes to a scratch file, so a test run leaves the checkout clean.
 *
 * Chromium must be installed (`.ci/run` installs it; CHROMIUM_PATH overrides): without it the test
 * fails, it does not skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

import { runBatch } from '../../src/batch/run-batch.ts';
import { loadTopologyFile } from '../../src/cli/load-topology.ts';
import type { OutgoingRecord } from '../../src/kafka/client.ts';
import { freshTopics, portClient, produceRecords } from './batch-support.ts';
import { eventually, uniqueGroup, uniqueTopic, withAdmin } from './helpers.ts';
import { tempStateDir } from './runtime-support.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1'
    ? path.join(root, 'docs/images/ui.png')
    : path.join(tmpdir(), `lambda-streams-ui-${process.pid}.png`);
const BUCKET = 60_000;
const TOKEN = 'ui-test-token';
/** A word that is markup: the page must show it as text. */
const MARKUP = '<img/src=x/onerror=alert(1)>';

function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      "the /ui test needs Chromium: install Debian's package (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH",
    );
  }
}

const workers: WorkerProcess[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  for (const worker of workers) worker.stop();
});

async function topologyFile(
  dir: string,
  applicationId: string,
  input: string,
  output: string,
): Promise<string> {
  const file = path.join(dir, 'ui-word-count.mts');
  await writeFile(
    file,
    `import { Consumed, Grouped, Materialized, Produced, Serdes, defineTopology } from ${JSON.stringify(path.join(root, 'src/index.ts'))};
export default defineTopology({
  applicationId: ${JSON.stringify(applicationId)},
  bucketMs: ${BUCKET},
  build(builder) {
    builder
      .stream(${JSON.stringify(input)}, Consumed.with(Serdes.String(), Serdes.String()))
      .flatMapValues((line) => line.split(' '))
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

function lines(input: string, texts: string[], from: number): OutgoingRecord[] {
  return texts.map((text, i) => ({
    topic: input,
    key: Buffer.from(`l${i}`),
    value: Buffer.from(text),
    timestamp: from + i * 500,
  }));
}

function count(texts: string[], word: string): number {
  return texts.flatMap((t) => t.split(' ')).filter((w) => w === word).length;
}

async function api<T>(url: string, route: string): Promise<T> {
  const res = await fetch(`${url}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const body = (await res.json()) as T & { message?: string };
  if (res.status !== 200) throw new Error(`${route}: ${res.status} ${body.message ?? ''}`);
  return body;
}

describe('/ui in a headless browser', () => {
  it('shows the topology, the view in use and the merged value of a store query', async () => {
    const executablePath = chromiumPath();
    const client = portClient();
    const input = uniqueTopic('ui-in');
    const output = uniqueTopic('ui-out');
    await freshTopics({ [input]: 2, [output]: 2 });
    const applicationId = uniqueGroup('ui-wc');
    const dir = await tempStateDir();
    const file = await topologyFile(dir, applicationId, input, output);

    // Old input, covered by a batch view; the worker starts past it (as after a retention cut), so
    // the speed layer alone holds only the new input and the merged answer needs the view.
    const start = (Math.floor(Date.now() / BUCKET) - 4) * BUCKET;
    const old = Array.from({ length: 40 }, (_, i) => ['alpha beta', 'alpha gamma', `beta ${MARKUP}`][i % 3]!);
    await produceRecords(client, lines(input, old, start));
    const { topology } = await loadTopologyFile(file);
    const { manifest } = await runBatch({
      topology,
      applicationId,
      topologyName: 'ui-word-count',
      bucketMs: BUCKET,
      client,
      untilMs: start + 3 * BUCKET,
    });
    await withAdmin(async (admin) => {
      const ends = await admin.fetchTopicOffsets(input);
      await admin.setOffsets({
        groupId: applicationId,
        topic: input,
        partitions: ends.map((o) => ({ partition: o.partition, offset: o.high })),
      });
    });

    const worker = startWorkerProcess(file, path.join(dir, 'worker'), ['--http-token', TOKEN]);
    workers.push(worker);
    const url = await worker.url();

    const fresh = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'alpha delta' : 'delta'));
    await eventually(() => api(url, '/status'), { timeoutMs: 60_000, intervalMs: 500 });
    await produceRecords(client, lines(input, fresh, Date.now()));
    const expected = count(old, 'alpha') + count(fresh, 'alpha');
    expect(count(fresh, 'alpha')).toBeLessThan(expected); // the speed layer alone would answer less
    await eventually(
      async () => {
        const answer = await api<{ value: unknown; view: { id: string } | null }>(
          url,
          '/stores/word-counts/keys/alpha',
        );
        expect(answer.view?.id).toBe(manifest.viewId);
        expect(answer.value).toBe(expected);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const graph = await api<{ subTopologies: Array<{ nodes: Array<{ name: string; kind: string }> }> }>(
      url,
      '/topology',
    );
    const nodes = graph.subTopologies.flatMap((s) => s.nodes);
    expect(nodes.filter((n) => n.kind === 'processor').length).toBeGreaterThan(2);

    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });

    await page.goto(`${url}/ui`);
    // The worker has a token: the page asks for it before any data request.
    await page.locator('#token-panel').waitFor({ state: 'visible' });
    await page.fill('#token-input', TOKEN);
    await page.click('#token-form button');

    // A node in the graph for every node of the topology, processors included.
    await page.locator('#topology-svg').waitFor();
    for (const node of nodes) {
      await expect(page.locator(`#topology-svg [data-node="${node.name}"]`).count(), node.name).resolves.toBe(
        1,
      );
    }
    await expect(page.locator('#topology-svg [data-store="word-counts"]').count()).resolves.toBe(1);
    await page.locator(`#view-id:has-text("${manifest.viewId}")`).waitFor();
    await page.locator('#workers tr.self').getByText('RUNNING').waitFor();

    // The store browser: one key, merged.
    await page.selectOption('#store', 'word-counts');
    await page.fill('#key', 'alpha');
    await page.click('#query-button');
    const shown = await page.locator('#query-value').textContent();
    const answer = await api<{ value: unknown }>(url, '/stores/word-counts/keys/alpha');
    expect(JSON.parse(shown!)).toEqual(answer.value);
    expect(answer.value).toBe(expected);
    await expect(page.locator('#answer-view').textContent()).resolves.toContain(manifest.viewId);

    // A key that is markup shows as text.
    await page.fill('#key', MARKUP);
    await page.click('#query-button');
    await page.locator('#query-path').getByText(encodeURIComponent(MARKUP)).waitFor();
    await expect(page.locator('#query-value').textContent()).resolves.toBe(String(count(old, MARKUP)));
    await page.check('#mode-range');
    await page.click('#query-button');
    await page.locator('#query-entries').getByText(JSON.stringify(MARKUP)).waitFor();
    await expect(page.locator('#query-result img').count()).resolves.toBe(0);

    // A few samples of lag and throughput (one every 5 s) for the charts.
    await eventually(
      async () => {
        const status = await api<{ history: { samples: unknown[] } }>(url, '/status');
        expect(status.history.samples.length).toBeGreaterThanOrEqual(3);
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
    await page.locator('#charts .spark-line').first().waitFor({ state: 'attached' });

    // Back to the merged key for the screenshot.
    await page.check('#mode-key');
    await page.fill('#key', 'alpha');
    await page.click('#query-button');
    await page.locator('#query-value').waitFor();
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');

    expect(problems).toEqual([]);
  }, 180_000);
});
