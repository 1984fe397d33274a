import type { ChaosContext, ScenarioResult } from '../lib/harness.ts';

export async function scale(_ctx: ChaosContext): Promise<ScenarioResult> {
  throw new Error('not built yet');
}
