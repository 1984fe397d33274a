import type { Serde } from '../serde/serde.ts';
import type { StoreBuilder } from '../state/types.ts';
import type { Topology } from '../topology/topology.ts';
import { InternalStreamsBuilder } from './internal-builder.ts';
import { KStream } from './kstream.ts';
import { KTable } from './ktable.ts';
import { Consumed, type Materialized } from './options.ts';
import { tableSourceProcessor } from './processors/table.ts';

export interface StreamsBuilderOptions {
  /** Serde for keys and values where none is given; msgpack by default. */
  defaultSerde?: Serde<any>;
}

/** Entry point of the DSL (Kafka Streams' StreamsBuilder): define streams and tables, then build(). */
export class StreamsBuilder {
  private readonly internal = new InternalStreamsBuilder();
  private built = false;

  constructor(options: StreamsBuilderOptions = {}) {
    if (options.defaultSerde) this.internal.topology.defaultSerde = options.defaultSerde;
  }

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
  ): KTable<K, V> {
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
    const storeName = materialized
      ? (materialized.storeName ?? this.internal.newName(`${topic}-STATE-STORE-`))
      : undefined;
    const table = new KTable<K, V>(
      this.internal,
      tableSourceName,
      keySerde,
      valueSerde,
      storeName,
      materialized?.storeName !== undefined,
    );
    this.internal.topology.addProcessor(
      tableSourceName,
      tableSourceProcessor<K, V>(storeName, () => table.sendOldValues),
      sourceName,
    );
    if (storeName) {
      this.internal.topology.addStateStore(
        this.internal.keyValueStore(storeName, materialized, keySerde, valueSerde),
        tableSourceName,
      );
      this.internal.topology.storeMetadata.set(storeName, {
        timestamped: true,
        kind: 'key-value',
        ...(keySerde ? { keySerde } : {}),
        ...(valueSerde ? { valueSerde } : {}),
      });
    }
    return table;
  }

  /** Adds a store for Processor API processors used through process()/processValues(). */
  addStateStore(builder: StoreBuilder): this {
    this.internal.topology.addStateStore(builder);
    return this;
  }

  /** The compiled processor graph. */
  build(): Topology {
    this.built = true;
    return this.internal.topology;
  }

  get isBuilt(): boolean {
    return this.built;
  }
}
