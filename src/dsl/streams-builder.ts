import { Serdes } from '../serde/index.ts';
import { deltaStoreName } from '../state/delta-index.ts';
import { Stores } from '../state/stores.ts';
import type { StoreBuilder } from '../state/types.ts';
import { TopologyError, type Topology } from '../topology/topology.ts';
import { InternalStreamsBuilder } from './internal-builder.ts';
import { KStream } from './kstream.ts';
import { KTable } from './ktable.ts';
import { Consumed, Materialized } from './options.ts';
import { tableSourceProcessor } from './processors/table.ts';
import { storeValueGetter } from './value-getter.ts';
import { GlobalKTable } from './global-ktable.ts';
import { globalTableSourceProcessor } from './processors/global-table.ts';

/** Entry point of the DSL (Kafka Streams' StreamsBuilder): define streams and tables, then build(). */
export class StreamsBuilder {
  private readonly internal = new InternalStreamsBuilder();
  private built = false;

  /** A stream from one topic, a list of topics, or every topic matching a pattern. */
  stream<K, V>(
    topics: string | string[] | RegExp,
    consumed: Consumed<K, V> = Consumed.with<K, V>(),
  ): KStream<K, V> {
    const name = consumed.processorName ?? this.internal.newName('KSTREAM-SOURCE-');
    this.internal.topology.addSource(name, topics, {
      ...(consumed.keySerde ? { keySerde: consumed.keySerde } : {}),
      ...(consumed.valueSerde ? { valueSerde: consumed.valueSerde } : {}),
      ...(consumed.timestampExtractor ? { timestampExtractor: consumed.timestampExtractor } : {}),
      ...(consumed.offsetReset ? { offsetReset: consumed.offsetReset } : {}),
    });
    return new KStream<K, V>(this.internal, name, consumed.keySerde, consumed.valueSerde, false);
  }

  /**
   * A table from a topic read as a changelog: latest value per key, null values delete. Materialized
   * (and queryable) when given a Materialized with a store name.
   */
  table<K, V>(
    topic: string,
    consumed: Consumed<K, V> = Consumed.with<K, V>(),
    materialized?: Materialized<K, V>,
  ): KTable<K, V, V | null> {
    // Kafka Streams reserves the store name first, even when the table is materialized only on demand.
    const reservedStoreName = materialized?.storeName ?? this.internal.newName(`${topic}-STATE-STORE-`);
    const sourceName = consumed.processorName ?? this.internal.newName('KSTREAM-SOURCE-');
    const tableSourceName = consumed.processorName
      ? `${consumed.processorName}-table-source`
      : this.internal.newName('KTABLE-SOURCE-');
    const keySerde = materialized?.keySerde ?? consumed.keySerde;
    const valueSerde = materialized?.valueSerde ?? consumed.valueSerde;
    this.internal.topology.addSource(sourceName, topic, {
      ...(consumed.keySerde ? { keySerde: consumed.keySerde } : {}),
      ...(consumed.valueSerde ? { valueSerde: consumed.valueSerde } : {}),
      ...(consumed.timestampExtractor ? { timestampExtractor: consumed.timestampExtractor } : {}),
      ...(consumed.offsetReset ? { offsetReset: consumed.offsetReset } : {}),
    });
    const topology = this.internal.topology;
    // Materialized now when asked; otherwise on demand (a join or groupBy needs to read it by key).
    const materialize = (): string => {
      if (table!.storeName) return table!.storeName;
      const storeName = reservedStoreName;
      this.internal.addKeyValueStore(storeName, materialized, keySerde, valueSerde, [tableSourceName]);
      table!.storeName = storeName;
      return storeName;
    };
    // Tombstones in the topic delete: the update stream carries them as null values.
    const table = new KTable<K, V, V | null>(
      this.internal,
      tableSourceName,
      keySerde,
      valueSerde,
      undefined,
      materialized?.storeName !== undefined,
      {
        valueGetter: () => storeValueGetter<K, V>(materialize()),
        enableSendingOldValues: () => void materialize(),
      },
    );
    topology.addProcessor(
      tableSourceName,
      tableSourceProcessor<K, V>(
        () => table!.storeName,
        () => table!.sendOldValues,
      ),
      sourceName,
    );
    if (materialized) materialize();
    return table;
  }

  /**
   * A table replicated in full to every task: read from all partitions of its topic and restored before
   * processing starts. Join streams with it by any key, no co-partitioning needed.
   */
  globalTable<K, V>(
    topic: string,
    consumed: Consumed<K, V> = Consumed.with<K, V>(),
    materialized?: Materialized<K, V>,
  ): GlobalKTable<K, V> {
    const topology = this.internal.topology;
    const sourceName = consumed.processorName ?? this.internal.newName('KSTREAM-SOURCE-');
    const processorName = this.internal.newName('KTABLE-SOURCE-');
    if (materialized?.storeSupplier) throw new TopologyError('GlobalTables cannot be versioned.');
    const storeName = materialized?.storeName ?? this.internal.newName(`${topic}-STATE-STORE-`);
    const keySerde = materialized?.keySerde ?? consumed.keySerde;
    const valueSerde = materialized?.valueSerde ?? consumed.valueSerde;
    topology.addSource(sourceName, topic, {
      ...(consumed.keySerde ? { keySerde: consumed.keySerde } : {}),
      ...(consumed.valueSerde ? { valueSerde: consumed.valueSerde } : {}),
      ...(consumed.timestampExtractor ? { timestampExtractor: consumed.timestampExtractor } : {}),
    });
    topology.addProcessor(processorName, globalTableSourceProcessor<K, V>(storeName), sourceName);
    // The source topic itself is the changelog of a global store: no extra changelog topic.
    topology.addStateStore(
      this.internal.keyValueStore(
        storeName,
        (materialized ?? Materialized.with<K, V>()).withLoggingDisabled(),
        keySerde,
        valueSerde,
      ),
      processorName,
    );
    topology.storeMetadata.set(storeName, {
      timestamped: true,
      kind: 'key-value',
      queryable: materialized?.storeName !== undefined,
      ...(keySerde ? { keySerde } : {}),
      ...(valueSerde ? { valueSerde } : {}),
    });
    topology.globalStores.add(storeName);
    topology.globalSources.add(sourceName);
    return new GlobalKTable<K, V>(this.internal, storeName, topic);
  }

  /** Adds a store for Processor API processors used through process()/processValues(). */
  addStateStore(builder: StoreBuilder): this {
    this.internal.topology.addStateStore(builder);
    return this;
  }

  /** The compiled processor graph. */
  build(): Topology {
    if (!this.built) {
      // The serving layer's delta index of every queryable store (state/delta-index.ts).
      this.internal.topology.addDeltaStores((store) =>
        Stores.keyValueStoreBuilder(
          Stores.persistentKeyValueStore(deltaStoreName(store)),
          Serdes.Bytes(),
          Serdes.Bytes(),
        ).withLoggingEnabled(),
      );
    }
    this.built = true;
    return this.internal.topology;
  }

  get isBuilt(): boolean {
    return this.built;
  }
}
