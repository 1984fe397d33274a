/**
 * Which topics a topology needs on the cluster and how many partitions each gets, as Kafka Streams'
 * InternalTopicManager / RepartitionTopics decide: a repartition topic gets the largest partition
 * count of the source topics of the sub-topology that writes it (or its fixed count), a changelog gets
 * the task count of the sub-topology that owns the store. Co-partitioning is checked per sub-topology.
 */
import type { Topology } from '../topology/topology.ts';
import type { NewTopic } from '../kafka/client.ts';
import type { TaskSpec } from './task-assignor.ts';

export class TopologyTopicsError extends Error {
  override name = 'TopologyTopicsError';
}

export interface SubTopologyPlan {
  id: number;
  nodes: Set<string>;
  /** Full source topic names. */
  sourceTopics: string[];
  stores: string[];
  /** Tasks (= partitions) of this sub-topology. */
  partitions: number;
}

export interface TopicPlan {
  subTopologies: SubTopologyPlan[];
  /** Internal topics to create, with full names. */
  internalTopics: NewTopic[];
  /** store name → full changelog topic (logged stores only). */
  changelogs: Map<string, string>;
  /** Partition count of every topic the topology reads or writes (where known). */
  partitionCounts: Map<string, number>;
  taskSpecs: TaskSpec[];
}

export function internalTopicName(applicationId: string, name: string): string {
  return `${applicationId}-${name}`;
}

/**
 * Plans internal topics from the partition counts of the external source topics (`existing`; must
 * contain every external source topic). Throws a TopologyTopicsError naming missing topics or
 * co-partitioning violations.
 */
export function planTopics(
  applicationId: string,
  topology: Topology,
  existing: Map<string, number>,
): TopicPlan {
  const resolve = (t: string): string =>
    topology.isInternalTopic(t) ? internalTopicName(applicationId, t) : t;
  const subs = topology.subTopologies();
  for (const sub of subs) {
    if (sub.sourcePatterns.length > 0) {
      throw new TopologyTopicsError(
        `Sub-topology ${sub.id}: pattern subscriptions are not supported by the runtime yet`,
      );
    }
  }
  const internalDefs = new Map(topology.internalTopics().map((d) => [d.name, d]));
  const missing = [
    ...new Set(
      subs.flatMap((s) => s.sourceTopics).filter((t) => !topology.isInternalTopic(t) && !existing.has(t)),
    ),
  ];
  if (missing.length > 0) {
    throw new TopologyTopicsError(
      `Source topic(s) ${missing.map((t) => `'${t}'`).join(', ')} do not exist; create them before starting the application`,
    );
  }
  const counts = new Map(existing);
  // Repartition topics: fixed count, or the max over the sources of the writing sub-topology; iterate
  // because a writer may itself read repartition topics.
  const repartition = [...internalDefs.values()].filter((d) => d.kind === 'repartition');
  for (const def of repartition) if (def.numPartitions) counts.set(resolve(def.name), def.numPartitions);
  for (let round = 0; round <= repartition.length; round++) {
    let changed = false;
    for (const def of repartition) {
      if (def.numPartitions) continue;
      const writers = subs.filter((s) => s.sinkTopics.includes(def.name));
      const upstream = writers.flatMap((s) => s.sourceTopics.map((t) => counts.get(resolve(t)) ?? 0));
      const n = Math.max(0, ...upstream);
      if (n > 0 && counts.get(resolve(def.name)) !== n) {
        counts.set(resolve(def.name), n);
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (const group of topology.copartitionGroups) {
    const n = Math.max(0, ...group.map((t) => counts.get(resolve(t)) ?? 0));
    for (const t of group) {
      const def = internalDefs.get(t);
      if (def && !def.numPartitions) counts.set(resolve(t), n);
    }
  }
  const subTopologies: SubTopologyPlan[] = subs.map((s) => {
    const sourceTopics = s.sourceTopics.map(resolve);
    const sizes = sourceTopics.map((t) => ({ topic: t, partitions: counts.get(t) ?? 0 }));
    const distinct = new Set(sizes.map((x) => x.partitions));
    if (distinct.size > 1) {
      throw new TopologyTopicsError(
        `Sub-topology ${s.id} reads topics that are not co-partitioned (they must have the same number of partitions): ` +
          sizes.map((x) => `${x.topic} has ${x.partitions}`).join(', '),
      );
    }
    const partitions = sizes[0]?.partitions ?? 0;
    if (partitions === 0)
      throw new TopologyTopicsError(`Sub-topology ${s.id}: cannot determine its partition count`);
    return { id: s.id, nodes: new Set(s.nodes), sourceTopics, stores: s.stores, partitions };
  });
  const internalTopics: NewTopic[] = [];
  const changelogs = new Map<string, string>();
  for (const def of internalDefs.values()) {
    const name = resolve(def.name);
    if (def.kind === 'repartition') {
      const n = counts.get(name);
      if (!n)
        throw new TopologyTopicsError(`Cannot determine the partition count of repartition topic ${name}`);
      internalTopics.push({ name, partitions: n, config: { 'cleanup.policy': 'delete', ...def.config } });
    }
  }
  for (const sub of subTopologies) {
    for (const store of sub.stores) {
      const builder = topology.storeBuilder(store);
      if (!builder.loggingEnabled) continue;
      const def = internalDefs.get(`${store}-changelog`);
      const name = internalTopicName(applicationId, `${store}-changelog`);
      changelogs.set(store, name);
      counts.set(name, sub.partitions);
      internalTopics.push({
        name,
        partitions: sub.partitions,
        config: { 'cleanup.policy': 'compact', ...(def?.config ?? {}), ...builder.changelogConfig },
      });
    }
  }
  return {
    subTopologies,
    internalTopics,
    changelogs,
    partitionCounts: counts,
    taskSpecs: subTopologies.map((s) => ({ subtopology: s.id, topics: s.sourceTopics })),
  };
}
