/**
 * Scenario 5: scale one → three → one word-count workers while input arrives (new workers join, then
 * two leave with SIGTERM), under exactly_once: the final counts equal the input exactly.
 */
import { Worker, result, wordCountRun, type ChaosContext, type ScenarioResult } from '../lib/harness.ts';

const SIZES = {
  reduced: { cycles: 1, sentences: 20_000 },
  full: { cycles: 3, sentences: 100_000 },
};

export async function scale(ctx: ChaosContext): Promise<ScenarioResult> {
  const started = Date.now();
  const name = 'scale';
  const { cycles, sentences: total } = SIZES[ctx.size];
  const run = await wordCountRun(ctx, name, 'exactly_once', total);
  const chunk = Math.ceil(total / (3 * cycles + 1));
  try {
    const first = run.processes.add(new Worker(run.spec(0)));
    await first.url;
    let cycle = 0;
    for (; cycle < cycles; cycle++) {
      await run.sentences.produce(run.kafka, chunk);
      const more = [1, 2].map((i) => run.processes.add(new Worker(run.spec(i))));
      await Promise.all(more.map((w) => w.url));
      ctx.log(
        `${name}: cycle ${cycle + 1}/${cycles}: three workers (${run.sentences.produced} sentences in)`,
      );
      await run.sentences.produce(run.kafka, chunk);
      await new Promise((r) => setTimeout(r, 5_000));
      await run.sentences.produce(run.kafka, chunk);
      await Promise.all(more.map((w) => w.stop()));
      ctx.log(
        `${name}: cycle ${cycle + 1}/${cycles}: back to one worker (${run.sentences.produced} sentences in)`,
      );
      if (first.exit) break;
    }
    await run.sentences.produceRest(run.kafka);
    const check = await run.finish();
    return result(ctx, name, started, {
      guarantee: 'exactly_once',
      rounds: cycle,
      recordsIn: run.sentences.produced,
      lost: check.lost,
      duplicated: check.duplicated,
      crashes: run.processes.crashes,
      notes: check.notes,
    });
  } finally {
    await run.close();
  }
}
