import type { Serde } from '../serde/serde.ts';
import { Serdes } from '../serde/index.ts';
import type { Windowed } from '../state/types.ts';
import { WindowedGroupedBase } from './grouped-base.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import type { AggregateOptions } from './kgrouped-stream.ts';
import { KTable } from './ktable.ts';
import { EmitStrategy } from './emit-strategy.ts';
import type { Materialized, Named } from './options.ts';
import type { SlidingWindows } from './sliding-windows.ts';
import type { Aggregator, Initializer, Reducer } from './processors/aggregate.ts';
import { slidingWindowAggregateProcessor } from './processors/sliding-window-aggregate.ts';

/**
 * A grouped stream cut into sliding windows (Kafka Streams' SlidingWindowedKStream): windows of a
 * fixed time difference, [start, start + difference] with both ends inclusive, that exist only
 * where records define them. Results are KTables keyed by Windowed<K>.
 */
export class SlidingWindowedKStream<K, V> extends WindowedGroupedBase<K, V, SlidingWindows> {
  private strategy = EmitStrategy.onWindowUpdate();

  /**
   * When the aggregation forwards (KIP-825): every update (`EmitStrategy.onWindowUpdate()`, the
   * default) or each window's final result once it closes (`EmitStrategy.onWindowClose()`).
   */
  emitStrategy(emitStrategy: EmitStrategy): this {
    if (!(emitStrategy instanceof EmitStrategy)) throw new TypeError("emitStrategy can't be null");
    this.strategy = emitStrategy;
    return this;
  }

  /** Counts records per window (null keys and values are skipped). */
  count(materialized?: Materialized<K, number>, named?: Named): KTable<Windowed<K>, number> {
    return this.doAggregate<number>(
      'KSTREAM-AGGREGATE-',
      () => 0,
      (_k, _v, agg) => agg + 1,
      materialized,
      named,
      Serdes.Long() as Serde<number>,
    );
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>, named?: Named): KTable<Windowed<K>, V> {
    return this.doAggregate<V>(
      'KSTREAM-REDUCE-',
      () => null as unknown as V,
      (_k, v, agg) => (agg === null || agg === undefined ? v : reducer(agg, v)),
      materialized,
      named,
      this.valueSerde,
    );
  }

  /** Folds the values of each window into an aggregate; `options.merge` is accepted but not used. */
  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized?: Materialized<K, VA>,
    options: AggregateOptions<K, VA> = {},
  ): KTable<Windowed<K>, VA> {
    return this.doAggregate<VA>(
      'KSTREAM-AGGREGATE-',
      initializer,
      aggregator,
      materialized,
      options.named,
      undefined,
    );
  }

  private doAggregate<VA>(
    prefix: string,
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> | undefined,
    named: Named | undefined,
    defaultValueSerde: Serde<any> | undefined,
  ): KTable<Windowed<K>, VA> {
    const storeName = materialized?.storeName ?? this.builder.newName(`${prefix}STATE-STORE-`);
    const processorName = named?.name ?? this.builder.newName(prefix);
    const keySerde = materialized?.keySerde ?? this.keySerde;
    const valueSerde = (materialized?.valueSerde ?? defaultValueSerde) as Serde<VA> | undefined;
    addSlidingWindowStore(this.builder, storeName, materialized, keySerde, valueSerde, this.windows);
    const table = new KTable<Windowed<K>, VA>(
      this.builder,
      processorName,
      undefined,
      valueSerde,
      storeName,
      materialized?.storeName !== undefined,
    );
    this.addAggregation(
      processorName,
      storeName,
      slidingWindowAggregateProcessor<K, V, VA>(
        storeName,
        this.windows,
        initializer,
        aggregator,
        () => table.sendOldValues,
        this.strategy,
      ),
      materialized?.storeName !== undefined,
    );
    if (this.strategy.type() === 'ON_WINDOW_CLOSE') {
      this.builder.addEmitCloseTimeStore(storeName, processorName, materialized);
    }
    return table;
  }
}

/**
 * @internal Adds the window store of a sliding-window aggregation (retention: at least twice the time
 * difference plus grace) and what the serving layer needs to know about it.
 */
export function addSlidingWindowStore<K, VA>(
  builder: InternalStreamsBuilder,
  storeName: string,
  materialized: Materialized<K, VA> | undefined,
  keySerde: Serde<K> | undefined,
  valueSerde: Serde<VA> | undefined,
  windows: SlidingWindows,
): void {
  const difference = windows.timeDifferenceMs;
  const graceMs = windows.gracePeriodMs();
  // Old windows must stay readable to build new ones: twice the difference plus grace.
  const minimum = 2 * difference + graceMs;
  const retentionMs = materialized?.retentionMs ?? minimum;
  if (retentionMs < minimum) {
    throw new RangeError(
      `Store '${storeName}': retention (${retentionMs} ms) must be at least 2 * time difference + grace (${minimum} ms)`,
    );
  }
  // The window store needs a positive size; a zero difference still yields [start, start] keys below.
  const sizeMs = Math.max(difference, 1);
  const topology = builder.topology;
  topology.addStateStore(
    builder.windowStore(storeName, materialized, keySerde, valueSerde, Math.max(retentionMs, sizeMs), sizeMs),
  );
  topology.storeMetadata.set(storeName, {
    timestamped: true,
    kind: 'window',
    queryable: materialized?.storeName !== undefined,
    window: { sizeMs: difference, advanceMs: 1, graceMs },
    ...(keySerde ? { keySerde } : {}),
    ...(valueSerde ? { valueSerde } : {}),
    // No merge function: sliding windows exist only where records define them, so partial
    // aggregates of two record sets do not line up window by window. Latest-wins instead.
  });
}
