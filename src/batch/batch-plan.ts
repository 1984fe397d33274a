/**
 * How a batch run executes a topology: which tasks exist, in which order their sub-topologies run,
 * and which process of a multi-process run owns each task.
 *
 * Sub-topologies connected by repartition topics form a graph. The batch layer runs it in stages:
 * a stage is a strongly connected component of that graph, stages run in topological order, and a
 * stage reads the repartition records of earlier stages complete and sorted by (timestamp, origin),
 * so its input order does not depend on how many processes computed the earlier stages. Tasks of an
 * acyclic stage are independent and spread over the processes by partition; a cycle (the two
 * directions of a foreign-key join) exchanges records while it runs, so one process (instance 0)
 * runs all of its tasks together, in timestamp order across them.
 */
import type { Topology } from '../topology/topology.ts';
import type { StoreKind } from '../state/store-export.ts';
import { planTopics, type SubTopologyPlan, type TopicPlan } from '../runtime/topic-plan.ts';

export interface BatchTask {
  /** Kafka Streams' task id, `<subtopology>_<partition>`: the speed layer's task of the same data. */
  id: string;
  subtopology: number;
  partition: number;
  /** The process of a multi-process run that runs this task (0 ... instances-1). */
  instance: number;
}

export interface BatchStage {
  index: number;
  subTopologies: SubTopologyPlan[];
  /** The sub-topologies feed each other (foreign-key joins): one process runs them together. */
  cyclic: boolean;
  tasks: BatchTask[];
}

export interface RepartitionRoute {
  /** Full topic name, as the speed layer names it. */
  topic: string;
  partitions: number;
  /** The sub-topology that reads the topic, and its stage. */
  consumer: number;
  stage: number;
  /**
   * Writer and reader run in the same (cyclic) stage: records go straight to the reading task while
   * the stage runs. Otherwise the writers ran in an earlier stage and the exchange carries them.
   */
  live: boolean;
}

export interface PublishedStore {
  name: string;
  kind: StoreKind;
  subtopology: number;
  /** Partitions of the view data topic: the store's task count, as its changelog. */
  partitions: number;
}

export interface BatchPlan {
  topics: TopicPlan;
  stages: BatchStage[];
  /** Repartition topics by full name. */
  repartition: Map<string, RepartitionRoute>;
  /** External topics the task sub-topologies read (the master dataset), sorted. */
  sourceTopics: string[];
  /** Topics the global stores are loaded from, sorted. */
  globalTopics: string[];
  /** Queryable stores of the tasks: what a view holds. */
  stores: PublishedStore[];
  instances: number;
}

/**
 * Plans a run over topics whose partition counts are `partitionCounts` (every external source
 * topic must be there; see planTopics for the errors).
 */
export function planBatch(
  applicationId: string,
  topology: Topology,
  partitionCounts: Map<string, number>,
  instances = 1,
  options: {
    requireSinkTopics?: boolean;
    /** Publish the DSL's internal stores too (unnamed aggregations, tables); tests compare them. */
    includeInternalStores?: boolean;
  } = {},
): BatchPlan {
  if (!Number.isInteger(instances) || instances < 1)
    throw new Error(`instances must be a positive integer, got ${instances}`);
  // Sink topics need not exist: a run writes them only when redirected (then it checks them itself).
  const topics = planTopics(applicationId, topology, partitionCounts, {
    requireSinkTopics: options.requireSinkTopics ?? false,
  });
  const subs = topics.subTopologies;
  const byId = new Map(subs.map((s) => [s.id, s]));
  const repartitionTopics = new Set(
    topology
      .internalTopics()
      .filter((t) => t.kind === 'repartition')
      .map((t) => `${applicationId}-${t.name}`),
  );
  const readerOf = new Map<string, number>();
  for (const sub of subs) for (const t of sub.sourceTopics) readerOf.set(t, sub.id);

  // Edges: a sub-topology writes a repartition topic another one reads.
  const writes = new Map<number, Set<number>>();
  for (const raw of topology.subTopologies()) {
    if (!byId.has(raw.id)) continue;
    const targets = new Set<number>();
    for (const sink of raw.sinkTopics) {
      if (!topology.isInternalTopic(sink)) continue;
      const reader = readerOf.get(`${applicationId}-${sink}`);
      if (reader !== undefined) targets.add(reader);
    }
    writes.set(raw.id, targets);
  }

  const components = stronglyConnected(
    subs.map((s) => s.id),
    (id) => [...(writes.get(id) ?? [])],
  );
  const stages: BatchStage[] = components.map((ids, index) => {
    const members = ids.sort((a, b) => a - b).map((id) => byId.get(id)!);
    const cyclic = members.length > 1 || (writes.get(members[0]!.id)?.has(members[0]!.id) ?? false);
    const tasks: BatchTask[] = [];
    for (const sub of members) {
      for (let p = 0; p < sub.partitions; p++) {
        tasks.push({
          id: `${sub.id}_${p}`,
          subtopology: sub.id,
          partition: p,
          instance: cyclic ? 0 : p % instances,
        });
      }
    }
    return { index, subTopologies: members, cyclic, tasks };
  });
  const stageOf = new Map<number, number>();
  for (const stage of stages) for (const sub of stage.subTopologies) stageOf.set(sub.id, stage.index);

  const repartition = new Map<string, RepartitionRoute>();
  for (const topic of repartitionTopics) {
    const consumer = readerOf.get(topic);
    if (consumer === undefined) continue;
    const writers = topology
      .subTopologies()
      .filter((s) => s.sinkTopics.some((t) => `${applicationId}-${t}` === topic))
      .map((s) => s.id);
    const stage = stageOf.get(consumer)!;
    repartition.set(topic, {
      topic,
      partitions: topics.partitionCounts.get(topic) ?? 0,
      consumer,
      stage,
      live: writers.length > 0 && writers.every((id) => stageOf.get(id) === stage),
    });
  }

  const stores: PublishedStore[] = [];
  for (const sub of subs) {
    for (const name of sub.stores) {
      const meta = topology.storeMetadata.get(name);
      if (!meta || (!meta.queryable && !options.includeInternalStores)) continue;
      stores.push({ name, kind: meta.kind, subtopology: sub.id, partitions: sub.partitions });
    }
  }
  stores.sort((a, b) => a.name.localeCompare(b.name));

  return {
    topics,
    stages,
    repartition,
    sourceTopics: [
      ...new Set(subs.flatMap((s) => s.sourceTopics).filter((t) => !repartitionTopics.has(t))),
    ].sort(),
    globalTopics: [...new Set(topics.globalSubTopologies.flatMap((s) => s.sourceTopics))].sort(),
    stores,
    instances,
  };
}

/**
 * Tarjan's algorithm; returns the components in topological order (a component comes before every
 * component it has an edge to). Deterministic for a given node order.
 */
export function stronglyConnected(nodes: number[], edges: (node: number) => number[]): number[][] {
  let counter = 0;
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const components: number[][] = [];
  const visit = (v: number): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...edges(v)].sort((a, b) => a - b)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...nodes].sort((a, b) => a - b)) if (!index.has(v)) visit(v);
  // Tarjan emits a component after everything it reaches: reverse for topological order.
  return components.reverse();
}
