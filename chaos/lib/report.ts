/**
 * Writes the suite's figures: chaos/results/latest.json (every scenario's newest result: a run of one
 * scenario replaces that scenario's rows and keeps the others) and the table between the chaos markers
 * of docs/reliability.md, generated from that file, never typed by hand.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import * as prettier from 'prettier';

import { ROOT, type ScenarioResult, type Size } from './harness.ts';

export interface ChaosReport {
  size: Size;
  seed: number;
  results: ScenarioResult[];
}

interface StoredResult extends ScenarioResult {
  date: string;
  commit: string;
}

const RESULTS = path.join(ROOT, 'chaos/results/latest.json');
const DOC = path.join(ROOT, 'docs/reliability.md');
export const BEGIN = '<!-- chaos:begin (written by npm run chaos; do not edit by hand) -->';
export const END = '<!-- chaos:end -->';

function commitOf(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'chaos', 'topologies', 'bin'], {
      cwd: ROOT,
    })
      .toString()
      .trim();
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return 'unknown';
  }
}

const keyOf = (r: ScenarioResult): string => `${r.scenario}`;

export async function writeReport(report: ChaosReport, log: (line: string) => void): Promise<void> {
  const date = new Date().toISOString();
  const commit = commitOf();
  const previous: StoredResult[] = existsSync(RESULTS)
    ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { results: StoredResult[] }).results
    : [];
  const fresh = report.results.map((r) => ({ ...r, date, commit }));
  const replaced = new Set(fresh.map(keyOf));
  const merged = [...previous.filter((r) => !replaced.has(keyOf(r))), ...fresh].sort(
    (a, b) => ORDER.indexOf(baseName(a.scenario)) - ORDER.indexOf(baseName(b.scenario)),
  );
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify({ results: merged }, null, 2)}\n`);
  const doc = readFileSync(DOC, 'utf8');
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${DOC} lacks the markers ${BEGIN} … ${END}`);
  const text = doc.slice(0, begin + BEGIN.length) + '\n\n' + table(merged) + '\n' + doc.slice(end);
  // Formatted as `prettier --check` (npm run lint) wants it.
  const config = (await prettier.resolveConfig(DOC)) ?? {};
  writeFileSync(DOC, await prettier.format(text, { ...config, filepath: DOC }));
  log(`figures written to ${path.relative(ROOT, RESULTS)} and ${path.relative(ROOT, DOC)}`);
}

const ORDER = [
  'sigkill',
  'standby',
  'broker-restart',
  'corrupt-state',
  'scale',
  'batch-kill',
  'owner-kill',
  'hostile-input',
  'http-fuzz',
];

function baseName(scenario: string): string {
  return ORDER.find((n) => scenario.startsWith(n)) ?? scenario;
}

function table(results: StoredResult[]): string {
  const rows = results.map((r) => [
    r.scenario,
    r.guarantee ?? '—',
    r.size,
    String(r.rounds),
    r.recordsIn.toLocaleString('en-US'),
    String(r.lost),
    r.guarantee === 'at_least_once' ? `${r.duplicated} (allowed)` : String(r.duplicated),
    String(r.crashes),
    r.malformed === undefined ? '—' : `${r.malformedAccounted} / ${r.malformed}`,
    r.statusCodes
      ? Object.entries(r.statusCodes)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([code, n]) => `${code}: ${n}`)
          .join(', ') + (r.wrongAnswers !== undefined ? `; wrong values: ${r.wrongAnswers}` : '')
      : '—',
    r.passed ? 'passed' : '**FAILED**',
    String(r.seed),
    r.date.slice(0, 16).replace('T', ' '),
    r.commit,
  ]);
  const header = [
    'scenario',
    'guarantee',
    'size',
    'rounds',
    'records in',
    'lost',
    'duplicated',
    'crashes',
    'malformed accounted',
    'HTTP answers by status',
    'result',
    'seed',
    'date (UTC)',
    'commit',
  ];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}
