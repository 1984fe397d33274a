import type { Serde } from '../serde/serde.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import { KStream } from './kstream.ts';
import { Named } from './options.ts';
import { toStreamProcessor } from './processors/table.ts';

/**
 * A changelog stream seen as a table of latest values per key (Kafka Streams' KTable). Its nodes
 * forward Change records (new and, when a downstream needs it, old value).
 */
export class KTable<K, V> {
  /** Set by downstream operations that need old values (e.g. table groupBy with a subtractor). */
  sendOldValues = false;

  /** @internal */
  constructor(
    readonly builder: InternalStreamsBuilder,
    readonly nodeName: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** Store holding the table, if materialized. */
    readonly storeName: string | undefined,
    /** True when the user named the store (Materialized.as): it is queryable. */
    readonly queryable: boolean,
  ) {}

  /** Name of the store to query, when the table was materialized under a user-given name. */
  queryableStoreName(): string | undefined {
    return this.queryable ? this.storeName : undefined;
  }

  /** The table's update stream: every change as a record, deletes as null values. */
  toStream<KR>(mapper: (key: K, value: V) => KR, named?: Named): KStream<KR, V>;
  toStream(named?: Named): KStream<K, V>;
  toStream<KR>(mapperOrNamed?: ((key: K, value: V) => KR) | Named, named?: Named): KStream<KR, V> {
    const mapper =
      typeof mapperOrNamed === 'function' && !(mapperOrNamed instanceof Named)
        ? (mapperOrNamed as (key: K, value: V | null) => KR)
        : undefined;
    const nodeNamed = mapperOrNamed instanceof Named ? mapperOrNamed : named;
    const name = nodeNamed?.name ?? this.builder.newName('KTABLE-TOSTREAM-');
    this.builder.topology.addProcessor(
      name,
      toStreamProcessor<K, V, KR>(mapper as ((key: K, value: V | null) => KR) | undefined),
      this.nodeName,
    );
    // Deletes arrive as null values, as in Kafka Streams; the type stays V for ergonomic chaining.
    return new KStream<KR, V>(
      this.builder,
      name,
      mapper ? undefined : (this.keySerde as unknown as Serde<KR> | undefined),
      this.valueSerde,
      mapper !== undefined,
    );
  }
}
