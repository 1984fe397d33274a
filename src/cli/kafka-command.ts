/**
 * `lambda-streams kafka start|stop|status`: a local Apache Kafka broker for development, the demo and
 * the tests (see docs/broker.md). `start` leaves the broker running in the background and records it in
 * .lambda-streams/broker.json, where the tests and the other commands find it.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

// The broker modules (and kafkajs) load inside the actions, so other commands do not pay for them.
const localBroker = () => import('../kafka/local-broker.ts');

/**
 * These commands are one-shot. Should a client library leave a socket or timer behind, the process
 * still ends: this timer does not keep it alive, and fires only if something else does.
 */
function exitWhenIdle(): void {
  setTimeout(() => process.exit(), 3_000).unref();
}

const info = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError(`not a positive number of seconds: ${value}`);
  return seconds;
}

export function registerKafkaCommand(program: Command): void {
  const kafka = program.command('kafka').description('run a local Apache Kafka broker (KRaft, single node)');

  kafka
    .command('start')
    .description(
      'start a broker in the background (Docker if an engine answers, else Java 17 + jars from Maven Central) ' +
        'and print its bootstrap address on stdout',
    )
    .option('--timeout <seconds>', 'how long to wait until the broker is ready', parseSeconds, 90)
    .action(async (opts: { timeout: number }) => {
      const { brokerFilePath, brokersFromEnv, ensureBroker } = await localBroker();
      const env = brokersFromEnv();
      const broker = await ensureBroker({
        detached: true,
        timeoutMs: opts.timeout * 1000,
        log: (line) => info(`[lambda-streams] ${line}`),
      });
      if (broker.kind === 'env' && env) {
        info(`KAFKA_BROKERS is set; using that broker, nothing started.`);
      } else {
        const where = broker.kind === 'java' ? `java, pid ${broker.pid}, log ${broker.logFile}` : broker.kind;
        info(`Kafka broker ${broker.reused ? 'already running' : 'started'} (${where}).`);
        info(`Recorded in ${brokerFilePath()}; stop it with: npx lambda-streams kafka stop`);
      }
      process.stdout.write(`${broker.brokers.join(',')}\n`);
      exitWhenIdle();
    });

  kafka
    .command('stop')
    .description('stop the broker that `kafka start` started')
    .option('--force', 'also stop a broker that a running test process owns')
    .action(async (opts: { force?: boolean }) => {
      const { brokerFilePath, stopLocalBroker } = await localBroker();
      const stopped = await stopLocalBroker({
        log: (line) => info(`[lambda-streams] ${line}`),
        force: opts.force ?? false,
      });
      info(stopped ?? `no broker recorded in ${brokerFilePath()}; nothing to stop`);
      exitWhenIdle();
    });

  kafka
    .command('status')
    .description('show the recorded broker and whether it answers (exit code 1 when none runs)')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { brokerFileAlive, brokerFilePath, brokersFromEnv, readBrokerFile } = await localBroker();
      const { waitForBrokerReady } = await import('../kafka/broker-readiness.ts');
      const file = await readBrokerFile();
      const env = brokersFromEnv();
      let answering = false;
      let error: string | undefined;
      const alive = file !== undefined && brokerFileAlive(file);
      const target = env ?? (alive ? file?.brokers : undefined);
      if (target) {
        try {
          await waitForBrokerReady(target, { timeoutMs: 5_000, depth: 'metadata' });
          answering = true;
        } catch (err) {
          error = err instanceof Error ? err.message : String(err);
        }
      }
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ kafkaBrokersEnv: env ?? null, recorded: file ?? null, alive, answering, error: error ?? null }, null, 2)}\n`,
        );
      } else {
        if (env) process.stdout.write(`KAFKA_BROKERS=${env.join(',')} (takes precedence)\n`);
        if (!file) {
          process.stdout.write(`no broker recorded in ${brokerFilePath()}\n`);
        } else {
          const owner = file.detached ? 'started by `kafka start`' : `owned by process ${file.ownerPid}`;
          const what =
            file.kind === 'java'
              ? `java pid ${file.pid}, ${owner}, log ${file.logFile}`
              : `docker (${file.composeFile}), ${owner}`;
          const state = !alive ? 'not running (stale record)' : answering ? 'running' : 'not answering';
          process.stdout.write(`${file.brokers.join(',')}: ${state} — ${what}, started ${file.startedAt}\n`);
        }
        if (error && (env || alive)) process.stdout.write(`${error.split('\n')[0]}\n`);
      }
      if (!answering) process.exitCode = 1;
      exitWhenIdle();
    });
}
