import path from 'node:path';
import type { Logger } from 'pino';
import {
  PunctuationType,
  type Cancellable,
  type Processor,
  type ProcessorContext,
  type Punctuator,
  type RecordMetadata,
} from '../api.ts';
import { Record, type Headers } from '../record.ts';
import type { Topology } from '../../topology/topology.ts';
import type { SinkNodeDef, SourceNodeDef, TimestampExtractor } from '../../topology/nodes.ts';
import { DeltaIndex } from '../../state/delta-index.ts';
import type { KeyValueStore, StateStore, StateStoreContext } from '../../state/types.ts';
import type { CacheBudget } from '../../state/write-back-cache.ts';
import { serdeName, type Serde } from '../../serde/serde.ts';
import { DeserializationError, SerializationError } from '../../serde/errors.ts';
import { PartitionGroup, type InputQueue, type RecordQueue, type StampedRecord } from './record-queue.ts';
import { PunctuationQueue } from './punctuation.ts';
import {
  ask,
  deadLetterHeaders,
  errorHandlingOf,
  type ErrorHandlerContext,
  type ErrorHandling,
} from '../error-handlers.ts';
import { StreamsError, describeOrigin } from './errors.ts';
import { DroppedRecordSummary } from './dropped-summary.ts';
import { childLogger } from '../../logger.ts';

/** A record as consumed from Kafka, still in bytes. */
export interface RawRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: Headers;
}

/** Where sink output goes: the runtime's producer, or the test driver's output topics. */
export interface RecordCollector {
  send(record: {
    topic: string;
    key: Buffer | null;
    value: Buffer | null;
    timestamp: number;
    headers: Headers;
    /** Set when a StreamPartitioner chose the partition; otherwise the collector partitions by key. */
    partition?: number;
  }): void;
  /** Partition count of a topic, for StreamPartitioners; undefined when unknown. */
  partitionsFor?(topic: string): number | undefined;
  /**
   * Whether the collector throws records of this topic away (a batch run's sinks, `--sinks drop`):
   * true means it counted one more, and the sink node neither serializes nor sends the record.
   */
  discard?(topic: string): boolean;
}

/** Counters a task reports; the runtime maps them to Prometheus metrics. */
export interface TaskMetrics {
  recordDropped(reason: DropReason, taskId: string, node: string): void;
  recordProcessed?(taskId: string, count: number): void;
}

export type DropReason =
  | 'late'
  | 'null-key'
  | 'null-value'
  | 'deserialization'
  | 'invalid-timestamp'
  | 'expired-window'
  | 'processing-error'
  | 'serialization'
  | 'duplicate'
  /** An out-of-order update of a versioned table, which table-table joins skip (KIP-914). */
  | 'out-of-order';

let sharedDroppedSummary: DroppedRecordSummary | undefined;

/** One summary for the process: at most one warn line per drop reason every 30 s, across tasks. */
function droppedSummary(): DroppedRecordSummary {
  sharedDroppedSummary ??= new DroppedRecordSummary(childLogger({ component: 'dropped-records' }));
  return sharedDroppedSummary;
}

/** What to do with a record that cannot be deserialized or has an invalid timestamp. */
export type BadRecordHandling = 'fail' | 'skip';

export interface TaskConfig {
  applicationId: string;
  taskId: string;
  /** Root state directory; the task uses `<stateDir>/<applicationId>/<taskId>`. */
  stateDir: string;
  topology: Topology;
  /** Node names this task runs (one sub-topology; the test driver runs them all in one task). */
  nodes: ReadonlySet<string>;
  collector: RecordCollector;
  /** Full topic name for a topic named in the topology (internal topics get the application-id prefix). */
  resolveTopic: (topic: string) => string;
  /** Writes a store change to its changelog; undefined disables changelogging (batch mode, tests). */
  logChange?: (
    storeName: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    latestWrite?: number,
  ) => void;
  wallClock: () => number;
  defaultKeySerde: Serde<any>;
  defaultValueSerde: Serde<any>;
  defaultTimestampExtractor?: TimestampExtractor;
  /** Default 'fail'; stands for the deserialization handler when `errorHandling` is not given. */
  badRecordHandling?: BadRecordHandling;
  /**
   * Deserialization, processing and sink-serialization handlers and the dead-letter topic. Default:
   * from badRecordHandling ('skip': LogAndContinue for deserialization), failing on the others.
   */
  errorHandling?: ErrorHandling;
  metrics?: TaskMetrics;
  /** Disables caching on every store (Kafka Streams' statestore.cache.max.bytes=0). */
  cachingDisabled?: boolean;
  /**
   * The byte budget its caching stores' write-back caches share: the stream thread's (shared with the
   * thread's other tasks) or the test driver's. Default: each caching store 10 MiB of its own.
   */
  cacheBudget?: CacheBudget;
  /**
   * Mergeable aggregations fold records into partials before their repartition topic (see
   * grouped-base.ts). Default: where caching is on. Batch runs turn caching off (every update
   * forwarded, as Kafka Streams' test driver) but keep combining, which leaves every final result as is.
   */
  combiningEnabled?: boolean;
  /**
   * Batch runs: combiners fold records of every Lambda bucket into one partial per key. Workers keep
   * buckets apart (default), because their delta index attributes a partial to the bucket of its
   * timestamp; a batch run keeps no delta index and publishes only final store values, which do not
   * depend on how records were grouped into partials.
   */
  combineAcrossBuckets?: boolean;
  /**
   * Batch runs, tasks whose repartition records reach their readers sorted by timestamp (acyclic
   * stages): time-windowed aggregations combine too (see grouped-base.ts for why that is exact there).
   */
  combineWindowed?: boolean;
  /** Stores built elsewhere (e.g. standby or restored) to use instead of building new ones. */
  stores?: Map<string, StateStore>;
  /**
   * Batch runs: a source record whose (extracted) timestamp fails this test is passed over, neither
   * processed nor counted as dropped (records at or past the view's bucket boundary).
   */
  acceptTimestamp?: (timestamp: number) => boolean;
  /**
   * Keep the delta index of every queryable store (state/delta-index.ts): workers do, for the serving
   * layer; the test driver and batch runs do not (their delta stores are not even built).
   */
  deltaIndexEnabled?: boolean;
}

const originOf = (raw: RawRecord) => ({ topic: raw.topic, partition: raw.partition, offset: raw.offset });

/** What the task keeps per input partition. */
export interface PartitionState {
  topic: string;
  partition: number;
  node: RuntimeNode;
  keySerde: Serde<any>;
  valueSerde: Serde<any>;
  extractor: TimestampExtractor | undefined;
  /** Largest timestamp extracted so far (partition time, given to extractors). */
  time: number;
  /** Next offset to commit; -1 before the first record. */
  nextOffset: number;
  /** Its input queue, once the partition group made one (set by PartitionGroup). */
  queue?: RecordQueue;
}

/** Runtime form of a graph node. */
export interface RuntimeNode {
  name: string;
  children: RuntimeNode[];
  childByName: Map<string, RuntimeNode>;
  process(record: Record<unknown, unknown>): void;
}

/**
 * One task: a processor graph instance with its stores, input queues, stream time and punctuations.
 * Processing is synchronous; the host (runtime or test driver) feeds raw records and commits.
 */
export class StreamTask {
  readonly id: string;
  readonly applicationId: string;
  readonly log: Logger;
  private readonly config: TaskConfig;
  private readonly errorHandling: ErrorHandling;
  private readonly queues = new PartitionGroup();
  private readonly punctuations = new PunctuationQueue();
  private readonly nodes = new Map<string, RuntimeNode>();
  private readonly processors: Array<{ name: string; processor: Processor<any, any, any, any> }> = [];
  private readonly sourcesByTopic = new Map<string, SourceNodeDef>();
  private readonly patternSources: SourceNodeDef[] = [];
  readonly stores = new Map<string, StateStore>();
  /** Queryable store → its delta index (deltaIndexEnabled only). */
  readonly deltaIndexes = new Map<string, DeltaIndex>();
  /** Per input partition: its source, serdes, partition time and next offset (no per-record key strings). */
  private readonly partitions = new Map<string, Array<PartitionState | undefined>>();
  private streamTime = -1;
  /** The input record being processed (undefined in punctuations and commits). */
  private current: (RecordMetadata & { rawKey?: Buffer | null; rawValue?: Buffer | null }) | undefined;
  private currentTimestamp = -1;
  private commitRequested = false;
  private initialized = false;
  /** Source records passed over by `acceptTimestamp` (batch runs). */
  filteredRecords = 0;
  /**
   * Set by the serving layer while a batch view is in use: sees every source record's position and
   * event time (it counts the records that arrive too late for the view). Undefined: no cost.
   */
  sourceRecordObserver:
    ((topic: string, partition: number, offset: number, timestamp: number) => void) | undefined;
  /** Next offset to commit for one partition (last processed + 1), or -1 before its first record. */
  consumedOffset(topic: string, partition: number): number {
    return this.partitions.get(topic)?.[partition]?.nextOffset ?? -1;
  }

  /** Offsets consumed per "topic:partition": the next offset to commit (last processed + 1). */
  get consumedOffsets(): Map<string, number> {
    const offsets = new Map<string, number>();
    for (const states of this.partitions.values()) {
      for (const state of states)
        if (state && state.nextOffset >= 0)
          offsets.set(`${state.topic}:${state.partition}`, state.nextOffset);
    }
    return offsets;
  }

  constructor(config: TaskConfig) {
    this.config = config;
    this.errorHandling = config.errorHandling ?? errorHandlingOf(config);
    this.id = config.taskId;
    this.applicationId = config.applicationId;
    this.log = childLogger({ task: config.taskId });
    const { topology } = config;
    for (const name of config.nodes) {
      const def = topology.node(name);
      if (def.kind === 'source') {
        for (const topic of def.topics) this.sourcesByTopic.set(config.resolveTopic(topic), def);
        if (def.pattern) this.patternSources.push(def);
      }
      if (def.kind === 'processor') {
        for (const store of def.stores) {
          if (this.stores.has(store)) continue;
          if (!config.deltaIndexEnabled && topology.isDeltaStore(store)) continue;
          const existing = config.stores?.get(store);
          const builder = topology.storeBuilder(store);
          const effective = config.cachingDisabled ? builder.withCachingDisabled() : builder;
          this.stores.set(store, existing ?? effective.build());
        }
      }
    }
    if (config.deltaIndexEnabled) this.createDeltaIndexes();
    // Build runtime nodes children-first so each node can hold direct references to its children.
    const build = (name: string): RuntimeNode => {
      const existing = this.nodes.get(name);
      if (existing) return existing;
      const def = topology.node(name);
      const children = topology
        .children(name)
        .filter((c) => config.nodes.has(c))
        .map(build);
      const node = this.createNode(name, def, children);
      this.nodes.set(name, node);
      return node;
    };
    for (const name of config.nodes) build(name);
    // Children were built first; init and flush processors in graph order (sources first).
    const order = new Map(topology.nodes().map((n, i) => [n.name, i]));
    this.processors.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  }

  private createDeltaIndexes(): void {
    const { topology } = this.config;
    for (const [store, deltaName] of topology.deltaStores) {
      const delta = this.stores.get(deltaName);
      const meta = topology.storeMetadata.get(store);
      if (!delta || !meta || !this.stores.has(store)) continue;
      this.deltaIndexes.set(
        store,
        new DeltaIndex(
          store,
          delta as unknown as KeyValueStore<Buffer, Buffer>,
          meta.merge !== undefined,
          topology.bucketMs,
          meta.keySerde ?? this.config.defaultKeySerde,
          meta.valueSerde ?? this.config.defaultValueSerde,
        ),
      );
    }
  }

  /** The budget its caching stores share (see TaskConfig.cacheBudget). */
  get cacheBudget(): CacheBudget | undefined {
    return this.config.cacheBudget;
  }

  get taskDir(): string {
    return path.join(this.config.stateDir, this.applicationId, this.id);
  }

  /**
   * Opens stores and initializes processors. When every store opens synchronously (in-memory stores,
   * LevelDB in a fresh directory) the task is ready as soon as this returns; otherwise once it resolves.
   */
  init(): Promise<void> {
    const storeContext: StateStoreContext = {
      applicationId: this.applicationId,
      taskId: this.id,
      taskDir: this.taskDir,
      ...(this.config.logChange ? { logChange: this.loggingWithDeltas(this.config.logChange) } : {}),
      currentTimestamp: () => this.currentTimestamp,
      ...(this.config.cacheBudget ? { cacheBudget: this.config.cacheBudget } : {}),
    };
    const opening: Promise<void>[] = [];
    for (const store of this.stores.values()) {
      if (!store.isOpen()) opening.push(store.init(storeContext));
    }
    const allOpened = Promise.all(opening).then(() => undefined);
    if ([...this.stores.values()].every((store) => store.isOpen())) {
      this.initProcessors();
      return allOpened;
    }
    return allOpened.then(() => this.initProcessors());
  }

  /**
   * Every change of a non-mergeable queryable store marks (key, bucket) in its delta index; the
   * changelog write is the one place all such changes pass, with the record time they carry. A
   * cached change marks the bucket of the newest write it collapsed: a key written in a bucket at
   * or past a view's boundary and then by a late record must still answer the speed layer's value.
   */
  private loggingWithDeltas(
    logChange: NonNullable<TaskConfig['logChange']>,
  ): NonNullable<TaskConfig['logChange']> {
    const latestWins = [...this.deltaIndexes.values()].filter((d) => !d.mergeable);
    if (latestWins.length === 0) return logChange;
    const byStore = new Map(latestWins.map((d) => [d.store, d]));
    return (storeName, key, value, timestamp, latestWrite) => {
      if (key)
        byStore
          .get(storeName)
          ?.markChanged(key, latestWrite !== undefined && latestWrite > timestamp ? latestWrite : timestamp);
      logChange(storeName, key, value, timestamp);
    };
  }

  private initProcessors(): void {
    for (const { name, processor } of this.processors) {
      try {
        processor.init?.(this.contextFor(name));
      } catch (error) {
        throw new StreamsError(
          `Task ${this.id}: processor '${name}' failed in init: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
    this.initialized = true;
  }

  /** Topics (full names) this task reads, for subscription; patterns are matched by `readsTopic`. */
  sourceTopics(): string[] {
    return [...this.sourcesByTopic.keys()];
  }

  readsTopic(topic: string): boolean {
    return this.sourceFor(topic) !== undefined;
  }

  /** Deserializes, stamps and queues raw records; returns how many were queued. */
  addRecords(records: Iterable<RawRecord>): number {
    let queued = 0;
    // Records mostly come a partition at a time: look the partition up when it changes.
    let state: PartitionState | undefined;
    for (const raw of records) {
      if (state === undefined || raw.partition !== state.partition || raw.topic !== state.topic)
        state = this.partitionState(raw.topic, raw.partition);
      const stamped = this.stamp(raw, state);
      if (stamped) {
        this.queues.add(stamped);
        queued++;
      } else if (raw.offset >= 0) {
        state.nextOffset = raw.offset + 1;
      }
    }
    return queued;
  }

  get queuedRecords(): number {
    return this.queues.size;
  }

  /**
   * The input queue of one partition, created now if missing. Queues created first win ties between
   * equal timestamps, so the batch layer registers a task's inputs in a fixed order before any record.
   */
  inputQueue(topic: string, partition: number): InputQueue {
    return this.queues.queueOf(topic, partition);
  }

  /** Timestamp of the record processNext() would take; undefined when nothing is queued. */
  nextTimestamp(): number | undefined {
    return this.queues.peekTimestamp();
  }

  queuedFor(topic: string, partition: number): number {
    return this.queues.sizeOf(topic, partition);
  }

  /**
   * Moves a partition's commit position to `nextOffset` (the consumer's position after a fetched batch)
   * once nothing of the partition is queued: offsets without a record for the task, such as
   * transaction markers, are then committed too, so a caught-up consumer shows lag 0.
   */
  advanceConsumed(topic: string, partition: number, nextOffset: number): void {
    if (this.queues.sizeOf(topic, partition) > 0) return;
    const state = this.partitionState(topic, partition);
    if (nextOffset > state.nextOffset) state.nextOffset = nextOffset;
  }

  /** Processes the queued record with the smallest timestamp; false when nothing is queued. */
  processNext(): boolean {
    const record = this.queues.next();
    if (!record) return false;
    this.processStamped(record);
    return true;
  }

  /** Processes everything queued, firing stream-time punctuations after each record. */
  processAll(): number {
    let n = 0;
    while (this.processNext()) {
      n++;
      this.maybePunctuateStreamTime();
    }
    if (n > 0) this.config.metrics?.recordProcessed?.(this.id, n);
    return n;
  }

  /**
   * Processes up to `max` queued records, smallest timestamp first, firing stream-time punctuations
   * after each (processNext and maybePunctuateStreamTime in a loop, for hosts that know how many
   * records they may take: the batch layer). Returns how many it processed.
   */
  processUpTo(max: number): number {
    let n = 0;
    for (; n < max; n++) {
      const record = this.queues.next();
      if (!record) break;
      this.processStamped(record);
      if (this.streamTime >= 0) this.punctuations.mayPunctuate(PunctuationType.STREAM_TIME, this.streamTime);
    }
    if (n > 0) this.config.metrics?.recordProcessed?.(this.id, n);
    return n;
  }

  currentStreamTime(): number {
    return this.streamTime;
  }

  maybePunctuateStreamTime(): boolean {
    if (this.streamTime < 0) return false;
    return this.punctuations.mayPunctuate(PunctuationType.STREAM_TIME, this.streamTime);
  }

  maybePunctuateSystemTime(): boolean {
    return this.punctuations.mayPunctuate(PunctuationType.WALL_CLOCK_TIME, this.config.wallClock());
  }

  /**
   * First half of a commit: processors that buffer (combiners before repartition topics) emit, then
   * caches flush, forwarding deduplicated updates. Synchronous.
   */
  flushCaches(): void {
    this.current = undefined;
    for (const { processor } of this.processors) (processor as { flush?: () => void }).flush?.();
    for (const store of this.stores.values()) store.flushCache();
    // After the stores: their cache flushes mark latest-wins changes in the delta indexes.
    for (const delta of this.deltaIndexes.values()) delta.flush();
    this.commitRequested = false;
  }

  /** Second half of a commit: make store writes durable. */
  async flushStores(): Promise<void> {
    for (const store of this.stores.values()) await store.flush();
  }

  get needsCommit(): boolean {
    return this.commitRequested;
  }

  async close(): Promise<void> {
    for (const { name, processor } of this.processors) {
      try {
        processor.close?.();
      } catch (error) {
        this.log.warn({ err: error, node: name }, 'processor close failed');
      }
    }
    // Every store, even after one failed to close: one left open would keep its files, and its
    // cache's bytes in the thread's shared budget.
    const failures: unknown[] = [];
    for (const store of this.stores.values()) {
      if (!store.isOpen()) continue;
      try {
        await store.close();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  getStore<S extends StateStore>(name: string): S | undefined {
    return this.stores.get(name) as S | undefined;
  }

  get isInitialized(): boolean {
    return this.initialized;
  }

  // ---- internals ----

  private sourceFor(topic: string): SourceNodeDef | undefined {
    const direct = this.sourcesByTopic.get(topic);
    if (direct) return direct;
    return this.patternSources.find((s) => s.pattern!.test(topic));
  }

  private partitionState(topic: string, partition: number): PartitionState {
    let states = this.partitions.get(topic);
    if (!states) this.partitions.set(topic, (states = []));
    let state = states[partition];
    if (!state) {
      const source = this.sourceFor(topic);
      if (!source) {
        throw new StreamsError(
          `Task ${this.id} received a record from topic '${topic}', which it does not read`,
        );
      }
      state = {
        topic,
        partition,
        node: this.nodes.get(source.name)!,
        keySerde: source.keySerde ?? this.config.defaultKeySerde,
        valueSerde: source.valueSerde ?? this.config.defaultValueSerde,
        extractor: source.timestampExtractor ?? this.config.defaultTimestampExtractor,
        time: -1,
        nextOffset: -1,
      };
      states[partition] = state;
    }
    return state;
  }

  private stamp(raw: RawRecord, state: PartitionState): StampedRecord | undefined {
    let key: unknown = null;
    let value: unknown = null;
    try {
      key = raw.key === null ? null : state.keySerde.deserialize(raw.key, raw.topic);
    } catch (error) {
      return this.badRecord(
        raw,
        state,
        new DeserializationError({ ...originOf(raw), part: 'key' }, serdeName(state.keySerde), error),
      );
    }
    try {
      value = raw.value === null ? null : state.valueSerde.deserialize(raw.value, raw.topic);
    } catch (error) {
      return this.badRecord(
        raw,
        state,
        new DeserializationError({ ...originOf(raw), part: 'value' }, serdeName(state.valueSerde), error),
      );
    }
    // Record time unless an extractor says otherwise (no per-record object on the default path).
    const timestamp = state.extractor
      ? state.extractor({ key, value, ...originOf(raw), timestamp: raw.timestamp }, state.time)
      : raw.timestamp;
    if (!(timestamp >= 0) || !Number.isFinite(timestamp)) {
      return this.badRecord(
        raw,
        state,
        new StreamsError(
          `Invalid timestamp ${timestamp} for record at ${describeOrigin(originOf(raw))}: timestamps must be non-negative ` +
            `(set a timestamp extractor that returns event time for such records)`,
        ),
        'invalid-timestamp',
      );
    }
    if (this.config.acceptTimestamp && !this.config.acceptTimestamp(timestamp)) {
      this.filteredRecords++;
      return undefined;
    }
    this.sourceRecordObserver?.(raw.topic, raw.partition, raw.offset, timestamp);
    if (timestamp > state.time) state.time = timestamp;
    return {
      topic: raw.topic,
      partition: raw.partition,
      offset: raw.offset,
      key,
      value,
      timestamp,
      headers: raw.headers ?? {},
      source: state.node.name,
      state,
      rawKey: raw.key,
      rawValue: raw.value,
    };
  }

  /** A record that cannot be deserialized or has an invalid timestamp: the deserialization handler decides. */
  private badRecord(
    raw: RawRecord,
    state: PartitionState,
    error: Error,
    reason: 'deserialization' | 'invalid-timestamp' = 'deserialization',
  ): undefined {
    const context: ErrorHandlerContext = {
      ...originOf(raw),
      timestamp: raw.timestamp,
      processorNodeId: state.node.name,
      taskId: this.id,
    };
    const { deserialization } = this.errorHandling;
    if (ask(this.log, 'deserialization', () => deserialization.handle(context, raw, error)) === 'FAIL')
      throw error;
    this.log.warn({ err: error }, `skipping record: ${error.message}`);
    this.config.metrics?.recordDropped(reason, this.id, 'source');
    this.deadLetter(context, raw.key, raw.value, error);
    return undefined;
  }

  /**
   * A processor threw on a record (user code): the processing handler decides. CONTINUE drops the
   * record at this node (siblings still get it, as in Kafka Streams); FAIL stops the task.
   */
  private processingFailed(node: string, record: Record<unknown, unknown>, error: unknown): void {
    // Failures of the framework (a sink's FAIL, a store that is closed) and FAILs of nodes further
    // down pass through unchanged.
    if (error instanceof StreamsError || error instanceof SerializationError) throw error;
    const cause = error instanceof Error ? error : new Error(String(error));
    const current = this.current;
    const context = this.nodeErrorContext(node, record.timestamp);
    const { processing } = this.errorHandling;
    const answer = ask(this.log, 'processing', () => processing.handle(context, record, cause));
    const where = `processor '${node}' of task ${this.id} threw on the record at ${describeOrigin(current)}`;
    if (answer === 'FAIL') throw new StreamsError(`${where}: ${cause.message}`, { cause });
    this.log.warn({ err: cause }, `${where}; dropping it there (processing exception handler: CONTINUE)`);
    this.droppedAtNode(context, 'processing-error', cause);
  }

  /** Where a node failed: the input record being processed (none in a punctuation). */
  private nodeErrorContext(node: string, timestamp: number): ErrorHandlerContext {
    const current = this.current;
    return {
      topic: current?.topic,
      partition: current?.partition,
      offset: current?.offset,
      timestamp,
      processorNodeId: node,
      taskId: this.id,
    };
  }

  /** A node's handler continued past the current input record: count it and dead-letter its bytes. */
  private droppedAtNode(context: ErrorHandlerContext, reason: DropReason, error: Error): void {
    this.config.metrics?.recordDropped(reason, this.id, context.processorNodeId);
    this.deadLetter(context, this.current?.rawKey ?? null, this.current?.rawValue ?? null, error);
  }

  /** Writes a record a handler continued past to the dead-letter topic, if one is configured. */
  private deadLetter(
    context: ErrorHandlerContext,
    key: Buffer | null,
    value: Buffer | null,
    error: Error,
  ): void {
    const topic = this.errorHandling.deadLetterQueueTopic;
    if (topic === undefined) return;
    this.config.collector.send({
      topic,
      key,
      value,
      timestamp: context.timestamp >= 0 ? context.timestamp : this.config.wallClock(),
      headers: deadLetterHeaders(context, error),
    });
  }

  private processStamped(stamped: StampedRecord): void {
    if (stamped.timestamp > this.streamTime) this.streamTime = stamped.timestamp;
    // The stamped record doubles as the record metadata (topic, partition, offset): no extra object.
    this.current = stamped;
    this.currentTimestamp = stamped.timestamp;
    try {
      stamped.state.node.process(new Record(stamped.key, stamped.value, stamped.timestamp, stamped.headers));
    } catch (error) {
      if (error instanceof StreamsError || error instanceof SerializationError) throw error;
      throw new StreamsError(
        `Task ${this.id} failed to process record at ${describeOrigin(this.current)}: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      if (stamped.offset >= 0) stamped.state.nextOffset = stamped.offset + 1;
    }
  }

  private createNode(name: string, def: ReturnType<Topology['node']>, children: RuntimeNode[]): RuntimeNode {
    const childByName = new Map(children.map((c) => [c.name, c]));
    if (def.kind === 'source') {
      return {
        name,
        children,
        childByName,
        process: (record) => {
          for (const child of children) child.process(record);
        },
      };
    }
    if (def.kind === 'sink') return this.createSink(def, children, childByName);
    const processor = def.supplier();
    this.processors.push({ name, processor });
    const task = this;
    return {
      name,
      children,
      childByName,
      process(record) {
        const previous = task.currentTimestamp;
        task.currentTimestamp = record.timestamp;
        try {
          processor.process(record);
        } catch (error) {
          task.processingFailed(name, record, error);
        } finally {
          task.currentTimestamp = previous;
        }
      },
    };
  }

  private createSink(
    def: SinkNodeDef,
    children: RuntimeNode[],
    childByName: Map<string, RuntimeNode>,
  ): RuntimeNode {
    const keySerde = def.keySerde ?? this.config.defaultKeySerde;
    const valueSerde = def.valueSerde ?? this.config.defaultValueSerde;
    const { collector, resolveTopic } = this.config;
    return {
      name: def.name,
      children,
      childByName,
      process: (record) => {
        const topicName =
          typeof def.topic === 'string'
            ? def.topic
            : def.topic(record.key, record.value, { ...this.current, timestamp: record.timestamp });
        const topic = resolveTopic(topicName);
        if (collector.discard?.(topic)) return;
        let key: Buffer | null;
        let value: Buffer | null;
        try {
          key =
            record.key === null || record.key === undefined ? null : keySerde.serialize(record.key, topic);
        } catch (error) {
          return this.serializationFailed(
            def.name,
            topic,
            record,
            new SerializationError({ topic, part: 'key' }, serdeName(keySerde), error),
          );
        }
        try {
          value =
            record.value === null || record.value === undefined
              ? null
              : valueSerde.serialize(record.value, topic);
        } catch (error) {
          return this.serializationFailed(
            def.name,
            topic,
            record,
            new SerializationError({ topic, part: 'value' }, serdeName(valueSerde), error),
          );
        }
        let partition: number | undefined;
        if (def.partitioner) {
          const count = collector.partitionsFor?.(topic);
          if (count !== undefined) partition = def.partitioner(topic, record.key, record.value, count);
        }
        collector.send({
          topic,
          key,
          value,
          timestamp: record.timestamp,
          headers: record.headers,
          ...(partition !== undefined ? { partition } : {}),
        });
      },
    };
  }

  /** A sink could not serialize a record: the production handler decides (CONTINUE drops it). */
  private serializationFailed(
    node: string,
    topic: string,
    record: Record<unknown, unknown>,
    error: SerializationError,
  ): void {
    const context = this.nodeErrorContext(node, record.timestamp);
    const { production } = this.errorHandling;
    const answer = ask(this.log, 'production', () =>
      production.handleSerializationException(
        context,
        { topic, key: record.key, value: record.value },
        error,
      ),
    );
    if (answer === 'FAIL') throw error;
    this.log.warn({ err: error }, `${error.message}; dropping it (production exception handler: CONTINUE)`);
    this.droppedAtNode(context, 'serialization', error);
  }

  /** A context bound to one node: forward goes to that node's children. */
  private contextFor(nodeName: string): ProcessorContext<any, any> & InternalProcessorContext {
    const node = this.nodes.get(nodeName)!;
    const task = this;
    return {
      applicationId: task.applicationId,
      taskId: task.id,
      nodeName,
      recordMetadata: () => task.current,
      currentStreamTimeMs: () => task.streamTime,
      currentSystemTimeMs: () => task.config.wallClock(),
      forward(record: Record<any, any>, childName?: string) {
        if (childName !== undefined) {
          const child = node.childByName.get(childName);
          if (!child) {
            throw new StreamsError(`Node '${nodeName}' has no child named '${childName}'`);
          }
          child.process(record);
          return;
        }
        const children = node.children;
        for (let i = 0; i < children.length; i++) children[i]!.process(record);
      },
      getStateStore<S extends StateStore>(name: string): S {
        const def = task.config.topology.node(nodeName);
        const store = task.stores.get(name);
        if (!store || def.kind !== 'processor' || !def.stores.includes(name)) {
          throw new StreamsError(
            `Processor '${nodeName}' has no access to state store '${name}'; connect it with addStateStore or connectProcessorAndStateStores`,
          );
        }
        return store as S;
      },
      schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable {
        const start = type === PunctuationType.STREAM_TIME ? 0 : task.config.wallClock() + intervalMs;
        return task.punctuations.add(type, start, intervalMs, callback, (cb, ts) =>
          task.punctuate(nodeName, cb, ts),
        );
      },
      commit() {
        task.commitRequested = true;
      },
      recordDropped(reason: DropReason) {
        task.config.metrics?.recordDropped(reason, task.id, nodeName);
        if (reason !== 'duplicate') droppedSummary().dropped(reason);
      },
      cachingEnabled: !task.config.cachingDisabled,
      deltaIndex: (store: string) => task.deltaIndexes.get(store),
      bucketMs: task.config.topology.bucketMs,
      combiningEnabled: task.config.combiningEnabled ?? !task.config.cachingDisabled,
      combineAcrossBuckets: task.config.combineAcrossBuckets === true,
      combineWindowed: task.config.combineWindowed === true,
    };
  }

  private punctuate(nodeName: string, callback: Punctuator, timestamp: number): void {
    const saved = this.current;
    this.current = undefined;
    const savedTs = this.currentTimestamp;
    this.currentTimestamp = timestamp;
    try {
      callback(timestamp);
    } catch (error) {
      throw new StreamsError(
        `Task ${this.id}: punctuation of processor '${nodeName}' at ${timestamp} failed: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      this.current = saved;
      this.currentTimestamp = savedTs;
    }
  }
}

/** Extra context methods the DSL's own processors use (not part of the public Processor API). */
export interface InternalProcessorContext {
  readonly nodeName: string;
  /** False when caching is off for the whole task (test driver with cachingEnabled: false, batch runs). */
  readonly cachingEnabled: boolean;
  /** Whether mergeable aggregations may combine records before their repartition topic. */
  readonly combiningEnabled: boolean;
  /** The delta index of a queryable store, where the task keeps one (workers). */
  deltaIndex(store: string): DeltaIndex | undefined;
  /** The topology's Lambda bucket size (combiners keep buckets apart). */
  readonly bucketMs: number;
  /** Combiners may fold records of different buckets together (batch runs: no delta index). */
  readonly combineAcrossBuckets: boolean;
  /** Time-windowed aggregations may combine too (batch runs, acyclic stages). */
  readonly combineWindowed: boolean;
  recordDropped(reason: DropReason): void;
}
