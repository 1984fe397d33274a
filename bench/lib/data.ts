/**
 * The benchmark's input, generated from a seed so that every run (and every system) sees the same
 * records and the expected results are known exactly: sentences of eight words drawn from a Zipf-like
 * vocabulary, and page views over a fixed set of pages with timestamps spread over some minutes.
 */

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
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

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'sa',
  'ti',
  'vo',
  'ze',
  'qu',
  'bra',
  'dor',
  'fen',
  'gil',
  'har',
  'jun',
  'pex',
  'sto',
  'wyn',
  'yar',
];

/** `size` distinct lower-case ASCII words (letters only, so `split(/\W+/)` keeps each one whole). */
export function vocabulary(size: number, seed: number): string[] {
  const random = prng(seed ^ 0x5eed);
  const words = new Set<string>();
  while (words.size < size) {
    const n = 1 + Math.floor(random() * 4);
    let word = '';
    for (let i = 0; i < n; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)]!;
    words.add(word);
  }
  return [...words];
}

/** Cumulative Zipf(s) weights over ranks 1..n, normalised to 1. */
function zipfCumulative(n: number, s: number): Float64Array {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 1; rank <= n; rank++) {
    total += 1 / Math.pow(rank, s);
    cumulative[rank - 1] = total;
  }
  for (let i = 0; i < n; i++) cumulative[i]! /= total;
  return cumulative;
}

function pick(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export const WORDS_PER_SENTENCE = 8;

export interface SentenceSpec {
  count: number;
  vocabularySize: number;
  seed: number;
}

/**
 * Yields the sentences (capitalised, ending with a full stop) and counts each word as the word-count
 * topologies will see it: lower case, split at non-word characters.
 */
export class SentenceGenerator {
  readonly words: string[];
  readonly expected = new Map<string, number>();
  private readonly cumulative: Float64Array;
  private readonly random: () => number;
  private readonly hits: Uint32Array;
  private produced = 0;

  constructor(readonly spec: SentenceSpec) {
    this.words = vocabulary(spec.vocabularySize, spec.seed);
    this.cumulative = zipfCumulative(spec.vocabularySize, 1.0);
    this.random = prng(spec.seed);
    this.hits = new Uint32Array(spec.vocabularySize);
  }

  /** The next sentence, or undefined after `count` of them. */
  next(): string | undefined {
    if (this.produced >= this.spec.count) return undefined;
    this.produced++;
    let sentence = '';
    for (let i = 0; i < WORDS_PER_SENTENCE; i++) {
      const index = pick(this.cumulative, this.random());
      this.hits[index]!++;
      const word = this.words[index]!;
      sentence += i === 0 ? word[0]!.toUpperCase() + word.slice(1) : ` ${word}`;
    }
    return `${sentence}.`;
  }

  /** Word → count over every sentence generated so far. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    this.hits.forEach((n, i) => {
      if (n > 0) out.set(this.words[i]!, n);
    });
    return out;
  }
}

export interface PageViewSpec {
  count: number;
  pages: number;
  users: number;
  /** Event times spread evenly over this span, ending at `endMs`. */
  spanMs: number;
  endMs: number;
  seed: number;
}

export const WINDOW_MS = 60_000;

export interface PageView {
  page: string;
  user: string;
}

/** Page views in event-time order; counts per (page, one-minute window). */
export class PageViewGenerator {
  private readonly random: () => number;
  private readonly pageCumulative: Float64Array;
  private readonly startMs: number;
  private readonly hits = new Map<string, number>();
  private produced = 0;

  constructor(readonly spec: PageViewSpec) {
    this.random = prng(spec.seed ^ 0x9a9e);
    this.pageCumulative = zipfCumulative(spec.pages, 0.8);
    this.startMs = spec.endMs - spec.spanMs;
  }

  static pageName(index: number): string {
    return `page-${String(index).padStart(3, '0')}`;
  }

  next(): { user: string; view: PageView; timestamp: number } | undefined {
    if (this.produced >= this.spec.count) return undefined;
    const timestamp = this.startMs + Math.floor((this.produced * this.spec.spanMs) / this.spec.count);
    this.produced++;
    const page = PageViewGenerator.pageName(pick(this.pageCumulative, this.random()));
    const user = `user-${Math.floor(this.random() * this.spec.users)}`;
    const windowStart = timestamp - (timestamp % WINDOW_MS);
    const key = windowKey(page, windowStart);
    this.hits.set(key, (this.hits.get(key) ?? 0) + 1);
    return { user, view: { page, user }, timestamp };
  }

  /** "<page>@<window start ms>" → count. */
  counts(): Map<string, number> {
    return new Map(this.hits);
  }
}

/** Canonical key of a windowed count, whatever ISO format the system printed the window start in. */
export function windowKey(page: string, windowStartMs: number): string {
  return `${page}@${windowStartMs}`;
}

/** Parses an output key "<page>@<ISO time>" (ours: 2024-01-01T00:01:00.000Z, Java: ...T00:01:00Z). */
export function parseWindowedOutputKey(key: string): string | undefined {
  const at = key.lastIndexOf('@');
  if (at < 0) return undefined;
  const ms = Date.parse(key.slice(at + 1));
  return Number.isNaN(ms) ? undefined : windowKey(key.slice(0, at), ms);
}
