/** The benchmark's results: one JSON document and one Markdown table per run, in bench/results/. */
import type { BenchConfig, Guarantee, System, Workload } from './config.ts';

export interface Measurement {
  system: System;
  workload: Workload;
  /** undefined for the raw consumer (no guarantee applies). */
  guarantee?: Guarantee;
  inputTopic: string;
  inputRecords: number;
  /** Child process start → last result committed and visible (raw: → last record consumed). */
  durationMs?: number;
  recordsPerSec?: number;
  peakRssBytes?: number;
  /** Child process start → first output record. */
  firstOutputMs?: number;
  outputRecords?: number;
  commitIntervalMs?: number;
  /** 'ok' (verified), 'wrong' (counts differ from the input), 'failed' (crashed or never finished). */
  status: 'ok' | 'wrong' | 'failed';
  problems?: string[];
  logFile?: string;
  vsKafkaStreams?: number;
  vsRaw?: number;
}

export interface Report {
  startedAt: string;
  host: { cpus: number; memoryGiB: number; node: string; platform: string; loadAverageAtStart: number[] };
  broker: { kind: string; brokers: string[]; reused: boolean };
  config: BenchConfig;
  load: Array<{ topic: string; records: number; ms: number; recordsPerSec: number }>;
  measurements: Measurement[];
}

/** Fills in the ratios: against Kafka Streams (same workload and guarantee) and the raw ceiling. */
export function addRatios(measurements: Measurement[]): void {
  for (const m of measurements) {
    if (m.recordsPerSec === undefined || m.status !== 'ok') continue;
    const raw = measurements.find(
      (r) => r.system === 'raw' && r.inputTopic === m.inputTopic && r.status === 'ok',
    );
    if (raw?.recordsPerSec) m.vsRaw = m.recordsPerSec / raw.recordsPerSec;
    if (m.system === 'raw') continue;
    const ks = measurements.find(
      (k) =>
        k.system === 'kafka-streams' &&
        k.workload === m.workload &&
        k.guarantee === m.guarantee &&
        k.status === 'ok',
    );
    if (ks?.recordsPerSec) m.vsKafkaStreams = m.recordsPerSec / ks.recordsPerSec;
  }
}

const fmtInt = (n: number | undefined): string =>
  n === undefined ? '–' : Math.round(n).toLocaleString('en-US');
const fmtSec = (ms: number | undefined): string => (ms === undefined ? '–' : (ms / 1000).toFixed(1));
const fmtMiB = (b: number | undefined): string => (b === undefined ? '–' : String(Math.round(b / 2 ** 20)));
const fmtRatio = (r: number | undefined): string => (r === undefined ? '–' : `${r.toFixed(2)}×`);

const GUARANTEE_LABEL: Record<Guarantee, string> = {
  at_least_once: 'at-least-once',
  exactly_once: 'exactly-once',
};

export function markdown(report: Report): string {
  const { config } = report;
  const lines: string[] = [];
  lines.push(
    `# lambda-streams benchmark — ${report.startedAt}`,
    '',
    `${report.host.cpus} CPUs, ${report.host.memoryGiB} GiB, Node ${report.host.node}, ` +
      `load average at start ${report.host.loadAverageAtStart.join(' ')}; ` +
      `Kafka broker ${report.broker.kind} at ${report.broker.brokers.join(',')}. ` +
      `Input: ${fmtInt(config.sentences)} sentences of 8 words (vocabulary ${fmtInt(config.vocabulary)}), ` +
      `${fmtInt(config.pageViews)} page views over ${config.pages} pages and ${config.pageViewSpanMs / 60_000} min, ` +
      `${config.partitions} partitions. Commit interval ${config.commitIntervalMs.at_least_once} ms ` +
      `(at-least-once), ${config.commitIntervalMs.exactly_once} ms (exactly-once).`,
    '',
  );
  for (const l of report.load) {
    lines.push(
      `- loaded ${l.topic}: ${fmtInt(l.records)} records in ${fmtSec(l.ms)} s (${fmtInt(l.recordsPerSec)}/s)`,
    );
  }
  lines.push(
    '',
    '| workload | system | guarantee | input records/s | duration (s) | first output (s) | peak RSS (MiB) | vs Kafka Streams | vs raw consume | result |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const m of report.measurements) {
    const workload = m.system === 'raw' ? `(read ${m.inputTopic})` : m.workload;
    lines.push(
      `| ${workload} | ${m.system} | ${m.guarantee ? GUARANTEE_LABEL[m.guarantee] : '–'} | ${fmtInt(m.recordsPerSec)} | ` +
        `${fmtSec(m.durationMs)} | ${fmtSec(m.firstOutputMs)} | ${fmtMiB(m.peakRssBytes)} | ${fmtRatio(m.vsKafkaStreams)} | ${fmtRatio(m.vsRaw)} | ` +
        `${m.status === 'ok' ? 'ok' : `**${m.status.toUpperCase()}**${m.problems?.length ? `: ${m.problems[0]}` : ''}`} |`,
    );
  }
  lines.push(
    '',
    'Input records/s = input records ÷ (child process start → last result committed and visible in the output, ' +
      'read_committed); it includes process start-up, group join and store initialisation (first output shows how ' +
      'long those took). Word count: 8 words per sentence. Ratios from this one run, on this machine; not absolute claims.',
    '',
  );
  return lines.join('\n');
}
