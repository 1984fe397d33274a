import type { Topology } from './topology.ts';
import type { NodeDef } from './nodes.ts';

export interface NodeDescription {
  name: string;
  kind: 'source' | 'processor' | 'sink';
  /** Source: topics (or the pattern); sink: the topic or "extractor". */
  topics: string[];
  stores: string[];
  successors: string[];
  predecessors: string[];
}

export interface SubTopologyDescription {
  id: number;
  nodes: NodeDescription[];
}

export interface TopologyDescription {
  subTopologies: SubTopologyDescription[];
  /** Kafka Streams' TopologyDescription text format. */
  toString(): string;
  /** A Mermaid flowchart of the same graph. */
  toMermaid(): string;
}

/**
 * Describes the graph the way Kafka Streams prints it, so users can compare the two: nodes of a
 * sub-topology ordered by sub-tree size (largest first), then name.
 */
export function describeTopology(topology: Topology): TopologyDescription {
  const subTopologies = topology.subTopologies().map((sub) => {
    const inSub = new Set(sub.nodes);
    const size = new Map<string, number>();
    const sizeOf = (name: string): number => {
      const known = size.get(name);
      if (known !== undefined) return known;
      const s =
        1 + topology.children(name).reduce((acc, child) => acc + (inSub.has(child) ? sizeOf(child) : 0), 0);
      size.set(name, s);
      return s;
    };
    const compare = (a: string, b: string): number => sizeOf(b) - sizeOf(a) || (a < b ? -1 : a > b ? 1 : 0);
    const nodes = [...sub.nodes]
      .sort(compare)
      .map((name) => describeNode(topology, topology.node(name), compare));
    return { id: sub.id, nodes };
  });
  return {
    subTopologies,
    toString: () => formatText(subTopologies),
    toMermaid: () => formatMermaid(subTopologies),
  };
}

function describeNode(
  topology: Topology,
  def: NodeDef,
  compare: (a: string, b: string) => number,
): NodeDescription {
  const successors = topology.children(def.name).sort(compare);
  const predecessors = def.kind === 'source' ? [] : [...def.parents].sort(compare);
  if (def.kind === 'source') {
    return {
      name: def.name,
      kind: 'source',
      topics: def.pattern ? [def.pattern.source] : def.topics,
      stores: [],
      successors,
      predecessors,
    };
  }
  if (def.kind === 'sink') {
    return {
      name: def.name,
      kind: 'sink',
      topics: [typeof def.topic === 'string' ? def.topic : 'extractor'],
      stores: [],
      successors,
      predecessors,
    };
  }
  const stores = def.stores.filter((s) => !topology.isHiddenStore(s));
  return { name: def.name, kind: 'processor', topics: [], stores, successors, predecessors };
}

const names = (list: string[]): string => (list.length === 0 ? 'none' : list.join(', '));

function formatText(subTopologies: SubTopologyDescription[]): string {
  let out = 'Topologies:\n ';
  for (const sub of subTopologies) {
    out += `  Sub-topology: ${sub.id}\n`;
    for (const node of sub.nodes) {
      out += '    ';
      if (node.kind === 'source') {
        out += `Source: ${node.name} (topics: [${node.topics.join(', ')}])\n      --> ${names(node.successors)}`;
      } else if (node.kind === 'processor') {
        out += `Processor: ${node.name} (stores: [${node.stores.join(', ')}])\n      --> ${names(node.successors)}\n      <-- ${names(node.predecessors)}`;
      } else if (node.topics[0] === 'extractor') {
        out += `Sink: ${node.name} (extractor)\n      <-- ${names(node.predecessors)}`;
      } else {
        out += `Sink: ${node.name} (topic: ${node.topics[0]})\n      <-- ${names(node.predecessors)}`;
      }
      out += '\n';
    }
    out += '\n';
  }
  return out;
}

function formatMermaid(subTopologies: SubTopologyDescription[]): string {
  const id = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = ['flowchart TD'];
  const topicEdges: string[] = [];
  const topics = new Set<string>();
  for (const sub of subTopologies) {
    lines.push(`  subgraph sub${sub.id}["Sub-topology ${sub.id}"]`);
    for (const node of sub.nodes) {
      const label =
        node.kind === 'processor' && node.stores.length > 0
          ? `${node.name}<br/>stores: ${node.stores.join(', ')}`
          : node.name;
      const shape = node.kind === 'processor' ? `["${label}"]` : `(["${label}"])`;
      lines.push(`    ${id(node.name)}${shape}`);
    }
    for (const node of sub.nodes)
      for (const child of node.successors) lines.push(`    ${id(node.name)} --> ${id(child)}`);
    lines.push('  end');
    for (const node of sub.nodes) {
      for (const topic of node.topics) {
        if (node.kind === 'processor' || topic === 'extractor') continue;
        topics.add(topic);
        topicEdges.push(
          node.kind === 'source'
            ? `  topic_${id(topic)} --> ${id(node.name)}`
            : `  ${id(node.name)} --> topic_${id(topic)}`,
        );
      }
    }
  }
  for (const topic of topics) lines.push(`  topic_${id(topic)}[/"${topic}"/]`);
  lines.push(...topicEdges);
  return lines.join('\n') + '\n';
}
