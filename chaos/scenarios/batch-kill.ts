import type { ChaosContext, ScenarioResult } from '../lib/harness.ts';

export async function batchKill(_ctx: ChaosContext): Promise<ScenarioResult> {
  throw new Error('not built yet');
}
