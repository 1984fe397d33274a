/**
 * How `worker` and `batch` reach a secured Kafka cluster: TLS and SASL settings from flags or the
 * environment (Kafka's own names: security.protocol, sasl.mechanism). The SASL password is read
 * from KAFKA_SASL_PASSWORD or a file, never from a flag: a command line is visible to every user of
 * the machine (`ps`). Nothing here is ever logged.
 */
import { readFileSync } from 'node:fs';

import { Option, type Command } from 'commander';

import type { KafkaClientConfig } from '../kafka/client.ts';

export interface KafkaSecurityFlags {
  securityProtocol?: string;
  saslMechanism?: string;
  saslUsername?: string;
  saslPasswordFile?: string;
  sslCaFile?: string;
  sslCertFile?: string;
  sslKeyFile?: string;
}

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

export function addKafkaSecurityOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--security-protocol <protocol>', 'how to reach the brokers (Kafka security.protocol)')
        .choices([...PROTOCOLS])
        .env('KAFKA_SECURITY_PROTOCOL'),
    )
    .addOption(
      new Option('--sasl-mechanism <mechanism>', 'SASL mechanism (with SASL_PLAINTEXT or SASL_SSL)')
        .choices([...MECHANISMS])
        .env('KAFKA_SASL_MECHANISM'),
    )
    .addOption(new Option('--sasl-username <user>', 'SASL user name').env('KAFKA_SASL_USERNAME'))
    .addOption(
      new Option(
        '--sasl-password-file <file>',
        'file holding the SASL password (or set KAFKA_SASL_PASSWORD; there is no password flag)',
      ).env('KAFKA_SASL_PASSWORD_FILE'),
    )
    .addOption(
      new Option('--ssl-ca-file <file>', 'PEM file of the CA that signed the brokers').env(
        'KAFKA_SSL_CA_FILE',
      ),
    )
    .addOption(
      new Option('--ssl-cert-file <file>', 'PEM client certificate (mutual TLS)').env('KAFKA_SSL_CERT_FILE'),
    )
    .addOption(new Option('--ssl-key-file <file>', 'PEM client key (mutual TLS)').env('KAFKA_SSL_KEY_FILE'));
}

/** Settings that do not add up (the CLI prints the message and exits 1). */
export class KafkaSecuritySettingsError extends Error {
  override name = 'KafkaSecuritySettingsError';
}

/** The client's ssl and sasl settings; {} for PLAINTEXT. Throws KafkaSecuritySettingsError on a half setup. */
export function kafkaSecurityFrom(
  flags: KafkaSecurityFlags,
  env: NodeJS.ProcessEnv = process.env,
): Pick<KafkaClientConfig, 'ssl' | 'sasl'> {
  const protocol = flags.securityProtocol ?? (flags.saslMechanism ? 'SASL_PLAINTEXT' : 'PLAINTEXT');
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const out: Pick<KafkaClientConfig, 'ssl' | 'sasl'> = {};
  if (usesTls) {
    const ca = readSetting(flags.sslCaFile, 'CA');
    const cert = readSetting(flags.sslCertFile, 'client certificate');
    const key = readSetting(flags.sslKeyFile, 'client key');
    out.ssl =
      ca || cert || key
        ? { ...(ca ? { ca: [ca] } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }
        : true;
  } else if (flags.sslCaFile || flags.sslCertFile || flags.sslKeyFile) {
    throw new KafkaSecuritySettingsError(
      `TLS files given, but --security-protocol is ${protocol} (use SSL or SASL_SSL)`,
    );
  }
  if (usesSasl) {
    const mechanism = flags.saslMechanism;
    if (!mechanism)
      throw new KafkaSecuritySettingsError(`--security-protocol ${protocol} needs --sasl-mechanism`);
    const username = flags.saslUsername;
    let password = env.KAFKA_SASL_PASSWORD;
    if (flags.saslPasswordFile !== undefined)
      password = readSetting(flags.saslPasswordFile, 'SASL password')!.replace(/\r?\n$/, '');
    if (!username || password === undefined)
      throw new KafkaSecuritySettingsError(
        `SASL ${mechanism} needs --sasl-username and a password (KAFKA_SASL_PASSWORD or --sasl-password-file)`,
      );
    out.sasl = { mechanism, username, password };
  } else if (flags.saslMechanism || flags.saslUsername || flags.saslPasswordFile) {
    throw new KafkaSecuritySettingsError(`SASL settings given, but --security-protocol is ${protocol}`);
  }
  return out;
}

/** A file the settings name, read whole; a file that cannot be read is a settings error. */
function readSetting(file: string | undefined, what: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new KafkaSecuritySettingsError(`cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
}
