/**
 * The chaos suite: runs the chosen scenarios one after another (each with topics, application ids and
 * state of its own), collects their figures and writes them (chaos/lib/report.ts). `npm run chaos`
 * (chaos/run.ts) and the CI test (test/chaos/chaos.test.ts, which does not write) call `runChaos`.
 */
import { randomBytes } from 'node:crypto';

import { ensureBroker } from '../src/kafka/local-broker.ts';
import {
  makeWorkDir,
  removeWorkDir,
  type ChaosContext,
  type ScenarioResult,
  type Size,
} from './lib/harness.ts';
import { writeReport, type ChaosReport } from './lib/report.ts';
import { batchKill } from './scenarios/batch-kill.ts';
import { brokerRestart } from './scenarios/broker-restart.ts';
import { corruptState } from './scenarios/corrupt-state.ts';
import { hostileInput } from './scenarios/hostile-input.ts';
import { httpFuzz } from './scenarios/http-fuzz.ts';
import { ownerKill } from './scenarios/owner-kill.ts';
import { scale } from './scenarios/scale.ts';
import { sigkill } from './scenarios/sigkill.ts';
import { standby } from './scenarios/standby.ts';

type Scenario = (ctx: ChaosContext) => Promise<ScenarioResult[]>;

const REGISTRY: Record<string, Scenario> = {
  sigkill: async (ctx) => [await sigkill(ctx, 'exactly_once'), await sigkill(ctx, 'at_least_once')],
  standby: async (ctx) => [await standby(ctx, 2), await standby(ctx, 3)],
  'broker-restart': async (ctx) => [await brokerRestart(ctx)],
  'corrupt-state': async (ctx) => [await corruptState(ctx)],
  scale: async (ctx) => [await scale(ctx)],
  'batch-kill': async (ctx) => [await batchKill(ctx)],
  'owner-kill': async (ctx) => [await ownerKill(ctx)],
  'hostile-input': async (ctx) => [await hostileInput(ctx)],
  'http-fuzz': async (ctx) => [await httpFuzz(ctx)],
};

export const SCENARIOS = Object.keys(REGISTRY);

export interface ChaosOptions {
  size: Size;
  seed: number;
  scenarios?: string[];
  /** An existing broker; else KAFKA_BROKERS, else the local broker (started if need be). */
  brokers?: string[];
  /** Write chaos/results/latest.json and docs/reliability.md (npm run chaos); CI does not. */
  write: boolean;
  /** Keep the work dir (worker logs, state) even when every scenario passed (`--keep-logs`). */
  keepLogs?: boolean;
  log?: (line: string) => void;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[chaos] ${line}\n`));
  const broker = options.brokers?.length
    ? { brokers: options.brokers, stop: async () => {} }
    : await ensureBroker({ log });
  const workDir = await makeWorkDir();
  const runId = randomBytes(3).toString('hex');
  const ctx: ChaosContext = {
    brokers: broker.brokers,
    size: options.size,
    seed: options.seed,
    log,
    workDir,
    runId,
  };
  const names = options.scenarios ?? SCENARIOS;
  log(
    `size ${options.size}, seed ${options.seed}, run ${runId}, broker ${broker.brokers.join(',')}, work dir ${workDir}`,
  );
  const results: ScenarioResult[] = [];
  try {
    for (const name of names) {
      const started = Date.now();
      log(`${name}: starting`);
      try {
        const got = await REGISTRY[name]!(ctx);
        results.push(...got);
      } catch (error) {
        results.push({
          scenario: name,
          size: options.size,
          seed: options.seed,
          rounds: 0,
          recordsIn: 0,
          lost: 0,
          duplicated: 0,
          crashes: 0,
          passed: false,
          notes: [`the scenario failed: ${(error as Error).stack ?? String(error)}`],
          durationMs: Date.now() - started,
        });
      }
      for (const r of results.filter((x) => !reported.has(x))) {
        reported.add(r);
        log(
          `${r.scenario}: ${r.passed ? 'PASSED' : 'FAILED'} — ${r.rounds} rounds, ${r.recordsIn} records in, ` +
            `${r.lost} lost, ${r.duplicated} duplicated, ${r.crashes} crashes` +
            (r.malformed !== undefined
              ? `, ${r.malformedAccounted}/${r.malformed} malformed accounted for`
              : '') +
            (r.statusCodes ? `, statuses ${JSON.stringify(r.statusCodes)}` : '') +
            ` (${Math.round(r.durationMs / 1000)} s)` +
            (r.passed ? '' : `\n  ${r.notes.join('\n  ')}`),
        );
      }
    }
  } finally {
    await broker.stop();
  }
  const report: ChaosReport = { size: options.size, seed: options.seed, results };
  if (options.write) await writeReport(report, log);
  if (!results.every((r) => r.passed)) log(`logs of the failed run kept in ${workDir}`);
  else if (options.keepLogs) log(`logs kept in ${workDir}`);
  else await removeWorkDir(workDir);
  return report;
}

const reported = new WeakSet<ScenarioResult>();
