import type { InputRecord } from './generate.ts';
import type { OutputRecord } from './harness.ts';

const fmtValue = (v: unknown): string =>
  v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v) : String(v);

export function formatRecord(r: OutputRecord | undefined): string {
  if (!r) return '<none>';
  return `key=${fmtValue(r.key)} value=${fmtValue(r.value)} ts=${r.timestamp} (from input #${r.input})`;
}

export function formatInput(input: readonly InputRecord[], highlight?: number): string {
  return input
    .map(
      (r, i) =>
        `${i === highlight ? '>>' : '  '} #${String(i).padStart(3)} ${r.topic} key=${fmtValue(r.key)} value=${fmtValue(r.value)} ts=${r.timestamp}`,
    )
    .join('\n');
}

function sameRecord(a: OutputRecord, b: OutputRecord): boolean {
  return a.key === b.key && a.value === b.value && a.timestamp === b.timestamp && a.input === b.input;
}

function byTopic(records: readonly OutputRecord[]): Map<string, OutputRecord[]> {
  const m = new Map<string, OutputRecord[]>();
  for (const r of records) {
    let list = m.get(r.topic);
    if (!list) m.set(r.topic, (list = []));
    list.push(r);
  }
  return m;
}

export interface Mismatch {
  topic: string;
  index: number;
  expected: OutputRecord | undefined;
  actual: OutputRecord | undefined;
  /** Input record that produced the first differing record (on either side). */
  input: number | undefined;
  report: string;
}

/**
 * Compares the reference output with ours topic by topic, record by record (key, value, timestamp and
 * the input that caused it, in order). Returns the first mismatch with a readable report, or undefined.
 */
export function firstMismatch(
  expected: readonly OutputRecord[],
  actual: readonly OutputRecord[],
  topicOrder: readonly string[] = [],
): Mismatch | undefined {
  const exp = byTopic(expected);
  const act = byTopic(actual);
  const topics = [...new Set([...topicOrder, ...exp.keys(), ...act.keys()])];
  const summary = topics
    .map(
      (t) =>
        `  ${t}: Kafka Streams ${exp.get(t)?.length ?? 0} records, lambda-streams ${act.get(t)?.length ?? 0}`,
    )
    .join('\n');
  // Report the mismatch caused by the earliest input across topics.
  let best: Mismatch | undefined;
  for (const topic of topics) {
    const e = exp.get(topic) ?? [];
    const a = act.get(topic) ?? [];
    const n = Math.max(e.length, a.length);
    for (let i = 0; i < n; i++) {
      const er = e[i];
      const ar = a[i];
      if (er && ar && sameRecord(er, ar)) continue;
      const input = Math.min(er?.input ?? Infinity, ar?.input ?? Infinity);
      if (best === undefined || input < (best.input ?? Infinity)) {
        const from = Math.max(0, i - 3);
        const ctx = (list: OutputRecord[]): string =>
          list
            .slice(from, i + 4)
            .map((r, j) => `    ${from + j === i ? '>>' : '  '} [${from + j}] ${formatRecord(r)}`)
            .join('\n') || '    (nothing)';
        best = {
          topic,
          index: i,
          expected: er,
          actual: ar,
          input: Number.isFinite(input) ? input : undefined,
          report:
            `first difference in topic '${topic}' at record [${i}]:\n` +
            `  Kafka Streams:  ${formatRecord(er)}\n` +
            `  lambda-streams: ${formatRecord(ar)}\n` +
            `  Kafka Streams around it:\n${ctx(e)}\n` +
            `  lambda-streams around it:\n${ctx(a)}\n` +
            `record counts:\n${summary}`,
        };
      }
      break;
    }
  }
  return best;
}
