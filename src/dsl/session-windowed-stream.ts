import type { Serde } from '../serde/serde.ts';
import { Serdes } from '../serde/index.ts';
import type { Windowed } from '../state/types.ts';
import { WindowedGroupedBase } from './grouped-base.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import { KTable } from './ktable.ts';
import type { Materialized, Merger, Named } from './options.ts';
import type { SessionWindows } from './session-windows.ts';
import type { Aggregator, Initializer, Reducer } from './processors/aggregate.ts';
import { sessionWindowAggregateProcessor } from './processors/session-window-aggregate.ts';

/**
 * A grouped stream cut into session windows (Kafka Streams' SessionWindowedKStream): per key,
 * activity separated by less than the inactivity gap forms one session, and sessions merge when a
 * record bridges them. Results are KTables keyed by Windowed<K> whose window is the session
 * [start, end], both ends inclusive. Where caching is on, updates are forwarded deduplicated when the
 * session store's cache flushes (at commit), as Kafka Streams does.
 */
export class SessionWindowedKStream<K, V> extends WindowedGroupedBase<K, V, SessionWindows> {
  /** Counts records per session (records with null values count too, as in Kafka Streams). */
  count(materialized?: Materialized<K, number>, named?: Named): KTable<Windowed<K>, number, number | null> {
    // Given a Materialized without a store name, Kafka Streams burns a name index here (topology
    // compatibility); so do we, to keep generated names equal.
    if (materialized !== undefined && materialized.storeName === undefined) {
      this.builder.newName('KSTREAM-AGGREGATE-STATE-STORE-');
    }
    return this.doAggregate<number>(
      'KSTREAM-AGGREGATE-',
      () => 0,
      (_k, _v, agg) => agg + 1,
      (_k, a, b) => a + b,
      materialized,
      named,
      Serdes.Long() as Serde<number>,
    );
  }

  /** Combines the values of a session with `reducer(aggregate, value)`; merged sessions reduce too. */
  reduce(
    reducer: Reducer<V>,
    materialized?: Materialized<K, V>,
    named?: Named,
  ): KTable<Windowed<K>, V, V | null> {
    const aggregator = (_k: K, value: V, agg: V | null): V =>
      agg === null || agg === undefined ? value : reducer(agg, value);
    return this.doAggregate<V | null>(
      'KSTREAM-REDUCE-',
      () => null,
      aggregator,
      (k, one, two) => aggregator(k, two as V, one),
      materialized as Materialized<K, V | null> | undefined,
      named,
      this.valueSerde,
    ) as unknown as KTable<Windowed<K>, V, V | null>;
  }

  /**
   * Folds the values of a session into an aggregate; `merger` combines the aggregates of two
   * sessions that a record joins into one.
   */
  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    merger: Merger<K, VA>,
    materialized?: Materialized<K, VA>,
    named?: Named,
  ): KTable<Windowed<K>, VA, VA | null> {
    return this.doAggregate<VA>(
      'KSTREAM-AGGREGATE-',
      initializer,
      aggregator,
      merger,
      materialized,
      named,
      undefined,
    );
  }

  private doAggregate<VA>(
    prefix: string,
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    merger: (key: K, left: VA, right: VA) => VA,
    materialized: Materialized<K, VA> | undefined,
    named: Named | undefined,
    defaultValueSerde: Serde<any> | undefined,
  ): KTable<Windowed<K>, VA, VA | null> {
    const storeName = materialized?.storeName ?? this.builder.newName(`${prefix}STATE-STORE-`);
    const processorName = named?.name ?? this.builder.newName(prefix);
    const keySerde = materialized?.keySerde ?? this.keySerde;
    const valueSerde = (materialized?.valueSerde ?? defaultValueSerde) as Serde<VA> | undefined;
    addSessionStore(this.builder, storeName, materialized, keySerde, valueSerde, this.windows);
    // A merge deletes the sessions it absorbs: the update stream carries nulls for them.
    const table = new KTable<Windowed<K>, VA, VA | null>(
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
      sessionWindowAggregateProcessor<K, V, VA>(
        storeName,
        this.windows,
        initializer,
        aggregator,
        merger,
        () => table.sendOldValues,
      ),
      materialized?.storeName !== undefined,
    );
    return table;
  }
}

/**
 * @internal Adds the session store of a session-windowed aggregation (retention: at least the
 * inactivity gap plus grace) and what the serving layer needs to know about it.
 */
export function addSessionStore<K, VA>(
  builder: InternalStreamsBuilder,
  storeName: string,
  materialized: Materialized<K, VA> | undefined,
  keySerde: Serde<K> | undefined,
  valueSerde: Serde<VA> | undefined,
  windows: SessionWindows,
): void {
  const minimum = windows.inactivityGap() + windows.gracePeriodMs();
  const retentionMs = materialized?.retentionMs ?? minimum;
  if (retentionMs < minimum) {
    throw new RangeError(
      `Store '${storeName}': retention (${retentionMs} ms) must be at least inactivity gap + grace (${minimum} ms)`,
    );
  }
  const built = builder.sessionStore(storeName, materialized, keySerde, valueSerde, retentionMs);
  builder.topology.addStateStore(built);
  builder.topology.storeMetadata.set(storeName, {
    timestamped: false,
    kind: 'session',
    queryable: materialized?.storeName !== undefined,
    ...(keySerde ? { keySerde } : {}),
    ...(valueSerde ? { valueSerde } : {}),
  });
}
