import type { Serde } from '../serde/serde.ts';
import { Serdes } from '../serde/index.ts';
import type { Windowed } from '../state/types.ts';
import type { Materialized, Merger, Named } from './options.ts';
import { KTable } from './ktable.ts';
import { EmitStrategy } from './emit-strategy.ts';
import { CogroupedKStream } from './cogrouped-stream.ts';
import { GroupedBase, WindowedGroupedBase, mergeableCombine } from './grouped-base.ts';
import { SessionWindows } from './session-windows.ts';
import { SlidingWindows } from './sliding-windows.ts';
import { SessionWindowedKStream } from './session-windowed-stream.ts';
import { SlidingWindowedKStream } from './sliding-windowed-stream.ts';
import type { TimeWindows } from './windows.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import {
  aggregateProcessor,
  windowAggregateProcessor,
  type Aggregator,
  type Initializer,
  type Reducer,
} from './processors/aggregate.ts';

/** Options of an aggregation beyond its store: a node name and the merge function of partial aggregates. */
export interface AggregateOptions<K, VA> {
  named?: Named;
  /** Combines two partial aggregates; makes the store mergeable for the serving layer's Lambda merge. */
  merge?: Merger<K, VA>;
}

/** A stream grouped by key, ready to aggregate (Kafka Streams' KGroupedStream). */
export class KGroupedStream<K, V> extends GroupedBase<K, V> {
  /** Counts records per key (null keys and values are skipped). Mergeable: partial counts add up. */
  count(materialized?: Materialized<K, number>, named?: Named): KTable<K, number> {
    return this.doAggregate<number>(
      () => 0,
      (_k, _v, agg) => (agg ?? 0) + 1,
      materialized,
      named,
      Serdes.Long(),
      (_k, a, b) => a + b,
    );
  }

  /** Combines values of a key with `reducer(aggregate, value)`; the first value starts the aggregate. */
  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>, named?: Named): KTable<K, V> {
    return this.doAggregate<V>(
      undefined,
      (_k, v, agg) => (agg === undefined ? v : reducer(agg, v)),
      materialized,
      named,
      this.valueSerde,
      undefined,
    );
  }

  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized?: Materialized<K, VA>,
    options: AggregateOptions<K, VA> = {},
  ): KTable<K, VA> {
    return this.doAggregate<VA>(
      initializer,
      aggregator as (k: K, v: V, agg: VA | undefined) => VA,
      materialized,
      options.named,
      undefined,
      options.merge,
    );
  }

  /**
   * Starts a cogroup (Kafka Streams' KIP-150): this stream's values fold into an aggregate of type
   * VOut with `aggregator`; add more grouped streams with `cogroup(groupedStream, aggregator)`, then
   * `aggregate(initializer)` (or window first) builds one table over one store for all of them.
   */
  cogroup<VOut>(aggregator: Aggregator<K, V, VOut>): CogroupedKStream<K, VOut> {
    if (typeof aggregator !== 'function') throw new TypeError("aggregator can't be null");
    return new CogroupedKStream<K, VOut>(this.builder, this, aggregator as Aggregator<K, any, VOut>);
  }

  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(windows: SlidingWindows): SlidingWindowedKStream<K, V>;
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>;
  windowedBy(
    windows: TimeWindows | SessionWindows | SlidingWindows,
  ): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> | SlidingWindowedKStream<K, V> {
    const args = [
      this.builder,
      this.nodeName,
      this.keySerde,
      this.valueSerde,
      this.repartitionRequired,
      this.repartitionName,
    ] as const;
    if (windows instanceof SessionWindows) return new SessionWindowedKStream(...args, windows);
    if (windows instanceof SlidingWindows) return new SlidingWindowedKStream(...args, windows);
    return new TimeWindowedKStream(...args, windows);
  }

  private doAggregate<VA>(
    initializer: Initializer<VA> | undefined,
    aggregator: (k: K, v: V, agg: VA | undefined) => VA,
    materialized: Materialized<K, VA> | undefined,
    named: Named | undefined,
    defaultValueSerde: Serde<VA> | undefined,
    merge: Merger<K, VA> | undefined,
  ): KTable<K, VA> {
    const prefix = initializer === undefined ? 'KSTREAM-REDUCE-' : 'KSTREAM-AGGREGATE-';
    const storeName = materialized?.storeName ?? this.builder.newName(`${prefix}STATE-STORE-`);
    const processorName = named?.name ?? this.builder.newName(prefix);
    const keySerde = materialized?.keySerde ?? this.keySerde;
    const valueSerde = materialized?.valueSerde ?? defaultValueSerde;
    this.builder.addKeyValueStore(storeName, materialized, keySerde, valueSerde, [], merge);
    const table = new KTable<K, VA>(
      this.builder,
      processorName,
      keySerde,
      valueSerde,
      storeName,
      materialized?.storeName !== undefined,
    );
    const sendOldValues = (): boolean => table.sendOldValues;
    // Mergeable aggregations fold records into partials before the repartition topic (CombineSpec).
    const combine = mergeableCombine(
      initializer,
      aggregator,
      merge,
      valueSerde,
      materialized,
      (mergePartial) => aggregateProcessor<K, VA, VA>(storeName, initializer!, mergePartial, sendOldValues),
    );
    this.addAggregation(
      processorName,
      storeName,
      aggregateProcessor<K, V, VA>(storeName, initializer, aggregator, sendOldValues),
      materialized?.storeName !== undefined,
      combine,
    );
    return table;
  }
}

/** A grouped stream cut into time windows (Kafka Streams' TimeWindowedKStream). */
export class TimeWindowedKStream<K, V> extends WindowedGroupedBase<K, V, TimeWindows> {
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

  count(materialized?: Materialized<K, number>, named?: Named): KTable<Windowed<K>, number> {
    return this.doAggregate<number>(
      () => 0,
      (_k, _v, agg) => (agg ?? 0) + 1,
      materialized,
      named,
      Serdes.Long(),
      (_k, a, b) => a + b,
      false,
    );
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>, named?: Named): KTable<Windowed<K>, V> {
    return this.doAggregate<V>(
      undefined,
      (_k, v, agg) => (agg === undefined || agg === null ? v : reducer(agg, v)),
      materialized,
      named,
      this.valueSerde,
      undefined,
      false,
    );
  }

  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized?: Materialized<K, VA>,
    options: AggregateOptions<K, VA> = {},
  ): KTable<Windowed<K>, VA> {
    return this.doAggregate<VA>(
      initializer,
      aggregator as (k: K, v: V, agg: VA | undefined) => VA,
      materialized,
      options.named,
      undefined,
      options.merge,
      false,
    );
  }

  private doAggregate<VA>(
    initializer: Initializer<VA> | undefined,
    aggregator: (k: K, v: V, agg: VA | undefined) => VA,
    materialized: Materialized<K, VA> | undefined,
    named: Named | undefined,
    defaultValueSerde: Serde<VA> | undefined,
    merge: Merger<K, VA> | undefined,
    skipNullValues: boolean,
  ): KTable<Windowed<K>, VA> {
    const prefix = initializer === undefined ? 'KSTREAM-REDUCE-' : 'KSTREAM-AGGREGATE-';
    const storeName = materialized?.storeName ?? this.builder.newName(`${prefix}STATE-STORE-`);
    const processorName = named?.name ?? this.builder.newName(prefix);
    const keySerde = materialized?.keySerde ?? this.keySerde;
    const valueSerde = materialized?.valueSerde ?? defaultValueSerde;
    addTimeWindowStore(this.builder, storeName, materialized, keySerde, valueSerde, this.windows, merge);
    const table = new KTable<Windowed<K>, VA>(
      this.builder,
      processorName,
      undefined,
      valueSerde,
      storeName,
      materialized?.storeName !== undefined,
    );
    const sendOldValues = (): boolean => table.sendOldValues;
    // Mergeable aggregations fold records into partials before the repartition topic (CombineSpec;
    // per window set, and buffered only in batch runs).
    const combine = mergeableCombine(
      initializer,
      aggregator,
      merge,
      valueSerde,
      materialized,
      (mergePartial) =>
        windowAggregateProcessor<K, VA, VA>(
          storeName,
          this.windows,
          initializer,
          mergePartial,
          sendOldValues,
          false,
          this.strategy,
        ),
      this.windows,
    );
    this.addAggregation(
      processorName,
      storeName,
      windowAggregateProcessor<K, V, VA>(
        storeName,
        this.windows,
        initializer,
        aggregator,
        sendOldValues,
        skipNullValues,
        this.strategy,
      ),
      materialized?.storeName !== undefined,
      combine,
    );
    if (this.strategy.type() === 'ON_WINDOW_CLOSE') {
      this.builder.addEmitCloseTimeStore(storeName, processorName, materialized);
    }
    return table;
  }
}

/**
 * @internal Adds the window store of a time-windowed aggregation (retention: at least size + grace)
 * and what the serving layer needs to know about it.
 */
export function addTimeWindowStore<K, VA>(
  builder: InternalStreamsBuilder,
  storeName: string,
  materialized: Materialized<K, VA> | undefined,
  keySerde: Serde<K> | undefined,
  valueSerde: Serde<VA> | undefined,
  windows: TimeWindows,
  merge?: Merger<K, VA>,
): void {
  const { sizeMs, advanceMs, graceMs } = windows;
  const retentionMs = materialized?.retentionMs ?? sizeMs + graceMs;
  if (retentionMs < sizeMs + graceMs) {
    throw new RangeError(
      `Store '${storeName}': retention (${retentionMs} ms) must be at least window size + grace (${sizeMs + graceMs} ms)`,
    );
  }
  const topology = builder.topology;
  topology.addStateStore(
    builder.windowStore(storeName, materialized, keySerde, valueSerde, retentionMs, sizeMs),
  );
  topology.storeMetadata.set(storeName, {
    timestamped: true,
    kind: 'window',
    queryable: materialized?.storeName !== undefined,
    window: { sizeMs, advanceMs, graceMs },
    ...(keySerde ? { keySerde } : {}),
    ...(valueSerde ? { valueSerde } : {}),
    ...(merge ? { merge } : {}),
  });
}
