/**
 * `npm run chaos`: the fault-injection suite (see docs/reliability.md). Runs the scenarios as real
 * worker and batch CLI processes against a real broker, prints progress on stderr, and writes the
 * figures to chaos/results/latest.json and docs/reliability.md (between its chaos markers).
 *
 *   npm run chaos -- [--size reduced|full] [--scenario <name>]... [--brokers <list>] [--seed <n>]
 *                    [--no-write] [--keep-logs]
 *
 * Exit code 1 when a scenario failed (lost or, under exactly_once, duplicated records, a crash, a
 * wrong answer, a 5xx); the figures are written either way.
 */
import { parseArgs } from 'node:util';

import { runChaos, SCENARIOS } from './suite.ts';
import type { Size } from './lib/harness.ts';

const USAGE = `usage: npm run chaos -- [--size reduced|full] [--scenario <name>]... [--brokers <list>] [--seed <n>] [--no-write] [--keep-logs]
scenarios: ${SCENARIOS.join(', ')}`;

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'reduced' },
    scenario: { type: 'string', multiple: true },
    brokers: { type: 'string' },
    seed: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'keep-logs': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.size !== 'reduced' && values.size !== 'full') {
  process.stderr.write(`--size must be reduced or full, not ${values.size}\n${USAGE}\n`);
  process.exit(2);
}
const unknown = (values.scenario ?? []).filter((s) => !SCENARIOS.includes(s));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario ${unknown.join(', ')}\n${USAGE}\n`);
  process.exit(2);
}
const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
if (!Number.isInteger(seed)) {
  process.stderr.write(`--seed must be an integer\n`);
  process.exit(2);
}

// Ctrl-C or a stray error: exit, and the exit handler of chaos/lib/harness.ts kills every worker.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));
process.on('uncaughtException', (error) => {
  process.stderr.write(`[chaos] unexpected error: ${error.stack ?? String(error)}\n`);
  process.exit(1);
});

const report = await runChaos({
  size: values.size as Size,
  seed,
  ...(values.scenario ? { scenarios: values.scenario } : {}),
  ...((values.brokers ?? process.env.KAFKA_BROKERS)
    ? { brokers: (values.brokers ?? process.env.KAFKA_BROKERS)!.split(',').filter(Boolean) }
    : {}),
  write: !values['no-write'],
  keepLogs: values['keep-logs'],
});
process.exitCode = report.results.every((r) => r.passed) ? 0 : 1;
