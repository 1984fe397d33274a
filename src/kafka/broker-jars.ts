/**
 * The Apache Kafka broker jars: fetched from Maven Central with kafka/pom.xml into .cache/kafka/libs
 * (never committed), once per machine and Kafka version.
 */
import { existsSync, readdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { KAFKA_SCALA_VERSION, KAFKA_VERSION } from './broker-config.ts';
import { run, tail } from './os-process.ts';

export function brokerLibsDir(rootDir: string): string {
  return join(rootDir, '.cache', 'kafka', 'libs');
}

/** The Maven project that lists the broker jars; it ships with the package (kafka/pom.xml). */
export function brokerPom(): string {
  return fileURLToPath(new URL('../../kafka/pom.xml', import.meta.url));
}

/** Jars without which the broker does not start (or starts without logging). */
const REQUIRED_JAR_PREFIXES = [
  `kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar`,
  `kafka-clients-${KAFKA_VERSION}.jar`,
  `kafka-server-${KAFKA_VERSION}.jar`,
  `kafka-raft-${KAFKA_VERSION}.jar`,
  `kafka-metadata-${KAFKA_VERSION}.jar`,
  `kafka-storage-${KAFKA_VERSION}.jar`,
  `kafka-group-coordinator-${KAFKA_VERSION}.jar`,
  `kafka-transaction-coordinator-${KAFKA_VERSION}.jar`,
  'scala-library-',
  'slf4j-api-',
  'slf4j-reload4j-',
  'reload4j-',
  'argparse4j-',
];

/** Why the jars in `libsDir` are unusable, or undefined when they are complete for KAFKA_VERSION. */
export function brokerJarsProblem(libsDir: string): string | undefined {
  if (!existsSync(libsDir)) return `${libsDir} does not exist`;
  const jars = readdirSync(libsDir).filter((name) => name.endsWith('.jar'));
  const missing = REQUIRED_JAR_PREFIXES.filter((prefix) => !jars.some((jar) => jar.startsWith(prefix)));
  if (missing.length > 0) return `missing ${missing.join(', ')}`;
  const otherVersions = jars.filter(
    (jar) => /^kafka[_-]/.test(jar) && jar.includes('.jar') && !jar.includes(`-${KAFKA_VERSION}`),
  );
  if (otherVersions.length > 0) return `jars of another Kafka version present: ${otherVersions.join(', ')}`;
  return undefined;
}

export interface FetchJarsOptions {
  rootDir: string;
  log?: (line: string) => void;
  /** Maven executable; default `mvn` (MAVEN_CMD overrides). */
  mvn?: string;
}

/** True when Maven runs (`mvn -v`). */
export async function mavenAvailable(mvn = process.env.MAVEN_CMD ?? 'mvn'): Promise<boolean> {
  const result = await run(mvn, ['-v'], { timeoutMs: 30_000 });
  return result.code === 0;
}

/**
 * Ensures .cache/kafka/libs holds the broker jars; runs Maven with kafka/pom.xml when it does not.
 * Jars are copied into a temporary folder first and renamed into place, so a failed or concurrent
 * fetch never leaves a half-filled libs folder behind.
 */
export async function ensureBrokerJars(options: FetchJarsOptions): Promise<string> {
  const libsDir = brokerLibsDir(options.rootDir);
  const problem = brokerJarsProblem(libsDir);
  if (problem === undefined) return libsDir;

  const log = options.log ?? (() => {});
  const mvn = options.mvn ?? process.env.MAVEN_CMD ?? 'mvn';
  const pom = brokerPom();
  if (!existsSync(pom)) throw new Error(`cannot fetch Kafka broker jars: ${pom} is missing`);
  log(`fetching Apache Kafka ${KAFKA_VERSION} broker jars with Maven into ${libsDir} (${problem})`);

  const staging = `${libsDir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const started = Date.now();
  let downloaded = 0;
  let lastReport = Date.now();
  const result = await run(
    mvn,
    ['-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`],
    {
      timeoutMs: 15 * 60_000,
      onLine: (line) => {
        if (/Downloaded from/.test(line)) downloaded++;
        if (/\[ERROR\]/.test(line)) log(`maven: ${line}`);
        if (Date.now() - lastReport >= 5_000) {
          lastReport = Date.now();
          log(
            `… still fetching (${downloaded} artifacts downloaded, ${Math.round((Date.now() - started) / 1000)} s)`,
          );
        }
      },
    },
  );
  if (result.error?.code === 'ENOENT') {
    throw new Error(`cannot fetch Kafka broker jars: Maven (${mvn}) is not installed`);
  }
  const stagedProblem = result.code === 0 ? brokerJarsProblem(staging) : 'maven failed';
  if (result.code !== 0 || stagedProblem !== undefined) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(
      `fetching Kafka broker jars failed (${result.timedOut ? 'timed out' : `exit ${result.code}`}` +
        `${stagedProblem ? `, ${stagedProblem}` : ''}). Command: ${mvn} -B -f ${pom} ` +
        `dependency:copy-dependencies -DoutputDirectory=${libsDir}\n${tail(result.stdout + result.stderr, 25)}`,
    );
  }
  // Another process may have filled libsDir meanwhile; ours is as good as theirs.
  if (brokerJarsProblem(libsDir) === undefined) {
    await rm(staging, { recursive: true, force: true });
  } else {
    await rm(libsDir, { recursive: true, force: true });
    await rename(staging, libsDir);
  }
  const count = readdirSync(libsDir).filter((name) => name.endsWith('.jar')).length;
  log(
    `fetched ${count} jars (${downloaded} downloaded, rest from ~/.m2) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return libsDir;
}
