import type { QueryMeasurement } from './query.ts';
import { queryMarkdown } from './query.ts';
import { restoreMarkdown, type RestoreMeasurement } from './restore.ts';
/** The benchmark's results: one JSON document and one Markdown table per run, in bench/results/. */
import type { BenchConfig, Guarantee, System, Workload } from './config.ts';

export interface Measurement {
  system: System;
  /** The Kafka client of a lambda-streams row (kafkajs unless --kafka-clients says otherwise). */
  kafkaClient?: string;
  workload: Workload;
  /** undefined for the raw consumer (no guarantee applies). */
  guarantee?: Guarantee;
  inputTopic: string;
  inputRecords: number;
  /** Child process start → last result committed and visible (raw: → last record consumed). */
  durationMs?: number;
  recordsPerSec?: number;
  peakRssBytes?: number;
  /** Child process start → its consumer group Stable with an assignment (start-up and group join). */
  joinMs?: number;
  /** Input records ÷ (duration − joinMs): the rate once the system had its partitions. */
  afterJoinRecordsPerSec?: number;
  /** Child process start → first output record. */
  firstOutputMs?: number;
  outputRecords?: number;
  commitIntervalMs?: number;
  /** 'ok' (verified), 'wrong' (counts differ from the input), 'failed' (crashed or never finished). */
  status: 'ok' | 'wrong' | 'failed';
  problems?: string[];
  logFile?: string;
  /** Input and repartition offsets the group had not committed after it stopped (diagnostic). */
  lagAfterStop?: Record<string, number>;
  vsKafkaStreams?: number;
  vsRaw?: number;
  /** Batch row only: records/s ÷ the lambda-streams worker's (at-least-once, same workload). */
  vsSpeedLayer?: number;
  /** The same ratios on the after-join rates. */
  vsKafkaStreamsAfterJoin?: number;
  vsRawAfterJoin?: number;
  vsSpeedLayerAfterJoin?: number;
  /** Batch row: the published view (id, boundary) and the run's own figures from `batch --json`. */
  batch?: {
    viewId: string;
    boundaryBucket: number;
    bucketMs: number;
    untilMs: number;
    records: { read: number; processed: number; beyondBoundary: number; skipped: number };
    /** The run as timed by runBatch (snapshot → manifest published): no Node start-up, no topology load. */
    runMs: number;
    /** Time spent reading the view back and verifying it (not part of the duration). */
    verifyMs?: number;
    stats?: Record<string, unknown>;
    /** Threads the batch ran on (`run.threads` of its JSON). */
    threads?: number;
  };
}

export interface Report {
  startedAt: string;
  host: { cpus: number; memoryGiB: number; node: string; platform: string; loadAverageAtStart: number[] };
  broker: { kind: string; brokers: string[]; reused: boolean };
  config: BenchConfig;
  load: Array<{ topic: string; records: number; ms: number; recordsPerSec: number }>;
  measurements: Measurement[];
  /** The HTTP query row (word-count worker), when measured. */
  query?: QueryMeasurement;
  /** The restoration row (a fresh worker restoring the distinct-keys stores), when measured. */
  /** One restoration row per Kafka client. */
  restores?: RestoreMeasurement[];
}

/**
 * Fills in the ratios: against Kafka Streams (same workload and guarantee; the batch row, which has no
 * guarantee, against at-least-once), the raw ceiling, and for the batch row the speed layer (the
 * lambda-streams worker, at-least-once, same workload).
 */
export function addRatios(measurements: Measurement[]): void {
  for (const m of measurements) {
    if (m.recordsPerSec === undefined || m.status !== 'ok') continue;
    const raw = measurements.find(
      (r) => r.system === 'raw' && r.inputTopic === m.inputTopic && r.status === 'ok',
    );
    if (raw?.recordsPerSec) m.vsRaw = m.recordsPerSec / raw.recordsPerSec;
    if (raw?.afterJoinRecordsPerSec && m.afterJoinRecordsPerSec)
      m.vsRawAfterJoin = m.afterJoinRecordsPerSec / raw.afterJoinRecordsPerSec;
    if (m.system === 'raw') continue;
    const guarantee = m.guarantee ?? 'at_least_once';
    const peer = (system: System): Measurement | undefined =>
      measurements.find(
        (k) =>
          k.system === system &&
          k.workload === m.workload &&
          k.guarantee === guarantee &&
          k.status === 'ok' &&
          // The batch row is compared with the speed layer on the same client.
          (system !== 'lambda-streams' || (k.kafkaClient ?? 'kafkajs') === (m.kafkaClient ?? 'kafkajs')),
      );
    const ks = peer('kafka-streams');
    if (ks?.recordsPerSec) m.vsKafkaStreams = m.recordsPerSec / ks.recordsPerSec;
    if (ks?.afterJoinRecordsPerSec && m.afterJoinRecordsPerSec)
      m.vsKafkaStreamsAfterJoin = m.afterJoinRecordsPerSec / ks.afterJoinRecordsPerSec;
    if (m.system !== 'lambda-streams-batch') continue;
    const speed = peer('lambda-streams');
    if (speed?.recordsPerSec) m.vsSpeedLayer = m.recordsPerSec / speed.recordsPerSec;
    if (speed?.afterJoinRecordsPerSec && m.afterJoinRecordsPerSec)
      m.vsSpeedLayerAfterJoin = m.afterJoinRecordsPerSec / speed.afterJoinRecordsPerSec;
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
      `${fmtInt(config.keys)} records with distinct keys, ` +
      `${config.partitions} partitions. Commit interval ${config.commitIntervalMs.at_least_once} ms ` +
      `(at-least-once), ${config.commitIntervalMs.exactly_once} ms (exactly-once).` +
      ` Batch runs with --threads ${config.batchThreads}.`,
    '',
  );
  for (const l of report.load) {
    lines.push(
      `- loaded ${l.topic}: ${fmtInt(l.records)} records in ${fmtSec(l.ms)} s (${fmtInt(l.recordsPerSec)}/s)`,
    );
  }
  lines.push(
    '',
    '| workload | system | guarantee | records/s | records/s after join | duration (s) | join (s) | first output (s) | peak RSS (MiB) | vs Kafka Streams | vs raw consume | vs speed layer | result |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  const pair = (a: number | undefined, b: number | undefined): string =>
    a === undefined && b === undefined ? '–' : `${fmtRatio(a)} / ${fmtRatio(b)}`;
  for (const m of report.measurements) {
    const workload = m.system === 'raw' ? `(read ${m.inputTopic})` : m.workload;
    const guarantee = m.guarantee
      ? GUARANTEE_LABEL[m.guarantee]
      : m.system === 'lambda-streams-batch'
        ? 'batch view'
        : '–';
    const result =
      m.status === 'ok'
        ? 'ok'
        : `**${m.status.toUpperCase()}**${m.problems?.length ? `: ${m.problems[0]}` : ''}`;
    lines.push(
      `| ${workload} | ${m.system}${m.kafkaClient ? ` (${m.kafkaClient}${m.batch?.threads && m.batch.threads > 1 ? `, ${m.batch.threads} threads` : ''})` : ''} | ${guarantee} | ` +
        `${fmtInt(m.recordsPerSec)} | ${fmtInt(m.afterJoinRecordsPerSec)} | ${fmtSec(m.durationMs)} | ` +
        `${fmtSec(m.joinMs)} | ${fmtSec(m.firstOutputMs)} | ${fmtMiB(m.peakRssBytes)} | ` +
        `${m.system === 'raw' ? '–' : pair(m.vsKafkaStreams, m.vsKafkaStreamsAfterJoin)} | ` +
        `${pair(m.vsRaw, m.vsRawAfterJoin)} | ${pair(m.vsSpeedLayer, m.vsSpeedLayerAfterJoin)} | ${result} |`,
    );
  }
  lines.push(
    '',
    'records/s: input records (sentences, page views, distinct keys; a sentence is 8 words) ÷ duration, from the child ' +
      "process' start to the last result committed and visible in the output (read_committed). " +
      'join: start → consumer group Stable with an assignment (process start-up and group join); ' +
      'records/s after join: input records ÷ (duration − join). Ratios: end to end / after join. ' +
      '**lambda-streams-batch** (`lambda-streams batch`, the batch layer): duration = child process start → exit ' +
      'with the view published (all input, 1 ms buckets), verified by reading the view back; join = process ' +
      'start-up until the run begins (no consumer group), after join = input records ÷ the run as timed by the ' +
      'batch itself (snapshot → manifest published). Its ratios: vs Kafka Streams = ÷ Kafka Streams at-least-once ' +
      '(the same job done continuously), vs raw consume = ÷ the raw read of the input, vs speed layer = ÷ the ' +
      'lambda-streams worker at-least-once on the same workload (the batch target is ≥ 3×). ' +
      'From this one run, on this machine; not absolute claims.',
    '',
  );
  if (report.restores?.length) lines.push(...restoreMarkdown(report.restores), '');
  if (report.query) lines.push(...queryMarkdown(report.query), '');
  return lines.join('\n');
}
