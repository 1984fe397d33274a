/**
 * Configuration of the single-node Apache Kafka broker that lambda-streams starts for development,
 * tests, the demo and benchmarks. The Java path (local-broker.ts) writes these settings into
 * server.properties; docker-compose.yml sets the same values as KAFKA_* environment variables
 * (test/integration/docker-compose.test.ts keeps the two in sync).
 */

/** Apache Kafka version of the broker jars (kafka/pom.xml) and of the Docker image (docker-compose.yml). */
export const KAFKA_VERSION = '3.9.1';
export const KAFKA_SCALA_VERSION = '2.13';

/**
 * Settings that make one combined broker+controller node fit for consumer groups and transactions,
 * and quick to become ready. Shared by the Java path and docker-compose.yml.
 */
export const SINGLE_NODE_SETTINGS: Readonly<Record<string, string>> = {
  // Internal topics of one node can have one replica only; transactions need min.isr 1 as well.
  'offsets.topic.replication.factor': '1',
  'transaction.state.log.replication.factor': '1',
  'transaction.state.log.min.isr': '1',
  'default.replication.factor': '1',
  'min.insync.replicas': '1',
  // Fewer partitions for the internal topics (default 50 each): the coordinators load in a second.
  'offsets.topic.num.partitions': '5',
  'transaction.state.log.num.partitions': '5',
  // Groups form at once instead of waiting 3 s for more members.
  'group.initial.rebalance.delay.ms': '0',
  // Let tests use short session timeouts (default minimum is 6 s) to exercise failover quickly.
  'group.min.session.timeout.ms': '1000',
  'num.partitions': '1',
  // Topics are created explicitly (as Kafka Streams does for its internal topics): a typo in a topic
  // name fails loudly instead of silently creating a new one-partition topic.
  'auto.create.topics.enable': 'false',
  // The log cleaner's dedupe buffer defaults to 128 MB of heap; a small broker heap cannot spare that.
  'log.cleaner.dedupe.buffer.size': String(32 * 1024 * 1024),
};

export interface ServerPropertiesInput {
  /** PLAINTEXT listener port on 127.0.0.1 (clients use it). */
  port: number;
  /** CONTROLLER listener port on 127.0.0.1 (KRaft quorum). */
  controllerPort: number;
  /** Directory for the partition logs and KRaft metadata. */
  dataDir: string;
  /** Host for the listeners and the advertised listener; default 127.0.0.1. */
  host?: string;
  /**
   * A second client listener, SASL_PLAINTEXT with the PLAIN mechanism, for these users (name →
   * password): tests of secured connections. The PLAINTEXT listener stays (readiness, admin).
   */
  saslPlain?: { port: number; users: Readonly<Record<string, string>> };
}

/** A JAAS value quoted for server.properties (PLAIN users and passwords). */
function jaasQuoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The settings of a combined broker+controller KRaft node (node.id 1) listening on loopback. */
export function serverSettings(input: ServerPropertiesInput): Record<string, string> {
  const host = input.host ?? '127.0.0.1';
  const sasl = input.saslPlain;
  const saslListener = sasl ? `,SASL_PLAINTEXT://${host}:${sasl.port}` : '';
  return {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${host}:${input.controllerPort}`,
    listeners: `PLAINTEXT://${host}:${input.port},CONTROLLER://${host}:${input.controllerPort}${saslListener}`,
    'advertised.listeners': `PLAINTEXT://${host}:${input.port}${saslListener}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${sasl ? ',SASL_PLAINTEXT:SASL_PLAINTEXT' : ''}`,
    'log.dirs': input.dataDir,
    ...(sasl
      ? {
          'sasl.enabled.mechanisms': 'PLAIN',
          'listener.name.sasl_plaintext.plain.sasl.jaas.config':
            'org.apache.kafka.common.security.plain.PlainLoginModule required ' +
            Object.entries(sasl.users)
              .map(([user, password]) => `user_${user}=${jaasQuoted(password)}`)
              .join(' ') +
            ';',
        }
      : {}),
    ...SINGLE_NODE_SETTINGS,
  };
}

/** Renders settings in java.util.Properties format (values escaped where Properties needs it). */
export function renderProperties(settings: Readonly<Record<string, string>>, header?: string): string {
  const escape = (value: string): string =>
    value
      .replace(/\\/g, '\\\\')
      .replace(/\n/g, '\\n')
      .replace(/^\s/, (s) => `\\${s}`);
  const lines = header ? header.split('\n').map((line) => `# ${line}`) : [];
  for (const [key, value] of Object.entries(settings)) lines.push(`${key}=${escape(value)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * log4j 1.x (reload4j) configuration: everything goes to one file in the broker's directory, never to
 * the console. Noisy loggers are turned down as in Kafka's own config/log4j.properties.
 */
export function log4jProperties(logFile: string): string {
  return renderProperties({
    'log4j.rootLogger': 'INFO, file',
    'log4j.appender.file': 'org.apache.log4j.RollingFileAppender',
    'log4j.appender.file.File': logFile,
    'log4j.appender.file.MaxFileSize': '50MB',
    'log4j.appender.file.MaxBackupIndex': '2',
    'log4j.appender.file.layout': 'org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern': '[%d] %p %m (%c)%n',
    'log4j.logger.kafka': 'INFO',
    'log4j.logger.org.apache.kafka': 'INFO',
    'log4j.logger.kafka.request.logger': 'WARN',
    'log4j.logger.kafka.network.RequestChannel$': 'WARN',
    'log4j.logger.kafka.log.LogCleaner': 'INFO',
    'log4j.logger.state.change.logger': 'WARN',
    'log4j.logger.kafka.authorizer.logger': 'WARN',
  });
}

/** The docker-compose.yml environment variable that carries a broker setting (apache/kafka image convention). */
export function dockerEnvName(setting: string): string {
  return `KAFKA_${setting.toUpperCase().replace(/\./g, '_')}`;
}
