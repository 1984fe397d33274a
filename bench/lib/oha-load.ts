/**
 * The query row's load through oha (https://github.com/hatoo/oha, `cargo install oha`), a native HTTP
 * load generator: `-q <rate>` paces requests at a fixed rate and `--latency-correction` charges each
 * request from the moment it was due (no coordinated omission), as bench/lib/paced-load.ts does. A
 * native generator measures a server more closely than one in Node: against a bare `node:http` server
 * answering a fixed body, oha's p99 at 5,000 requests/s was 0.8 ms here, the Node generator's 2.7 ms
 * (its own event loop and GC are in every latency it reports).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { PacedLoadResult } from './paced-load.ts';

export interface OhaLoadOptions {
  /** Base URL of the server (http://host:port). */
  url: string;
  /** The paths to ask for: every request takes one of them at random. */
  paths: string[];
  rate: number;
  durationS: number;
  connections: number;
  /** Where the URL list is written. */
  workDir: string;
  /** oha's tokio worker threads (default: oha's, one per core). */
  threads?: number;
}

/** The oha executable: BENCH_OHA, else `oha` on PATH or in ~/.cargo/bin; undefined when none. */
export function findOha(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.BENCH_OHA
    ? [env.BENCH_OHA]
    : [
        ...(env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'oha')),
        path.join(os.homedir(), '.cargo', 'bin', 'oha'),
      ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

export interface OhaJson {
  summary: { requestsPerSec: number; slowest: number | null };
  latencyPercentiles: Record<string, number | null>;
  statusCodeDistribution: Record<string, number>;
  errorDistribution: Record<string, number>;
}

export async function ohaLoad(oha: string, options: OhaLoadOptions): Promise<PacedLoadResult> {
  const urlFile = path.join(options.workDir, `oha-urls-${process.pid}.txt`);
  writeFileSync(urlFile, options.paths.map((p) => `${options.url}${p}`).join('\n') + '\n');
  const args = [
    '-q',
    String(options.rate),
    '-z',
    `${options.durationS}s`,
    '-c',
    String(options.connections),
    '--latency-correction',
    // Requests still open at the deadline are waited for, not counted as aborted.
    '-w',
    '--no-tui',
    '--output-format',
    'json',
    '--urls-from-file',
    urlFile,
    ...(options.threads ? ['--worker-threads', String(options.threads)] : []),
  ];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(oha, args, { maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
      if (error) reject(new Error(`oha failed: ${error.message}${err ? `: ${err.trim()}` : ''}`));
      else resolve(out);
    });
  });
  return ohaResult(JSON.parse(stdout) as OhaJson);
}

/** oha's JSON report (`--output-format json`) as the query row's figures (latencies in ms). */
export function ohaResult(report: OhaJson): PacedLoadResult {
  const ms = (name: string): number => (report.latencyPercentiles[name] ?? 0) * 1000;
  let answered = 0;
  let non2xx = 0;
  for (const [status, count] of Object.entries(report.statusCodeDistribution)) {
    answered += count;
    if (!/^2\d\d$/.test(status)) non2xx += count;
  }
  const errors = Object.values(report.errorDistribution).reduce((sum, n) => sum + n, 0);
  return {
    requests: answered + errors,
    achievedRate: report.summary.requestsPerSec,
    errors,
    non2xx,
    p50Ms: ms('p50'),
    p99Ms: ms('p99'),
    p999Ms: ms('p99.9'),
    maxMs: (report.summary.slowest ?? 0) * 1000,
    maxMsBySecond: [],
  };
}
