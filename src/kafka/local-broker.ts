/**
 * Finds or starts the real Apache Kafka broker (3.9.x, KRaft, single node) that integration tests, the
 * demo and the benchmarks run against. Order of preference (docs/broker.md):
 *
 *   1. KAFKA_BROKERS is set → use it; stop() does nothing.
 *   2. .lambda-streams/broker.json names a running broker (`lambda-streams kafka start`) → reuse it;
 *      stop() does nothing (`npm run kafka:stop` stops it).
 *   3. A Docker engine answers → `docker compose up -d kafka` with docker-compose.yml.
 *   4. Java 17+ (and Maven, the first time) → broker jars from Maven Central via kafka/pom.xml, KRaft
 *      storage formatted in a temp dir, combined broker+controller on free loopback ports.
 *   5. Otherwise an error that says what to install.
 *
 * LAMBDA_STREAMS_BROKER=docker|java skips the other ways (and fails if that way is unavailable).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { KAFKA_VERSION, log4jProperties, renderProperties, serverSettings } from './broker-config.ts';
import { brokerJarsProblem, brokerLibsDir, ensureBrokerJars, mavenAvailable } from './broker-jars.ts';
import { BrokerNotReadyError, waitForBrokerReady } from './broker-readiness.ts';
import { freePort, isAlive, isAliveProcessOf, run, sleep, tail, terminate } from './os-process.ts';

export type BrokerKind = 'env' | 'docker' | 'java';

export interface RunningBroker {
  kind: BrokerKind;
  /** Bootstrap addresses, e.g. ['127.0.0.1:40123']. */
  brokers: string[];
  /** True when this call found a broker started by someone else (stop() then does nothing). */
  reused: boolean;
  /** Java path: broker process id, its temp dir and log file. */
  pid?: number;
  dir?: string;
  logFile?: string;
  /** Stops what this call started (idempotent); a no-op for env and reused brokers. */
  stop(): Promise<void>;
}

/** Contents of .lambda-streams/broker.json. */
export interface BrokerFile {
  kind: 'docker' | 'java';
  brokers: string[];
  /** Java: broker pid. */
  pid?: number;
  /** Java: temp dir with server.properties, data and logs. */
  dir?: string;
  logFile?: string;
  /** Docker: compose file and project name. */
  composeFile?: string;
  composeProject?: string;
  /** Started by `lambda-streams kafka start` (outlives its starter) or owned by a process (tests). */
  detached: boolean;
  /** Pid of the process that started the broker. */
  ownerPid: number;
  startedAt: string;
  kafkaVersion: string;
}

export interface EnsureBrokerOptions {
  /** Where the broker jars (.cache/kafka/libs) and broker.json (.lambda-streams/) live; default defaultRootDir(). */
  rootDir?: string;
  /** Start the broker so that it outlives this process (the CLI's `kafka start`). Default false. */
  detached?: boolean;
  /** Readiness deadline in ms. Default 90 000. */
  timeoutMs?: number;
  /** Progress lines; default writes `[lambda-streams] …` to stderr. */
  log?: (line: string) => void;
  /** Reuse a running broker from .lambda-streams/broker.json. Default true. */
  reuse?: boolean;
  /** Environment to read KAFKA_BROKERS etc. from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

const COMPOSE_PROJECT = 'lambda-streams';
const DEFAULT_TIMEOUT_MS = 90_000;
const JAVA_MAIN_CLASS = 'kafka.Kafka';

/**
 * The package's own directory, two levels above this file (src/kafka/ in a checkout, dist/kafka/ in an
 * installed package). It holds the files the launcher reads: kafka/pom.xml and docker-compose.yml.
 */
export function packageDir(): string {
  return fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
}

/**
 * Where the launcher keeps its state (.cache/kafka/libs, .lambda-streams/broker.json): the checkout
 * itself when run from one (it has src/), else the current directory, so that an installed package
 * never writes into node_modules and `kafka stop` finds what `kafka start` ran from the same project.
 */
export function defaultRootDir(): string {
  const dir = packageDir();
  return existsSync(join(dir, 'src', 'index.ts')) ? dir : process.cwd();
}

export function brokerFilePath(rootDir = defaultRootDir()): string {
  return join(rootDir, '.lambda-streams', 'broker.json');
}

const defaultLog = (line: string): void => {
  process.stderr.write(`[lambda-streams] ${line}\n`);
};

/** Parses KAFKA_BROKERS ("host:port,host:port"); undefined when unset or blank. */
export function brokersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const list = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** Reads .lambda-streams/broker.json; undefined when absent or unreadable. Does not check liveness. */
export async function readBrokerFile(rootDir = defaultRootDir()): Promise<BrokerFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(brokerFilePath(rootDir), 'utf8')) as BrokerFile;
    if (!Array.isArray(parsed.brokers) || (parsed.kind !== 'java' && parsed.kind !== 'docker'))
      return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

/** Whether the broker a broker file describes still runs (java: its pid is a live kafka.Kafka process). */
export function brokerFileAlive(file: BrokerFile): boolean {
  if (file.kind === 'java') return file.pid !== undefined && isAliveProcessOf(file.pid, JAVA_MAIN_CLASS);
  return true; // docker: the readiness probe decides
}

/**
 * Records a broker in broker.json (atomically). A broker owned by a process (a test run) does not
 * replace the record of a running `kafka start` broker: that record is how `kafka stop` finds it.
 */
async function writeBrokerFile(rootDir: string, file: BrokerFile): Promise<void> {
  if (!file.detached) {
    const existing = await readBrokerFile(rootDir);
    if (existing?.detached && brokerFileAlive(existing)) return;
  }
  const path = brokerFilePath(rootDir);
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`);
  await rename(temp, path);
}

/** Deletes broker.json if it still describes the broker with this pid / kind (another run may own it now). */
function removeBrokerFileIfOurs(rootDir: string, match: { pid?: number; kind: BrokerFile['kind'] }): void {
  const path = brokerFilePath(rootDir);
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as BrokerFile;
    if (file.kind === match.kind && file.pid === match.pid) rmSync(path, { force: true });
  } catch {
    // absent or unreadable: nothing to remove
  }
}

/**
 * Returns a ready broker, in the order of preference described at the top of this file. Throws when
 * none can be had, saying what to install.
 */
export async function ensureBroker(options: EnsureBrokerOptions = {}): Promise<RunningBroker> {
  const rootDir = options.rootDir ?? defaultRootDir();
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const fromEnv = brokersFromEnv(env);
  if (fromEnv) {
    log(`using KAFKA_BROKERS=${fromEnv.join(',')}`);
    await waitForBrokerReady(fromEnv, {
      timeoutMs,
      log,
      hint: 'KAFKA_BROKERS is set, so lambda-streams did not start a broker; check that one runs there.',
    });
    return { kind: 'env', brokers: fromEnv, reused: true, stop: async () => {} };
  }

  if (options.reuse ?? true) {
    const reused = await reuseBrokerFromFile(rootDir, timeoutMs, log);
    if (reused) return reused;
  }

  const forced = env.LAMBDA_STREAMS_BROKER?.trim().toLowerCase() || undefined;
  if (forced && forced !== 'docker' && forced !== 'java') {
    throw new Error(`LAMBDA_STREAMS_BROKER must be "docker" or "java", not "${forced}"`);
  }

  if (forced !== 'java') {
    const docker = await dockerCompose();
    if (docker) {
      try {
        return await startDockerBroker(rootDir, docker, { ...options, log, timeoutMs });
      } catch (err) {
        if (forced === 'docker') throw err;
        log(`Docker broker failed (${(err as Error).message.split('\n')[0]}); trying Java`);
      }
    } else if (forced === 'docker') {
      throw new Error('LAMBDA_STREAMS_BROKER=docker, but no Docker engine answers `docker info`.');
    }
  }

  const javaProblem = await javaProblemIfAny(rootDir);
  if (javaProblem === undefined) return startLocalBroker({ ...options, rootDir, log, timeoutMs });

  throw new Error(
    [
      'No Kafka broker available. lambda-streams needs a real Apache Kafka broker and found none:',
      '  - KAFKA_BROKERS is not set',
      '  - no Docker engine answers `docker info`',
      `  - ${javaProblem}`,
      'Do one of:',
      '  - set KAFKA_BROKERS=host:port to use a running Kafka 3.x broker, or',
      '  - install and start Docker (uses docker-compose.yml, image apache/kafka:' + KAFKA_VERSION + '), or',
      '  - install Java 17+ (e.g. `apt-get install openjdk-17-jre-headless`) and Maven 3',
      '    (`apt-get install maven`; needed once, to fetch the broker jars from Maven Central).',
      'See docs/broker.md.',
    ].join('\n'),
  );
}

async function reuseBrokerFromFile(
  rootDir: string,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<RunningBroker | undefined> {
  const file = await readBrokerFile(rootDir);
  if (!file) return undefined;
  // A broker owned by another process (a test run) stops when that process is done: never borrow it.
  if (!file.detached && file.ownerPid !== process.pid && isAlive(file.ownerPid) && brokerFileAlive(file)) {
    return undefined;
  }
  if (!brokerFileAlive(file)) {
    log(`removing stale ${brokerFilePath(rootDir)} (broker pid ${file.pid} is gone)`);
    await rm(brokerFilePath(rootDir), { force: true });
    return undefined;
  }
  if (file.kind === 'docker' && !(await dockerCompose())) return undefined;
  try {
    await waitForBrokerReady(file.brokers, {
      timeoutMs: Math.min(timeoutMs, file.kind === 'docker' ? 20_000 : timeoutMs),
      log,
      failed: () =>
        file.kind === 'java' && file.pid !== undefined && !isAlive(file.pid)
          ? 'broker process exited'
          : undefined,
      hint: file.logFile ? `Broker log: ${file.logFile}` : undefined,
    });
  } catch (err) {
    if (file.kind === 'docker') return undefined;
    throw err;
  }
  log(`reusing ${file.kind} broker at ${file.brokers.join(',')} from ${brokerFilePath(rootDir)}`);
  return {
    kind: file.kind,
    brokers: file.brokers,
    reused: true,
    ...(file.pid !== undefined ? { pid: file.pid } : {}),
    ...(file.dir !== undefined ? { dir: file.dir } : {}),
    ...(file.logFile !== undefined ? { logFile: file.logFile } : {}),
    stop: async () => {},
  };
}

// ---------------------------------------------------------------------------------------------------
// Docker

/** The compose command (`docker compose` or `docker-compose`) when a Docker engine answers; else undefined. */
async function dockerCompose(): Promise<string[] | undefined> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 5_000 });
  if (info.code !== 0) return undefined;
  const plugin = await run('docker', ['compose', 'version'], { timeoutMs: 10_000 });
  if (plugin.code === 0) return ['docker', 'compose'];
  const standalone = await run('docker-compose', ['version'], { timeoutMs: 10_000 });
  if (standalone.code === 0) return ['docker-compose'];
  return undefined;
}

async function startDockerBroker(
  rootDir: string,
  compose: string[],
  options: EnsureBrokerOptions & { log: (line: string) => void; timeoutMs: number },
): Promise<RunningBroker> {
  const composeFile = join(packageDir(), 'docker-compose.yml');
  const port = Number(process.env.LAMBDA_STREAMS_KAFKA_PORT ?? 9092);
  const brokers = [`localhost:${port}`];
  const [cmd, ...pre] = compose as [string, ...string[]];
  const base = [...pre, '-f', composeFile, '-p', COMPOSE_PROJECT];
  options.log(`starting Kafka ${KAFKA_VERSION} with ${compose.join(' ')} (${composeFile})`);
  const up = await run(cmd, [...base, 'up', '-d', 'kafka'], { timeoutMs: 10 * 60_000, cwd: rootDir });
  if (up.code !== 0) throw new Error(`${compose.join(' ')} up failed:\n${tail(up.stdout + up.stderr, 20)}`);

  const down = async (): Promise<void> => {
    await run(cmd, [...base, 'down', '-v'], { timeoutMs: 120_000, cwd: rootDir });
  };
  try {
    await waitForBrokerReady(brokers, {
      timeoutMs: options.timeoutMs,
      log: options.log,
      hint: `Broker log: ${compose.join(' ')} -f ${composeFile} -p ${COMPOSE_PROJECT} logs kafka`,
    });
  } catch (err) {
    if (!options.detached) await down();
    throw err;
  }
  await writeBrokerFile(rootDir, {
    kind: 'docker',
    brokers,
    composeFile,
    composeProject: COMPOSE_PROJECT,
    detached: options.detached ?? false,
    ownerPid: process.pid,
    startedAt: new Date().toISOString(),
    kafkaVersion: KAFKA_VERSION,
  });
  let stopped = false;
  return {
    kind: 'docker',
    brokers,
    reused: false,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await down();
      removeBrokerFileIfOurs(rootDir, { kind: 'docker' });
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Java

function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}

/** Major version of `java` (17 for "17.0.15", 8 for "1.8.0_392"), or undefined when Java is missing. */
export async function javaMajorVersion(java = javaCommand()): Promise<number | undefined> {
  const result = await run(java, ['-version'], { timeoutMs: 30_000 });
  if (result.code !== 0) return undefined;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.stderr + result.stdout);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 ? Number(match[2]) : major;
}

async function javaProblemIfAny(rootDir: string): Promise<string | undefined> {
  const major = await javaMajorVersion();
  if (major === undefined)
    return 'no Java runtime (`java -version` failed; JAVA_HOME/bin/java or java on PATH)';
  if (major < 17) return `Java ${major} found, but the Kafka broker path needs Java 17+`;
  if (brokerJarsProblem(brokerLibsDir(rootDir)) !== undefined && !(await mavenAvailable())) {
    return `Java ${major} found, but Maven (\`mvn\`) is missing to fetch the broker jars into ${brokerLibsDir(rootDir)}`;
  }
  return undefined;
}

/** Base64url of 16 random bytes, the format of a Kafka cluster id (kafka-storage random-uuid). */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // Kafka's Uuid.randomUuid avoids a leading dash, as do we
  }
}

function heapOptions(): string[] {
  const fromEnv = process.env.KAFKA_HEAP_OPTS?.trim();
  return fromEnv ? fromEnv.split(/\s+/) : ['-Xmx512m', '-Xms512m'];
}

const JVM_OPTIONS = [
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
];

/**
 * Shell script of the watchdog that outlives this process: it blocks on its stdin, a pipe whose other
 * end only this process holds. When this process dies in any way (even SIGKILL), the read ends, and the
 * watchdog stops the broker (SIGTERM, then SIGKILL after 15 s) and deletes its temp dir.
 */
const WATCHDOG_SCRIPT = `
pid="$1"; dir="$2"
cat >/dev/null
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 150 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$pid" 2>/dev/null
fi
case "$dir" in */lambda-streams-kafka-*) rm -rf "$dir" ;; esac
`;

/** Starts a broker from the jars (Java path), waits until it is ready and records it in broker.json. */
export async function startLocalBroker(options: EnsureBrokerOptions = {}): Promise<RunningBroker> {
  const rootDir = options.rootDir ?? defaultRootDir();
  const log = options.log ?? defaultLog;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const detached = options.detached ?? false;

  const major = await javaMajorVersion();
  if (major === undefined || major < 17) {
    throw new Error(`the local Kafka broker needs Java 17+ (found ${major ?? 'none'}); see docs/broker.md`);
  }
  const libsDir = await ensureBrokerJars({ rootDir, log });

  // Two tries: a free port can be taken by someone else between our probe and the broker's bind.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startJavaBrokerOnce({ rootDir, libsDir, log, timeoutMs, detached });
    } catch (err) {
      if (attempt >= 2 || !(err instanceof PortInUseError)) throw err;
      log(`port taken while starting (${err.message}); retrying on other ports`);
    }
  }
}

class PortInUseError extends Error {}

async function startJavaBrokerOnce(args: {
  rootDir: string;
  libsDir: string;
  log: (line: string) => void;
  timeoutMs: number;
  detached: boolean;
}): Promise<RunningBroker> {
  const { rootDir, libsDir, log, timeoutMs, detached } = args;
  const started = Date.now();
  const java = javaCommand();
  const dir = await mkdtemp(join(tmpdir(), 'lambda-streams-kafka-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'logs', 'server.log');
  const outFile = join(dir, 'logs', 'kafka.out');
  await mkdir(join(dir, 'logs'), { recursive: true });

  const port = await freePort();
  const controllerPort = await freePort(new Set([port]));
  const propsFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j.properties');
  await writeFile(
    propsFile,
    renderProperties(
      serverSettings({ port, controllerPort, dataDir }),
      `Written by lambda-streams (src/kafka/local-broker.ts) for Kafka ${KAFKA_VERSION}`,
    ),
  );
  await writeFile(log4jFile, log4jProperties(logFile));
  const classpath = `${libsDir}/*`;
  const log4jOption = `-Dlog4j.configuration=file:${log4jFile}`;
  const logsDirOption = `-Dkafka.logs.dir=${join(dir, 'logs')}`;

  // kafka-storage format: writes meta.properties and the bootstrap metadata checkpoint.
  const clusterId = randomClusterId();
  const format = await run(
    java,
    [
      '-Xmx256m',
      log4jOption,
      logsDirOption,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      propsFile,
    ],
    { timeoutMs: 120_000, cwd: dir },
  );
  if (format.code !== 0) {
    throw new Error(
      `formatting KRaft storage failed (exit ${format.code}${format.timedOut ? ', timed out' : ''}):\n` +
        `${tail(format.stdout + format.stderr, 20)}\nBroker files kept for inspection in ${dir}`,
    );
  }

  const out = openSync(outFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      java,
      [
        ...heapOptions(),
        ...JVM_OPTIONS,
        log4jOption,
        logsDirOption,
        '-cp',
        classpath,
        JAVA_MAIN_CLASS,
        propsFile,
      ],
      // Own process group always: a Ctrl-C in the terminal reaches this process, which stops the broker in order.
      { cwd: dir, detached: true, stdio: ['ignore', out, out] },
    );
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`could not start ${java} (is it installed?); broker files kept in ${dir}`);
  }
  child.unref();
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `the Kafka broker process exited during startup (${signal ?? `exit code ${code}`})`;
  });
  child.once('error', (err) => {
    exited = `the Kafka broker process failed: ${err.message}`;
  });

  // Non-detached: make sure the broker does not outlive this process.
  let watchdog: ChildProcess | undefined;
  const onExit = (): void => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  if (!detached) {
    watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'lambda-streams-kafka-watchdog', String(pid), dir], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.on('error', () => {}); // no sh: the exit handler below still applies
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    process.on('exit', onExit);
  }

  const brokers = [`127.0.0.1:${port}`];
  log(`starting Kafka ${KAFKA_VERSION} (java, pid ${pid}) on ${brokers[0]}, logs in ${logFile}`);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    await terminate(pid, 15_000);
    if (watchdog) {
      watchdog.stdin?.end();
      watchdog.stdin?.destroy();
    }
    removeBrokerFileIfOurs(rootDir, { kind: 'java', pid });
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForBrokerReady(brokers, {
      timeoutMs,
      log,
      failed: () => exited,
      hint: `Broker log: ${logFile}`,
    });
  } catch (err) {
    stopped = true;
    process.off('exit', onExit);
    await terminate(pid, 5_000);
    if (watchdog) watchdog.kill('SIGKILL'); // keep the dir: it has the log that explains the failure
    const logText = readTail(logFile, 200) + readTail(outFile, 50);
    if (/Address already in use|BindException/.test(logText)) {
      await rm(dir, { recursive: true, force: true });
      throw new PortInUseError(`port ${port} or ${controllerPort} in use`);
    }
    if (err instanceof BrokerNotReadyError) {
      throw new BrokerNotReadyError(
        `${err.message} (files kept for inspection in ${dir})\nLast lines of the broker log:\n` +
          (readTail(logFile, 15) || readTail(outFile, 15) || '(empty)'),
      );
    }
    throw err;
  }

  await writeBrokerFile(rootDir, {
    kind: 'java',
    brokers,
    pid,
    dir,
    logFile,
    detached,
    ownerPid: process.pid,
    startedAt: new Date().toISOString(),
    kafkaVersion: KAFKA_VERSION,
  });
  log(`Kafka ready at ${brokers[0]} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { kind: 'java', brokers, reused: false, pid, dir, logFile, stop };
}

function readTail(file: string, lines: number): string {
  try {
    return tail(readFileSync(file, 'utf8'), lines);
  } catch {
    return '';
  }
}

/**
 * Stops the broker recorded in .lambda-streams/broker.json (the one `kafka start` started): java →
 * SIGTERM (SIGKILL after 15 s) and temp dir removed; docker → `docker compose down -v`. Returns a
 * description of what was stopped, or undefined when nothing was recorded.
 */
export async function stopLocalBroker(
  options: { rootDir?: string; log?: (line: string) => void; force?: boolean } = {},
): Promise<string | undefined> {
  const rootDir = options.rootDir ?? defaultRootDir();
  const log = options.log ?? (() => {});
  const file = await readBrokerFile(rootDir);
  if (!file) return undefined;
  if (!file.detached && !options.force && isAlive(file.ownerPid) && brokerFileAlive(file)) {
    return (
      `the recorded broker at ${file.brokers.join(',')} belongs to process ${file.ownerPid} ` +
      `(a test run), which stops it when done; not stopped (use --force to stop it anyway)`
    );
  }
  let description: string;
  if (file.kind === 'java') {
    const pid = file.pid;
    if (pid !== undefined && isAliveProcessOf(pid, JAVA_MAIN_CLASS)) {
      log(`stopping Kafka broker pid ${pid} (${file.brokers.join(',')})`);
      const how = await terminate(pid, 15_000);
      description = `stopped Kafka broker pid ${pid} at ${file.brokers.join(',')} (${how})`;
    } else {
      description = `Kafka broker pid ${pid} at ${file.brokers.join(',')} was not running`;
    }
    if (file.dir && /lambda-streams-kafka-/.test(file.dir))
      await rm(file.dir, { recursive: true, force: true });
  } else {
    const compose = await dockerCompose();
    if (!compose) throw new Error('broker.json names a Docker broker, but no Docker engine answers');
    const [cmd, ...pre] = compose as [string, ...string[]];
    const composeFile = file.composeFile ?? join(packageDir(), 'docker-compose.yml');
    const down = await run(
      cmd,
      [...pre, '-f', composeFile, '-p', file.composeProject ?? COMPOSE_PROJECT, 'down', '-v'],
      {
        timeoutMs: 120_000,
        cwd: rootDir,
      },
    );
    if (down.code !== 0)
      throw new Error(`${compose.join(' ')} down failed:\n${tail(down.stdout + down.stderr, 20)}`);
    description = `stopped Docker Kafka broker at ${file.brokers.join(',')}`;
  }
  await rm(brokerFilePath(rootDir), { force: true });
  // Give the OS a moment to release the ports before someone starts the next broker.
  await sleep(100);
  return description;
}
