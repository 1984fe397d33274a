/**
 * The commit-before-rejoin hook (src/kafka/kafkajs-rejoin.ts) relies on two things kafkajs does not
 * promise: partition assigners get the consumer's own cluster, and every join starts with
 * cluster.findGroupCoordinator() before the JoinGroup request. These tests pin both on the installed
 * kafkajs, and fail with the reason when an upgrade changes them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import kafkajs from 'kafkajs';
import type { Cluster, PartitionAssigner } from 'kafkajs';
import { describe, expect, it } from 'vitest';

import { KAFKAJS_INTERNALS_CHANGED, RejoinGuard } from '../../../src/kafka/kafkajs-rejoin.ts';

const require = createRequire(import.meta.url);
const PINNED = '2.2.4';

/** Loads a kafkajs module by its path inside the package, or fails saying what the hook relies on. */
function kafkajsInternal<T>(module: string): T {
  try {
    return require(`kafkajs/${module}`) as T;
  } catch (error) {
    throw new Error(`${KAFKAJS_INTERNALS_CHANGED}: cannot load kafkajs/${module}`, { cause: error });
  }
}

const silentLogger = {
  namespace: () => silentLogger,
  info: () => {},
  debug: () => {},
  warn: () => {},
  error: () => {},
};

describe('kafkajs pin', () => {
  it(`is exactly ${PINNED}, in package.json and installed`, () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies.kafkajs, 'package.json must pin kafkajs exactly (see kafkajs-rejoin.ts)').toBe(
      PINNED,
    );
    const installed = kafkajsInternal<{ version: string }>('package.json').version;
    expect(installed, `${KAFKAJS_INTERNALS_CHANGED}; installed kafkajs ${installed}`).toBe(PINNED);
  });
});

describe('RejoinGuard on kafkajs', () => {
  it('gets each consumer its own cluster and shadows findGroupCoordinator on that instance only', () => {
    const kafka = new kafkajs.Kafka({ brokers: ['127.0.0.1:1'], logLevel: kafkajs.logLevel.NOTHING });
    const clusters: Cluster[] = [];
    const capture: PartitionAssigner = (config) => {
      clusters.push(config.cluster);
      return kafkajs.PartitionAssigners.roundRobin(config);
    };
    const guard = new RejoinGuard(async () => {});
    kafka.consumer({ groupId: 'a', partitionAssigners: [guard.wrap(capture)] });
    kafka.consumer({ groupId: 'b', partitionAssigners: [capture] });
    expect(clusters, `${KAFKAJS_INTERNALS_CHANGED}: assigners got no cluster`).toHaveLength(2);
    const [guarded, other] = clusters as [Cluster, Cluster];
    expect(guarded).not.toBe(other);
    expect(Object.hasOwn(guarded, 'findGroupCoordinator')).toBe(true);
    // No process-wide patch: another consumer's cluster keeps kafkajs' own method.
    expect(Object.hasOwn(other, 'findGroupCoordinator')).toBe(false);
    expect(typeof other.findGroupCoordinator, KAFKAJS_INTERNALS_CHANGED).toBe('function');
  });

  it("runs the hook before kafkajs' ConsumerGroup sends JoinGroup, once per generation", async () => {
    const ConsumerGroup = kafkajsInternal<
      new (options: Record<string, unknown>) => { joinAndSync(): Promise<void> }
    >('src/consumer/consumerGroup');
    const calls: string[] = [];
    const joinRefused = new Error('test: JoinGroup refused');
    const cluster = {
      findGroupCoordinator: async () => {
        calls.push('findGroupCoordinator');
        return {
          joinGroup: async () => {
            calls.push('joinGroup');
            throw joinRefused;
          },
        };
      },
    } as unknown as Cluster;
    const guard = new RejoinGuard(async () => {
      calls.push('hook');
    });
    guard.wrap(kafkajs.PartitionAssigners.roundRobin)({
      cluster,
      groupId: 'g',
      logger: silentLogger as never,
    });
    const group = new ConsumerGroup({
      retry: { retries: 0 },
      cluster,
      groupId: 'g',
      topics: ['t'],
      topicConfigurations: {},
      logger: silentLogger,
      instrumentationEmitter: { emit: () => {} },
      assigners: [],
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
    });

    // A member that never joined has nothing to commit.
    await expect(group.joinAndSync()).rejects.toThrow();
    expect(calls, `${KAFKAJS_INTERNALS_CHANGED}: the join no longer looks up the coordinator first`).toEqual([
      'findGroupCoordinator',
      'joinGroup',
    ]);

    calls.length = 0;
    guard.joined();
    await expect(group.joinAndSync()).rejects.toThrow();
    await expect(group.joinAndSync()).rejects.toThrow();
    expect(calls, `${KAFKAJS_INTERNALS_CHANGED}: the hook did not run before JoinGroup`).toEqual([
      'hook',
      'findGroupCoordinator',
      'joinGroup',
      // The same generation's next attempt does not commit again.
      'findGroupCoordinator',
      'joinGroup',
    ]);

    calls.length = 0;
    guard.joined();
    guard.reset(); // crashed: kafkajs restarts the consumer as a new member
    await expect(group.joinAndSync()).rejects.toThrow();
    expect(calls).toEqual(['findGroupCoordinator', 'joinGroup']);
  });

  it('refuses an assigner config without a cluster, naming the reason', () => {
    const guard = new RejoinGuard(async () => {});
    expect(() =>
      guard.wrap(kafkajs.PartitionAssigners.roundRobin)({
        cluster: {} as Cluster,
        groupId: 'g',
        logger: silentLogger as never,
      }),
    ).toThrow(KAFKAJS_INTERNALS_CHANGED);
  });
});
