/**
 * Scenario 3: the broker is restarted mid-run (SIGKILL, then the same broker process started again on
 * the same data directory and port) while a word-count worker runs under exactly_once and input
 * arrives: the worker reconnects and finishes, nothing is lost or counted twice. The scenario always
 * starts a broker of its own (startLocalBroker), since it restarts it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { waitForBrokerReady } from '../../src/kafka/broker-readiness.ts';
import { defaultRootDir, startLocalBroker } from '../../src/kafka/local-broker.ts';
import {
  Worker,
  random,
  result,
  sleep,
  wordCountRun,
  type ChaosContext,
  type ScenarioResult,
} from '../lib/harness.ts';

const SIZES = {
  reduced: { rounds: 1, sentences: 20_000 },
  full: { rounds: 3, sentences: 100_000 },
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs the broker process and starts the same command line again; resolves with the new pid. */
async function restartBroker(pid: number, brokers: string[], downMs: number): Promise<number> {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const dir = realpathSync(`/proc/${pid}/cwd`);
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await sleep(50);
  await sleep(downMs);
  const out = openSync(path.join(dir, 'logs', 'kafka.out'), 'a');
  let child;
  try {
    child = spawn(argv[0]!, argv.slice(1), { cwd: dir, detached: true, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  child.unref();
  await waitForBrokerReady(brokers, { timeoutMs: 180_000 });
  return child.pid!;
}

export async function brokerRestart(ctx: ChaosContext): Promise<ScenarioResult> {
  const started = Date.now();
  const name = 'broker-restart';
  const { rounds, sentences: total } = SIZES[ctx.size];
  const rnd = random(ctx.seed ^ 0xb0);
  // A root of our own whose .cache points at the broker jars: this broker stays out of broker.json.
  const rootDir = await mkdtemp(path.join(os.tmpdir(), 'lambda-streams-chaos-broker-'));
  await symlink(path.join(defaultRootDir(), '.cache'), path.join(rootDir, '.cache'));
  const broker = await startLocalBroker({ rootDir, log: (line) => ctx.log(`${name}: ${line}`) });
  let pid = broker.pid!;
  const run = await wordCountRun(ctx, name, 'exactly_once', total, { brokers: broker.brokers });
  const notes: string[] = [];
  let supervised = 0;
  try {
    let worker = run.processes.add(new Worker(run.spec(0)));
    await worker.running();
    let round = 0;
    for (; round < rounds; round++) {
      await run.sentences.produce(run.kafka, Math.ceil(total / (rounds + 1)));
      await sleep(rnd.between(1_000, 4_000));
      const down = Date.now();
      pid = await restartBroker(pid, broker.brokers, rnd.between(1_000, 5_000));
      ctx.log(
        `${name}: round ${round + 1}/${rounds}: broker SIGKILLed and back after ${Math.round((Date.now() - down) / 1000)} s`,
      );
      if (worker.exit) {
        // The worker gave up (brokerUnreachableTimeoutMs) and exited 1, as documented: a supervisor
        // restarts it. Counted and reported; committed offsets and changelogs make the restart safe.
        supervised++;
        notes.push(
          `round ${round + 1}: the worker exited (${worker.exit.signal ?? worker.exit.code}) while the broker was away; restarted`,
        );
        worker.expectedExit = true;
        worker = run.processes.add(worker.restart());
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
      crashes: run.processes.crashes + supervised,
      notes,
    });
  } finally {
    await run.close();
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    await broker.stop();
    await rm(rootDir, { recursive: true, force: true });
  }
}
