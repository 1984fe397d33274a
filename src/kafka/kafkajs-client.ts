/**
 * The Kafka port (client.ts) implemented on kafkajs. With kafkajs-errors.ts (error classification)
 * and kafkajs-rejoin.ts (commit before re-join) it is the only part of the runtime's path that knows
 * kafkajs; the runtime gets it through factory.ts.
 */
import { randomBytes } from 'node:crypto';

import kafkajs from 'kafkajs';
import type {
  Admin,
  Assigner,
  Consumer,
  IHeaders,
  Kafka,
  KafkaConfig,
  KafkaMessage,
  LogEntry,
  Message,
  PartitionAssigner,
  Producer,
  RecordMetadata,
  SASLOptions,
} from 'kafkajs';

import { childLogger } from '../logger.ts';
import { retryKafka } from './retry.ts';
import type {
  BatchContext,
  ConsumedRecord,
  ConsumerBatch,
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
  RecordHeaders,
  TopicPartitionOffset,
} from './client.ts';
import { RebalanceInProgressError, type KafkaErrorKind } from './errors.ts';
import { classifyKafkajsError } from './kafkajs-errors.ts';
import { installFastRecordDecoder } from './kafkajs-record-decoder.ts';
import { RejoinGuard } from './kafkajs-rejoin.ts';

// Fetched records are decoded without kafkajs' BigInt Long per record (same results: see the module).
installFastRecordDecoder();

const {
  Kafka: KafkaJs,
  logLevel,
  Partitioners,
  PartitionAssigners,
  AssignerProtocol,
  ConfigResourceTypes,
} = kafkajs;

const log = childLogger({ component: 'kafkajs' });

/**
 * Produce request limits. The broker's default message.max.bytes (1 MiB) applies per partition's
 * record batch, so bytes are bounded per partition, and a request may carry several partitions.
 * Records per partition are bounded too: kafkajs' groupMessagesPerPartition copies a partition's
 * message array once per message (quadratic in the records of one partition and call), which made
 * one large changelog send cost more than the processing that produced it.
 */
const MAX_PARTITION_BYTES = 900 * 1024;
const MAX_PARTITION_RECORDS = 1_000;
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

function kafkajsLogCreator(): (entry: LogEntry) => void {
  return ({ level, log: entry }) => {
    const { message, ...extra } = entry;
    // Retries are bounded on purpose: a failed send surfaces as a task error instead of hanging.
    if (message.startsWith('Limiting retries for the idempotent producer')) return;
    // A rebalance is routine: kafkajs logs each heartbeat that learns of one as an error.
    const error = String((extra as { error?: unknown }).error ?? '');
    if (
      error.includes('group is rebalancing') ||
      error.includes('generation id is not valid') ||
      error.includes('coordinator is not aware of this member')
    ) {
      log.debug(extra, message);
      return;
    }
    if (level === logLevel.ERROR) log.error(extra, message);
    else if (level === logLevel.WARN) log.warn(extra, message);
    else log.debug(extra, message);
  };
}

function toHeaders(headers: IHeaders | undefined): RecordHeaders {
  const out: RecordHeaders = {};
  if (!headers) return out;
  // for-in, not Object.entries: most records have no headers, and then nothing is allocated.
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name];
    out[name] = Array.isArray(value) ? value[value.length - 1] : value;
  }
  return out;
}

function toOutgoingHeaders(headers: RecordHeaders | undefined): IHeaders | undefined {
  if (!headers) return undefined;
  let out: IHeaders | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    (out ??= {})[name] = value;
  }
  return out;
}

function toConsumed(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  return toConsumedAt(topic, partition, Number(message.offset), message);
}

/** toConsumed with the offset already parsed (readers compare it with their position first). */
function toConsumedAt(
  topic: string,
  partition: number,
  offset: number,
  message: KafkaMessage,
): ConsumedRecord {
  return {
    topic,
    partition,
    offset,
    key: message.key ?? null,
    value: message.value ?? null,
    timestamp: Number(message.timestamp),
    headers: toHeaders(message.headers),
  };
}

function toMessage(record: OutgoingRecord): Message {
  const message: Message = { key: record.key, value: record.value, timestamp: String(record.timestamp) };
  if (record.partition !== undefined) message.partition = record.partition;
  const headers = toOutgoingHeaders(record.headers);
  if (headers) message.headers = headers;
  return message;
}

function recordSize(record: OutgoingRecord): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + 24;
}

/**
 * Splits records into produce requests, grouped by topic, within the limits above. Records without
 * an explicit partition count against their topic as a whole (the partitioner spreads them, but
 * may not). Order within a partition is kept: requests are sent one after the other.
 */
export function chunkRecords(
  records: OutgoingRecord[],
): Array<Array<{ topic: string; messages: Message[] }>> {
  const chunks: Array<Array<{ topic: string; messages: Message[] }>> = [];
  let byTopic = new Map<string, Message[]>();
  /** "topic:partition" (or "topic:" for partitioner-chosen) → records and bytes in this chunk. */
  let perPartition = new Map<string, { records: number; bytes: number }>();
  let bytes = 0;
  const close = (): void => {
    if (bytes === 0) return;
    chunks.push([...byTopic].map(([topic, messages]) => ({ topic, messages })));
    byTopic = new Map();
    perPartition = new Map();
    bytes = 0;
  };
  for (const record of records) {
    const size = recordSize(record);
    const slot = `${record.topic}:${record.partition ?? ''}`;
    let used = perPartition.get(slot);
    const full =
      bytes + size > MAX_REQUEST_BYTES ||
      (used !== undefined &&
        (used.records >= MAX_PARTITION_RECORDS || used.bytes + size > MAX_PARTITION_BYTES));
    if (bytes > 0 && full) {
      close();
      used = undefined;
    }
    if (!used) perPartition.set(slot, (used = { records: 0, bytes: 0 }));
    let messages = byTopic.get(record.topic);
    if (!messages) byTopic.set(record.topic, (messages = []));
    messages.push(toMessage(record));
    used.records++;
    used.bytes += size;
    bytes += size;
  }
  close();
  return chunks;
}

/** Records per partition of topics whose records all carry an explicit partition. */
function explicitCounts(topicMessages: Array<{ topic: string; messages: Message[] }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { topic, messages } of topicMessages) {
    if (!messages.every((m) => m.partition !== undefined)) continue;
    for (const m of messages)
      counts.set(`${topic}:${m.partition}`, (counts.get(`${topic}:${m.partition}`) ?? 0) + 1);
  }
  return counts;
}

function toProduced(metadata: RecordMetadata[]): ProducedPartition[] {
  return metadata.map((m) => ({
    topic: m.topicName,
    partition: m.partition,
    baseOffset: Number(m.baseOffset ?? -1),
  }));
}

function offsetsByTopic(
  offsets: TopicPartitionOffset[],
): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const { topic, partition, offset } of offsets) {
    let partitions = byTopic.get(topic);
    if (!partitions) byTopic.set(topic, (partitions = []));
    partitions.push({ partition, offset: String(offset) });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/** Adapts a GroupAssignor to kafkajs' PartitionAssigner. */
function toPartitionAssigner(assignor: GroupAssignor): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: assignor.name,
    version: assignor.version ?? 1,
    protocol({ topics }) {
      return {
        name: assignor.name,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: assignor.version ?? 1,
          topics,
          userData: assignor.subscriptionUserData(),
        }),
      };
    },
    async assign({ members, topics }) {
      const partitionCounts = new Map<string, number>();
      for (const topic of topics) {
        let partitions = cluster.findTopicPartitionMetadata(topic);
        if (!partitions || partitions.length === 0) {
          await cluster.refreshMetadata();
          partitions = cluster.findTopicPartitionMetadata(topic);
        }
        partitionCounts.set(topic, partitions?.length ?? 0);
      }
      const decoded = members.map((m) => {
        const metadata = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        return {
          memberId: m.memberId,
          topics: metadata?.topics ?? [],
          userData: metadata?.userData ?? Buffer.alloc(0),
        };
      });
      const result = await assignor.assign({ members: decoded, partitionCounts });
      return members.map(({ memberId }) => {
        const entry = result.get(memberId) ?? { assignment: {} };
        return {
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: assignor.version ?? 1,
            assignment: entry.assignment,
            userData: entry.userData ?? Buffer.alloc(0),
          }),
        };
      });
    },
  });
}

/** True when a kafkajs error (or one it wraps) says a topic or partition is unknown. */
function isUnknownTopicError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    if ((e as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    if (/does not host this topic-partition/.test(String((e as { message?: unknown }).message ?? '')))
      return true;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}

class KafkajsAdmin implements KafkaAdmin {
  /**
   * A kafkajs admin refreshes the metadata of every topic it ever touched, so once one of them is
   * deleted (a retired batch view, say) every later call fails with UNKNOWN_TOPIC_OR_PARTITION. Such
   * a failure is retried once on a fresh admin; a topic that is really missing fails again.
   */
  private admin: Admin;

  constructor(
    admin: Admin,
    private readonly fresh: () => Promise<Admin>,
  ) {
    this.admin = admin;
  }

  /**
   * Runs an admin request; retries it (a few times, 200 ms apart) when the broker answers with a
   * retriable error kafkajs' admin does not retry itself, such as NOT_LEADER_OR_FOLLOWER for a topic
   * created a moment ago, and once on a fresh admin after UNKNOWN_TOPIC_OR_PARTITION.
   */
  private async call<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    let freshTried = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(this.admin);
      } catch (error) {
        if (isUnknownTopicError(error) && !freshTried) {
          freshTried = true;
          const stale = this.admin;
          this.admin = await this.fresh();
          await stale.disconnect().catch(() => {});
          continue;
        }
        if (attempt >= 5 || (error as { retriable?: unknown }).retriable !== true) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  async createTopics(topics: NewTopic[]): Promise<string[]> {
    if (topics.length === 0) return [];
    const existing = new Set(await this.call((a) => a.listTopics()));
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return [];
    try {
      await this.call((a) =>
        a.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({
            topic: t.name,
            numPartitions: t.partitions,
            replicationFactor: t.replicationFactor ?? -1,
            configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        }),
      );
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (type === 'UNKNOWN_TOPIC_OR_PARTITION') {
        // kafkajs' wait for leaders gives up when a just-created topic is not in the metadata yet
        // (a busy broker); the topics were created: wait until every partition has a leader.
        await this.waitForLeaders(missing);
      } else if (type !== 'TOPIC_ALREADY_EXISTS') {
        // Another instance may have created them at the same time.
        const nested = (error as { errors?: Array<{ type?: string }> }).errors;
        if (!nested || !nested.every((e) => e.type === 'TOPIC_ALREADY_EXISTS')) throw error;
      }
    }
    return missing.map((t) => t.name);
  }

  private async waitForLeaders(topics: NewTopic[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const metadata = await this.call((a) => a.fetchTopicMetadata({ topics: topics.map((t) => t.name) }));
        const ready = metadata.topics.every(
          (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
        );
        if (ready && metadata.topics.length === topics.length) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `topics ${topics.map((t) => t.name).join(', ')} have no leader after ${timeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (topics.length === 0) return counts;
    const existing = new Set(await this.call((a) => a.listTopics()));
    const present = [...new Set(topics)].filter((t) => existing.has(t));
    if (present.length === 0) return counts;
    const metadata = await this.call((a) => a.fetchTopicMetadata({ topics: present }));
    for (const t of metadata.topics) counts.set(t.name, t.partitions.length);
    return counts;
  }

  listTopics(): Promise<string[]> {
    return this.call((a) => a.listTopics());
  }

  async endOffsets(topic: string): Promise<PartitionEndOffsets[]> {
    const offsets = await this.call((a) => a.fetchTopicOffsets(topic));
    return offsets
      .map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  /**
   * kafkajs speaks OffsetFetch without require_stable: `requireStable` is not honoured. Its exactly_once
   * mode fences each task's transactional id before reading, which completes the old transaction.
   */
  async committedOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]> {
    const result = await this.call((a) => a.fetchOffsets({ groupId, topics }));
    return result.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) })),
    );
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length > 0) await this.call((a) => a.deleteTopics({ topics }));
  }

  async topicConfigs(topics: string[]): Promise<Map<string, Record<string, string>>> {
    const configs = new Map<string, Record<string, string>>();
    const existing = new Set(await this.call((a) => a.listTopics()));
    const present = [...new Set(topics)].filter((t) => existing.has(t));
    if (present.length === 0) return configs;
    const described = await this.call((a) =>
      a.describeConfigs({
        includeSynonyms: false,
        resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
      }),
    );
    for (const resource of described.resources) {
      const entries: Record<string, string> = {};
      for (const entry of resource.configEntries) entries[entry.configName] = entry.configValue;
      configs.set(resource.resourceName, entries);
    }
    return configs;
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length > 0) await this.call((a) => a.deleteGroups(groupIds));
  }

  async setCommittedOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push({ partition: o.partition, offset: String(o.offset) });
    }
    for (const [topic, partitions] of byTopic)
      await this.call((a) => a.setOffsets({ groupId, topic, partitions }));
  }

  async offsetsForTime(
    topic: string,
    timestamp: number,
  ): Promise<Array<{ partition: number; offset: number }>> {
    const result = await this.call((a) => a.fetchTopicOffsetsByTimestamp(topic, timestamp));
    return result.map((p) => ({ partition: p.partition, offset: Number(p.offset) }));
  }

  async groupAssignments(groupId: string): Promise<GroupMemberAssignment[]> {
    const { groups } = await this.call((a) => a.describeGroups([groupId]));
    const group = groups[0];
    if (!group) return [];
    return group.members.map((m) => {
      const decoded =
        m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      return {
        memberId: m.memberId,
        clientId: m.clientId,
        assignment: decoded?.assignment ?? {},
        userData: decoded?.userData ?? Buffer.alloc(0),
      };
    });
  }

  close(): Promise<void> {
    return this.admin.disconnect();
  }
}

class KafkajsTransaction implements KafkaTransaction {
  constructor(private readonly txn: Awaited<ReturnType<Producer['transaction']>>) {}

  async send(records: OutgoingRecord[]): Promise<void> {
    for (const topicMessages of chunkRecords(records)) {
      await this.txn.sendBatch({ topicMessages, acks: -1 });
    }
  }

  async sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await retryKafka(
      () => this.txn.sendOffsets({ consumerGroupId: groupId, topics: offsetsByTopic(offsets) }),
      {
        onRetry: (err, attempt) => log.debug({ err, attempt }, 'retrying sendOffsets'),
      },
    );
  }

  // kafkajs moves the transaction to COMMITTING/ABORTING before sending EndTxn, so a failed EndTxn
  // cannot be retried on the same transaction object; callers recover by fencing with a new producer.
  commit(): Promise<void> {
    return this.txn.commit();
  }

  abort(): Promise<void> {
    return this.txn.abort();
  }
}

class KafkajsProducer implements KafkaProducer {
  constructor(private readonly producer: Producer) {}

  async send(records: OutgoingRecord[]): Promise<ProducedPartition[]> {
    const produced: ProducedPartition[] = [];
    // Sequential requests keep per-partition order (see chunkRecords for their limits).
    for (const topicMessages of chunkRecords(records)) {
      const counts = explicitCounts(topicMessages);
      for (const p of toProduced(await this.producer.sendBatch({ topicMessages, acks: -1 }))) {
        const count = counts.get(`${p.topic}:${p.partition}`);
        produced.push(count === undefined ? p : { ...p, count });
      }
    }
    return produced;
  }

  async initTransactions(): Promise<void> {
    const txn = await retryKafka(() => this.producer.transaction());
    await txn.abort();
  }

  async transaction(): Promise<KafkaTransaction> {
    const txn = await retryKafka(() => this.producer.transaction());
    return new KafkajsTransaction(txn);
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

class KafkajsConsumer implements KafkaConsumer {
  private readonly consumer: Consumer;
  private subscribed: string[] = [];

  private readonly heartbeatIntervalMs: number;
  private listeners: ConsumerListeners = {};
  /** Commits (onRebalancing) before this consumer re-joins its group: see kafkajs-rejoin.ts. */
  private readonly rejoin = new RejoinGuard(async () => {
    try {
      await this.listeners.onRebalancing?.();
    } catch (error) {
      log.warn({ err: error }, 'pre-rebalance hook failed');
    }
  });

  constructor(kafka: Kafka, options: ConsumerOptions) {
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
    const assigner = options.assignor ? toPartitionAssigner(options.assignor) : PartitionAssigners.roundRobin;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      readUncommitted: options.isolationLevel === 'read_uncommitted',
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 1_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 30_000,
      // Kafka's max.partition.fetch.bytes default: 4 MiB of small records is ~100,000 record objects.
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 100,
      allowAutoTopicCreation: false,
      partitionAssigners: [this.rejoin.wrap(assigner)],
    });
    this.fromBeginning = options.fromBeginning ?? true;
  }

  private readonly fromBeginning: boolean;

  async subscribe(topics: string[]): Promise<void> {
    this.subscribed = topics;
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: this.fromBeginning });
  }

  async run(
    eachBatch: (batch: ConsumerBatch, context: BatchContext) => Promise<void>,
    listeners: ConsumerListeners = {},
  ): Promise<void> {
    this.listeners = listeners;
    const { GROUP_JOIN, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (event) => {
      this.rejoin.joined();
      const assignment = new Map<string, number[]>(Object.entries(event.payload.memberAssignment));
      listeners.onAssignment?.(assignment, {
        memberId: event.payload.memberId,
        isLeader: event.payload.isLeader,
      });
    });
    this.consumer.on(CRASH, (event) => {
      // A restarted consumer joins as a new member: nothing of the old generation to commit first.
      this.rejoin.reset();
      listeners.onCrash?.(event.payload.error, event.payload.restart);
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        // Fetched before a seek of its partition: the seek fetches these records again.
        if (isStale()) return;
        const records = batch.messages.map((m) => toConsumed(batch.topic, batch.partition, m));
        // kafkajs heartbeats only between batches: keep the member alive while a long batch (or the
        // work queued before it, e.g. a restoration) runs. A pending rebalance is seen below.
        let rebalancing: unknown;
        const keepAlive = setInterval(() => {
          heartbeat().catch((error: unknown) => {
            if (classifyKafkajsError(error) === 'rebalance') rebalancing ??= error;
          });
        }, this.heartbeatIntervalMs);
        try {
          await eachBatch(
            {
              topic: batch.topic,
              partition: batch.partition,
              records,
              highWatermark: Number(batch.highWatermark),
              nextOffset: Number(batch.lastOffset()) + 1,
              ...(batch.firstOffset() === null ? {} : { committableOffset: Number(batch.lastOffset()) + 1 }),
            },
            { heartbeat, isRunning, isStale },
          );
        } finally {
          clearInterval(keepAlive);
        }
        // kafkajs re-joins on this error; the re-join runs onRebalancing first (see RejoinGuard).
        if (rebalancing !== undefined) throw rebalancing;
        // Heartbeat now, so that a pending rebalance is seen between batches (the re-join that
        // follows commits first, see RejoinGuard).
        await heartbeat();
      },
    });
  }

  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    try {
      await this.consumer.commitOffsets(offsets.map((o) => ({ ...o, offset: String(o.offset) })));
    } catch (error) {
      if (classifyKafkajsError(error) === 'rebalance') {
        throw new RebalanceInProgressError(
          `offset commit rejected by the group coordinator: ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  pause(partitions: Array<{ topic: string; partitions: number[] }>): void {
    if (partitions.length > 0) this.consumer.pause(partitions);
  }

  resume(partitions: Array<{ topic: string; partitions: number[] }>): void {
    if (partitions.length > 0) this.consumer.resume(partitions);
  }

  seek(topic: string, partition: number, offset: number): void {
    this.consumer.seek({ topic, partition, offset: String(offset) });
  }

  async close(): Promise<void> {
    void this.subscribed;
    // Leaving the group is no rebalance of ours: the caller committed already.
    this.rejoin.reset();
    await this.consumer.disconnect();
  }
}

/**
 * PartitionReader on kafkajs, which has no assign(): a consumer in a private group of its own (one
 * member, so it is given every partition of its topics) that seeks the wanted partitions to their
 * positions after each join, pauses the others and never commits. The group is deleted on close.
 */
class KafkajsPartitionReader implements PartitionReader {
  private consumer?: Consumer;
  private groupId?: string;
  private topics: string[] = [];
  /** "topic:partition" → next offset to deliver. */
  private wanted = new Map<string, number>();
  /** Partitions the private group gave the current consumer. */
  private held = new Map<string, number[]>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly client: KafkajsClient,
    private readonly options: PartitionReaderOptions,
  ) {}

  positions(): TopicPartitionOffset[] {
    return [...this.wanted].map(([key, offset]) => {
      const i = key.lastIndexOf(':');
      return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset };
    });
  }

  assign(positions: TopicPartitionOffset[]): Promise<void> {
    // The wanted set changes at once, so batches of dropped partitions are ignored from now on.
    const previous = this.wanted;
    const next = new Map<string, number>();
    for (const p of positions) {
      const key = `${p.topic}:${p.partition}`;
      next.set(key, previous.get(key) ?? p.offset);
    }
    this.wanted = next;
    const topics = [...new Set(positions.map((p) => p.topic))].sort();
    const run = async (): Promise<void> => {
      if (this.closed) return;
      const sameTopics = topics.length === this.topics.length && topics.every((t, i) => t === this.topics[i]);
      if (sameTopics && this.consumer) {
        this.adjust(previous);
        return;
      }
      await this.stop();
      if (topics.length === 0) return;
      await this.start(topics);
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wanted = new Map();
    await this.chain.catch(() => {});
    await this.stop();
  }

  /** Same topics: seek partitions that became wanted, pause those that no longer are. */
  private adjust(previous: Map<string, number>): void {
    const consumer = this.consumer!;
    for (const [topic, partitions] of this.held) {
      const pause: number[] = [];
      const resume: number[] = [];
      for (const partition of partitions) {
        const key = `${topic}:${partition}`;
        const position = this.wanted.get(key);
        if (position === undefined) pause.push(partition);
        else if (!previous.has(key)) {
          consumer.seek({ topic, partition, offset: String(position) });
          resume.push(partition);
        }
      }
      if (pause.length > 0) consumer.pause([{ topic, partitions: pause }]);
      if (resume.length > 0) consumer.resume([{ topic, partitions: resume }]);
    }
  }

  private async start(topics: string[]): Promise<void> {
    const groupId = `lambda-streams-reader-${randomBytes(6).toString('hex')}`;
    const consumer = this.kafka.consumer({
      groupId,
      readUncommitted: this.options.isolationLevel === 'read_uncommitted',
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 200,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    this.groupId = groupId;
    this.topics = topics;
    this.held = new Map();
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.held = new Map(Object.entries(event.payload.memberAssignment));
      for (const [topic, partitions] of this.held) {
        const unwanted: number[] = [];
        for (const partition of partitions) {
          const position = this.wanted.get(`${topic}:${partition}`);
          if (position === undefined) unwanted.push(partition);
          else consumer.seek({ topic, partition, offset: String(position) });
        }
        if (unwanted.length > 0) consumer.pause([{ topic, partitions: unwanted }]);
      }
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, lastOffset } = event.payload as {
        topic: string;
        partition: number;
        lastOffset: string;
      };
      const key = `${topic}:${partition}`;
      const position = this.wanted.get(key);
      const next = Number(lastOffset) + 1;
      if (position === undefined || next <= position || consumer !== this.consumer) return;
      this.wanted.set(key, next);
      this.options.onPosition?.(topic, partition, next);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart && consumer === this.consumer) this.options.onError?.(event.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, isStale }) => {
        if (consumer !== this.consumer || isStale()) return;
        const key = `${batch.topic}:${batch.partition}`;
        const position = this.wanted.get(key);
        if (position === undefined) return;
        const records: ConsumedRecord[] = [];
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset >= position) records.push(toConsumedAt(batch.topic, batch.partition, offset, message));
        }
        const nextOffset = Number(batch.lastOffset()) + 1;
        if (records.length > 0) {
          await this.options.onBatch({
            topic: batch.topic,
            partition: batch.partition,
            records,
            highWatermark: Number(batch.highWatermark),
            nextOffset,
          });
        }
        const now = this.wanted.get(key);
        if (now !== undefined && nextOffset > now) this.wanted.set(key, nextOffset);
      },
    });
  }

  private async stop(): Promise<void> {
    const consumer = this.consumer;
    const groupId = this.groupId;
    this.consumer = undefined;
    this.groupId = undefined;
    this.topics = [];
    this.held = new Map();
    if (!consumer) return;
    await consumer.disconnect().catch(() => {});
    if (groupId) void this.client.deleteGroupQuietly(groupId);
  }
}

export class KafkajsClient implements KafkaClient {
  readonly brokers: string[];
  private readonly kafka: Kafka;

  constructor(config: KafkaClientConfig) {
    this.brokers = config.brokers;
    const kafkaConfig: KafkaConfig = {
      clientId: config.clientId ?? 'lambda-streams',
      brokers: config.brokers,
      logLevel: logLevel.WARN,
      logCreator: () => kafkajsLogCreator(),
      connectionTimeout: config.connectionTimeoutMs ?? 5_000,
      requestTimeout: config.requestTimeoutMs ?? 30_000,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2_000 },
    };
    // Copies: kafkajs writes into its SASL options (an authenticator function), and the caller's
    // configuration must stay plain data (batch threads receive it as a structured clone).
    if (config.ssl !== undefined)
      kafkaConfig.ssl = (
        typeof config.ssl === 'object' ? { ...config.ssl } : config.ssl
      ) as KafkaConfig['ssl'];
    if (config.sasl) kafkaConfig.sasl = { ...config.sasl } as unknown as SASLOptions;
    this.kafka = new KafkaJs(kafkaConfig);
  }

  async admin(): Promise<KafkaAdmin> {
    const connect = async (): Promise<Admin> => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    };
    return new KafkajsAdmin(await connect(), connect);
  }

  async producer(options: ProducerOptions = {}): Promise<KafkaProducer> {
    // Idempotent always (docs/reliability.md): a retried request cannot write a record twice. kafkajs
    // keeps the idempotence guarantee with one request in flight; every send uses acks=-1.
    const producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      allowAutoTopicCreation: false,
      maxInFlightRequests: 1,
      ...(options.transactionalId ? { transactionalId: options.transactionalId } : {}),
      ...(options.transactionTimeoutMs ? { transactionTimeout: options.transactionTimeoutMs } : {}),
    });
    await producer.connect();
    return new KafkajsProducer(producer);
  }

  consumer(options: ConsumerOptions): KafkaConsumer {
    return new KafkajsConsumer(this.kafka, options);
  }

  async fetchRanges(ranges: FetchRange[], options: FetchRangeOptions): Promise<void> {
    const pending = new Map<string, { range: FetchRange; position: number }>();
    for (const range of ranges) {
      if (range.fromOffset < range.toOffset) {
        pending.set(`${range.topic}:${range.partition}`, { range, position: range.fromOffset });
      }
    }
    const noControl: FetchControl = { pause: () => {}, resume: () => {} };
    for (const range of ranges)
      if (range.fromOffset >= range.toOffset) options.onRangeDone?.(range, noControl);
    if (pending.size === 0) return;
    const topics = [...new Set([...pending.values()].map((p) => p.range.topic))];
    const groupId = `lambda-streams-fetch-${randomBytes(6).toString('hex')}`;
    const consumer = this.kafka.consumer({
      groupId,
      readUncommitted: options.isolationLevel === 'read_uncommitted',
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 50,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 8 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
    const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    let lastProgress = Date.now();
    let settle!: (error?: Error) => void;
    let failed = false;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => {
        if (error) failed = true;
        if (error) reject(error);
        else resolve();
      };
    });
    // Partitions the caller paused (flow control): not fetched, and not a stall.
    const paused = new Set<string>();
    const control: FetchControl = {
      pause: (topic, partition) => {
        const key = `${topic}:${partition}`;
        if (!pending.has(key) || paused.has(key)) return;
        paused.add(key);
        consumer.pause([{ topic, partitions: [partition] }]);
      },
      resume: (topic, partition) => {
        const key = `${topic}:${partition}`;
        if (!paused.delete(key) || !pending.has(key)) return;
        lastProgress = Date.now();
        consumer.resume([{ topic, partitions: [partition] }]);
      },
    };
    const advance = (topic: string, partition: number, nextOffset: number): void => {
      const entry = pending.get(`${topic}:${partition}`);
      if (!entry) return;
      lastProgress = Date.now();
      entry.position = Math.max(entry.position, nextOffset);
      if (entry.position >= entry.range.toOffset) {
        pending.delete(`${topic}:${partition}`);
        paused.delete(`${topic}:${partition}`);
        consumer.pause([{ topic, partitions: [partition] }]);
        try {
          options.onRangeDone?.(entry.range, control);
        } catch (error) {
          settle(error as Error);
          return;
        }
        if (pending.size === 0) settle();
      }
    };
    const timer = setInterval(() => {
      if (pending.size > 0 && paused.size === pending.size) lastProgress = Date.now();
      if (Date.now() - lastProgress > idleTimeoutMs) {
        const left = [...pending.values()].map(
          (p) => `${p.range.topic}[${p.range.partition}]@${p.position}/${p.range.toOffset}`,
        );
        settle(
          new Error(`fetchRanges: no progress for ${idleTimeoutMs} ms; still reading ${left.join(', ')}`),
        );
      }
    }, 500);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
          const unwanted: number[] = [];
          for (const partition of partitions) {
            const entry = pending.get(`${topic}:${partition}`);
            if (entry) consumer.seek({ topic, partition, offset: String(entry.position) });
            else unwanted.push(partition);
          }
          if (unwanted.length > 0) consumer.pause([{ topic, partitions: unwanted }]);
        }
      });
      // Batches made only of control records or aborted records still move the position.
      consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
        const { topic, partition, lastOffset } = event.payload as {
          topic: string;
          partition: number;
          lastOffset: string;
        };
        advance(topic, partition, Number(lastOffset) + 1);
      });
      consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart) settle(event.payload.error);
      });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const key = `${batch.topic}:${batch.partition}`;
          const entry = pending.get(key);
          if (!entry || failed) return;
          const { range } = entry;
          const records: ConsumedRecord[] = [];
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            if (offset >= range.fromOffset && offset < range.toOffset && offset >= entry.position) {
              records.push(toConsumed(batch.topic, batch.partition, message));
            }
          }
          // A failing callback ends the read; it is never handed to kafkajs, whose retry would
          // deliver the same batch again.
          if (records.length > 0) {
            try {
              await options.onBatch(records, range, control);
            } catch (error) {
              settle(error as Error);
              return;
            }
          }
          advance(batch.topic, batch.partition, Number(batch.lastOffset()) + 1);
        },
      });
      await done;
    } finally {
      clearInterval(timer);
      await consumer.disconnect().catch(() => {});
      void this.deleteGroupQuietly(groupId);
    }
  }

  reader(options: PartitionReaderOptions): PartitionReader {
    return new KafkajsPartitionReader(this.kafka, this, options);
  }

  classifyError(error: unknown): KafkaErrorKind {
    return classifyKafkajsError(error);
  }

  /** @internal */
  async deleteGroupQuietly(groupId: string): Promise<void> {
    try {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        await admin.deleteGroups([groupId]);
      } finally {
        await admin.disconnect();
      }
    } catch {
      // best effort: an empty group expires on its own
    }
  }
}

export function createKafkaClient(config: KafkaClientConfig): KafkaClient {
  return new KafkajsClient(config);
}
