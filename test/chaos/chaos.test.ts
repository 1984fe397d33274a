/**
 * CI's run of the chaos suite (`npm run chaos`, chaos/): every scenario at the reduced size against
 * the integration project's broker (scenario broker-restart starts a broker of its own), as real
 * worker and batch processes. Nothing is written: docs/reliability.md holds the figures of a run of
 * `npm run chaos`. A scenario passes on 0 lost, 0 duplicated (exactly_once), no crash, no wrong answer
 * and no 5xx; the assertions repeat the figures so a failure shows them.
 */
import { describe, expect, inject, it } from 'vitest';

import { runChaos, SCENARIOS } from '../../chaos/suite.ts';

const SCENARIO_MS = 20 * 60_000;

describe('npm run chaos (reduced)', () => {
  it.each(SCENARIOS)(
    '%s',
    async (scenario) => {
      const report = await runChaos({
        size: 'reduced',
        seed: Date.now() % 1_000_000,
        scenarios: [scenario],
        brokers: inject('kafkaBrokers'),
        write: false,
      });
      expect(report.results.length).toBeGreaterThan(0);
      for (const r of report.results) {
        const figures = `${r.scenario} (seed ${r.seed}): ${JSON.stringify({ ...r, notes: undefined })}\n${r.notes.join('\n')}`;
        expect(r.lost, figures).toBe(0);
        if (r.guarantee !== 'at_least_once') expect(r.duplicated, figures).toBe(0);
        expect(r.crashes, figures).toBe(0);
        expect(r.rounds, figures).toBeGreaterThan(0);
        if (r.malformed !== undefined) expect(r.malformedAccounted, figures).toBe(r.malformed);
        if (r.wrongAnswers !== undefined) expect(r.wrongAnswers, figures).toBe(0);
        expect(r.passed, figures).toBe(true);
      }
    },
    SCENARIO_MS,
  );
});
