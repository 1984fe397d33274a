/**
 * The Kafka port (client.ts) implemented on @platformatic/kafka 1.35 (the newest line that runs on
 * Node 20). With platformatic-errors.ts and platformatic-protocol.ts it is the only code that knows
 * the library; the runtime gets it through factory.ts (`--kafka-client platformatic`).
 *
 * How the port maps onto the library:
 * - Admin: the library's `Admin` (create/delete topics, metadata, ListOffsets for low and
 *   read_committed high offsets, OffsetFetch through listConsumerGroupOffsets, DescribeConfigs,
 *   DeleteGroups). groupAssignments sends DescribeGroups itself: the library's describeGroups decodes
 *   member assignments without their userData, which carries our task assignor's host map.
 * - Producer: the library's `Producer` (idempotent by default, acks=all), with Java's key
 *   partitioner (murmur2 & 0x7fffffff, the library's `compatibilityPartitioner`; its default differs)
 *   and requests split below the broker's message.max.bytes. Transactions: `beginTransaction()` runs
 *   InitProducerId for the transactional id on first use (fencing older producers with that id), and
 *   the adapter sends AddOffsetsToTxn (`addConsumer`) and one TxnOffsetCommit (v3, KIP-447: it carries
 *   the consumer's generation and member id when given) for all partitions itself: the library's
 *   `addOffset` sends one request per record.
 * - Consumer group: NOT the library's `Consumer`. Its pluggable `partitionAssigner` is synchronous,
 *   is skipped when the group has one member, and its assignments carry no userData (the encoder
 *   writes an empty one), so our assignor (runtime/task-assignor.ts) could not hand members their
 *   standbys and the task → host map. The adapter runs the classic group protocol itself on the
 *   library's request functions (JoinGroup v9, SyncGroup v5, Heartbeat v4, LeaveGroup v5,
 *   OffsetCommit v8, OffsetFetch v8) over a connection pool of its own, so that a JoinGroup parked at
 *   the coordinator never blocks fetches. Owning the loop makes "commit before re-join" (Java's
 *   onPartitionsRevoked) plain: the heartbeat learns of a rebalance, the fetch loop stops after the
 *   batch in hand, runs onRebalancing, then re-joins (kafkajs needs kafkajs-rejoin.ts for this).
 * - Fetching (group consumer, fetchRanges, PartitionReader): one fetch loop (`Fetcher`) on the
 *   negotiated Fetch version, positions kept by the adapter (assign + seek, no group for readers),
 *   whole record batches handed over per partition. read_committed filtering of aborted transactions
 *   is done here (platformatic-protocol.ts): the library's own filter keeps only the last aborted
 *   transaction per producer id in a fetch response.
 */
import { randomBytes } from 'node:crypto';

import {
  Admin,
  Producer,
  compatibilityPartitioner,
  describeGroupsV5,
  heartbeatV4,
  joinGroupV9,
  kGetApi,
  leaveGroupV5,
  offsetCommitV8,
  offsetFetchV8,
  syncGroupV5,
  txnOffsetCommitV3,
  type Base,
  type BaseOptions,
  type Broker,
  type Connection,
  type MessageToProduce,
} from '@platformatic/kafka';

import { childLogger } from '../logger.ts';
import type {
  BatchContext,
  ConsumedRecord,
  ConsumerBatch,
  ConsumerGroupMetadata,
  ConsumerListeners,
  ConsumerOptions,
  FetchControl,
  FetchRange,
  FetchRangeOptions,
  GroupAssignor,
  GroupMemberAssignment,
  KafkaAdmin,
  KafkaClient,
  KafkaClientConfig,
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
} from './client.ts';
import { RebalanceInProgressError, type KafkaErrorKind } from './errors.ts';
import {
  classifyPlatformaticError,
  isRetriablePlatformaticError,
  protocolErrorIds,
  withAuthenticationFailure,
} from './platformatic-errors.ts';
import {
  decodeAssignment,
  decodeBatches,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type FetchedRecordsBatch,
} from './platformatic-protocol.ts';
import { retryKafka } from './retry.ts';

type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;

const log = childLogger({ component: 'platformatic-kafka' });

/** Bytes per produce request; the broker's default message.max.bytes is 1 MiB per record batch. */
const MAX_REQUEST_BYTES = 900 * 1024;
const MAX_REQUEST_RECORDS = 20_000;

const READ_COMMITTED = 1;
const READ_UNCOMMITTED = 0;
const EARLIEST = -2n;
const LATEST = -1n;
const CONFIG_RESOURCE_TOPIC = 2;
const COORDINATOR_GROUP = 0;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const key = (topic: string, partition: number): string => `${topic}:${partition}`;

function splitKey(k: string): { topic: string; partition: number } {
  const i = k.lastIndexOf(':');
  return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
}

/** The library's options from the port's client config. */
function baseOptions(config: KafkaClientConfig, suffix: string): BaseOptions {
  const options: BaseOptions = {
    clientId: `${config.clientId ?? 'lambda-streams'}${suffix}`,
    bootstrapBrokers: config.brokers,
    connectTimeout: config.connectionTimeoutMs ?? 5_000,
    timeout: config.requestTimeoutMs ?? 30_000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    retries: 8,
    retryDelay: 200,
  };
  if (config.ssl) options.tls = config.ssl === true ? {} : (config.ssl as BaseOptions['tls']);
  if (config.sasl) {
    const { mechanism, username, password } = config.sasl;
    options.sasl = {
      mechanism: mechanism.toUpperCase() as NonNullable<BaseOptions['sasl']>['mechanism'],
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    };
  }
  return options;
}

/** A version-negotiated request function of the library (e.g. Fetch). */
function negotiatedApi<Args extends unknown[], Response>(
  base: Base,
  name: string,
): Promise<{ version: number; call: (connection: Connection, ...args: Args) => Promise<Response> }> {
  return new Promise((resolve, reject) => {
    base[kGetApi]<Args, Response>(name, (error, api) => {
      if (error || !api) reject(error ?? new Error(`no ${name} API`));
      else resolve({ version: api.version, call: (connection, ...args) => api.async(connection, ...args) });
    });
  });
}

/** The response a ResponseError carries (partition errors fail the whole request in the library). */
function responseOf<T>(error: unknown): T | undefined {
  return (error as { response?: T } | null)?.response;
}

// ---------------------------------------------------------------------------------------------
// Admin

class PlatformaticAdmin implements KafkaAdmin {
  constructor(
    private readonly admin: Admin,
    private readonly config: KafkaClientConfig,
  ) {}

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await retryKafka(fn, {
        attempts: 5,
        initialBackoffMs: 200,
        isRetriable: isRetriablePlatformaticError,
      });
    } catch (error) {
      throw withAuthenticationFailure(error);
    }
  }

  async createTopics(topics: NewTopic[]): Promise<string[]> {
    if (topics.length === 0) return [];
    const existing = new Set(await this.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return [];
    const created: string[] = [];
    for (const t of missing) {
      try {
        await this.call(() =>
          this.admin.createTopics({
            topics: [t.name],
            partitions: t.partitions,
            replicas: t.replicationFactor ?? -1,
            configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
          }),
        );
        created.push(t.name);
      } catch (error) {
        // Another instance may have created it at the same time.
        if (!protocolErrorIds(error).includes('TOPIC_ALREADY_EXISTS')) throw error;
      }
    }
    await this.waitForLeaders(missing.map((t) => t.name));
    return created.length === missing.length ? created : missing.map((t) => t.name);
  }

  private async waitForLeaders(topics: string[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const metadata = await this.admin.metadata({ topics, forceUpdate: true });
        const ready = topics.every((name) => {
          const t = metadata.topics.get(name);
          return t !== undefined && t.partitionsCount > 0 && t.partitions.every((p) => p.leader >= 0);
        });
        if (ready) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline)
        throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (topics.length === 0) return counts;
    const existing = new Set(await this.listTopics());
    const present = [...new Set(topics)].filter((t) => existing.has(t));
    if (present.length === 0) return counts;
    const metadata = await this.call(() => this.admin.metadata({ topics: present, forceUpdate: true }));
    for (const name of present) {
      const t = metadata.topics.get(name);
      if (t) counts.set(name, t.partitionsCount);
    }
    return counts;
  }

  listTopics(): Promise<string[]> {
    return this.call(() => this.admin.listTopics({ includeInternals: false }));
  }

  async endOffsets(topic: string): Promise<PartitionEndOffsets[]> {
    const metadata = await this.call(() => this.admin.metadata({ topics: [topic] }));
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const request = (timestamp: bigint): Promise<Map<number, number>> =>
      this.call(async () => {
        const listed = await this.admin.listOffsets({
          isolationLevel: READ_COMMITTED,
          topics: [
            {
              name: topic,
              partitions: Array.from({ length: count }, (_, partitionIndex) => ({
                partitionIndex,
                timestamp,
              })),
            },
          ],
        });
        const out = new Map<number, number>();
        for (const t of listed) for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset));
        return out;
      });
    const [low, high] = await Promise.all([request(EARLIEST), request(LATEST)]);
    return Array.from({ length: count }, (_, partition) => ({
      partition,
      low: low.get(partition) ?? 0,
      high: high.get(partition) ?? 0,
    }));
  }

  async committedOffsets(
    groupId: string,
    topics: string[],
    options: { requireStable?: boolean } = {},
  ): Promise<TopicPartitionOffset[]> {
    const counts = await this.partitionCounts(topics);
    const wanted = topics
      .filter((t) => counts.has(t))
      .map((name) => ({
        name,
        partitionIndexes: Array.from({ length: counts.get(name)! }, (_, i) => i),
      }));
    if (wanted.length === 0) return [];
    const groups = await this.call(() =>
      this.admin.listConsumerGroupOffsets({
        groups: [{ groupId, topics: wanted }],
        // UNSTABLE_OFFSET_COMMIT while a transaction completes is retried (by the library and `call`).
        ...(options.requireStable ? { requireStable: true } : {}),
      }),
    );
    const committed = new Map<string, number>();
    for (const g of groups)
      for (const t of g.topics)
        for (const p of t.partitions) committed.set(key(t.name, p.partitionIndex), Number(p.committedOffset));
    return wanted.flatMap((t) =>
      t.partitionIndexes.map((partition) => ({
        topic: t.name,
        partition,
        offset: committed.get(key(t.name, partition)) ?? -1,
      })),
    );
  }

  async setCommittedOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push({ partition: o.partition, offset: BigInt(o.offset) });
    }
    if (byTopic.size === 0) return;
    await this.call(() =>
      this.admin.alterConsumerGroupOffsets({
        groupId,
        topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
      }),
    );
  }

  async offsetsForTime(
    topic: string,
    timestamp: number,
  ): Promise<Array<{ partition: number; offset: number }>> {
    const metadata = await this.call(() => this.admin.metadata({ topics: [topic] }));
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const request = (at: bigint): Promise<Map<number, number>> =>
      this.call(async () => {
        const listed = await this.admin.listOffsets({
          isolationLevel: READ_COMMITTED,
          topics: [
            {
              name: topic,
              partitions: Array.from({ length: count }, (_, partitionIndex) => ({
                partitionIndex,
                timestamp: at,
              })),
            },
          ],
        });
        const out = new Map<number, number>();
        for (const t of listed) for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset));
        return out;
      });
    const [atTime, high] = await Promise.all([request(BigInt(timestamp)), request(LATEST)]);
    // The broker answers -1 where no record is at or after the time: that partition's end offset.
    return Array.from({ length: count }, (_, partition) => {
      const offset = atTime.get(partition) ?? -1;
      return { partition, offset: offset >= 0 ? offset : (high.get(partition) ?? 0) };
    });
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length > 0) await this.call(() => this.admin.deleteTopics({ topics }));
  }

  async topicConfigs(topics: string[]): Promise<Map<string, Record<string, string>>> {
    const configs = new Map<string, Record<string, string>>();
    const existing = new Set(await this.listTopics());
    const present = [...new Set(topics)].filter((t) => existing.has(t));
    if (present.length === 0) return configs;
    const described = await this.call(() =>
      this.admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((resourceName) => ({ resourceType: CONFIG_RESOURCE_TOPIC, resourceName })),
      }),
    );
    for (const resource of described) {
      const entries: Record<string, string> = {};
      for (const c of resource.configs)
        if (c.value !== null && c.value !== undefined) entries[c.name] = c.value;
      configs.set(resource.resourceName, entries);
    }
    return configs;
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length > 0) await this.call(() => this.admin.deleteGroups({ groups: groupIds }));
  }

  async groupAssignments(groupId: string): Promise<GroupMemberAssignment[]> {
    const [coordinator] = await this.call(() =>
      this.admin.findCoordinator({ keyType: COORDINATOR_GROUP, keys: [groupId] }),
    );
    if (!coordinator) return [];
    const connection = await this.admin.connections.get({ host: coordinator.host, port: coordinator.port });
    const response = await this.call(() => describeGroupsV5.api.async(connection, [groupId], false));
    const group = response.groups[0];
    if (!group) return [];
    return group.members.map((m) => {
      const decoded = decodeAssignment(m.memberAssignment ?? Buffer.alloc(0));
      return {
        memberId: m.memberId,
        clientId: m.clientId,
        assignment: decoded.assignment,
        userData: decoded.userData,
      };
    });
  }

  close(): Promise<void> {
    void this.config;
    return this.admin.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Producer

function recordSize(record: OutgoingRecord): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + 24;
}

function toMessage(record: OutgoingRecord): MessageToProduce {
  const message: MessageToProduce = { topic: record.topic, timestamp: BigInt(record.timestamp) };
  if (record.key !== null) message.key = record.key;
  if (record.value !== null) message.value = record.value;
  if (record.partition !== undefined) message.partition = record.partition;
  if (record.headers) {
    // Header names must be bytes: the library's default serializers pass Buffers through only.
    let headers: Map<Buffer, Buffer> | undefined;
    for (const [name, value] of Object.entries(record.headers)) {
      if (value === undefined) continue;
      (headers ??= new Map()).set(Buffer.from(name), typeof value === 'string' ? Buffer.from(value) : value);
    }
    if (headers) message.headers = headers;
  }
  return message;
}

/** Splits records into produce requests below the broker's size limit, keeping their order. */
function chunkRecords(records: OutgoingRecord[]): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let chunk: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordSize(record);
    if (chunk.length > 0 && (bytes + size > MAX_REQUEST_BYTES || chunk.length >= MAX_REQUEST_RECORDS)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Records per partition of topics whose records all carry an explicit partition. */
function explicitCounts(records: OutgoingRecord[]): Map<string, number> {
  const implicit = new Set(records.filter((r) => r.partition === undefined).map((r) => r.topic));
  const counts = new Map<string, number>();
  for (const r of records) {
    if (implicit.has(r.topic)) continue;
    const k = key(r.topic, r.partition!);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

class PlatformaticTransaction implements KafkaTransaction {
  private touched = false;

  constructor(
    private readonly producer: PlatformaticProducer,
    private readonly txn: Transaction,
  ) {}

  async send(records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.touched = true;
    for (const chunk of chunkRecords(records)) {
      await this.txn.send({ messages: chunk.map(toMessage), acks: -1 });
    }
  }

  async sendOffsets(
    groupId: string,
    offsets: TopicPartitionOffset[],
    group?: ConsumerGroupMetadata,
  ): Promise<void> {
    if (offsets.length === 0) return;
    this.touched = true;
    // AddOffsetsToTxn: the group's offsets partition joins the transaction.
    await retryKafka(() => this.txn.addConsumer({ groupId } as never), {
      isRetriable: isRetriablePlatformaticError,
    });
    await retryKafka(() => this.producer.txnOffsetCommit(this.txn.id, groupId, offsets, group), {
      isRetriable: isRetriablePlatformaticError,
      onRetry: (err, attempt) => log.debug({ err, attempt }, 'retrying TxnOffsetCommit'),
    });
  }

  commit(): Promise<void> {
    return this.touched ? this.txn.commit() : this.txn.cancel();
  }

  async abort(): Promise<void> {
    // Nothing reached the coordinator: EndTxn would fail on an empty transaction.
    if (!this.touched) return this.txn.cancel();
    try {
      await this.txn.abort();
    } finally {
      // A failed abort leaves the library's transaction open; the caller recovers by re-initializing.
      if (!this.txn.completed) await this.txn.cancel().catch(() => {});
    }
  }
}

/**
 * InitProducerId asks for a new epoch of the transactional id (-1/-1). The library sends 0/0 by
 * default, which the broker reads as "bump producer 0" (KIP-360) and answers PRODUCER_FENCED as soon
 * as another producer used the id: the successor of a crashed task could never start.
 */
const NEW_PRODUCER = { producerId: -1n, producerEpoch: -1 };

class PlatformaticProducer implements KafkaProducer {
  constructor(private readonly producer: Producer) {}

  async send(records: OutgoingRecord[]): Promise<ProducedPartition[]> {
    const produced: ProducedPartition[] = [];
    // Sequential requests keep per-partition order (each one is large; see MAX_REQUEST_BYTES).
    for (const chunk of chunkRecords(records)) {
      const counts = explicitCounts(chunk);
      const result = await this.producer.send({ messages: chunk.map(toMessage), acks: -1 });
      for (const o of result.offsets ?? []) {
        const p: ProducedPartition = { topic: o.topic, partition: o.partition, baseOffset: Number(o.offset) };
        const count = counts.get(key(o.topic, o.partition));
        produced.push(count === undefined ? p : { ...p, count });
      }
    }
    return produced;
  }

  async initTransactions(): Promise<void> {
    // The first transaction of a transactional id runs InitProducerId (fences older producers and
    // aborts their open transaction); nothing is sent in it.
    const txn = await retryKafka(() => this.producer.beginTransaction(NEW_PRODUCER), {
      isRetriable: isRetriablePlatformaticError,
    });
    await txn.cancel();
  }

  async transaction(): Promise<KafkaTransaction> {
    const txn = await retryKafka(() => this.producer.beginTransaction(NEW_PRODUCER), {
      isRetriable: isRetriablePlatformaticError,
    });
    return new PlatformaticTransaction(this, txn);
  }

  /** One TxnOffsetCommit for all partitions, to the group's coordinator. */
  async txnOffsetCommit(
    transactionalId: string,
    groupId: string,
    offsets: TopicPartitionOffset[],
    group?: ConsumerGroupMetadata,
  ): Promise<void> {
    const connection = await coordinatorConnection(this.producer, groupId);
    const byTopic = new Map<
      string,
      Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }>
    >();
    for (const o of offsets) {
      let partitions = byTopic.get(o.topic);
      if (!partitions) byTopic.set(o.topic, (partitions = []));
      partitions.push({
        partitionIndex: o.partition,
        committedOffset: BigInt(o.offset),
        committedLeaderEpoch: -1,
      });
    }
    await txnOffsetCommitV3.api.async(
      connection,
      transactionalId,
      groupId,
      this.producer.producerId!,
      this.producer.producerEpoch!,
      group?.generationId ?? -1,
      group?.memberId ?? '',
      null,
      [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    );
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

/** A connection to the group coordinator of `groupId`, through `base`'s pool. */
async function coordinatorConnection(base: Base, groupId: string): Promise<Connection> {
  const { call } = await negotiatedApi<
    [number, string[]],
    { coordinators: Array<{ key: string; nodeId: number; host: string; port: number; errorCode: number }> }
  >(base, 'FindCoordinator');
  const connection = await base.connections.getFirstAvailable(bootstrapBrokers(base));
  const response = await call(connection, COORDINATOR_GROUP, [groupId]);
  const c = response.coordinators.find((x) => x.key === groupId);
  if (!c || c.nodeId < 0) throw new Error(`no coordinator for group ${groupId}`);
  return base.connections.get({ host: c.host, port: c.port });
}

function bootstrapBrokers(base: Base): Broker[] {
  const metadata = base.currentMetadata;
  if (metadata && metadata.brokers.size > 0) return [...metadata.brokers.values()];
  return (base as unknown as { [k: symbol]: Broker[] })[kBootstrapBrokersSymbol(base)] ?? [];
}

/** The library keeps its bootstrap brokers under a symbol; found once by its description. */
function kBootstrapBrokersSymbol(base: Base): symbol {
  const s = Object.getOwnPropertySymbols(base).find(
    (x) => x.description === 'plt.kafka.base.bootstrapBrokers',
  );
  if (!s) throw new Error('@platformatic/kafka internals changed: bootstrap brokers not found');
  return s;
}

// ---------------------------------------------------------------------------------------------
// Fetch loop

interface FetchedPartition {
  topic: string;
  partition: number;
  /** The position the fetch started at. */
  fetchOffset: number;
  records: ConsumedRecord[];
  nextOffset?: number;
  highWatermark: number;
  lastStableOffset: number;
}

interface FetcherOptions {
  base: Base;
  isolationLevel: number;
  maxWaitMs: number;
  maxBytesPerPartition: number;
  /** Where a partition restarts when its position is out of range. */
  resetTo: 'earliest' | 'latest';
  onFetched(fetched: FetchedPartition): Promise<void>;
  onError(error: Error): void;
  /** A fetch failed because no broker answered; the loop retries on its own. */
  onConnectionError?(error: Error): void;
}

/** Partition errors after which metadata is refreshed and the fetch retried. */
const STALE_METADATA_CODES = new Set([3, 5, 6, 74, 100, 56, 78, 103]);
const OFFSET_OUT_OF_RANGE = 1;

/**
 * Fetches the partitions it holds positions for (not paused) from their leaders, one request per
 * leader and round, and hands each partition's records over in order, one partition at a time.
 */
class Fetcher {
  private readonly positions = new Map<string, number>();
  private readonly paused = new Set<string>();
  private running = false;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** Bumped on every external position change: responses of older rounds are dropped for it. */
  private readonly epochs = new Map<string, number>();
  private fetchApi?: {
    version: number;
    call: (connection: Connection, ...args: unknown[]) => Promise<unknown>;
  };
  /** Partitions being handed over right now; the loop waits for them on stop. */
  private inFlight: Promise<void> = Promise.resolve();
  private held = false;

  constructor(private readonly options: FetcherOptions) {}

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.loop = this.run().catch((error: unknown) => this.options.onError(error as Error));
  }

  /** Stops fetching; resolves after the partition being handed over (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.inFlight.catch(() => {});
  }

  /** Resolves when the loop has ended (after stop). */
  async ended(): Promise<void> {
    await this.loop;
  }

  set(topic: string, partition: number, offset: number): void {
    const k = key(topic, partition);
    this.positions.set(k, offset);
    this.epochs.set(k, (this.epochs.get(k) ?? 0) + 1);
    this.wake?.();
  }

  remove(topic: string, partition: number): void {
    const k = key(topic, partition);
    this.positions.delete(k);
    this.paused.delete(k);
    this.epochs.set(k, (this.epochs.get(k) ?? 0) + 1);
  }

  clear(): void {
    for (const k of this.positions.keys()) this.epochs.set(k, (this.epochs.get(k) ?? 0) + 1);
    this.positions.clear();
    this.paused.clear();
  }

  position(topic: string, partition: number): number | undefined {
    return this.positions.get(key(topic, partition));
  }

  all(): TopicPartitionOffset[] {
    return [...this.positions].map(([k, offset]) => ({ ...splitKey(k), offset }));
  }

  pause(topic: string, partition: number): void {
    this.paused.add(key(topic, partition));
  }

  resume(topic: string, partition: number): void {
    if (this.paused.delete(key(topic, partition))) this.wake?.();
  }

  isPaused(topic: string, partition: number): boolean {
    return this.paused.has(key(topic, partition));
  }

  /** Stops handing batches over (fetching pauses too); resolves when the one in hand is done. */
  async hold(): Promise<void> {
    this.held = true;
    await this.inFlight.catch(() => {});
  }

  release(): void {
    this.held = false;
    this.wake?.();
  }

  private async idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    const { base } = this.options;
    let failures = 0;
    while (!this.stopped) {
      const active = this.held ? [] : [...this.positions.keys()].filter((k) => !this.paused.has(k));
      if (active.length === 0) {
        await this.idle(200);
        continue;
      }
      try {
        this.fetchApi ??= (await negotiatedApi(base, 'Fetch')) as Fetcher['fetchApi'];
        const topics = [...new Set(active.map((k) => splitKey(k).topic))];
        const metadata = await base.metadata({ topics });
        const byLeader = new Map<
          number,
          Array<{ topic: string; partition: number; offset: number; epoch: number }>
        >();
        for (const k of active) {
          const { topic, partition } = splitKey(k);
          const leader = metadata.topics.get(topic)?.partitions[partition]?.leader;
          if (leader === undefined || leader < 0) continue;
          let list = byLeader.get(leader);
          if (!list) byLeader.set(leader, (list = []));
          list.push({ topic, partition, offset: this.positions.get(k)!, epoch: this.epochs.get(k) ?? 0 });
        }
        if (byLeader.size === 0) {
          base.clearMetadata();
          await this.idle(200);
          continue;
        }
        const rounds = await Promise.all(
          [...byLeader].map(([leader, parts]) =>
            this.fetchFrom(metadata.brokers.get(leader)!, parts, metadata.topics),
          ),
        );
        failures = 0;
        for (const round of rounds) {
          for (const fetched of round) {
            if (this.stopped) return;
            await this.handOver(fetched);
          }
        }
      } catch (error) {
        if (this.stopped) return;
        failures++;
        const kind = classifyPlatformaticError(error);
        if (kind === 'fatal' && failures > 3) throw error;
        if (kind === 'connection') this.options.onConnectionError?.(error as Error);
        base.clearMetadata();
        log.debug({ err: error, failures }, 'fetch failed; retrying');
        await this.idle(Math.min(2_000, 100 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  private async handOver(f: FetchedPartition & { epoch: number }): Promise<void> {
    const k = key(f.topic, f.partition);
    if (this.held || this.epochs.get(k) !== f.epoch || this.positions.get(k) !== f.fetchOffset) return;
    const done = this.options.onFetched(f);
    this.inFlight = done;
    await done;
    // The callback may have moved or dropped the partition: then its position stays as it set it.
    if (
      f.nextOffset !== undefined &&
      this.epochs.get(k) === f.epoch &&
      this.positions.get(k) === f.fetchOffset
    ) {
      this.positions.set(k, Math.max(f.fetchOffset, f.nextOffset));
    }
  }

  private async fetchFrom(
    broker: Broker,
    parts: Array<{ topic: string; partition: number; offset: number; epoch: number }>,
    topics: Map<string, { id: string }>,
  ): Promise<Array<FetchedPartition & { epoch: number }>> {
    const api = this.fetchApi!;
    const byTopic = new Map<string, typeof parts>();
    for (const p of parts) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push(p);
    }
    // Fetch v13+ names topics by id.
    const useIds = api.version >= 13;
    const idOf = (topic: string): string => (useIds ? topics.get(topic)!.id : topic);
    const topicOfId = new Map([...byTopic.keys()].map((t) => [idOf(t), t]));
    const request = [...byTopic].map(([topic, list]) => ({
      topicId: idOf(topic),
      ...(useIds ? {} : { topic }),
      partitions: list.map((p) => ({
        partition: p.partition,
        currentLeaderEpoch: -1,
        fetchOffset: BigInt(p.offset),
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: this.options.maxBytesPerPartition,
      })),
    }));
    const connection = await this.options.base.connections.get(broker);
    type Response = {
      responses: Array<{
        topicId?: string;
        topic?: string;
        partitions: Array<{
          partitionIndex: number;
          errorCode: number;
          highWatermark: bigint;
          lastStableOffset: bigint;
          abortedTransactions?: Array<{ producerId: bigint; firstOffset: bigint }>;
          records?: FetchedRecordsBatch[];
        }>;
      }>;
    };
    let response: Response;
    try {
      response = (await api.call(
        connection,
        this.options.maxWaitMs,
        1,
        64 * 1024 * 1024,
        this.options.isolationLevel,
        0,
        -1,
        request,
        [],
        '',
      )) as Response;
    } catch (error) {
      // Partition errors fail the whole request; the response is still there.
      const partial = responseOf<Response>(error);
      if (!partial?.responses) throw error;
      response = partial;
    }
    const out: Array<FetchedPartition & { epoch: number }> = [];
    const requested = new Map(parts.map((p) => [key(p.topic, p.partition), p]));
    for (const t of response.responses) {
      const topic = topicOfId.get(t.topicId ?? t.topic ?? '') ?? t.topic ?? '';
      for (const p of t.partitions) {
        const asked = requested.get(key(topic, p.partitionIndex));
        if (!asked) continue;
        if (p.errorCode === OFFSET_OUT_OF_RANGE) {
          await this.reset(topic, p.partitionIndex, asked.epoch);
          continue;
        }
        if (STALE_METADATA_CODES.has(p.errorCode)) {
          this.options.base.clearMetadata();
          continue;
        }
        if (p.errorCode !== 0) {
          throw new Error(
            `fetch of ${topic}[${p.partitionIndex}] at offset ${asked.offset} failed with error code ${p.errorCode}`,
          );
        }
        const decoded = decodeBatches(
          topic,
          p.partitionIndex,
          p.records,
          asked.offset,
          this.options.isolationLevel === READ_COMMITTED ? p.abortedTransactions : undefined,
        );
        out.push({
          topic,
          partition: p.partitionIndex,
          fetchOffset: asked.offset,
          records: decoded.records,
          ...(decoded.nextOffset === undefined ? {} : { nextOffset: decoded.nextOffset }),
          highWatermark: Number(p.highWatermark),
          lastStableOffset: Number(p.lastStableOffset),
          epoch: asked.epoch,
        });
      }
    }
    return out;
  }

  private async reset(topic: string, partition: number, epoch: number): Promise<void> {
    const offsets = await listOffsets(
      this.options.base,
      topic,
      [partition],
      this.options.resetTo === 'earliest' ? EARLIEST : LATEST,
      this.options.isolationLevel,
    );
    const k = key(topic, partition);
    const offset = offsets.get(partition);
    if (offset !== undefined && this.epochs.get(k) === epoch && this.positions.has(k)) {
      log.warn(
        { topic, partition, from: this.positions.get(k), to: offset },
        'fetch offset out of range; resetting',
      );
      this.positions.set(k, offset);
    }
  }
}

/** Offsets of some partitions at a timestamp (EARLIEST, LATEST), through an Admin-like base. */
async function listOffsets(
  base: Base,
  topic: string,
  partitions: number[],
  timestamp: bigint,
  isolationLevel: number,
): Promise<Map<number, number>> {
  const admin = base as unknown as Admin;
  const listed = await admin.listOffsets({
    isolationLevel: isolationLevel as 0 | 1,
    topics: [
      { name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) },
    ],
  });
  const out = new Map<number, number>();
  for (const t of listed) for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Consumer group

class PlatformaticConsumer implements KafkaConsumer {
  /** Coordinator requests: JoinGroup may wait there for a rebalance timeout, so not on the fetch pool. */
  private readonly groupBase: Admin;
  private readonly fetchBase: Admin;
  private readonly fetcher: Fetcher;
  private topics: string[] = [];
  private listeners: ConsumerListeners = {};
  private eachBatch?: (batch: ConsumerBatch, context: BatchContext) => Promise<void>;

  private memberId = '';
  private generationId = -1;
  private coordinator?: Connection;
  private heartbeatTimer?: NodeJS.Timeout;
  private rejoinNeeded = false;
  private running = false;
  private closed = false;
  private membership?: Promise<void>;
  private assignment = new Map<string, number[]>();

  constructor(
    config: KafkaClientConfig,
    private readonly options: ConsumerOptions,
  ) {
    this.groupBase = new Admin(baseOptions(config, '-group'));
    this.fetchBase = new Admin(baseOptions(config, '-fetch'));
    this.fetcher = new Fetcher({
      base: this.fetchBase,
      isolationLevel: options.isolationLevel === 'read_uncommitted' ? READ_UNCOMMITTED : READ_COMMITTED,
      maxWaitMs: options.maxWaitTimeMs ?? 100,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      resetTo: (options.fromBeginning ?? true) ? 'earliest' : 'latest',
      onFetched: (f) => this.deliver(f),
      onError: (error) => this.crash(error),
      onConnectionError: (error) => this.lostConnection(error),
    });
  }

  /** KIP-447: who this member is, for a transactional producer committing its offsets. */
  groupMetadata(): ConsumerGroupMetadata {
    return { groupId: this.options.groupId, generationId: this.generationId, memberId: this.memberId };
  }

  async subscribe(topics: string[]): Promise<void> {
    this.topics = [...topics];
    await this.fetchBase.metadata({ topics });
  }

  async run(
    eachBatch: (batch: ConsumerBatch, context: BatchContext) => Promise<void>,
    listeners: ConsumerListeners = {},
  ): Promise<void> {
    this.eachBatch = eachBatch;
    this.listeners = listeners;
    this.running = true;
    this.membership = this.joinLoop();
    await this.membership;
    this.fetcher.start();
  }

  private get heartbeatIntervalMs(): number {
    return this.options.heartbeatIntervalMs ?? 1_000;
  }

  /** Joins (again) until it holds an assignment; connection failures are reported and retried. */
  private async joinLoop(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.join();
        return;
      } catch (error) {
        if (this.closed) return;
        const kind = classifyPlatformaticError(error);
        if (kind === 'rebalance' || kind === 'retriable') {
          await sleep(Math.min(1_000, 50 * attempt));
          continue;
        }
        if (kind === 'connection') {
          this.coordinator = undefined;
          this.listeners.onCrash?.(error as Error, true);
          await sleep(Math.min(2_000, 200 * attempt));
          continue;
        }
        const surfaced = withAuthenticationFailure(error) as Error;
        this.listeners.onCrash?.(surfaced, false);
        throw surfaced;
      }
    }
  }

  private async coordinatorConnection(): Promise<Connection> {
    this.coordinator ??= await coordinatorConnection(this.groupBase, this.options.groupId);
    return this.coordinator;
  }

  private async join(): Promise<void> {
    this.stopHeartbeat();
    const { options } = this;
    const connection = await this.coordinatorConnection();
    const assignor = options.assignor;
    const protocolName = assignor?.name ?? 'roundrobin';
    const metadata = encodeSubscription({
      version: assignor?.version ?? 0,
      topics: this.topics,
      userData: assignor?.subscriptionUserData() ?? Buffer.alloc(0),
    });
    let joined: joinGroupV9.JoinGroupResponse;
    try {
      joined = await joinGroupV9.api.async(
        connection,
        options.groupId,
        options.sessionTimeoutMs ?? 10_000,
        options.rebalanceTimeoutMs ?? 30_000,
        this.memberId,
        null,
        'consumer',
        [{ name: protocolName, metadata }],
        null,
      );
    } catch (error) {
      const ids = protocolErrorIds(error);
      if (ids.includes('MEMBER_ID_REQUIRED')) {
        this.memberId = responseOf<{ memberId?: string }>(error)?.memberId ?? '';
        return this.join();
      }
      if (ids.includes('UNKNOWN_MEMBER_ID')) this.memberId = '';
      if (ids.includes('NOT_COORDINATOR') || ids.includes('COORDINATOR_NOT_AVAILABLE'))
        this.coordinator = undefined;
      throw error;
    }
    this.memberId = joined.memberId ?? this.memberId;
    this.generationId = joined.generationId;
    const isLeader = joined.leader === this.memberId;
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (isLeader) assignments = await this.assign(joined.members, assignor);
    let synced: syncGroupV5.SyncGroupResponse;
    try {
      synced = await syncGroupV5.api.async(
        connection,
        options.groupId,
        this.generationId,
        this.memberId,
        null,
        'consumer',
        protocolName,
        assignments,
      );
    } catch (error) {
      if (protocolErrorIds(error).includes('UNKNOWN_MEMBER_ID')) this.memberId = '';
      throw error;
    }
    const decoded = decodeAssignment(synced.assignment ?? Buffer.alloc(0));
    this.assignment = new Map(Object.entries(decoded.assignment));
    this.rejoinNeeded = false;
    await this.seekToCommitted();
    this.startHeartbeat();
    this.listeners.onAssignment?.(new Map(this.assignment), { memberId: this.memberId, isLeader });
  }

  /** The leader's assignment: our assignor with userData both ways, else round robin. */
  private async assign(
    members: joinGroupV9.JoinGroupResponseMember[],
    assignor: GroupAssignor | undefined,
  ): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const decoded = members.map((m) => ({
      memberId: m.memberId,
      ...decodeSubscription(m.metadata ?? Buffer.alloc(0)),
    }));
    const topics = [...new Set(decoded.flatMap((m) => m.topics))].sort();
    const metadata = await this.groupBase.metadata({ topics, forceUpdate: true });
    const partitionCounts = new Map<string, number>();
    for (const t of topics) partitionCounts.set(t, metadata.topics.get(t)?.partitionsCount ?? 0);
    const version = assignor?.version ?? 0;
    if (assignor) {
      const result = await assignor.assign({
        members: decoded.map((m) => ({ memberId: m.memberId, topics: m.topics, userData: m.userData })),
        partitionCounts,
      });
      return decoded.map(({ memberId }) => {
        const entry = result.get(memberId) ?? { assignment: {} };
        return {
          memberId,
          assignment: encodeAssignment({
            version,
            assignment: entry.assignment,
            userData: entry.userData ?? Buffer.alloc(0),
          }),
        };
      });
    }
    const sorted = [...decoded].sort((a, b) => a.memberId.localeCompare(b.memberId));
    const byMember = new Map<string, Record<string, number[]>>(sorted.map((m) => [m.memberId, {}]));
    let i = 0;
    for (const topic of topics) {
      const subscribers = sorted.filter((m) => m.topics.includes(topic));
      for (let p = 0; p < (partitionCounts.get(topic) ?? 0); p++) {
        if (subscribers.length === 0) break;
        const m = subscribers[i++ % subscribers.length]!;
        (byMember.get(m.memberId)![topic] ??= []).push(p);
      }
    }
    return sorted.map((m) => ({
      memberId: m.memberId,
      assignment: encodeAssignment({
        version,
        assignment: byMember.get(m.memberId)!,
        userData: Buffer.alloc(0),
      }),
    }));
  }

  /** Positions of the new assignment: the committed offsets, else earliest or latest. */
  private async seekToCommitted(): Promise<void> {
    this.fetcher.clear();
    const wanted = [...this.assignment].filter(([, partitions]) => partitions.length > 0);
    if (wanted.length === 0) return;
    const connection = await this.coordinatorConnection();
    // requireStable (KIP-447): while a transaction with offsets of these partitions is open the
    // coordinator answers UNSTABLE_OFFSET_COMMIT; wait for it here rather than re-join the group.
    const response = await retryKafka(
      () =>
        offsetFetchV8.api.async(
          connection,
          [
            {
              groupId: this.options.groupId,
              memberEpoch: -1,
              topics: wanted.map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
            },
          ],
          true,
        ),
      { attempts: 30, initialBackoffMs: 100, maxBackoffMs: 1_000, isRetriable: isRetriablePlatformaticError },
    );
    const committed = new Map<string, number>();
    for (const g of response.groups)
      for (const t of g.topics)
        for (const p of t.partitions)
          if (p.committedOffset >= 0n)
            committed.set(key(t.name, p.partitionIndex), Number(p.committedOffset));
    const timestamp = (this.options.fromBeginning ?? true) ? EARLIEST : LATEST;
    const isolation = this.options.isolationLevel === 'read_uncommitted' ? READ_UNCOMMITTED : READ_COMMITTED;
    for (const [topic, partitions] of wanted) {
      const missing = partitions.filter((p) => !committed.has(key(topic, p)));
      const defaults =
        missing.length > 0
          ? await listOffsets(this.fetchBase, topic, missing, timestamp, isolation)
          : new Map<number, number>();
      for (const p of partitions)
        this.fetcher.set(topic, p, committed.get(key(topic, p)) ?? defaults.get(p) ?? 0);
    }
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const generation = this.generationId;
    const beat = async (): Promise<void> => {
      if (this.closed || this.rejoinNeeded || generation !== this.generationId) return;
      try {
        const connection = await this.coordinatorConnection();
        await heartbeatV4.api.async(connection, this.options.groupId, generation, this.memberId, null);
      } catch (error) {
        if (generation !== this.generationId) return;
        const kind = classifyPlatformaticError(error);
        if (kind === 'rebalance') {
          if (protocolErrorIds(error).includes('UNKNOWN_MEMBER_ID')) this.memberId = '';
          this.requestRejoin();
          return;
        }
        if (kind === 'connection') {
          this.lostConnection(error as Error);
          return;
        }
        log.debug({ err: error }, 'heartbeat failed');
      }
      if (!this.closed && generation === this.generationId && !this.rejoinNeeded) {
        this.heartbeatTimer = setTimeout(() => void beat(), this.heartbeatIntervalMs);
      }
    };
    this.heartbeatTimer = setTimeout(() => void beat(), this.heartbeatIntervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /**
   * A rebalance started: stop fetching, let the batch in hand finish, commit (onRebalancing), then
   * re-join. Batches are not fetched while the member is between generations.
   */
  private requestRejoin(commitFirst = true): void {
    if (this.rejoinNeeded || this.closed) return;
    this.rejoinNeeded = true;
    this.stopHeartbeat();
    const previous = this.membership ?? Promise.resolve();
    this.membership = previous.then(async () => {
      await this.fetcher.hold();
      try {
        if (commitFirst) await this.listeners.onRebalancing?.();
      } catch (error) {
        log.warn({ err: error }, 'pre-rebalance hook failed');
      }
      if (this.closed) return;
      await this.joinLoop();
      this.fetcher.release();
    });
  }

  /** Hands a fetched partition to eachBatch, unless the member is re-joining or the partition left. */
  private async deliver(f: FetchedPartition): Promise<void> {
    if (this.rejoinNeeded || this.closed || !this.eachBatch) return;
    if (!(this.assignment.get(f.topic) ?? []).includes(f.partition)) return;
    if (f.records.length === 0 && f.nextOffset === undefined) return;
    const generation = this.generationId;
    const nextOffset = f.nextOffset ?? f.fetchOffset;
    await this.eachBatch(
      {
        topic: f.topic,
        partition: f.partition,
        records: f.records,
        highWatermark: f.highWatermark,
        nextOffset,
        ...(f.nextOffset === undefined ? {} : { committableOffset: f.nextOffset }),
      },
      {
        heartbeat: async () => {},
        isRunning: () => this.running && !this.closed,
        isStale: () => this.rejoinNeeded || generation !== this.generationId,
      },
    );
  }

  /**
   * No broker answers (fetch or heartbeat): reported as a crash the client recovers from, and the
   * member joins again once the coordinator answers (as kafkajs restarts its consumer), without a
   * commit first: nothing reaches the brokers meanwhile. The runtime gives up after its own timeout.
   */
  private lostConnection(error: Error): void {
    if (this.closed) return;
    this.coordinator = undefined;
    this.listeners.onCrash?.(error, true);
    this.requestRejoin(false);
  }

  private crash(error: Error): void {
    if (this.closed) return;
    log.error({ err: error }, 'consumer fetch loop failed');
    this.listeners.onCrash?.(error, false);
  }

  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<
      string,
      Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }>
    >();
    for (const o of offsets) {
      let partitions = byTopic.get(o.topic);
      if (!partitions) byTopic.set(o.topic, (partitions = []));
      partitions.push({
        partitionIndex: o.partition,
        committedOffset: BigInt(o.offset),
        committedLeaderEpoch: -1,
      });
    }
    try {
      await retryKafka(
        async () => {
          const connection = await this.coordinatorConnection();
          await offsetCommitV8.api.async(
            connection,
            this.options.groupId,
            this.generationId,
            this.memberId,
            null,
            [...byTopic].map(([name, partitions]) => ({ name, partitions })),
          );
        },
        {
          attempts: 5,
          isRetriable: (e) => classifyPlatformaticError(e) !== 'rebalance' && isRetriablePlatformaticError(e),
        },
      );
    } catch (error) {
      if (classifyPlatformaticError(error) === 'rebalance') {
        this.requestRejoin();
        throw new RebalanceInProgressError(
          `offset commit rejected by the group coordinator: ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  pause(partitions: Array<{ topic: string; partitions: number[] }>): void {
    for (const { topic, partitions: ps } of partitions) for (const p of ps) this.fetcher.pause(topic, p);
  }

  resume(partitions: Array<{ topic: string; partitions: number[] }>): void {
    for (const { topic, partitions: ps } of partitions) for (const p of ps) this.fetcher.resume(topic, p);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    this.stopHeartbeat();
    await this.fetcher.stop();
    await this.membership?.catch(() => {});
    if (this.memberId) {
      try {
        const connection = await this.coordinatorConnection();
        await leaveGroupV5.api.async(connection, this.options.groupId, [
          { memberId: this.memberId, groupInstanceId: null },
        ]);
      } catch (error) {
        log.debug({ err: error }, 'leaving the group failed');
      }
    }
    await Promise.all([this.groupBase.close().catch(() => {}), this.fetchBase.close().catch(() => {})]);
  }
}

// ---------------------------------------------------------------------------------------------
// Partition reader (assign + seek, no group)

class PlatformaticPartitionReader implements PartitionReader {
  private readonly base: Admin;
  private readonly fetcher: Fetcher;
  private closed = false;

  constructor(
    config: KafkaClientConfig,
    private readonly options: PartitionReaderOptions,
  ) {
    this.base = new Admin(baseOptions(config, '-reader'));
    this.fetcher = new Fetcher({
      base: this.base,
      isolationLevel: options.isolationLevel === 'read_uncommitted' ? READ_UNCOMMITTED : READ_COMMITTED,
      maxWaitMs: 200,
      maxBytesPerPartition: 4 * 1024 * 1024,
      resetTo: 'earliest',
      onFetched: async (f) => {
        if (f.records.length > 0) {
          await options.onBatch({
            topic: f.topic,
            partition: f.partition,
            records: f.records,
            highWatermark: f.highWatermark,
            nextOffset: f.nextOffset ?? f.fetchOffset,
            ...(f.nextOffset === undefined ? {} : { committableOffset: f.nextOffset }),
          });
        } else if (f.nextOffset !== undefined && f.nextOffset > f.fetchOffset) {
          options.onPosition?.(f.topic, f.partition, f.nextOffset);
        }
      },
      onError: (error) => {
        if (!this.closed) options.onError?.(error);
      },
    });
  }

  async assign(positions: TopicPartitionOffset[]): Promise<void> {
    if (this.closed) return;
    const next = new Map(positions.map((p) => [key(p.topic, p.partition), p]));
    for (const current of this.fetcher.all()) {
      if (!next.has(key(current.topic, current.partition)))
        this.fetcher.remove(current.topic, current.partition);
    }
    for (const p of positions) {
      // A partition already read keeps its position (as the kafkajs reader does).
      if (this.fetcher.position(p.topic, p.partition) === undefined)
        this.fetcher.set(p.topic, p.partition, p.offset);
    }
    this.fetcher.start();
  }

  positions(): TopicPartitionOffset[] {
    return this.fetcher.all();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fetcher.clear();
    await this.fetcher.stop();
    await this.base.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Client

export class PlatformaticClient implements KafkaClient {
  readonly brokers: string[];
  /** TxnOffsetCommit v3 with the member's generation and id (KIP-447). */
  readonly supportsGroupMetadataCommit = true;

  constructor(private readonly config: KafkaClientConfig) {
    this.brokers = config.brokers;
  }

  async admin(): Promise<KafkaAdmin> {
    const admin = new Admin(baseOptions(this.config, '-admin'));
    try {
      await admin.metadata({ topics: [] });
    } catch (error) {
      await admin.close().catch(() => {});
      throw withAuthenticationFailure(error);
    }
    return new PlatformaticAdmin(admin, this.config);
  }

  async producer(options: ProducerOptions = {}): Promise<KafkaProducer> {
    const transactional = options.transactionalId !== undefined;
    let roundRobin = 0;
    const producer = new Producer({
      ...baseOptions(this.config, '-producer'),
      idempotent: (options.idempotent ?? true) || transactional,
      acks: -1,
      autocreateTopics: false,
      // Java's partitioner for keys; records without a key go round robin.
      partitioner: (message, key) =>
        key ? compatibilityPartitioner(message, key) : roundRobin++ & 0x7fffffff,
      ...(transactional ? { transactionalId: options.transactionalId! } : {}),
      ...(options.transactionTimeoutMs ? { timeout: options.transactionTimeoutMs } : {}),
    });
    return new PlatformaticProducer(producer);
  }

  consumer(options: ConsumerOptions): KafkaConsumer {
    return new PlatformaticConsumer(this.config, options);
  }

  async fetchRanges(ranges: FetchRange[], options: FetchRangeOptions): Promise<void> {
    const pending = new Map<string, { range: FetchRange; position: number }>();
    for (const range of ranges) {
      if (range.fromOffset < range.toOffset) {
        pending.set(key(range.topic, range.partition), { range, position: range.fromOffset });
      }
    }
    const noControl: FetchControl = { pause: () => {}, resume: () => {} };
    for (const range of ranges)
      if (range.fromOffset >= range.toOffset) options.onRangeDone?.(range, noControl);
    if (pending.size === 0) return;
    const base = new Admin(baseOptions(this.config, `-fetch-${randomBytes(3).toString('hex')}`));
    const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    let lastProgress = Date.now();
    let settle!: (error?: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    let failed = false;
    // eslint-disable-next-line prefer-const
    let fetcher: Fetcher;
    const control: FetchControl = {
      pause: (topic, partition) => {
        if (pending.has(key(topic, partition))) fetcher.pause(topic, partition);
      },
      resume: (topic, partition) => {
        if (!pending.has(key(topic, partition))) return;
        lastProgress = Date.now();
        fetcher.resume(topic, partition);
      },
    };
    const advance = (topic: string, partition: number, nextOffset: number): void => {
      const k = key(topic, partition);
      const entry = pending.get(k);
      if (!entry) return;
      lastProgress = Date.now();
      entry.position = Math.max(entry.position, nextOffset);
      if (entry.position >= entry.range.toOffset) {
        pending.delete(k);
        fetcher.remove(topic, partition);
        try {
          options.onRangeDone?.(entry.range, control);
        } catch (error) {
          failed = true;
          settle(error as Error);
          return;
        }
        if (pending.size === 0) settle();
      }
    };
    fetcher = new Fetcher({
      base,
      isolationLevel: options.isolationLevel === 'read_uncommitted' ? READ_UNCOMMITTED : READ_COMMITTED,
      maxWaitMs: 50,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 8 * 1024 * 1024,
      resetTo: 'earliest',
      onFetched: async (f) => {
        const entry = pending.get(key(f.topic, f.partition));
        if (!entry || failed) return;
        const { range } = entry;
        const records = f.records.filter((r) => r.offset >= entry.position && r.offset < range.toOffset);
        if (records.length > 0) {
          try {
            await options.onBatch(records, range, control);
          } catch (error) {
            failed = true;
            settle(error as Error);
            return;
          }
        }
        // Under read_committed the last stable offset bounds what a fetch can return.
        if (f.nextOffset !== undefined) advance(f.topic, f.partition, f.nextOffset);
      },
      onError: (error) => {
        failed = true;
        settle(error);
      },
    });
    for (const { range, position } of pending.values()) fetcher.set(range.topic, range.partition, position);
    const timer = setInterval(() => {
      const active = [...pending.values()].filter((p) => !fetcher.isPaused(p.range.topic, p.range.partition));
      if (active.length === 0) lastProgress = Date.now();
      if (Date.now() - lastProgress > idleTimeoutMs) {
        const left = [...pending.values()].map(
          (p) => `${p.range.topic}[${p.range.partition}]@${p.position}/${p.range.toOffset}`,
        );
        failed = true;
        settle(
          new Error(`fetchRanges: no progress for ${idleTimeoutMs} ms; still reading ${left.join(', ')}`),
        );
      }
    }, 500);
    try {
      fetcher.start();
      await done;
    } finally {
      clearInterval(timer);
      fetcher.clear();
      await fetcher.stop();
      await base.close().catch(() => {});
    }
  }

  reader(options: PartitionReaderOptions): PartitionReader {
    return new PlatformaticPartitionReader(this.config, options);
  }

  classifyError(error: unknown): KafkaErrorKind {
    return classifyPlatformaticError(error);
  }
}
