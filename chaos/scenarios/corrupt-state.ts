/**
 * Scenario 4: a worker is SIGKILLed, then one task's local LevelDB state and its checkpoint are
 * deleted, or overwritten with garbage; the restarted worker finds no checkpoint it can read, wipes
 * the task directory and rebuilds the store from its changelog (restore_records_total grows), and the
 * final counts equal the input exactly (exactly_once).
 */
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import {
  Worker,
  getJson,
  metricSum,
  random,
  result,
  wordCountRun,
  type ChaosContext,
  type ScenarioResult,
} from '../lib/harness.ts';

const SIZES = {
  reduced: { rounds: 2, sentences: 20_000 },
  full: { rounds: 10, sentences: 100_000 },
};

/** Task directories that hold a LevelDB store (the count store's tasks). */
async function storeTaskDirs(appDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const task of await readdir(appDir).catch(() => [] as string[])) {
    const dir = path.join(appDir, task);
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const e of entries) {
      if (e.startsWith('.')) continue;
      if ((await stat(path.join(dir, e))).isDirectory()) {
        out.push(dir);
        break;
      }
    }
  }
  return out.sort();
}

/** Overwrites every file of the task's stores and its checkpoint with random bytes. */
async function garble(dir: string, rnd: () => number): Promise<number> {
  let files = 0;
  for (const entry of await readdir(dir, { recursive: true })) {
    const file = path.join(dir, entry);
    if (!(await stat(file)).isFile()) continue;
    await writeFile(file, Buffer.from(Array.from({ length: 512 }, () => Math.floor(rnd() * 256))));
    files++;
  }
  return files;
}

export async function corruptState(ctx: ChaosContext): Promise<ScenarioResult> {
  const started = Date.now();
  const name = 'corrupt-state';
  const { rounds, sentences: total } = SIZES[ctx.size];
  const rnd = random(ctx.seed ^ 0xc0);
  const run = await wordCountRun(ctx, name, 'exactly_once', total);
  const notes: string[] = [];
  let restoredAll = true;
  try {
    let worker = run.processes.add(new Worker(run.spec(0)));
    let round = 0;
    for (; round < rounds; round++) {
      await run.sentences.produce(run.kafka, Math.ceil(total / (rounds + 1)));
      await worker.running();
      await new Promise((r) => setTimeout(r, rnd.between(2_000, 5_000)));
      if (worker.exit) break;
      await worker.kill();
      const dirs = await storeTaskDirs(path.join(worker.spec.stateDir, run.applicationId));
      if (dirs.length === 0) throw new Error(`no task directory with a store under ${worker.spec.stateDir}`);
      const dir = dirs[rnd.between(0, dirs.length)]!;
      const how = round % 2 === 0 ? 'deleted' : 'overwritten with garbage';
      if (round % 2 === 0) {
        for (const e of await readdir(dir)) await rm(path.join(dir, e), { recursive: true, force: true });
      } else {
        await garble(dir, rnd.next);
      }
      ctx.log(`${name}: round ${round + 1}/${rounds}: ${path.basename(dir)}'s stores and checkpoint ${how}`);
      worker = run.processes.add(worker.restart());
      await worker.running();
      // Rebuilt from the changelog: the restarted worker restored records.
      const url = await worker.url;
      let restored = 0;
      for (let i = 0; i < 120 && restored === 0; i++) {
        restored = metricSum(
          (await getJson(`${url}/metrics`)).body as string,
          'lambda_streams_restore_records_total',
        );
        if (restored === 0) await new Promise((r) => setTimeout(r, 500));
      }
      if (restored === 0) {
        restoredAll = false;
        notes.push(
          `round ${round + 1}: the restarted worker restored nothing after task ${path.basename(dir)} was ${how}`,
        );
      }
    }
    await run.sentences.produceRest(run.kafka);
    const check = await run.finish();
    notes.push(...check.notes);
    return result(ctx, name, started, {
      guarantee: 'exactly_once',
      rounds: round,
      recordsIn: run.sentences.produced,
      lost: check.lost,
      duplicated: check.duplicated,
      crashes: run.processes.crashes,
      notes,
      ...(restoredAll ? {} : { passed: false }),
    });
  } finally {
    await run.close();
  }
}
