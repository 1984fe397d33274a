/**
 * Internal topics (Kafka Streams' InternalTopicManager): the plan of repartition topics and
 * changelogs (topic-plan.ts) from the partition counts of the topics the topology reads and writes,
 * creation of the missing ones, and a check that those that exist have the planned partition counts.
 */
import type { Logger } from 'pino';

import type { KafkaAdmin } from '../kafka/client.ts';
import type { Topology } from '../topology/topology.ts';
import { planTopics, type TopicPlan } from './topic-plan.ts';

export class InternalTopicManager {
  constructor(
    private readonly applicationId: string,
    private readonly topology: Topology,
    private readonly admin: KafkaAdmin,
    private readonly log: Logger,
  ) {}

  /** Plans, creates and validates the internal topics; the plan drives tasks and changelogs. */
  async prepare(): Promise<TopicPlan> {
    const plan = await this.plan();
    const created = await this.admin.createTopics(plan.internalTopics);
    if (created.length > 0) this.log.info({ topics: created }, `created ${created.length} internal topic(s)`);
    await this.validate(plan);
    return plan;
  }

  /** The plan for the topics as they exist now (source and sink topics must exist). */
  async plan(): Promise<TopicPlan> {
    const subs = this.topology.subTopologies();
    const external = (topics: string[]): string[] => [
      ...new Set(topics.filter((t) => !this.topology.isInternalTopic(t))),
    ];
    const sources = external(subs.flatMap((s) => s.sourceTopics));
    const sinks = external(subs.flatMap((s) => s.sinkTopics));
    const matching = await this.patternTopics();
    const existing = await this.admin.partitionCounts([...sources, ...sinks, ...matching]);
    return planTopics(this.applicationId, this.topology, existing);
  }

  /** Existing internal topics must have the planned partition counts. */
  async validate(plan: TopicPlan): Promise<void> {
    const actual = await this.admin.partitionCounts(plan.internalTopics.map((t) => t.name));
    for (const t of plan.internalTopics) {
      const n = actual.get(t.name);
      if (n !== undefined && n !== t.partitions) {
        throw new Error(
          `Internal topic ${t.name} has ${n} partitions but the topology needs ${t.partitions}; ` +
            `reset the application (delete its internal topics) after changing source partition counts`,
        );
      }
    }
  }

  /** Pattern sources read the topics that match when the instance starts. */
  private async patternTopics(): Promise<string[]> {
    const patterns = this.topology.subTopologies().flatMap((s) => s.sourcePatterns);
    if (patterns.length === 0) return [];
    return (await this.admin.listTopics()).filter(
      (t) =>
        !t.startsWith('__') &&
        patterns.some((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, '')).test(t)),
    );
  }
}
