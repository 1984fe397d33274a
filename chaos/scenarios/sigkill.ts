/**
 * Scenario 1: one word-count worker SIGKILLed at random moments and restarted on the same state
 * directory, while the input keeps arriving. exactly_once: the final counts equal the input (0 lost,
 * 0 duplicated); at_least_once: 0 lost (replays may count twice, and are reported).
 */
import path from 'node:path';

import {
  Kafka,
  OutputCounts,
  Processes,
  Sentences,
  WORD_COUNT,
  Worker,
  random,
  result,
  type ChaosContext,
  type Guarantee,
  type ScenarioResult,
} from '../lib/harness.ts';

export interface SigkillSize {
  rounds: number;
  sentences: number;
}

export const SIGKILL_SIZES: Record<'reduced' | 'full', SigkillSize> = {
  reduced: { rounds: 5, sentences: 20_000 },
  full: { rounds: 100, sentences: 400_000 },
};

export async function sigkill(ctx: ChaosContext, guarantee: Guarantee): Promise<ScenarioResult> {
  const started = Date.now();
  const name = `sigkill-${guarantee === 'exactly_once' ? 'eos' : 'alos'}`;
  const { rounds, sentences: total } = SIGKILL_SIZES[ctx.size];
  const rnd = random(ctx.seed ^ (guarantee === 'exactly_once' ? 1 : 2));
  const kafka = new Kafka(ctx.brokers);
  const processes = new Processes();
  const input = `chaos-${ctx.runId}-${name}-in`;
  const output = `chaos-${ctx.runId}-${name}-out`;
  const applicationId = `chaos-${ctx.runId}-${name}`;
  await kafka.createTopics({ [input]: 3, [output]: 3 });
  const counts = new OutputCounts(ctx.brokers, output);
  const sentences = new Sentences(input, 3, total, ctx.seed);
  const spec = {
    ctx,
    name,
    topology: WORD_COUNT,
    applicationId,
    stateDir: path.join(ctx.workDir, name),
    guarantee,
    env: { CHAOS_INPUT_TOPIC: input, CHAOS_OUTPUT_TOPIC: output },
  };
  const notes: string[] = [];
  try {
    let worker = processes.add(new Worker(spec));
    let round = 0;
    for (; round < rounds; round++) {
      // Input keeps arriving: a share of it before each kill, so every round has work in flight.
      await sentences.produce(kafka, Math.ceil(total / (rounds + 1)));
      // A random moment: during start-up, restoration, processing or a commit.
      await worker.url;
      await new Promise((r) => setTimeout(r, rnd.between(300, 5_000)));
      if (worker.exit) break; // crashed by itself: reported below
      await worker.kill();
      ctx.log(`${name}: round ${round + 1}/${rounds}: SIGKILL (${sentences.produced} sentences in)`);
      worker = processes.add(worker.restart());
    }
    await sentences.produceRest(kafka);
    const check = await counts.settle(sentences.expected(), 600_000);
    const stop = await worker.stop();
    if (stop.code !== 0) notes.push(`final stop exited ${stop.signal ?? stop.code}`);
    notes.push(...check.problems, ...processes.crashReports());
    return result(ctx, name, started, {
      guarantee,
      rounds: round,
      recordsIn: sentences.produced,
      lost: check.lost,
      duplicated: check.duplicated,
      crashes: processes.crashes,
      notes,
    });
  } finally {
    await processes.killAll();
    await counts.stop();
    await kafka.close();
  }
}
