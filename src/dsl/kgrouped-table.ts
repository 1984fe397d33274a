import type { Serde } from '../serde/serde.ts';
import { Serdes } from '../serde/index.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import { KTable } from './ktable.ts';
import type { Materialized, Named } from './options.ts';
import { changeSerde } from './change-serde.ts';
import { repartitionTopicConfig } from './grouped-base.ts';
import { tableAggregateProcessor } from './processors/table-ops.ts';

/**
 * A re-keyed table, ready to aggregate (Kafka Streams' KGroupedTable). Updates travel through a
 * repartition topic as (new, old) pairs; aggregations add the new value and subtract the old one.
 */
export class KGroupedTable<K, V> {
  /** @internal */
  constructor(
    private readonly builder: InternalStreamsBuilder,
    private readonly nodeName: string,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
    private readonly repartitionName: string | undefined,
  ) {}

  count(materialized?: Materialized<K, number>, named?: Named): KTable<K, number> {
    return this.doAggregate<number>(
      'KTABLE-AGGREGATE-',
      () => 0,
      (_k, _v, agg) => agg + 1,
      (_k, _v, agg) => agg - 1,
      materialized,
      named,
      Serdes.Long(),
    );
  }

  /** `adder(aggregate, newValue)` and `subtractor(aggregate, oldValue)`; the first value starts the aggregate. */
  reduce(
    adder: (aggregate: V, value: V) => V,
    subtractor: (aggregate: V, value: V) => V,
    materialized?: Materialized<K, V>,
    named?: Named,
  ): KTable<K, V> {
    return this.doAggregate<V>(
      'KTABLE-REDUCE-',
      undefined,
      (_k, v, agg) => adder(agg, v),
      (_k, v, agg) => subtractor(agg, v),
      materialized,
      named,
      this.valueSerde,
    );
  }

  aggregate<VA>(
    initializer: () => VA,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    materialized?: Materialized<K, VA>,
    named?: Named,
  ): KTable<K, VA> {
    return this.doAggregate<VA>(
      'KTABLE-AGGREGATE-',
      initializer,
      adder,
      subtractor,
      materialized,
      named,
      undefined,
    );
  }

  private doAggregate<VA>(
    prefix: string,
    initializer: (() => VA) | undefined,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> | undefined,
    named: Named | undefined,
    defaultValueSerde: Serde<VA> | undefined,
  ): KTable<K, VA> {
    const topology = this.builder.topology;
    const storeName = materialized?.storeName ?? this.builder.newName(`${prefix}STATE-STORE-`);
    const sinkName = this.builder.newName('KSTREAM-SINK-');
    const sourceName = this.builder.newName('KSTREAM-SOURCE-');
    const funcName = named?.name ?? this.builder.newName(prefix);
    const topic = `${this.repartitionName ?? storeName}-repartition`;
    const keySerde = materialized?.keySerde ?? this.keySerde;
    const valueSerde = materialized?.valueSerde ?? defaultValueSerde;
    const wireSerdes = {
      ...(this.keySerde ? { keySerde: this.keySerde } : {}),
      valueSerde: changeSerde(this.valueSerde ?? topology.defaultValueSerde),
    };
    topology.addInternalTopic({ name: topic, kind: 'repartition', config: repartitionTopicConfig() });
    topology.addSink(sinkName, topic, wireSerdes, this.nodeName);
    topology.addSource(sourceName, topic, wireSerdes);
    topology.addProcessor(
      funcName,
      tableAggregateProcessor<K, V, VA>({
        storeName,
        initializer,
        adder,
        subtractor,
        sendOldValues: () => table?.sendOldValues ?? false,
      }),
      sourceName,
    );
    this.builder.addKeyValueStore(storeName, materialized, keySerde, valueSerde, [funcName]);
    const table = new KTable<K, VA>(
      this.builder,
      funcName,
      keySerde,
      valueSerde,
      storeName,
      materialized?.storeName !== undefined,
    );
    return table;
  }
}
