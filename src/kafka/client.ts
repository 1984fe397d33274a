/**
 * The Kafka port: every Kafka call of the runtime, batch and serving layers goes through these
 * interfaces, so no module outside src/kafka imports a Kafka client library and a second client can be
 * measured behind the same port. The default implementation is kafkajs (kafkajs-client.ts); the
 * second is @platformatic/kafka (platformatic-client.ts).
 */
import type { KafkaErrorKind } from './errors.ts';

export type RecordHeaders = Record<string, Buffer | string | undefined>;

/** A record read from Kafka, still in bytes. Offsets and timestamps are numbers (safe below 2^53). */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: RecordHeaders;
}

/** A record to produce. Without `partition`, the producer partitions by key like Kafka's Java default (murmur2). */
export interface OutgoingRecord {
  topic: string;
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: RecordHeaders;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read (Kafka's committed-offset convention). */
  offset: number;
}

export interface NewTopic {
  name: string;
  partitions: number;
  replicationFactor?: number;
  config?: Record<string, string>;
}

export interface PartitionEndOffsets {
  partition: number;
  /** First offset still in the log. */
  low: number;
  /** Last stable offset (read_committed end; equals the high watermark without open transactions). */
  high: number;
}

/** A member's assignment as decoded from the group (for the task → host map). */
export interface GroupMemberAssignment {
  memberId: string;
  clientId: string;
  assignment: Record<string, number[]>;
  userData: Buffer;
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet; returns the names it created. */
  createTopics(topics: NewTopic[]): Promise<string[]>;
  /** Partition counts of existing topics; missing topics are absent from the map. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  listTopics(): Promise<string[]>;
  /** Low and (read_committed) high offsets of every partition of a topic. */
  endOffsets(topic: string): Promise<PartitionEndOffsets[]>;
  /**
   * Committed offsets of a group (-1 where none). `requireStable`: wait out offsets of transactions
   * still completing (OffsetFetch require_stable, KIP-447) where the client can ask for it.
   */
  committedOffsets(
    groupId: string,
    topics: string[],
    options?: { requireStable?: boolean },
  ): Promise<TopicPartitionOffset[]>;
  deleteTopics(topics: string[]): Promise<void>;
  /** Topic-level configs as the broker reports them (defaults included); missing topics are absent. */
  topicConfigs(topics: string[]): Promise<Map<string, Record<string, string>>>;
  deleteGroups(groupIds: string[]): Promise<void>;
  /** Commits offsets for a group that has no active members (the application reset tool). */
  setCommittedOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void>;
  /** Per partition, the first offset whose timestamp is at or after `timestamp` (the end offset where none). */
  offsetsForTime(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: number }>>;
  /** Current assignments of a consumer group, with the assignor's userData. */
  groupAssignments(groupId: string): Promise<GroupMemberAssignment[]>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** Makes the producer transactional (and idempotent). */
  transactionalId?: string;
  /**
   * Every producer is idempotent (acks=all, one request in flight, exactly-once per partition and
   * session): there is no way to ask for another kind. Kept so that callers may say so.
   */
  idempotent?: true;
  transactionTimeoutMs?: number;
}

export interface ProducedPartition {
  topic: string;
  partition: number;
  /** Offset of the first record written to this partition by the request. */
  baseOffset: number;
  /** Records the request wrote to this partition when all of them named it explicitly (else undefined). */
  count?: number;
}

/**
 * Who a consumer is in its group (Java's ConsumerGroupMetadata). Sent with transactional offsets
 * (KIP-447), it lets the group coordinator reject the commit of a member that is no longer current,
 * so one transactional producer can serve every task of an instance.
 */
export interface ConsumerGroupMetadata {
  groupId: string;
  generationId: number;
  memberId: string;
}

export interface KafkaTransaction {
  send(records: OutgoingRecord[]): Promise<void>;
  /**
   * Adds consumer offsets to the transaction (TxnOffsetCommit), committed atomically with the records.
   * `group` (clients with `supportsGroupMetadataCommit`) makes the coordinator check the member's
   * generation; without it the offsets are committed whatever the group's state.
   */
  sendOffsets(groupId: string, offsets: TopicPartitionOffset[], group?: ConsumerGroupMetadata): Promise<void>;
  /** Not retried: after a failed commit the transaction's outcome is unknown; recover by re-initializing. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface KafkaProducer {
  /** Produces in large pipelined batches with acks=all; resolves when every record is acknowledged. */
  send(records: OutgoingRecord[]): Promise<ProducedPartition[]>;
  /**
   * Transactional producers: registers the transactional id with the coordinator, fencing older
   * producers with the same id and aborting their open transaction (Java's initTransactions()).
   */
  initTransactions(): Promise<void>;
  /** Begins a transaction (transactional producers only). */
  transaction(): Promise<KafkaTransaction>;
  close(): Promise<void>;
}

/** A member of a consumer group as the assignor sees it. */
export interface AssignorMember {
  memberId: string;
  topics: string[];
  userData: Buffer;
}

export interface AssignorResult {
  assignment: Record<string, number[]>;
  userData?: Buffer;
}

/** Custom partition assignment (runs on the group leader). */
export interface GroupAssignor {
  name: string;
  version?: number;
  /** This member's subscription userData (e.g. previously owned tasks and its endpoint). */
  subscriptionUserData(): Buffer;
  assign(input: {
    members: AssignorMember[];
    partitionCounts: Map<string, number>;
  }): Map<string, AssignorResult> | Promise<Map<string, AssignorResult>>;
}

export interface ConsumerOptions {
  groupId: string;
  isolationLevel?: 'read_committed' | 'read_uncommitted';
  assignor?: GroupAssignor;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  maxBytesPerPartition?: number;
  maxWaitTimeMs?: number;
  /** Where to start when the group has no committed offset. Default earliest. */
  fromBeginning?: boolean;
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  highWatermark: number;
  /** Offset after the last record of the fetched batch, control records included. */
  nextOffset: number;
  /**
   * Like nextOffset, but undefined when the fetch returned nothing at all (then nextOffset is the high
   * watermark, which under read_committed may lie past an open transaction): safe to commit.
   */
  committableOffset?: number;
}

export interface BatchContext {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

/** Who this member is in the generation an assignment belongs to. */
export interface MemberInfo {
  memberId: string;
  isLeader: boolean;
}

export interface ConsumerListeners {
  /** After each join/sync with the member's new assignment (eager protocol: a full reassignment). */
  onAssignment?(assignment: Map<string, number[]>, member: MemberInfo): void;
  /**
   * When the member detected a rebalance and is about to re-join. When detected after a batch, the
   * re-join waits for the returned promise (commit here, as in Java's onPartitionsRevoked).
   */
  onRebalancing?(): void | Promise<void>;
  /** When the consumer crashed; `restarting` tells whether the client restarts itself. */
  onCrash?(error: Error, restarting: boolean): void;
}

// The port's errors and their classification live in errors.ts; re-exported here for existing imports.
export { RebalanceInProgressError } from './errors.ts';

export interface KafkaConsumer {
  subscribe(topics: string[]): Promise<void>;
  /** Starts consuming; batches are delivered one at a time, in order per partition. */
  run(
    eachBatch: (batch: ConsumerBatch, context: BatchContext) => Promise<void>,
    listeners?: ConsumerListeners,
  ): Promise<void>;
  /** Throws RebalanceInProgressError when the group rejected the commit because of a rebalance. */
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
  pause(partitions: Array<{ topic: string; partitions: number[] }>): void;
  resume(partitions: Array<{ topic: string; partitions: number[] }>): void;
  /**
   * Fetches an assigned partition from `offset` on; batches fetched before are not delivered. Used to
   * rewind a task that lost its uncommitted work (Kafka Streams' TaskCorrupted). Clients without it
   * stop the instance in that case instead.
   */
  seek?(topic: string, partition: number, offset: number): void;
  /** The member's current group metadata (clients with `supportsGroupMetadataCommit`). */
  groupMetadata?(): ConsumerGroupMetadata;
  /** Stops fetching, leaves the group and disconnects. */
  close(): Promise<void>;
}

export interface FetchRange {
  topic: string;
  partition: number;
  /** First offset to read. */
  fromOffset: number;
  /** Stop before this offset (exclusive), e.g. an end offset captured before. */
  toOffset: number;
}

/** Flow control of a running fetchRanges: a paused partition is not fetched until resumed. */
export interface FetchControl {
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
}

export interface FetchRangeOptions {
  isolationLevel?: 'read_committed' | 'read_uncommitted';
  /** Called for each fetched batch of one partition (records inside the range only). */
  onBatch(records: ConsumedRecord[], range: FetchRange, control: FetchControl): void | Promise<void>;
  /** Called once per range when it is read to its end (at once for an empty range). */
  onRangeDone?(range: FetchRange, control: FetchControl): void;
  /** Give up after this long without progress (paused partitions do not count). Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * Most bytes fetched per partition and request (default 8 MiB). Every record of a fetch is decoded
   * at once: smaller fetches keep fewer records in memory.
   */
  maxBytesPerPartition?: number;
}

export interface PartitionReaderOptions {
  isolationLevel?: 'read_committed' | 'read_uncommitted';
  /** Called with each fetched batch of an assigned partition (records at or after its position). */
  onBatch(batch: ConsumerBatch): Promise<void>;
  /**
   * Called when the position of a partition moved past records that never reach onBatch (control
   * records, aborted transactions, compacted gaps).
   */
  onPosition?(topic: string, partition: number, nextOffset: number): void;
  /** The reader stopped for good (it does not restart itself). */
  onError?(error: Error): void;
}

/**
 * Reads chosen partitions from chosen offsets, without a consumer group of the application and
 * without committing anything (Java's consumer.assign() + seek()): restoration of changelogs, standby
 * replicas and global tables, which every instance reads in full.
 */
export interface PartitionReader {
  /** Reads exactly these partitions from these offsets from now on (replaces the previous set). */
  assign(positions: TopicPartitionOffset[]): Promise<void>;
  /** Partitions currently read, with the next offset each will deliver. */
  positions(): TopicPartitionOffset[];
  close(): Promise<void>;
}

export interface KafkaClient {
  readonly brokers: string[];
  /**
   * True when transactions commit consumer offsets with the member's group metadata (KIP-447,
   * TxnOffsetCommit v3+; consumers offer `groupMetadata()`): exactly_once then needs one
   * transactional producer per instance instead of one per task. kafkajs speaks TxnOffsetCommit v0–1.
   */
  readonly supportsGroupMetadataCommit?: boolean;
  admin(): Promise<KafkaAdmin>;
  producer(options?: ProducerOptions): Promise<KafkaProducer>;
  consumer(options: ConsumerOptions): KafkaConsumer;
  /** Reads bounded offset ranges (restoration, batch replay); resolves when every range is read. */
  fetchRanges(ranges: FetchRange[], options: FetchRangeOptions): Promise<void>;
  /** An unbounded reader of assigned partitions (see PartitionReader). */
  reader(options: PartitionReaderOptions): PartitionReader;
  /**
   * Classifies an error of this client's library (errors.ts); undefined or absent when the client
   * throws only the port's own error classes, which classify themselves.
   */
  classifyError?(error: unknown): KafkaErrorKind | undefined;
}

export interface KafkaClientConfig {
  brokers: string[];
  clientId?: string;
  ssl?: boolean | Record<string, unknown>;
  sasl?: { mechanism: string; username?: string; password?: string; [key: string]: unknown };
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}
