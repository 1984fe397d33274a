import type { ChaosContext, ScenarioResult } from '../lib/harness.ts';

export async function standby(_ctx: ChaosContext, _workers: number): Promise<ScenarioResult> {
  throw new Error('not built yet');
}
