/**
 * When did a system start processing? The first moment its consumer group is Stable with an
 * assignment: the process has started, joined the group and received its partitions (with empty
 * stores, restoration is instant). Polled from outside with kafkajs' admin, every 100 ms.
 */
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

export class GroupJoinWatcher {
  private readonly admin: Admin;
  private stopped = false;
  /** Resolves with Date.now() of the first Stable state with an assignment (undefined if stopped first). */
  readonly joined: Promise<number | undefined>;

  constructor(brokers: string[], groupId: string, intervalMs = 100) {
    const kafka = new Kafka({ brokers, clientId: 'bench-group-watch', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    this.admin = admin;
    this.joined = (async () => {
      await admin.connect();
      while (!this.stopped) {
        try {
          const { groups } = await admin.describeGroups([groupId]);
          const group = groups[0];
          if (group?.state === 'Stable' && group.members.some((m) => m.memberAssignment.length > 0)) {
            return Date.now();
          }
        } catch {
          // the coordinator may not know the group yet
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
      return undefined;
    })();
    this.joined.catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.joined.catch(() => undefined);
    await this.admin.disconnect().catch(() => {});
  }
}
