import { Topology } from '../topology/topology.ts';
import type { Serde } from '../serde/serde.ts';
import type { StoreBuilder } from '../state/types.ts';
import { Stores, timestampedSerde } from '../state/index.ts';
import type { Materialized } from './options.ts';
import { Serdes } from '../serde/index.ts';
import { emitCloseTimeStoreName } from './processors/emit-final.ts';

/**
 * Shared state of one StreamsBuilder: the topology being built and the index that makes generated
 * node and store names unique (Kafka Streams' "KSTREAM-FILTER-0000000001" scheme).
 */
export class InternalStreamsBuilder {
  readonly topology = new Topology();
  private index = 0;

  newName(prefix: string): string {
    return `${prefix}${String(this.index++).padStart(10, '0')}`;
  }

  /** Builds a timestamped key-value store as a DSL aggregation or table materializes it. */
  keyValueStore<K, V>(
    name: string,
    materialized: Materialized<K, V> | undefined,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
  ): StoreBuilder {
    if (materialized?.storeSupplier) {
      // A versioned store (KIP-889): plain values (the store keeps timestamps), never cached.
      const builder: StoreBuilder = Stores.versionedKeyValueStoreBuilder(
        materialized.storeSupplier,
        keySerde ?? this.defaultKeySerde(),
        valueSerde ?? this.defaultValueSerde(),
      );
      return materialized.loggingEnabled
        ? builder.withLoggingEnabled(materialized.changelogConfig)
        : builder.withLoggingDisabled();
    }
    const supplier =
      materialized?.storeType === 'in-memory'
        ? Stores.inMemoryKeyValueStore(name)
        : Stores.persistentKeyValueStore(name);
    let builder: StoreBuilder = Stores.keyValueStoreBuilder(
      supplier,
      keySerde ?? this.defaultKeySerde(),
      timestampedSerde(valueSerde ?? this.defaultValueSerde()),
    );
    builder = this.applyFlags(builder, materialized);
    return builder;
  }

  /**
   * Adds a DSL key-value store (values kept with their timestamps) to the topology, connected to the
   * given processors, and records what the serving layer needs to know about it.
   */
  addKeyValueStore<K, V>(
    storeName: string,
    materialized: Materialized<K, V> | undefined,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    processorNames: string[],
    merge?: (key: K, left: V, right: V) => V,
  ): void {
    this.topology.addStateStore(
      this.keyValueStore(storeName, materialized, keySerde, valueSerde),
      ...processorNames,
    );
    this.topology.storeMetadata.set(storeName, {
      timestamped: true,
      kind: 'key-value',
      queryable: materialized?.storeName !== undefined,
      ...(materialized?.storeSupplier
        ? { versioned: { historyRetentionMs: materialized.storeSupplier.historyRetentionMs } }
        : {}),
      ...(keySerde ? { keySerde } : {}),
      ...(valueSerde ? { valueSerde } : {}),
      ...(merge ? { merge } : {}),
    });
  }

  /** Builds a timestamped window store for a windowed aggregation. */
  windowStore<K, V>(
    name: string,
    materialized: Materialized<K, V> | undefined,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    retentionMs: number,
    windowSizeMs: number,
  ): StoreBuilder {
    refuseVersioned(name, materialized, 'a windowed aggregation');
    const supplier =
      materialized?.storeType === 'in-memory'
        ? Stores.inMemoryWindowStore(name, retentionMs, windowSizeMs, false)
        : Stores.persistentWindowStore(name, retentionMs, windowSizeMs, false);
    let builder: StoreBuilder = Stores.windowStoreBuilder(
      supplier,
      keySerde ?? this.defaultKeySerde(),
      timestampedSerde(valueSerde ?? this.defaultValueSerde()),
    );
    builder = this.applyFlags(builder, materialized);
    return builder;
  }

  /**
   * Builds a session store for a session-windowed aggregation (aggregates kept as they are, without
   * timestamps, as Kafka Streams' session stores).
   */
  sessionStore<K, V>(
    name: string,
    materialized: Materialized<K, V> | undefined,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    retentionMs: number,
  ): StoreBuilder {
    refuseVersioned(name, materialized, 'a session-windowed aggregation');
    const supplier =
      materialized?.storeType === 'in-memory'
        ? Stores.inMemorySessionStore(name, retentionMs)
        : Stores.persistentSessionStore(name, retentionMs);
    return this.applyFlags(
      Stores.sessionStoreBuilder(
        supplier,
        keySerde ?? this.defaultKeySerde(),
        valueSerde ?? this.defaultValueSerde(),
      ),
      materialized,
    );
  }

  /**
   * Adds the hidden store in which an aggregation with `emitStrategy(onWindowClose())` keeps the last
   * window-close time it emitted (Kafka Streams keeps it in the commit metadata): same engine and
   * changelogging as the aggregation's store, left out of describe() (Topology.hiddenStores).
   */
  addEmitCloseTimeStore(
    storeName: string,
    processorName: string,
    materialized: Materialized<any, any> | undefined,
  ): void {
    const name = emitCloseTimeStoreName(storeName);
    const supplier =
      materialized?.storeType === 'in-memory'
        ? Stores.inMemoryKeyValueStore(name)
        : Stores.persistentKeyValueStore(name);
    let builder: StoreBuilder = Stores.keyValueStoreBuilder(supplier, Serdes.String(), Serdes.Long());
    builder =
      materialized?.loggingEnabled === false
        ? builder.withLoggingDisabled()
        : builder.withLoggingEnabled(materialized?.changelogConfig ?? {});
    this.topology.addStateStore(builder, processorName);
    this.topology.hiddenStores.add(name);
  }

  /** The key serde used where none is given (the configured default.key.serde; msgpack unset). */
  defaultKeySerde<T>(): Serde<T> {
    return this.topology.defaultKeySerde as Serde<T>;
  }

  /** The value serde used where none is given (the configured default.value.serde; msgpack unset). */
  defaultValueSerde<T>(): Serde<T> {
    return this.topology.defaultValueSerde as Serde<T>;
  }

  private applyFlags(builder: StoreBuilder, materialized: Materialized<any, any> | undefined): StoreBuilder {
    let b = builder;
    b = materialized?.cachingEnabled === false ? b.withCachingDisabled() : b.withCachingEnabled();
    b =
      materialized?.loggingEnabled === false
        ? b.withLoggingDisabled()
        : b.withLoggingEnabled(materialized?.changelogConfig ?? {});
    return b;
  }
}

/** Versioned stores hold key-value tables only (Kafka Streams' materializers refuse them elsewhere). */
export function refuseVersioned(
  storeName: string,
  materialized: Materialized<any, any> | undefined,
  what: string,
): void {
  if (materialized?.storeSupplier) {
    throw new Error(
      `store '${storeName}': a versioned store supplier cannot materialize ${what}; versioned stores hold key-value tables`,
    );
  }
}
