import type { Serde } from '../serde/serde.ts';
import type { StreamPartitioner, TimestampExtractor } from '../topology/nodes.ts';

/** A key-value pair, as mappers return them (Kafka Streams' KeyValue). */
export interface KeyValue<K, V> {
  key: K;
  value: V;
}

export const KeyValue = {
  pair<K, V>(key: K, value: V): KeyValue<K, V> {
    return { key, value };
  },
};

/** Names a DSL operation's processor node (Kafka Streams' Named). */
export class Named {
  private constructor(readonly name: string) {}
  static as(name: string): Named {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      throw new Error(`Name '${name}' is not valid: use letters, digits, '.', '_' and '-' only`);
    }
    return new Named(name);
  }
}

/** How a source topic is read (Kafka Streams' Consumed). */
export class Consumed<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  timestampExtractor?: TimestampExtractor;
  offsetReset?: 'earliest' | 'latest';
  processorName?: string;

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Consumed<K, V> {
    const c = new Consumed<K, V>();
    if (keySerde) c.keySerde = keySerde;
    if (valueSerde) c.valueSerde = valueSerde;
    return c;
  }
  static as<K, V>(processorName: string): Consumed<K, V> {
    return new Consumed<K, V>().withName(processorName);
  }
  withKeySerde(serde: Serde<K>): this {
    this.keySerde = serde;
    return this;
  }
  withValueSerde(serde: Serde<V>): this {
    this.valueSerde = serde;
    return this;
  }
  withTimestampExtractor(extractor: TimestampExtractor): this {
    this.timestampExtractor = extractor;
    return this;
  }
  withOffsetResetPolicy(policy: 'earliest' | 'latest'): this {
    this.offsetReset = policy;
    return this;
  }
  withName(name: string): this {
    this.processorName = Named.as(name).name;
    return this;
  }
}

/** How records are written to a topic (Kafka Streams' Produced). */
export class Produced<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  partitioner?: StreamPartitioner<K, V>;
  processorName?: string;

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Produced<K, V> {
    const p = new Produced<K, V>();
    if (keySerde) p.keySerde = keySerde;
    if (valueSerde) p.valueSerde = valueSerde;
    return p;
  }
  static as<K, V>(processorName: string): Produced<K, V> {
    return new Produced<K, V>().withName(processorName);
  }
  withKeySerde(serde: Serde<K>): this {
    this.keySerde = serde;
    return this;
  }
  withValueSerde(serde: Serde<V>): this {
    this.valueSerde = serde;
    return this;
  }
  withStreamPartitioner(partitioner: StreamPartitioner<K, V>): this {
    this.partitioner = partitioner;
    return this;
  }
  withName(name: string): this {
    this.processorName = Named.as(name).name;
    return this;
  }
}

/** Serdes (and a name for the repartition topic) of a grouping (Kafka Streams' Grouped). */
export class Grouped<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  name?: string;

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Grouped<K, V> {
    const g = new Grouped<K, V>();
    if (keySerde) g.keySerde = keySerde;
    if (valueSerde) g.valueSerde = valueSerde;
    return g;
  }
  static as<K, V>(name: string): Grouped<K, V> {
    return new Grouped<K, V>().withName(name);
  }
  withKeySerde(serde: Serde<K>): this {
    this.keySerde = serde;
    return this;
  }
  withValueSerde(serde: Serde<V>): this {
    this.valueSerde = serde;
    return this;
  }
  withName(name: string): this {
    this.name = Named.as(name).name;
    return this;
  }
}

/** Storage engine of a materialized store. */
export type StoreType = 'persistent' | 'in-memory';

/**
 * How a KTable or aggregation is stored (Kafka Streams' Materialized): store name (makes it queryable),
 * serdes, storage engine, caching, changelogging and window retention.
 */
export class Materialized<K, V> {
  storeName?: string;
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  storeType?: StoreType;
  cachingEnabled = true;
  loggingEnabled = true;
  changelogConfig: Record<string, string> = {};
  retentionMs?: number;

  static as<K, V>(storeName: string): Materialized<K, V> {
    const m = new Materialized<K, V>();
    m.storeName = Named.as(storeName).name;
    return m;
  }
  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Materialized<K, V> {
    const m = new Materialized<K, V>();
    if (keySerde) m.keySerde = keySerde;
    if (valueSerde) m.valueSerde = valueSerde;
    return m;
  }
  withKeySerde(serde: Serde<K>): this {
    this.keySerde = serde;
    return this;
  }
  withValueSerde(serde: Serde<V>): this {
    this.valueSerde = serde;
    return this;
  }
  withStoreType(type: StoreType): this {
    this.storeType = type;
    return this;
  }
  withCachingEnabled(): this {
    this.cachingEnabled = true;
    return this;
  }
  withCachingDisabled(): this {
    this.cachingEnabled = false;
    return this;
  }
  withLoggingEnabled(config: Record<string, string> = {}): this {
    this.loggingEnabled = true;
    this.changelogConfig = config;
    return this;
  }
  withLoggingDisabled(): this {
    this.loggingEnabled = false;
    return this;
  }
  /** Window stores only: how long windows are kept (at least window size + grace). */
  withRetention(ms: number): this {
    this.retentionMs = ms;
    return this;
  }
}

/** Combines two partial aggregates (needed for the Lambda merge of batch views and speed deltas). */
export type Merger<K, VA> = (key: K, left: VA, right: VA) => VA;

/** Serdes and names of a stream-table join (Kafka Streams' Joined). */
export class Joined<K, V, VO> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  otherValueSerde?: Serde<VO>;
  name?: string;

  static with<K, V, VO>(
    keySerde?: Serde<K>,
    valueSerde?: Serde<V>,
    otherValueSerde?: Serde<VO>,
  ): Joined<K, V, VO> {
    const j = new Joined<K, V, VO>();
    if (keySerde) j.keySerde = keySerde;
    if (valueSerde) j.valueSerde = valueSerde;
    if (otherValueSerde) j.otherValueSerde = otherValueSerde;
    return j;
  }
  static as<K, V, VO>(name: string): Joined<K, V, VO> {
    return new Joined<K, V, VO>().withName(name);
  }
  withName(name: string): this {
    this.name = Named.as(name).name;
    return this;
  }
}

/** Serdes, store names and store type of a stream-stream join (Kafka Streams' StreamJoined). */
export class StreamJoined<K, V, VO> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  otherValueSerde?: Serde<VO>;
  name?: string;
  storeName?: string;
  storeType?: StoreType;
  loggingEnabled = true;

  static with<K, V, VO>(
    keySerde?: Serde<K>,
    valueSerde?: Serde<V>,
    otherValueSerde?: Serde<VO>,
  ): StreamJoined<K, V, VO> {
    const j = new StreamJoined<K, V, VO>();
    if (keySerde) j.keySerde = keySerde;
    if (valueSerde) j.valueSerde = valueSerde;
    if (otherValueSerde) j.otherValueSerde = otherValueSerde;
    return j;
  }
  static as<K, V, VO>(storeName: string): StreamJoined<K, V, VO> {
    const j = new StreamJoined<K, V, VO>();
    j.storeName = Named.as(storeName).name;
    return j;
  }
  withName(name: string): this {
    this.name = Named.as(name).name;
    return this;
  }
  withStoreName(name: string): this {
    this.storeName = Named.as(name).name;
    return this;
  }
  withStoreType(type: StoreType): this {
    this.storeType = type;
    return this;
  }
  withLoggingDisabled(): this {
    this.loggingEnabled = false;
    return this;
  }
}

/** Joins two values; the key comes third so `(left, right) => ...` reads naturally. */
export type ValueJoiner<V1, V2, VR, K = unknown> = (left: V1, right: V2, key: K) => VR;

/** Serdes, name and partitioning of KStream.repartition() (Kafka Streams' Repartitioned). */
export class Repartitioned<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  name?: string;
  numberOfPartitions?: number;
  partitioner?: StreamPartitioner<K, V>;

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Repartitioned<K, V> {
    const r = new Repartitioned<K, V>();
    if (keySerde) r.keySerde = keySerde;
    if (valueSerde) r.valueSerde = valueSerde;
    return r;
  }
  static as<K, V>(name: string): Repartitioned<K, V> {
    return new Repartitioned<K, V>().withName(name);
  }
  static numberOfPartitions<K, V>(n: number): Repartitioned<K, V> {
    return new Repartitioned<K, V>().withNumberOfPartitions(n);
  }
  withName(name: string): this {
    this.name = Named.as(name).name;
    return this;
  }
  withKeySerde(serde: Serde<K>): this {
    this.keySerde = serde;
    return this;
  }
  withValueSerde(serde: Serde<V>): this {
    this.valueSerde = serde;
    return this;
  }
  withNumberOfPartitions(n: number): this {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`Number of partitions must be a positive integer, got ${n}`);
    this.numberOfPartitions = n;
    return this;
  }
  withStreamPartitioner(partitioner: StreamPartitioner<K, V>): this {
    this.partitioner = partitioner;
    return this;
  }
}
