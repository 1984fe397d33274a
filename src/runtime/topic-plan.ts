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

/** A global store's sub-topology: run by every instance over all partitions of its topics. */
export interface GlobalSubTopologyPlan {
  id: number;
  nodes: Set<string>;
  sourceTopics: string[];
  stores: string[];
}

export interface TopicPlan {
  /** Sub-topologies that run as tasks (global ones excluded). */
  subTopologies: SubTopologyPlan[];
  globalSubTopologies: GlobalSubTopologyPlan[];
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
 * contain every external source topic, and the topics that source patterns may match). A pattern
 * source reads every existing topic it matches (not the application's internal topics, nor topics
 * read by name elsewhere). Throws a TopologyTopicsError naming missing topics or co-partitioning
 * violations.
 */
export function planTopics(
  applicationId: string,
  topology: Topology,
  existing: Map<string, number>,
  options: { requireSinkTopics?: boolean } = {},
): TopicPlan {
  const resolve = (t: string): string =>
    topology.isInternalTopic(t) ? internalTopicName(applicationId, t) : t;
  const named = new Set(topology.subTopologies().flatMap((s) => s.sourceTopics));
  const subs = topology.subTopologies().map((sub) => {
    if (sub.sourcePatterns.length === 0) return sub;
    const patterns = sub.sourcePatterns.map((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, '')));
    const matched = [...existing.keys()]
      .filter((t) => !t.startsWith(`${applicationId}-`) && !named.has(t) && patterns.some((p) => p.test(t)))
      .sort();
    if (matched.length === 0) {
      throw new TopologyTopicsError(
        `Sub-topology ${sub.id}: no topic matches ${sub.sourcePatterns.map(String).join(', ')}; ` +
          `create a matching topic before starting the application`,
      );
    }
    return { ...sub, sourceTopics: [...sub.sourceTopics, ...matched] };
  });
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
  // Output topics are not created automatically (as in Kafka Streams): say so before processing starts,
  // instead of failing at the first produce with a broker error that names no topic.
  const missingSinks = [
    ...new Set(
      subs.flatMap((s) => s.sinkTopics).filter((t) => !topology.isInternalTopic(t) && !existing.has(t)),
    ),
  ];
  if (missingSinks.length > 0 && options.requireSinkTopics !== false) {
    throw new TopologyTopicsError(
      `Output topic(s) ${missingSinks.map((t) => `'${t}'`).join(', ')} do not exist; create them before starting the application`,
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
  const globalSubTopologies: GlobalSubTopologyPlan[] = subs
    .filter((s) => s.global)
    .map((s) => ({
      id: s.id,
      nodes: new Set(s.nodes),
      sourceTopics: s.sourceTopics.map(resolve),
      stores: s.stores,
    }));
  const subTopologies: SubTopologyPlan[] = subs
    .filter((s) => !s.global)
    .map((s) => {
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
      // Global stores a task reads (global-table joins) belong to the instance, not to the task.
      const stores = s.stores.filter((store) => !topology.globalStores.has(store));
      return { id: s.id, nodes: new Set(s.nodes), sourceTopics, stores, partitions };
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
    globalSubTopologies,
    internalTopics,
    changelogs,
    partitionCounts: counts,
    taskSpecs: subTopologies.map((s) => ({ subtopology: s.id, topics: s.sourceTopics })),
  };
}
