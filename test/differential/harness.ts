/**
 * Builds and runs the Kafka Streams reference harness (test/differential/harness, Java 17 + Maven).
 * `mvn package` runs only when the jar is missing or older than the pom or a Java source.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DifferentialCase } from './generate.ts';

const run = promisify(execFile);

export const HARNESS_DIR = fileURLToPath(new URL('./harness/', import.meta.url));
const JAR = join(HARNESS_DIR, 'target', 'harness.jar');
const LIB = join(HARNESS_DIR, 'target', 'lib');
const MAIN_CLASS = 'dev.lambdastreams.differential.Harness';

/** One output record as the harness reports it (Long values as numbers). */
export interface OutputRecord {
  topic: string;
  key: string | null;
  value: string | number | null;
  timestamp: number;
  /** Index of the input record whose processing produced this record. */
  input: number;
}

export interface CaseResult {
  scenario: string;
  records: OutputRecord[];
  /** Stack trace when Kafka Streams threw (a harness or scenario bug: inputs are always valid). */
  error: string | null;
  /** Wall-clock time Kafka Streams took for this case (topology, driver, all inputs). */
  millis: number;
}

export interface HarnessOutput {
  /** Kafka Streams' topology.describe() per scenario. */
  topologies: Record<string, string>;
  results: CaseResult[];
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** True when target/harness.jar is missing or older than the pom or any source. */
export function harnessIsStale(): boolean {
  if (!existsSync(JAR) || !existsSync(LIB)) return true;
  const sources = Math.max(newestMtime(join(HARNESS_DIR, 'pom.xml')), newestMtime(join(HARNESS_DIR, 'src')));
  return statSync(JAR).mtimeMs < sources;
}

const LOCK = join(HARNESS_DIR, 'target', '.build-lock');
const BUILD_TIMEOUT_MS = 15 * 60_000;

/**
 * Takes a directory lock so test files running in parallel never run two Maven builds into the same
 * target/ at once. A lock older than the build timeout is left over from a killed run and is broken.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(join(HARNESS_DIR, 'target'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > BUILD_TIMEOUT_MS)
          rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Builds the harness with Maven unless the jar is up to date. Returns whether it built. */
export async function buildHarness(): Promise<boolean> {
  if (!harnessIsStale()) return false;
  return withBuildLock(async () => {
    if (!harnessIsStale()) return false; // another test file built it while we waited
    await mavenPackage();
    return true;
  });
}

async function mavenPackage(): Promise<void> {
  try {
    await run('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', join(HARNESS_DIR, 'pom.xml'), 'package'], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: BUILD_TIMEOUT_MS,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `Building the Kafka Streams differential harness failed (mvn -f ${HARNESS_DIR}pom.xml package):\n` +
        `${e.stdout ?? ''}${e.stderr ?? ''}\n${e.message}`,
    );
  }
}

function classpath(): string {
  return `${JAR}${delimiter}${join(LIB, '*')}`;
}

async function java(args: string[]): Promise<string> {
  const { stdout } = await run(
    'java',
    ['-XX:+UseSerialGC', '-Xshare:auto', '-cp', classpath(), MAIN_CLASS, ...args],
    {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 15 * 60_000,
    },
  );
  return stdout;
}

/** Scenario names the Java side knows. */
export async function harnessScenarios(): Promise<string[]> {
  return JSON.parse(await java(['--list'])) as string[];
}

/** Runs all cases through Kafka Streams' TopologyTestDriver in one JVM. */
export async function runHarness(
  cases: readonly Pick<DifferentialCase, 'scenario' | 'input'>[],
): Promise<HarnessOutput> {
  const dir = mkdtempSync(join(tmpdir(), 'lambda-streams-differential-'));
  try {
    const casesFile = join(dir, 'cases.json');
    const resultsFile = join(dir, 'results.json');
    writeFileSync(casesFile, JSON.stringify(cases.map((c) => ({ scenario: c.scenario, input: c.input }))));
    try {
      await java([casesFile, resultsFile]);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`The Kafka Streams differential harness failed:\n${e.stderr ?? ''}\n${e.message}`);
    }
    const output = JSON.parse(readFileSync(resultsFile, 'utf8')) as HarnessOutput;
    if (output.results.length !== cases.length) {
      throw new Error(`harness returned ${output.results.length} results for ${cases.length} cases`);
    }
    return output;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
