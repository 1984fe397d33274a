/**
 * An in-memory Kafka behind the port (src/kafka/client.ts), for unit tests of the runtime only
 * (integration tests use a real broker). Topics are arrays of records per partition; a consumer group
 * rebalances eagerly (every member commits through `onRebalancing` before it re-joins, the port's
 * promise) and hands out assignments through the group's assignor; commits from an old generation are
 * refused; transactional producers are fenced by a newer `initTransactions()` of the same id, and
 * their records become visible only at commit. Tests can crash consumers, fail sends and hold the
 * partition readers (restoration) until released.
 */
import type {
  AssignorResult,
  BatchContext,
  ConsumedRecord,
  ConsumerBatch,
  ConsumerListeners,
  ConsumerOptions,
  FetchRange,
  FetchRangeOptions,
  GroupMemberAssignment,
  KafkaAdmin,
  KafkaClient,
  KafkaConsumer,
  KafkaProducer,
  KafkaTransaction,
  NewTopic,
  OutgoingRecord,
  PartitionEndOffsets,
  PartitionReader,
  PartitionReaderOptions,
  ProducedPartition,
  ProducerOptions,
  TopicPartitionOffset,
} from '../../../src/kafka/client.ts';
import { ProducerFencedError, RebalanceInProgressError } from '../../../src/kafka/errors.ts';

const MAX_BATCH = 50;
const POLL_MS = 2;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const tp = (topic: string, partition: number): string => `${topic}:${partition}`;

/** What happened in the cluster, in order (for assertions about commit-before-rejoin). */
export type FakeEvent =
  | { type: 'commit'; memberId: string; generation: number; offsets: TopicPartitionOffset[] }
  | { type: 'generation'; generation: number; members: string[] }
  | { type: 'txn-commit'; transactionalId: string; records: number };

export class FakeKafka {
  readonly topics = new Map<string, ConsumedRecord[][]>();
  readonly topicConfigs = new Map<string, Record<string, string>>();
  readonly groups = new Map<string, FakeGroup>();
  readonly events: FakeEvent[] = [];
  /** Every group consumer created, in order (to crash one). */
  readonly consumers: FakeConsumer[] = [];
  /** Transactional id → current epoch (a newer initTransactions() fences the older producers). */
  readonly epochs = new Map<string, number>();
  /** The next producer send or transaction commit throws this. */
  failNextSend?: Error;
  private held = false;
  private readonly heldWaiters: Array<() => void> = [];

  createTopic(name: string, partitions: number, config: Record<string, string> = {}): void {
    if (this.topics.has(name)) return;
    this.topics.set(
      name,
      Array.from({ length: partitions }, () => []),
    );
    this.topicConfigs.set(name, config);
  }

  /** Appends records (test input); returns nothing, like a fire-and-forget producer. */
  produce(topic: string, records: Array<Omit<OutgoingRecord, 'topic'>>): void {
    this.append(records.map((r) => ({ ...r, topic })));
  }

  /** Every record of a topic, partition by partition. */
  records(topic: string): ConsumedRecord[] {
    return (this.topics.get(topic) ?? []).flat();
  }

  endOffset(topic: string, partition: number): number {
    return this.partition(topic, partition).length;
  }

  group(groupId: string): FakeGroup {
    let group = this.groups.get(groupId);
    if (!group) this.groups.set(groupId, (group = new FakeGroup(this, groupId)));
    return group;
  }

  client(options: { supportsGroupMetadataCommit?: boolean } = {}): FakeKafkaClient {
    return new FakeKafkaClient(this, options.supportsGroupMetadataCommit ?? false);
  }

  /** Partition readers (restoration, standbys, global tables) deliver nothing until released. */
  holdReaders(): void {
    this.held = true;
  }

  releaseReaders(): void {
    this.held = false;
    for (const wake of this.heldWaiters.splice(0)) wake();
  }

  get readersHeld(): boolean {
    return this.held;
  }

  /** @internal */
  async readersReleased(): Promise<void> {
    if (this.held) await new Promise<void>((resolve) => this.heldWaiters.push(resolve));
  }

  /** @internal */
  partition(topic: string, partition: number): ConsumedRecord[] {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new Error(`fake kafka: unknown topic ${topic}`);
    const log = partitions[partition];
    if (!log) throw new Error(`fake kafka: ${topic} has no partition ${partition}`);
    return log;
  }

  /** @internal Appends records; returns what a produce request answers. */
  append(records: OutgoingRecord[]): ProducedPartition[] {
    const explicit = new Map<string, boolean>();
    for (const r of records)
      explicit.set(r.topic, (explicit.get(r.topic) ?? true) && r.partition !== undefined);
    const produced = new Map<string, ProducedPartition>();
    for (const r of records) {
      const partitions = this.topics.get(r.topic);
      if (!partitions) throw new Error(`fake kafka: unknown topic ${r.topic}`);
      const partition = r.partition ?? hashPartition(r.key, partitions.length);
      const log = this.partition(r.topic, partition);
      const key = tp(r.topic, partition);
      let p = produced.get(key);
      if (!p) {
        p = {
          topic: r.topic,
          partition,
          baseOffset: log.length,
          ...(explicit.get(r.topic) ? { count: 0 } : {}),
        };
        produced.set(key, p);
      }
      if (p.count !== undefined) p.count++;
      log.push({
        topic: r.topic,
        partition,
        offset: log.length,
        key: r.key,
        value: r.value,
        timestamp: r.timestamp,
        headers: {},
      });
    }
    return [...produced.values()];
  }

  /** @internal */
  takeSendFailure(): void {
    const failure = this.failNextSend;
    if (!failure) return;
    this.failNextSend = undefined;
    throw failure;
  }
}

function hashPartition(key: Buffer | null, partitions: number): number {
  if (!key) return 0;
  let h = 0;
  for (const byte of key) h = (h * 31 + byte) >>> 0;
  return h % partitions;
}

/** A consumer group: members, generations, committed offsets and the assignor's answer. */
export class FakeGroup {
  readonly members: FakeConsumer[] = [];
  readonly committed = new Map<string, number>();
  /** Member id → its assignment and the assignor's userData for it (describeGroup). */
  readonly assignments = new Map<string, AssignorResult>();
  generation = 0;
  private rebalance: Promise<void> = Promise.resolve();
  private nextMember = 1;

  constructor(
    private readonly kafka: FakeKafka,
    readonly groupId: string,
  ) {}

  memberId(): string {
    return `${this.groupId}-member-${this.nextMember++}`;
  }

  /** A member joins or leaves: every member re-joins (eager protocol), one rebalance at a time. */
  rebalanceNow(): Promise<void> {
    const run = async (): Promise<void> => {
      // Members commit before re-joining: the generation does not change until they all did.
      for (const member of [...this.members]) await member.prepareRejoin();
      const leader = this.members[0];
      this.assignments.clear();
      if (leader) {
        const topics = [...new Set(this.members.flatMap((m) => m.topics))];
        const partitionCounts = new Map(topics.map((t) => [t, this.kafka.topics.get(t)?.length ?? 0]));
        const result = await leader.assignor.assign({
          members: this.members.map((m) => ({
            memberId: m.memberId,
            topics: m.topics,
            userData: m.assignor.subscriptionUserData(),
          })),
          partitionCounts,
        });
        for (const [memberId, r] of result) this.assignments.set(memberId, r);
      }
      this.generation++;
      this.kafka.events.push({
        type: 'generation',
        generation: this.generation,
        members: this.members.map((m) => m.memberId),
      });
      for (const member of [...this.members]) {
        member.assign(this.assignments.get(member.memberId)?.assignment ?? {}, member === leader);
      }
    };
    this.rebalance = this.rebalance.then(run);
    return this.rebalance;
  }

  commit(member: FakeConsumer, offsets: TopicPartitionOffset[]): void {
    if (member.generation !== this.generation || !this.members.includes(member)) {
      throw new RebalanceInProgressError(
        `fake kafka: commit of generation ${member.generation} refused (group at ${this.generation})`,
      );
    }
    this.kafka.events.push({
      type: 'commit',
      memberId: member.memberId,
      generation: this.generation,
      offsets,
    });
    for (const o of offsets) this.committed.set(tp(o.topic, o.partition), o.offset);
  }
}

export class FakeKafkaClient implements KafkaClient {
  readonly brokers = ['fake-kafka:9092'];

  /** `supportsGroupMetadataCommit`: whether exactly_once uses one producer per instance. */
  constructor(
    readonly kafka: FakeKafka,
    readonly supportsGroupMetadataCommit = false,
  ) {}

  async admin(): Promise<KafkaAdmin> {
    return new FakeAdmin(this.kafka);
  }

  async producer(options: ProducerOptions = {}): Promise<KafkaProducer> {
    return new FakeProducer(this.kafka, options.transactionalId);
  }

  consumer(options: ConsumerOptions): FakeConsumer {
    const consumer = new FakeConsumer(this.kafka, options);
    this.kafka.consumers.push(consumer);
    return consumer;
  }

  async fetchRanges(ranges: FetchRange[], options: FetchRangeOptions): Promise<void> {
    await this.kafka.readersReleased();
    // Ranges are read one after another, so flow control has nothing to do.
    const control = { pause: () => {}, resume: () => {} };
    for (const range of ranges) {
      const log = this.kafka.partition(range.topic, range.partition);
      for (let from = range.fromOffset; from < range.toOffset; from += MAX_BATCH) {
        const records = log.slice(from, Math.min(range.toOffset, from + MAX_BATCH));
        if (records.length > 0) await options.onBatch(records, range, control);
      }
      options.onRangeDone?.(range, control);
    }
  }

  reader(options: PartitionReaderOptions): PartitionReader {
    return new FakePartitionReader(this.kafka, options);
  }
}

class FakeAdmin implements KafkaAdmin {
  constructor(private readonly kafka: FakeKafka) {}

  async createTopics(topics: NewTopic[]): Promise<string[]> {
    const missing = topics.filter((t) => !this.kafka.topics.has(t.name));
    for (const t of missing) this.kafka.createTopic(t.name, t.partitions, t.config);
    return missing.map((t) => t.name);
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const t of topics) {
      const partitions = this.kafka.topics.get(t);
      if (partitions) counts.set(t, partitions.length);
    }
    return counts;
  }

  async listTopics(): Promise<string[]> {
    return [...this.kafka.topics.keys()];
  }

  async endOffsets(topic: string): Promise<PartitionEndOffsets[]> {
    const partitions = this.kafka.topics.get(topic);
    if (!partitions) throw new Error(`fake kafka: unknown topic ${topic}`);
    return partitions.map((log, partition) => ({ partition, low: 0, high: log.length }));
  }

  async committedOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]> {
    const group = this.kafka.group(groupId);
    return topics.flatMap((topic) =>
      (this.kafka.topics.get(topic) ?? []).map((_, partition) => ({
        topic,
        partition,
        offset: group.committed.get(tp(topic, partition)) ?? -1,
      })),
    );
  }

  async deleteTopics(topics: string[]): Promise<void> {
    for (const t of topics) this.kafka.topics.delete(t);
  }

  async topicConfigs(topics: string[]): Promise<Map<string, Record<string, string>>> {
    const configs = new Map<string, Record<string, string>>();
    for (const t of topics) {
      const config = this.kafka.topicConfigs.get(t);
      if (config && this.kafka.topics.has(t)) configs.set(t, { ...config });
    }
    return configs;
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    for (const g of groupIds) this.kafka.groups.delete(g);
  }

  setCommittedOffsets(): Promise<void> {
    return Promise.reject(new Error('FakeAdmin: setCommittedOffsets is not modelled'));
  }

  offsetsForTime(): Promise<Array<{ partition: number; offset: number }>> {
    return Promise.reject(new Error('FakeAdmin: offsetsForTime is not modelled'));
  }

  async groupAssignments(groupId: string): Promise<GroupMemberAssignment[]> {
    const group = this.kafka.groups.get(groupId);
    if (!group) return [];
    return group.members.map((m) => {
      const r = group.assignments.get(m.memberId);
      return {
        memberId: m.memberId,
        clientId: 'fake',
        assignment: r?.assignment ?? {},
        userData: r?.userData ?? Buffer.alloc(0),
      };
    });
  }

  async close(): Promise<void> {}
}

class FakeProducer implements KafkaProducer {
  private epoch = -1;

  constructor(
    private readonly kafka: FakeKafka,
    private readonly transactionalId?: string,
  ) {}

  async send(records: OutgoingRecord[]): Promise<ProducedPartition[]> {
    this.kafka.takeSendFailure();
    return this.kafka.append(records);
  }

  async initTransactions(): Promise<void> {
    const id = this.transactionalId!;
    this.epoch = (this.kafka.epochs.get(id) ?? 0) + 1;
    this.kafka.epochs.set(id, this.epoch);
  }

  async transaction(): Promise<KafkaTransaction> {
    this.checkEpoch();
    const records: OutgoingRecord[] = [];
    let offsets: { groupId: string; offsets: TopicPartitionOffset[] } | undefined;
    return {
      send: async (r) => {
        this.checkEpoch();
        records.push(...r);
      },
      sendOffsets: async (groupId, o, member) => {
        this.checkEpoch();
        // KIP-447: the coordinator refuses offsets of a generation the group moved past.
        const generation = this.kafka.group(groupId).generation;
        if (member && member.generationId !== generation) {
          throw new RebalanceInProgressError(
            `fake kafka: transactional offsets of generation ${member.generationId} refused (group at ${generation})`,
          );
        }
        offsets = { groupId, offsets: o };
      },
      commit: async () => {
        this.checkEpoch();
        this.kafka.takeSendFailure();
        // Records and offsets become visible together (read_committed readers see nothing before).
        this.kafka.append(records);
        if (offsets) {
          const group = this.kafka.group(offsets.groupId);
          for (const o of offsets.offsets) group.committed.set(tp(o.topic, o.partition), o.offset);
        }
        this.kafka.events.push({
          type: 'txn-commit',
          transactionalId: this.transactionalId!,
          records: records.length,
        });
      },
      abort: async () => {
        records.length = 0;
      },
    };
  }

  async close(): Promise<void> {}

  private checkEpoch(): void {
    const id = this.transactionalId;
    if (id === undefined) throw new Error('fake kafka: not a transactional producer');
    if (this.kafka.epochs.get(id) !== this.epoch) {
      throw new ProducerFencedError(`fake kafka: producer ${id} (epoch ${this.epoch}) was fenced`);
    }
  }
}

export class FakeConsumer implements KafkaConsumer {
  memberId = '';
  generation = -1;
  topics: string[] = [];
  readonly assignor: NonNullable<ConsumerOptions['assignor']>;
  private readonly group: FakeGroup;
  private listeners: ConsumerListeners = {};
  private eachBatch?: (batch: ConsumerBatch, context: BatchContext) => Promise<void>;
  private assigned: Array<{ topic: string; partition: number }> = [];
  private readonly positions = new Map<string, number>();
  private readonly paused = new Set<string>();
  private running = false;
  /** Set while the member re-joins: no batches until the new assignment. */
  private rejoining = false;
  private loop?: Promise<void>;
  private inBatch?: Promise<void>;

  constructor(
    private readonly kafka: FakeKafka,
    options: ConsumerOptions,
  ) {
    if (!options.assignor) throw new Error('fake kafka: consumers need an assignor');
    this.assignor = options.assignor;
    this.group = kafka.group(options.groupId);
  }

  async subscribe(topics: string[]): Promise<void> {
    for (const t of topics) if (!this.kafka.topics.has(t)) throw new Error(`fake kafka: unknown topic ${t}`);
    this.topics = topics;
  }

  async run(
    eachBatch: (batch: ConsumerBatch, context: BatchContext) => Promise<void>,
    listeners: ConsumerListeners = {},
  ): Promise<void> {
    this.eachBatch = eachBatch;
    this.listeners = listeners;
    this.running = true;
    this.memberId = this.group.memberId();
    this.rejoining = true;
    this.group.members.push(this);
    this.loop = this.poll();
    await this.group.rebalanceNow();
  }

  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length > 0) this.group.commit(this, offsets);
  }

  pause(partitions: Array<{ topic: string; partitions: number[] }>): void {
    for (const { topic, partitions: ps } of partitions) for (const p of ps) this.paused.add(tp(topic, p));
  }

  resume(partitions: Array<{ topic: string; partitions: number[] }>): void {
    for (const { topic, partitions: ps } of partitions) for (const p of ps) this.paused.delete(tp(topic, p));
  }

  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
    const i = this.group.members.indexOf(this);
    if (i >= 0) this.group.members.splice(i, 1);
    if (this.group.members.length > 0) await this.group.rebalanceNow();
  }

  /** Whether every record of the assigned partitions was handed to the runtime and processed. */
  caughtUp(): boolean {
    if (this.rejoining || this.inBatch || this.assigned.length === 0) return false;
    return this.assigned.every(
      ({ topic, partition }) =>
        this.paused.has(tp(topic, partition)) ||
        (this.positions.get(tp(topic, partition)) ?? 0) >= this.kafka.endOffset(topic, partition),
    );
  }

  /** Simulates the client crashing (and restarting itself when `restarting`). */
  crash(error: Error, restarting: boolean): void {
    this.listeners.onCrash?.(error, restarting);
  }

  /** Another member's join or leave: finish the batch in flight, commit (onRebalancing), re-join. */
  async prepareRejoin(): Promise<void> {
    if (this.rejoining) return;
    this.rejoining = true;
    await this.inBatch;
    await this.listeners.onRebalancing?.();
  }

  /** The group's answer to the join: the member's partitions, read from the committed offsets. */
  assign(assignment: Record<string, number[]>, isLeader: boolean): void {
    this.generation = this.group.generation;
    this.assigned = Object.entries(assignment).flatMap(([topic, ps]) =>
      ps.map((partition) => ({ topic, partition })),
    );
    this.positions.clear();
    for (const { topic, partition } of this.assigned) {
      this.positions.set(
        tp(topic, partition),
        Math.max(0, this.group.committed.get(tp(topic, partition)) ?? 0),
      );
    }
    this.rejoining = false;
    this.listeners.onAssignment?.(new Map(Object.entries(assignment)), { memberId: this.memberId, isLeader });
  }

  private async poll(): Promise<void> {
    while (this.running) {
      let delivered = false;
      if (!this.rejoining) {
        for (const { topic, partition } of this.assigned) {
          if (!this.running || this.rejoining) break;
          const key = tp(topic, partition);
          if (this.paused.has(key)) continue;
          const log = this.kafka.partition(topic, partition);
          const position = this.positions.get(key) ?? 0;
          if (position >= log.length) continue;
          const records = log.slice(position, position + MAX_BATCH);
          const nextOffset = position + records.length;
          this.positions.set(key, nextOffset);
          delivered = true;
          this.inBatch = this.eachBatch!(
            {
              topic,
              partition,
              records,
              highWatermark: log.length,
              nextOffset,
              committableOffset: nextOffset,
            },
            { heartbeat: async () => {}, isRunning: () => this.running, isStale: () => false },
          ).catch(() => {});
          await this.inBatch;
          this.inBatch = undefined;
        }
      }
      if (!delivered) await sleep(POLL_MS);
    }
  }
}

class FakePartitionReader implements PartitionReader {
  private wanted = new Map<string, number>();
  private closed = false;
  private loop?: Promise<void>;

  constructor(
    private readonly kafka: FakeKafka,
    private readonly options: PartitionReaderOptions,
  ) {}

  async assign(positions: TopicPartitionOffset[]): Promise<void> {
    const next = new Map<string, number>();
    for (const p of positions)
      next.set(tp(p.topic, p.partition), this.wanted.get(tp(p.topic, p.partition)) ?? p.offset);
    this.wanted = next;
    this.loop ??= this.poll();
  }

  positions(): TopicPartitionOffset[] {
    return [...this.wanted].map(([key, offset]) => {
      const i = key.lastIndexOf(':');
      return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loop;
  }

  private async poll(): Promise<void> {
    while (!this.closed) {
      if (this.kafka.readersHeld) {
        await sleep(POLL_MS);
        continue;
      }
      let delivered = false;
      for (const [key, position] of [...this.wanted]) {
        if (this.closed || !this.wanted.has(key)) break;
        const i = key.lastIndexOf(':');
        const topic = key.slice(0, i);
        const partition = Number(key.slice(i + 1));
        const log = this.kafka.partition(topic, partition);
        if (position >= log.length) continue;
        const records = log.slice(position, position + MAX_BATCH);
        const nextOffset = position + records.length;
        delivered = true;
        await this.options.onBatch({ topic, partition, records, highWatermark: log.length, nextOffset });
        if (this.wanted.has(key)) this.wanted.set(key, nextOffset);
      }
      if (!delivered) await sleep(POLL_MS);
    }
  }
}
