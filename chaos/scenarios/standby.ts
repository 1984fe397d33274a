/**
 * Scenario 2: two and three word-count workers with a standby replica each, SIGKILLed and restarted in
 * turn (each on its own state directory) while input arrives, under exactly_once: the final counts
 * equal the input exactly.
 */
import {
  Worker,
  random,
  result,
  wordCountRun,
  type ChaosContext,
  type ScenarioResult,
} from '../lib/harness.ts';

const SIZES = {
  reduced: { rounds: 4, sentences: 20_000 },
  full: { rounds: 20, sentences: 100_000 },
};

export async function standby(ctx: ChaosContext, workers: number): Promise<ScenarioResult> {
  const started = Date.now();
  const name = `standby-${workers}-workers`;
  const { rounds, sentences: total } = SIZES[ctx.size];
  const rnd = random(ctx.seed ^ (0x5b + workers));
  const run = await wordCountRun(ctx, name, 'exactly_once', total, { standbys: 1 });
  try {
    const pool: Worker[] = [];
    for (let i = 0; i < workers; i++) pool.push(run.processes.add(new Worker(run.spec(i))));
    await Promise.all(pool.map((w) => w.url));
    let round = 0;
    for (; round < rounds; round++) {
      await run.sentences.produce(run.kafka, Math.ceil(total / (rounds + 1)));
      await new Promise((r) => setTimeout(r, rnd.between(1_000, 6_000)));
      const i = round % workers;
      if (pool.some((w) => w.exit)) break; // one crashed by itself: reported below
      await pool[i]!.kill();
      ctx.log(
        `${name}: round ${round + 1}/${rounds}: SIGKILL worker ${i} (${run.sentences.produced} sentences in)`,
      );
      // The others take its tasks over (standbys first); it comes back a moment later.
      await new Promise((r) => setTimeout(r, rnd.between(500, 4_000)));
      pool[i] = run.processes.add(pool[i]!.restart());
    }
    await run.sentences.produceRest(run.kafka);
    const check = await run.finish();
    return result(ctx, name, started, {
      guarantee: 'exactly_once',
      rounds: round,
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
