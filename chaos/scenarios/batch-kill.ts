/**
 * Scenario 6: a batch run SIGKILLed midway publishes nothing (no new manifest); the serving layer keeps
 * answering from the old view, with correct merged values; the next run publishes and the worker
 * swaps it in. Word count under exactly_once, with input in past hourly buckets (in the views) and in
 * the current one (speed layer only).
 */
import path from 'node:path';

import {
  CliProcess,
  Worker,
  getJson,
  random,
  result,
  sleep,
  wordCountRun,
  type ChaosContext,
  type ScenarioResult,
  type WordCountRun,
} from '../lib/harness.ts';

const SIZES = {
  reduced: { kills: 1, sentences: 20_000 },
  full: { kills: 5, sentences: 100_000 },
};
const HOUR = 3_600_000;

interface KeyAnswer {
  value: number | null;
  view: { id: string } | null;
}

/** Asks the worker for `words`; returns the problems (wrong values, other views, refusals). */
async function checkAnswers(
  url: string,
  words: string[],
  expected: Map<string, number>,
  view: string,
): Promise<string[]> {
  const problems: string[] = [];
  for (const word of words) {
    const { status, body } = await getJson(`${url}/stores/word-counts/keys/${encodeURIComponent(word)}`);
    const answer = body as KeyAnswer;
    if (status !== 200) problems.push(`${word}: HTTP ${status} ${JSON.stringify(body).slice(0, 200)}`);
    else if (answer.view?.id !== view)
      problems.push(`${word}: answered from view ${answer.view?.id ?? 'none'}, not ${view}`);
    else if (answer.value !== (expected.get(word) ?? null))
      problems.push(`${word}: ${answer.value}, expected ${expected.get(word)}`);
  }
  return problems;
}

/** Waits until the worker answers from a view `wanted` accepts; returns that view's id. */
async function waitForView(
  url: string,
  word: string,
  wanted: (view: string | undefined) => boolean,
  what: string,
  timeoutMs = 180_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await getJson(`${url}/stores/word-counts/keys/${encodeURIComponent(word)}`);
    const view = (body as KeyAnswer).view?.id;
    if (status === 200 && wanted(view)) return view!;
    if (Date.now() > deadline) throw new Error(`the worker did not swap in ${what} within ${timeoutMs} ms`);
    await sleep(500);
  }
}

function batch(ctx: ChaosContext, run: WordCountRun, n: number): CliProcess {
  return run.processes.add(
    new CliProcess(
      `batch-kill-batch-${n}`,
      [
        'batch',
        run.spec(0).topology,
        '--brokers',
        ctx.brokers.join(','),
        '--application-id',
        run.applicationId,
      ],
      path.join(ctx.workDir, `batch-kill-batch-${n}.log`),
      run.spec(0).env,
    ),
  );
}

export async function batchKill(ctx: ChaosContext): Promise<ScenarioResult> {
  const started = Date.now();
  const name = 'batch-kill';
  const { kills, sentences: total } = SIZES[ctx.size];
  const rnd = random(ctx.seed ^ 0xba);
  const run = await wordCountRun(ctx, name, 'exactly_once', total);
  const manifests = `${run.applicationId}-batch-views`;
  const notes: string[] = [];
  let batches = 0;
  try {
    // Half the input three hours ago (the views cover it), a quarter now (the speed layer's alone).
    const past = Date.now() - 3 * HOUR;
    await run.sentences.produce(run.kafka, total / 2, () => past);
    await run.sentences.produce(run.kafka, total / 4);
    const worker = run.processes.add(new Worker(run.spec(0)));
    const url = await worker.url;
    await run.counts.settle(run.sentences.expected(), 300_000, 1_000);

    const first = batch(ctx, run, batches++);
    if ((await first.completes()).code !== 0)
      throw new Error(`the first batch run failed:\n${first.lastLines()}`);
    const v1 = (await first.waitFor(/batch view (\S+) published/u, 1_000))[1]!;
    const published = await run.kafka.recordsIn(manifests);
    ctx.log(`${name}: view ${v1} published`);
    const words = [...run.sentences.expected().keys()].filter((_, i) => i % 40 === 0);
    await waitForView(url, words[0]!, (id) => id === v1, `view ${v1}`);
    notes.push(...(await checkAnswers(url, words, run.sentences.expected(), v1)));

    // The rest arrives now; the speed layer adds it on top of the view.
    await run.sentences.produceRest(run.kafka);
    await run.counts.settle(run.sentences.expected(), 300_000, 1_000);

    let killed = 0;
    let delay = 4_000;
    let manifestsNow = published;
    let view = v1;
    for (let attempt = 0; killed < kills && attempt < kills * 4; attempt++) {
      const doomed = batch(ctx, run, batches++);
      await sleep(rnd.between(delay / 2, delay));
      if (doomed.exit) {
        doomed.expectedExit = doomed.exit.code === 0;
        // It finished first (and published): not a kill midway. Try again sooner.
        ctx.log(`${name}: a batch run finished before the kill; trying again with a shorter delay`);
        delay = Math.max(500, delay / 2);
        view = (await doomed.waitFor(/batch view (\S+) published/u, 1_000))[1]!;
        manifestsNow = await run.kafka.recordsIn(manifests);
        await waitForView(url, words[0]!, (id) => id === view, `view ${view}`);
        continue;
      }
      await doomed.kill();
      if ((await run.kafka.recordsIn(manifests)) !== manifestsNow) {
        // The manifest is a run's last write: one that appeared means the run had finished its work
        // when the SIGKILL landed (it was about to exit). Not a kill midway; try again sooner.
        ctx.log(`${name}: a batch run published just before the kill; trying again with a shorter delay`);
        delay = Math.max(500, delay / 2);
        const old = view;
        view = await waitForView(url, words[0]!, (id) => id !== undefined && id !== old, 'a newer view');
        manifestsNow = await run.kafka.recordsIn(manifests);
        continue;
      }
      killed++;
      ctx.log(`${name}: batch run ${killed}/${kills} SIGKILLed midway`);
      // The serving layer keeps answering from the view it has, with correct merged values.
      for (let i = 0; i < 3; i++) {
        notes.push(...(await checkAnswers(url, words, run.sentences.expected(), view)));
        await sleep(1_000);
      }
    }
    if (killed < kills)
      notes.push(`only ${killed} of ${kills} batch runs were killed midway (the others finished first)`);

    const last = batch(ctx, run, batches++);
    if ((await last.completes()).code !== 0)
      throw new Error(`the last batch run failed:\n${last.lastLines()}`);
    const v3 = (await last.waitFor(/batch view (\S+) published/u, 1_000))[1]!;
    await waitForView(url, words[0]!, (id) => id === v3, `view ${v3}`);
    notes.push(...(await checkAnswers(url, words, run.sentences.expected(), v3)));
    ctx.log(`${name}: the next run published ${v3} and the worker answers from it`);

    const check = await run.finish(60_000);
    notes.push(...check.notes);
    const wrong = notes.length;
    return result(ctx, name, started, {
      guarantee: 'exactly_once',
      rounds: killed,
      recordsIn: run.sentences.produced,
      lost: check.lost,
      duplicated: check.duplicated,
      crashes: run.processes.crashes,
      notes,
      ...(wrong > 0 || killed < kills ? { passed: false } : {}),
    });
  } finally {
    await run.close();
  }
}
