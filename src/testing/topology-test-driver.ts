import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Topology } from '../topology/topology.ts';
import type { Serde } from '../serde/serde.ts';
import { errorHandlingOf } from '../processor/error-handlers.ts';
import type { Headers } from '../processor/record.ts';
import { StreamTask, type DropReason } from '../processor/internals/task.ts';
import {
  cachingEnabled,
  DEFAULT_STATESTORE_CACHE_MAX_BYTES,
  resolveStreamsConfig,
  type StreamsConfigInput,
} from '../streams-config.ts';
import { CacheBudget } from '../state/write-back-cache.ts';
import { MeteredVersionedKeyValueStore } from '../state/metered-versioned-store.ts';
import type {
  KeyValueStore,
  SessionStore,
  StateStore,
  VersionedKeyValueStore,
  WindowStore,
} from '../state/types.ts';
import {
  TestInputTopic,
  TestOutputTopic,
  type CapturedRecord,
  type InputTopicOptions,
} from './test-topics.ts';
import { unwrapTimestampedKeyValueStore, unwrapTimestampedWindowStore } from './store-facades.ts';

/**
 * The configuration of a TopologyTestDriver: the StreamsConfig options a KafkaStreams takes (the
 * ones that mean something without Kafka: applicationId, stateDir, default serdes and timestamp
 * extractor, statestoreCacheMaxBytes, the error handlers), plus the mocked wall clock.
 * statestoreCacheMaxBytes is one budget for the caches of all the driver's stores;
 * `statestoreCacheMaxBytes: 0` turns caching off everywhere: every update is forwarded, as Kafka
 * Streams' own driver does with statestore.cache.max.bytes=0. Records that cannot be deserialized or
 * carry invalid timestamps throw unless a handler says otherwise; dead-letter records appear as
 * output records.
 */
export interface TopologyTestDriverConfig extends StreamsConfigInput {
  /** Initial mocked wall-clock time (default: now). */
  initialWallClockTimeMs?: number;
}

/**
 * Runs a topology in-process, record by record, with the same task, processors and stores the runtime
 * uses (Kafka Streams' TopologyTestDriver). All sub-topologies run in one task on partition 0; records
 * written to internal or source topics are fed back in, like Kafka Streams' driver does. After every
 * input record the task commits, so caches flush and forward once per record.
 */
export class TopologyTestDriver {
  readonly applicationId: string;
  readonly stateDir: string;
  private readonly ownsStateDir: boolean;
  private readonly task: StreamTask;
  private readonly topology: Topology;
  private readonly outputs = new Map<string, CapturedRecord[]>();
  private readonly nextOffset = new Map<string, number>();
  private readonly dropped = new Map<DropReason, number>();
  private wallClockMs: number;
  private initPromise: Promise<void> | undefined;
  private closed = false;

  constructor(topology: Topology, input: TopologyTestDriverConfig = {}) {
    const config = resolveStreamsConfig(input);
    this.topology = topology;
    topology.configureDefaultSerdes(config);
    this.applicationId = config.applicationId ?? 'topology-test-driver';
    this.ownsStateDir = config.stateDir === undefined;
    this.stateDir = config.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-streams-ttd-'));
    this.wallClockMs = config.initialWallClockTimeMs ?? Date.now();
    const internal = new Set(topology.internalTopics().map((t) => t.name));
    const resolveTopic = (topic: string): string =>
      internal.has(topic) ? `${this.applicationId}-${topic}` : topic;
    this.task = new StreamTask({
      applicationId: this.applicationId,
      taskId: '0_0',
      stateDir: this.stateDir,
      topology,
      nodes: new Set(topology.nodes().map((n) => n.name)),
      collector: {
        send: (record) => {
          this.capture(record.topic, record);
          // Records to topics the topology reads (repartition topics, or through-topics) go back in.
          if (this.task.readsTopic(record.topic)) {
            this.task.addRecords([{ ...record, partition: 0, offset: this.takeOffset(record.topic) }]);
          }
        },
        partitionsFor: () => 1,
      },
      resolveTopic,
      logChange: (storeName, key, value, timestamp) => {
        this.capture(`${this.applicationId}-${storeName}-changelog`, { key, value, timestamp, headers: {} });
      },
      wallClock: () => this.wallClockMs,
      defaultKeySerde: topology.defaultKeySerde,
      defaultValueSerde: topology.defaultValueSerde,
      ...(config.defaultTimestampExtractor
        ? { defaultTimestampExtractor: config.defaultTimestampExtractor }
        : {}),
      badRecordHandling: config.badRecordHandling ?? 'fail',
      errorHandling: errorHandlingOf(config),
      cachingDisabled: !cachingEnabled(config),
      // One budget for all the driver's stores, as the one ThreadCache of Kafka Streams' driver.
      cacheBudget: new CacheBudget(config.statestoreCacheMaxBytes ?? DEFAULT_STATESTORE_CACHE_MAX_BYTES),
      metrics: {
        recordDropped: (reason) => this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1),
      },
    });
    this.initPromise = this.task.init();
    // Surface init failures through init(); avoid an unhandled rejection if nobody awaits.
    this.initPromise.catch(() => undefined);
  }

  /** Creates and initializes a driver (opens stores; restores what a previous driver left in stateDir). */
  static async create(
    topology: Topology,
    config: TopologyTestDriverConfig = {},
  ): Promise<TopologyTestDriver> {
    const driver = new TopologyTestDriver(topology, config);
    await driver.init();
    return driver;
  }

  /** Waits until stores are open and processors initialized. */
  async init(): Promise<void> {
    await this.initPromise;
  }

  createInputTopic<K, V>(
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    options: InputTopicOptions = {},
  ): TestInputTopic<K, V> {
    if (!this.task.readsTopic(name)) {
      throw new Error(
        `Unknown topic '${name}': the topology reads ${
          this.task
            .sourceTopics()
            .map((t) => `'${t}'`)
            .join(', ') || 'no topics'
        }`,
      );
    }
    return new TestInputTopic(
      name,
      keySerde,
      valueSerde,
      (topic, key, value, timestamp, headers) => this.pipe(topic, key, value, timestamp, headers),
      options.startTimestamp ?? this.wallClockMs,
      options.autoAdvanceMs ?? 0,
    );
  }

  createOutputTopic<K, V>(name: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(name, keySerde, valueSerde, () => this.outputQueue(name));
  }

  /** Topics the topology has written to so far (including internal and changelog topics). */
  producedTopicNames(): string[] {
    return [...this.outputs.keys()];
  }

  /** Advances mocked wall-clock time, firing wall-clock punctuations. */
  advanceWallClockTime(ms: number): void {
    if (ms < 0) throw new RangeError('advanceWallClockTime() takes a non-negative duration');
    this.assertReady();
    this.wallClockMs += ms;
    this.task.maybePunctuateSystemTime();
    this.task.flushCaches();
    this.completeAllProcessableWork();
  }

  /** A key-value store; DSL stores (value + timestamp inside) are shown with plain values. */
  getKeyValueStore<K, V>(name: string): KeyValueStore<K, V> {
    this.refuseVersioned(name);
    const store = this.getStateStore(name) as KeyValueStore<K, any>;
    return this.topology.storeMetadata.get(name)?.timestamped
      ? unwrapTimestampedKeyValueStore<K, V>(store)
      : store;
  }

  /** A key-value store with values as { value, timestamp }, as DSL aggregations keep them. */
  getTimestampedKeyValueStore<K, V>(name: string): KeyValueStore<K, { value: V; timestamp: number }> {
    this.refuseVersioned(name);
    return this.getStateStore(name) as KeyValueStore<K, { value: V; timestamp: number }>;
  }

  /**
   * A versioned key-value store (Stores.persistentVersionedKeyValueStore, KIP-889): get(key) and
   * get(key, asOfTimestamp). Kafka Streams' driver returns null for a store of another kind; this
   * one throws, naming the store, as for unknown names.
   */
  getVersionedKeyValueStore<K, V>(name: string): VersionedKeyValueStore<K, V> {
    const store = this.getStateStore(name);
    if (!(store instanceof MeteredVersionedKeyValueStore)) {
      throw new Error(`State store '${name}' is not a versioned key-value store`);
    }
    return store as VersionedKeyValueStore<K, V>;
  }

  getWindowStore<K, V>(name: string): WindowStore<K, V> {
    const store = this.getStateStore(name) as WindowStore<K, any>;
    return this.topology.storeMetadata.get(name)?.timestamped
      ? unwrapTimestampedWindowStore<K, V>(store)
      : store;
  }

  /** A session store (session-windowed aggregations), keyed by Windowed keys. */
  getSessionStore<K, V>(name: string): SessionStore<K, V> {
    return this.getStateStore(name) as SessionStore<K, V>;
  }

  private refuseVersioned(name: string): void {
    if (this.getStateStore(name) instanceof MeteredVersionedKeyValueStore) {
      throw new Error(`State store '${name}' is versioned: read it with getVersionedKeyValueStore`);
    }
  }

  getStateStore(name: string): StateStore {
    const store = this.task.getStore(name);
    if (!store) {
      const known = [...this.task.stores.keys()];
      throw new Error(
        `Unknown state store '${name}'; the topology has ${known.length ? known.map((s) => `'${s}'`).join(', ') : 'no stores'}`,
      );
    }
    return store;
  }

  getAllStateStores(): Map<string, StateStore> {
    return new Map(this.task.stores);
  }

  /** Counts of records dropped by the topology, by reason (late, null-key, ...). */
  droppedRecords(): Record<string, number> {
    return Object.fromEntries(this.dropped);
  }

  /** Flushes and closes stores (so a new driver over the same stateDir restores them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.initPromise;
      this.task.flushCaches();
      await this.task.flushStores();
    } finally {
      await this.task.close();
      if (this.ownsStateDir) fs.rmSync(this.stateDir, { recursive: true, force: true });
    }
  }

  // ---- internals ----

  private pipe(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: Headers,
  ): void {
    this.assertReady();
    this.task.addRecords([
      { topic, partition: 0, offset: this.takeOffset(topic), key, value, timestamp, headers },
    ]);
    this.completeAllProcessableWork();
  }

  private completeAllProcessableWork(): void {
    while (this.task.processNext()) {
      this.task.maybePunctuateStreamTime();
      this.task.flushCaches();
    }
  }

  private assertReady(): void {
    if (this.closed) throw new Error('TopologyTestDriver is closed');
    if (!this.task.isInitialized) {
      throw new Error(
        'TopologyTestDriver is still opening its stores: `await driver.init()` first, or create it with `await TopologyTestDriver.create(topology, config)`',
      );
    }
  }

  private takeOffset(topic: string): number {
    const offset = this.nextOffset.get(topic) ?? 0;
    this.nextOffset.set(topic, offset + 1);
    return offset;
  }

  private capture(topic: string, record: CapturedRecord): void {
    this.outputQueue(topic).push({
      key: record.key,
      value: record.value,
      timestamp: record.timestamp,
      headers: record.headers,
    });
  }

  private outputQueue(topic: string): CapturedRecord[] {
    let queue = this.outputs.get(topic);
    if (!queue) this.outputs.set(topic, (queue = []));
    return queue;
  }
}
