import type { Serde } from '../serde/serde.ts';
import type { StreamPartitioner, TimestampExtractor } from '../topology/nodes.ts';
import { isVersionedSupplier, type VersionedBytesStoreSupplier } from '../state/store-suppliers.ts';

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

/**
 * Key and value serdes of an option class; `withSerdes` fills the ones given (the static `with`
 * factories of Consumed, Produced, Grouped, ... go through it).
 */
abstract class SerdeOptions<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;

  withKeySerde(serde: Serde<K>): this {
    this.keySerde = serde;
    return this;
  }

  withValueSerde(serde: Serde<V>): this {
    this.valueSerde = serde;
    return this;
  }

  protected withSerdes(keySerde: Serde<K> | undefined, valueSerde: Serde<V> | undefined): this {
    if (keySerde) this.keySerde = keySerde;
    if (valueSerde) this.valueSerde = valueSerde;
    return this;
  }
}

/** How a source topic is read (Kafka Streams' Consumed). */
export class Consumed<K, V> extends SerdeOptions<K, V> {
  timestampExtractor?: TimestampExtractor;
  offsetReset?: 'earliest' | 'latest';
  processorName?: string;

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Consumed<K, V> {
    return new Consumed<K, V>().withSerdes(keySerde, valueSerde);
  }
  static as<K, V>(processorName: string): Consumed<K, V> {
    return new Consumed<K, V>().withName(processorName);
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
export class Produced<K, V> extends SerdeOptions<K, V> {
  partitioner?: StreamPartitioner<K, V>;
  processorName?: string;

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Produced<K, V> {
    return new Produced<K, V>().withSerdes(keySerde, valueSerde);
  }
  static as<K, V>(processorName: string): Produced<K, V> {
    return new Produced<K, V>().withName(processorName);
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
export class Grouped<K, V> extends SerdeOptions<K, V> {
  name?: string;

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Grouped<K, V> {
    return new Grouped<K, V>().withSerdes(keySerde, valueSerde);
  }
  static as<K, V>(name: string): Grouped<K, V> {
    return new Grouped<K, V>().withName(name);
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
export class Materialized<K, V> extends SerdeOptions<K, V> {
  storeName?: string;
  storeType?: StoreType;
  /** A versioned store (Stores.persistentVersionedKeyValueStore): the table keeps every version. */
  storeSupplier?: VersionedBytesStoreSupplier;
  cachingEnabled = true;
  loggingEnabled = true;
  changelogConfig: Record<string, string> = {};
  retentionMs?: number;

  /**
   * Materialized under a store name, or in the store a supplier makes (a versioned store: KIP-889;
   * its name is the store name, and it has no cache, whatever withCachingEnabled says).
   */
  static as<K, V>(storeNameOrSupplier: string | VersionedBytesStoreSupplier): Materialized<K, V> {
    const m = new Materialized<K, V>();
    if (isVersionedSupplier(storeNameOrSupplier)) {
      m.storeSupplier = storeNameOrSupplier;
      m.storeName = storeNameOrSupplier.name;
    } else {
      m.storeName = Named.as(storeNameOrSupplier).name;
    }
    return m;
  }
  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Materialized<K, V> {
    return new Materialized<K, V>().withSerdes(keySerde, valueSerde);
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
export class Joined<K, V, VO> extends SerdeOptions<K, V> {
  otherValueSerde?: Serde<VO>;
  name?: string;

  static with<K, V, VO>(
    keySerde?: Serde<K>,
    valueSerde?: Serde<V>,
    otherValueSerde?: Serde<VO>,
  ): Joined<K, V, VO> {
    const j = new Joined<K, V, VO>().withSerdes(keySerde, valueSerde);
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
export class StreamJoined<K, V, VO> extends SerdeOptions<K, V> {
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
    const j = new StreamJoined<K, V, VO>().withSerdes(keySerde, valueSerde);
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
export class Repartitioned<K, V> extends SerdeOptions<K, V> {
  name?: string;
  numberOfPartitions?: number;
  partitioner?: StreamPartitioner<K, V>;

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Repartitioned<K, V> {
    return new Repartitioned<K, V>().withSerdes(keySerde, valueSerde);
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
