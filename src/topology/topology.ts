import type { ProcessorSupplier } from '../processor/api.ts';
import { serdeName, type Serde } from '../serde/serde.ts';
import { Serdes } from '../serde/index.ts';
import type { StoreBuilder } from '../state/types.ts';
import { describeTopology, type TopologyDescription } from './describe.ts';
import type {
  InternalTopicDef,
  NodeDef,
  ProcessorNodeDef,
  SinkNodeDef,
  SourceNodeDef,
  StreamPartitioner,
  TimestampExtractor,
  TopicNameExtractor,
} from './nodes.ts';

export class TopologyError extends Error {
  override name = 'TopologyError';
}

/** A connected part of the graph: the unit that becomes one task per input partition. */
export interface SubTopology {
  id: number;
  /** Node names in insertion order. */
  nodes: string[];
  /** Topics this sub-topology reads; internal topics are given without the application-id prefix. */
  sourceTopics: string[];
  /** Source patterns (subscribed topics resolved at runtime). */
  sourcePatterns: RegExp[];
  /** Store names used by nodes of this sub-topology. */
  stores: string[];
  /** Topics written by sinks of this sub-topology (static names only). */
  sinkTopics: string[];
  /** A global store's source and updater: runs in every instance over all partitions, not as tasks. */
  global: boolean;
}

/** DSL facts about a store, beyond its builder. */
export interface StoreMetadata {
  /** Values are stored as ValueAndTimestamp (DSL stores); queries unwrap them. */
  timestamped: boolean;
  kind: 'key-value' | 'window' | 'session';
  /**
   * The user named the store (Materialized.as): it is queryable, and the batch layer publishes it in
   * every view. Stores with generated names are internal, as in Kafka Streams.
   */
  queryable?: boolean;
  keySerde?: Serde<any>;
  valueSerde?: Serde<any>;
  window?: { sizeMs: number; advanceMs: number; graceMs: number };
  /**
   * A versioned store (KIP-889): reads return the latest version ({value, timestamp}, like a
   * timestamped store) and can ask for the version valid at a time.
   */
  versioned?: { historyRetentionMs: number };
  /** Combines two partial aggregates; present when the store is mergeable (count, sum, aggregate with merge). */
  merge?: (key: any, left: any, right: any) => any;
}

export interface SourceOptions {
  keySerde?: Serde<any>;
  valueSerde?: Serde<any>;
  timestampExtractor?: TimestampExtractor;
  offsetReset?: 'earliest' | 'latest';
}

export interface SinkOptions {
  keySerde?: Serde<any>;
  valueSerde?: Serde<any>;
  partitioner?: StreamPartitioner<any, any>;
}

/**
 * The processor graph (Kafka Streams' Topology). The DSL compiles into it; Processor API users call
 * addSource/addProcessor/addSink/addStateStore directly. Runs unchanged in the TopologyTestDriver,
 * the speed-layer runtime and the batch layer.
 */
/**
 * The serde used where a node or store names none (Kafka Streams' default.key.serde and
 * default.value.serde). The DSL hands this object out while it compiles; the configuration fills in
 * the serde it stands for when the topology runs, so a topology built before its config is known
 * still gets the configured serdes, as in Kafka Streams. Unconfigured: MsgPack.
 */
export class DefaultSerde implements Serde<any> {
  private target: Serde<any> = Serdes.MsgPack();
  private configured = false;

  constructor(readonly part: 'key' | 'value') {}

  get name(): string {
    return serdeName(this.target);
  }

  /** Whether a configuration set this serde (false: the MsgPack default). */
  get isConfigured(): boolean {
    return this.configured;
  }

  /** The serde this one stands for now. */
  get serde(): Serde<any> {
    return this.target;
  }

  configure(serde: Serde<any>): void {
    this.target = serde;
    this.configured = true;
  }

  serialize(data: any, topic?: string): Buffer {
    return this.target.serialize(data, topic);
  }

  deserialize(data: Buffer, topic?: string): any {
    return this.target.deserialize(data, topic);
  }
}

export class Topology {
  /** Serde for keys where a node or store names none (see DefaultSerde). */
  readonly defaultKeySerde = new DefaultSerde('key');
  /** Serde for values where a node or store names none (see DefaultSerde). */
  readonly defaultValueSerde = new DefaultSerde('value');

  /**
   * Sets the default serdes from a configuration (KafkaStreams, TopologyTestDriver and the CLI call
   * it at init). The topology object is shared: the last configuration that names a serde wins.
   */
  configureDefaultSerdes(config: { defaultKeySerde?: Serde<any>; defaultValueSerde?: Serde<any> }): void {
    if (config.defaultKeySerde) this.defaultKeySerde.configure(config.defaultKeySerde);
    if (config.defaultValueSerde) this.defaultValueSerde.configure(config.defaultValueSerde);
  }
  private readonly nodeDefs = new Map<string, NodeDef>();
  private readonly storeBuilders = new Map<string, StoreBuilder>();
  /** Stores that hold a global (fully replicated) table; reserved for globalTable. */
  readonly globalStores = new Set<string>();
  /** Source nodes that feed global stores: every task reads all partitions of their topics. */
  readonly globalSources = new Set<string>();
  private readonly internalTopicDefs = new Map<string, InternalTopicDef>();
  /** What the DSL knows about a store: the serving and batch layers read it (merge, windows, serdes). */
  readonly storeMetadata = new Map<string, StoreMetadata>();
  /**
   * Topics that must have the same partition count (the inputs of a join). The runtime sizes repartition
   * topics in a group to the group's largest external topic and rejects external topics that differ.
   */
  readonly copartitionGroups: string[][] = [];
  /** Size of the Lambda merge buckets (the topology definition's bucketMs; default one hour). */
  bucketMs = 60 * 60 * 1000;
  /**
   * Queryable store → the store of its delta index (state/delta-index.ts). Delta stores are real
   * stores (changelogged, restored, standby-replicated) connected to the processors of their store,
   * but hidden from describe(): Kafka Streams' text stays comparable.
   */
  readonly deltaStores = new Map<string, string>();
  /**
   * Stores the runtime keeps for a processor's own bookkeeping where Kafka Streams keeps it in the
   * commit metadata (the last window-close time emitted by `emitStrategy(onWindowClose())`): real,
   * changelogged stores, hidden from describe() like the delta stores, never queryable or published.
   */
  readonly hiddenStores = new Set<string>();

  addSource(name: string, topics: string | string[] | RegExp, options: SourceOptions = {}): this {
    this.assertNewName(name);
    const def: SourceNodeDef = {
      kind: 'source',
      name,
      topics: topics instanceof RegExp ? [] : Array.isArray(topics) ? [...topics] : [topics],
      ...options,
    };
    if (topics instanceof RegExp) def.pattern = topics;
    if (def.topics.length === 0 && !def.pattern)
      throw new TopologyError(`Source '${name}' needs at least one topic`);
    for (const topic of def.topics) {
      for (const other of this.sources()) {
        if (other.topics.includes(topic)) {
          throw new TopologyError(`Topic '${topic}' is already read by source '${other.name}'`);
        }
      }
    }
    this.nodeDefs.set(name, def);
    return this;
  }

  addProcessor(
    name: string,
    supplier: ProcessorSupplier<any, any, any, any>,
    ...parentNames: string[]
  ): this {
    this.assertNewName(name);
    this.assertParents(name, parentNames);
    this.nodeDefs.set(name, { kind: 'processor', name, supplier, parents: parentNames, stores: [] });
    return this;
  }

  addSink(
    name: string,
    topic: string | TopicNameExtractor<any, any>,
    options: SinkOptions = {},
    ...parentNames: string[]
  ): this {
    this.assertNewName(name);
    this.assertParents(name, parentNames);
    this.nodeDefs.set(name, { kind: 'sink', name, topic, parents: parentNames, ...options });
    return this;
  }

  addStateStore(builder: StoreBuilder, ...processorNames: string[]): this {
    if (this.storeBuilders.has(builder.name)) {
      throw new TopologyError(`State store '${builder.name}' is already added`);
    }
    this.storeBuilders.set(builder.name, builder);
    if (builder.loggingEnabled) {
      this.addInternalTopic({
        name: `${builder.name}-changelog`,
        kind: 'changelog',
        config: { 'cleanup.policy': 'compact', ...builder.changelogConfig },
      });
    }
    if (processorNames.length > 0) this.connectProcessorAndStateStores(processorNames, builder.name);
    return this;
  }

  connectProcessorAndStateStores(processorNames: string | string[], ...storeNames: string[]): this {
    for (const processorName of Array.isArray(processorNames) ? processorNames : [processorNames]) {
      const def = this.nodeDefs.get(processorName);
      if (!def || def.kind !== 'processor') {
        throw new TopologyError(
          `Processor '${processorName}' does not exist; add it before connecting stores`,
        );
      }
      for (const store of storeNames) {
        if (!this.storeBuilders.has(store)) throw new TopologyError(`State store '${store}' is not added`);
        if (!def.stores.includes(store)) def.stores.push(store);
      }
    }
    return this;
  }

  /** Declares an internal topic (repartition or changelog), named without the application-id prefix. */
  addInternalTopic(def: InternalTopicDef): this {
    this.internalTopicDefs.set(def.name, def);
    return this;
  }

  // ---- read side, used by tasks, the runtime and describe() ----

  node(name: string): NodeDef {
    const def = this.nodeDefs.get(name);
    if (!def) throw new TopologyError(`Unknown node '${name}'`);
    return def;
  }

  nodes(): NodeDef[] {
    return [...this.nodeDefs.values()];
  }

  sources(): SourceNodeDef[] {
    return this.nodes().filter((n): n is SourceNodeDef => n.kind === 'source');
  }

  sinks(): SinkNodeDef[] {
    return this.nodes().filter((n): n is SinkNodeDef => n.kind === 'sink');
  }

  processors(): ProcessorNodeDef[] {
    return this.nodes().filter((n): n is ProcessorNodeDef => n.kind === 'processor');
  }

  children(name: string): string[] {
    return this.nodes()
      .filter((n) => n.kind !== 'source' && n.parents.includes(name))
      .map((n) => n.name);
  }

  storeBuilder(name: string): StoreBuilder {
    const builder = this.storeBuilders.get(name);
    if (!builder) throw new TopologyError(`Unknown state store '${name}'`);
    return builder;
  }

  stores(): StoreBuilder[] {
    return [...this.storeBuilders.values()];
  }

  internalTopics(): InternalTopicDef[] {
    return [...this.internalTopicDefs.values()];
  }

  isInternalTopic(topic: string): boolean {
    return this.internalTopicDefs.has(topic);
  }

  /**
   * Splits the graph into connected components. Nodes sharing a state store belong together;
   * a repartition topic (sink in one, source in another) is the boundary between sub-topologies.
   * Numbered in the order their first source was added, as Kafka Streams does.
   */
  subTopologies(): SubTopology[] {
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let root = x;
      while (parent.get(root) !== root) root = parent.get(root)!;
      parent.set(x, root);
      return root;
    };
    const union = (a: string, b: string): void => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent.set(rb, ra);
    };
    for (const name of this.nodeDefs.keys()) parent.set(name, name);
    const storeOwner = new Map<string, string>();
    for (const def of this.nodeDefs.values()) {
      if (def.kind !== 'source') for (const p of def.parents) union(p, def.name);
      if (def.kind === 'processor') {
        for (const store of def.stores) {
          // Global stores live outside tasks: reading one does not tie a processor to its source.
          if (this.globalStores.has(store)) continue;
          const owner = storeOwner.get(store);
          if (owner) union(owner, def.name);
          else storeOwner.set(store, def.name);
        }
      }
    }
    const groups = new Map<string, string[]>();
    for (const name of this.nodeDefs.keys()) {
      const root = find(name);
      let group = groups.get(root);
      if (!group) groups.set(root, (group = []));
      group.push(name);
    }
    const ordered = [...groups.values()].sort((a, b) => this.firstSourceIndex(a) - this.firstSourceIndex(b));
    return ordered.map((nodes, id) => {
      const defs = nodes.map((n) => this.nodeDefs.get(n)!);
      const sources = defs.filter((d): d is SourceNodeDef => d.kind === 'source');
      const stores = new Set<string>();
      for (const d of defs) if (d.kind === 'processor') d.stores.forEach((s) => stores.add(s));
      return {
        id,
        nodes,
        sourceTopics: sources.flatMap((s) => s.topics),
        sourcePatterns: sources.flatMap((s) => (s.pattern ? [s.pattern] : [])),
        stores: [...stores],
        sinkTopics: defs.flatMap((d) => (d.kind === 'sink' && typeof d.topic === 'string' ? [d.topic] : [])),
        global: sources.some((src) => this.globalSources.has(src.name)),
      };
    });
  }

  /** Source topics (as named in the topology) that feed a node, following parents up to the sources. */
  upstreamSourceTopics(nodeName: string): string[] {
    const topics = new Set<string>();
    const seen = new Set<string>();
    const walk = (name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      const def = this.node(name);
      if (def.kind === 'source') def.topics.forEach((t) => topics.add(t));
      else def.parents.forEach(walk);
    };
    walk(nodeName);
    return [...topics];
  }

  describe(): TopologyDescription {
    return describeTopology(this);
  }

  /** True for a store describe() leaves out: a delta index's or a hidden one (see hiddenStores). */
  isHiddenStore(name: string): boolean {
    return this.hiddenStores.has(name) || this.isDeltaStore(name);
  }

  /** True for the store of a delta index (see deltaStores). */
  isDeltaStore(name: string): boolean {
    for (const delta of this.deltaStores.values()) if (delta === name) return true;
    return false;
  }

  /**
   * Adds the delta-index store of every queryable store (StreamsBuilder.build() calls it): a
   * persistent, changelogged key-value store of bytes, connected to every processor of its store.
   */
  addDeltaStores(build: (name: string) => StoreBuilder): void {
    for (const [store, meta] of this.storeMetadata) {
      if (!meta.queryable || this.globalStores.has(store) || this.deltaStores.has(store)) continue;
      const processors = this.processors()
        .filter((p) => p.stores.includes(store))
        .map((p) => p.name);
      if (processors.length === 0) continue;
      const builder = build(store);
      this.addStateStore(builder, ...processors);
      this.deltaStores.set(store, builder.name);
    }
  }

  private firstSourceIndex(nodes: string[]): number {
    const names = [...this.nodeDefs.keys()];
    const indexes = nodes.map((n) => names.indexOf(n));
    const sourceIndexes = nodes
      .filter((n) => this.nodeDefs.get(n)!.kind === 'source')
      .map((n) => names.indexOf(n));
    return Math.min(...(sourceIndexes.length > 0 ? sourceIndexes : indexes));
  }

  private assertNewName(name: string): void {
    if (!name) throw new TopologyError('Node name must not be empty');
    if (this.nodeDefs.has(name)) throw new TopologyError(`Processor '${name}' is already added`);
  }

  private assertParents(name: string, parents: string[]): void {
    if (parents.length === 0) throw new TopologyError(`Node '${name}' needs at least one parent`);
    for (const p of parents) {
      const def = this.nodeDefs.get(p);
      if (!def) throw new TopologyError(`Parent '${p}' of '${name}' does not exist; add parents first`);
      if (def.kind === 'sink') throw new TopologyError(`Sink '${p}' cannot be the parent of '${name}'`);
    }
  }
}
