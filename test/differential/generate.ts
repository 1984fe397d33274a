import type { InputProfile, ScenarioSpec } from './specs.ts';

/** One input record of a differential case (also the JSON the Java harness reads). */
export interface InputRecord {
  topic: string;
  key: string | null;
  value: string | null;
  timestamp: number;
}

export interface DifferentialCase {
  scenario: string;
  /** Seed this case was generated from: `generateCase(spec, seed)` gives it back. */
  seed: number;
  input: InputRecord[];
}

/** mulberry32: small, fast, deterministic 32-bit PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes a run seed with a scenario name and case index into the seed of one case. */
export function caseSeed(runSeed: number, scenario: string, index: number): number {
  let h = (runSeed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${scenario}#${index}`) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

const LETTERS = 'abcdefgh';

/**
 * Random input for one case: 30–200 records, keys from a small pool (so keys repeat), some null keys
 * and values, timestamps that mostly advance but sometimes go back (out of order; far enough to be
 * late for windows with grace) or repeat, spanning many 10s windows. Half the cases start at time 0
 * (so hopping windows clip at 0), half at a large epoch-like time. Half the cases use whole seconds
 * only, so records land exactly on window starts, ends and grace deadlines.
 */
export function generateCase(
  spec: ScenarioSpec,
  seed: number,
  minRecords = 30,
  maxRecords = 200,
): DifferentialCase {
  const rnd = prng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const p: InputProfile = spec.input;
  const n = int(minRecords, maxRecords);
  const unit = rnd() < 0.5 ? 1_000 : 1;
  const ms = (lo: number, hi: number): number => int(Math.ceil(lo / unit), Math.floor(hi / unit)) * unit;
  const base = rnd() < 0.5 ? 0 : 1_700_000_000_000 + ms(0, 9_999);
  let now = base + ms(0, 5_000);
  const input: InputRecord[] = [];
  for (let i = 0; i < n; i++) {
    let timestamp: number;
    const r = rnd();
    if (i > 0 && r < p.outOfOrderRate) {
      timestamp = Math.max(0, now - ms(1, p.maxLatenessMs));
    } else if (i > 0 && r < p.outOfOrderRate + 0.1) {
      timestamp = now; // same timestamp as the previous in-order record
    } else {
      now += ms(0, p.maxStepMs);
      timestamp = now;
    }
    // Without per-topic profiles the topic is drawn last (keeps the cases of older seeds unchanged).
    const early = p.topicProfiles ? p.topics[int(0, p.topics.length - 1)]! : undefined;
    const tp = { ...p, ...(early === undefined ? {} : p.topicProfiles?.[early]) };
    const key = rnd() < tp.nullKeyRate ? null : `k${int(0, tp.keys - 1)}`;
    let value: string | null = null;
    if (rnd() >= tp.nullValueRate) {
      value = '';
      const len = int(1, 8);
      for (let j = 0; j < len; j++) value += LETTERS[int(0, LETTERS.length - 1)];
    }
    const topic = early ?? p.topics[int(0, p.topics.length - 1)]!;
    input.push({ topic, key, value, timestamp });
  }
  return { scenario: spec.name, seed, input };
}

/** The cases of one run: `perScenario` per scenario, each from its own seed derived from `runSeed`. */
export function generateCases(
  specs: readonly ScenarioSpec[],
  runSeed: number,
  perScenario: number,
): DifferentialCase[] {
  const cases: DifferentialCase[] = [];
  for (const spec of specs) {
    for (let i = 0; i < perScenario; i++) cases.push(generateCase(spec, caseSeed(runSeed, spec.name, i)));
  }
  return cases;
}
