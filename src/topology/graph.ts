/**
 * The topology as JSON for the operator's page (`GET /topology`, `/ui`): describe()'s sub-topologies
 * and nodes, plus what describe() leaves implicit: the stores with their changelog topics, the
 * internal topics under their full names, and the Mermaid text of the same graph.
 */
import type { NodeDescription } from './describe.ts';
import type { Topology } from './topology.ts';

export interface TopologyGraph {
  applicationId: string;
  bucketMs: number;
  subTopologies: Array<{
    id: number;
    /** A global table's updater: runs in every instance, not as tasks. */
    global: boolean;
    nodes: NodeDescription[];
  }>;
  stores: Array<{
    name: string;
    kind: 'key-value' | 'window' | 'session';
    /** Named with Materialized.as: queryable over HTTP and published in batch views. */
    queryable: boolean;
    mergeable: boolean;
    global: boolean;
    /** Full changelog topic name, or null when logging is off. */
    changelog: string | null;
  }>;
  /** Internal topics under their full names (`<applicationId>-<name>`), delta-index changelogs included. */
  internalTopics: Array<{ name: string; kind: 'repartition' | 'changelog' }>;
  mermaid: string;
}

export function topologyGraph(topology: Topology, applicationId: string, bucketMs: number): TopologyGraph {
  const description = topology.describe();
  const subs = topology.subTopologies();
  const internal = new Set(topology.internalTopics().map((t) => t.name));
  // Internal topic names in nodes are given without the application-id prefix, as Kafka Streams prints them.
  const stores = topology
    .stores()
    .filter((b) => !topology.isHiddenStore(b.name))
    .map((b) => {
      const meta = topology.storeMetadata.get(b.name);
      const changelog = `${b.name}-changelog`;
      return {
        name: b.name,
        kind: meta?.kind ?? 'key-value',
        queryable: meta?.queryable === true,
        mergeable: meta?.merge !== undefined,
        global: topology.globalStores.has(b.name),
        changelog: b.loggingEnabled && internal.has(changelog) ? `${applicationId}-${changelog}` : null,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    applicationId,
    bucketMs,
    subTopologies: description.subTopologies.map((sub) => ({
      id: sub.id,
      global: subs.find((s) => s.id === sub.id)?.global ?? false,
      nodes: sub.nodes,
    })),
    stores,
    internalTopics: topology
      .internalTopics()
      .map((t) => ({ name: `${applicationId}-${t.name}`, kind: t.kind }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    mermaid: description.toMermaid(),
  };
}
