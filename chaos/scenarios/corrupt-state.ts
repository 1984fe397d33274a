import type { ChaosContext, ScenarioResult } from '../lib/harness.ts';

export async function corruptState(_ctx: ChaosContext): Promise<ScenarioResult> {
  throw new Error('not built yet');
}
