/**
 * Commit before every re-join, on kafkajs, for one consumer only (Java's onPartitionsRevoked).
 *
 * Why: kafkajs learns of a rebalance in several places (its own heartbeat between fetches, a failed
 * fetch or commit) and re-joins at once. Its events (REBALANCING, GROUP_JOIN) are not awaited and the
 * assignor's `protocol()` is synchronous, so nothing public can delay a re-join. A commit that races
 * the re-join is rejected (ILLEGAL_GENERATION) once the new generation forms, after the outputs and
 * changelogs were already produced: the next owner re-reads those records and, under at_least_once,
 * counts them twice (test/integration/runtime-rebalance.test.ts). The coordinator accepts a commit
 * of the current generation while it waits for members to re-join, so the commit must finish before
 * this member sends its JoinGroup.
 *
 * How: kafkajs hands every partition assigner factory the consumer's own `cluster` (documented
 * `PartitionAssigner` argument, typed `Cluster` in kafkajs' public types; each consumer gets a cluster
 * of its own). A join starts with `cluster.findGroupCoordinator()` and only then sends JoinGroup. We
 * shadow that one method on that one cluster instance: no prototype, no other consumer is touched.
 * That a join starts there is kafkajs-internal (ConsumerGroup's join in 2.2.4), so kafkajs is pinned
 * to 2.2.4 and test/unit/kafka/kafkajs-rejoin.test.ts fails with a clear message if it changes.
 */
import type { Cluster, PartitionAssigner } from 'kafkajs';

export const KAFKAJS_INTERNALS_CHANGED =
  'kafkajs internals changed: the commit-before-rejoin hook (src/kafka/kafkajs-rejoin.ts) relies on ' +
  'kafkajs 2.2.4 handing partition assigners the consumer cluster and starting every join with ' +
  'cluster.findGroupCoordinator(); re-check that before upgrading kafkajs';

/**
 * Tracks one consumer's membership and runs a hook before it re-joins its group: once per generation
 * (the join's own retries do not repeat it) and only for a member that has joined (kafkajs restarts a
 * crashed consumer as a new member, which has nothing to commit for its old generation).
 */
export class RejoinGuard {
  private member = false;

  constructor(private readonly beforeRejoin: () => Promise<void>) {}

  /** Wraps the consumer's assigner factory so that its cluster runs the hook before each join. */
  wrap(factory: PartitionAssigner): PartitionAssigner {
    return (config) => {
      shadowFindGroupCoordinator(config.cluster, () => this.onJoinStarting());
      return factory(config);
    };
  }

  /** The consumer joined a generation (GROUP_JOIN). */
  joined(): void {
    this.member = true;
  }

  /** The consumer crashed or left: the next join is a new member's. */
  reset(): void {
    this.member = false;
  }

  private async onJoinStarting(): Promise<void> {
    if (!this.member) return;
    this.member = false;
    await this.beforeRejoin();
  }
}

function shadowFindGroupCoordinator(cluster: Cluster, beforeJoin: () => Promise<void>): void {
  const original = cluster?.findGroupCoordinator as Cluster['findGroupCoordinator'] | undefined;
  if (typeof original !== 'function') {
    throw new Error(`${KAFKAJS_INTERNALS_CHANGED} (the assigner got no cluster.findGroupCoordinator)`);
  }
  // An own property of this instance shadows the prototype's method for this consumer only.
  cluster.findGroupCoordinator = async function (this: Cluster, group) {
    await beforeJoin();
    return original.call(this, group);
  };
}
