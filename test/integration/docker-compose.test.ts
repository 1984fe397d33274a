/**
 * docker-compose.yml (Docker path) and src/kafka/broker-config.ts (Java path) configure the same broker.
 * No Docker engine is needed: this reads the file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  dockerEnvName,
  KAFKA_VERSION,
  SINGLE_NODE_SETTINGS,
  serverSettings,
} from '../../src/kafka/broker-config.ts';

const composeText = readFileSync(fileURLToPath(new URL('../../docker-compose.yml', import.meta.url)), 'utf8');

function composeEnvironment(): Map<string, string> {
  const env = new Map<string, string>();
  for (const match of composeText.matchAll(/^ {6}(KAFKA_[A-Z_]+):\s*(.*?)\s*$/gm)) {
    env.set(match[1] ?? '', (match[2] ?? '').replace(/^'(.*)'$/, '$1'));
  }
  return env;
}

describe('docker-compose.yml', () => {
  it('runs the same Kafka version as the broker jars', () => {
    expect(composeText).toContain(`image: apache/kafka:${KAFKA_VERSION}`);
    const pom = readFileSync(fileURLToPath(new URL('../../kafka/pom.xml', import.meta.url)), 'utf8');
    expect(pom).toContain(`<kafka.version>${KAFKA_VERSION}</kafka.version>`);
  });

  it('sets every single-node setting of the Java path to the same value', () => {
    const env = composeEnvironment();
    for (const [setting, value] of Object.entries(SINGLE_NODE_SETTINGS)) {
      expect(env.get(dockerEnvName(setting)), setting).toBe(value);
    }
  });

  it('configures a combined KRaft broker+controller like the Java path', () => {
    const env = composeEnvironment();
    const java = serverSettings({ port: 9092, controllerPort: 9093, dataDir: '/unused' });
    for (const setting of [
      'process.roles',
      'node.id',
      'controller.listener.names',
      'inter.broker.listener.name',
    ]) {
      expect(env.get(dockerEnvName(setting)), setting).toBe(java[setting]);
    }
    // Clients on the host reach the broker at localhost (the Java path's only listener); the stack's
    // containers through a second listener on the compose network.
    expect(env.get('KAFKA_ADVERTISED_LISTENERS')?.split(',')).toEqual([
      'PLAINTEXT://localhost:${LAMBDA_STREAMS_KAFKA_PORT:-9092}',
      'STACK://kafka:19092',
    ]);
    const protocols = new Map(
      (env.get('KAFKA_LISTENER_SECURITY_PROTOCOL_MAP') ?? '')
        .split(',')
        .map((p) => p.split(':') as [string, string]),
    );
    for (const listener of (env.get('KAFKA_LISTENERS') ?? '').split(',')) {
      expect(protocols.get(listener.split(':')[0]!), listener).toBe('PLAINTEXT');
    }
  });
});
