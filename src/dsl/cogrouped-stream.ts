import type { Serde } from '../serde/serde.ts';
import type { Windowed } from '../state/types.ts';
import { refuseVersioned, type InternalStreamsBuilder } from './internal-builder.ts';
import type { KGroupedStream } from './kgrouped-stream.ts';
import { addTimeWindowStore } from './kgrouped-stream.ts';
import { KTable } from './ktable.ts';
import { Named, type Materialized, type Merger } from './options.ts';
import { SessionWindows } from './session-windows.ts';
import { addSessionStore } from './session-windowed-stream.ts';
import { SlidingWindows } from './sliding-windows.ts';
import { addSlidingWindowStore } from './sliding-windowed-stream.ts';
import type { TimeWindows } from './windows.ts';
import {
  aggregateProcessor,
  windowAggregateProcessor,
  type Aggregator,
  type Initializer,
} from './processors/aggregate.ts';
import { slidingWindowAggregateProcessor } from './processors/sliding-window-aggregate.ts';
import { sessionWindowAggregateProcessor } from './processors/session-window-aggregate.ts';
import { passThrough } from './processors/basic.ts';

const AGGREGATE_NAME = 'COGROUPKSTREAM-AGGREGATE-';
const MERGE_NAME = 'COGROUPKSTREAM-MERGE-';

/** One grouped input of a cogroup and the aggregator that folds its values into the shared aggregate. */
interface CogroupInput<K, VOut> {
  grouped: KGroupedStream<K, any>;
  aggregator: Aggregator<K, any, VOut>;
}

/** Builds one aggregation node per input, all on one store, and the merge node that joins them. */
type AggregateSupplier<K, VOut> = (
  aggregator: Aggregator<K, any, VOut>,
  sendOldValues: () => boolean,
) => () => any;

/**
 * Kafka Streams' CogroupedStreamAggregateBuilder: each grouped input that changed its key gets its own
 * repartition topic (named after its Grouped name, else after the store), then an aggregation
 * processor per input (`COGROUPKSTREAM-AGGREGATE-…` or `<named>-cogroup-agg-<i>`), all connected to
 * the one store, and a pass-through merge node (`COGROUPKSTREAM-MERGE-…` or `<named>-cogroup-merge`)
 * whose output is the resulting table. The inputs must be co-partitioned.
 */
function buildCogroup<K, VOut, KR>(
  builder: InternalStreamsBuilder,
  inputs: ReadonlyArray<CogroupInput<K, VOut>>,
  storeName: string,
  storeUserNamed: boolean,
  named: Named | undefined,
  keySerde: Serde<KR> | undefined,
  valueSerde: Serde<VOut> | undefined,
  supplier: AggregateSupplier<K, VOut>,
): KTable<KR, VOut> {
  const topology = builder.topology;
  // Kafka Streams names the repartition nodes after the prefix unless it is a generated KSTREAM name.
  const parents = inputs.map(({ grouped }) =>
    grouped.aggregationParent(storeName, !/^KSTREAM.*-[0-9]{10}$/.test(grouped.repartitionPrefix(storeName))),
  );
  topology.copartitionGroups.push([
    ...new Set(parents.flatMap((parent) => topology.upstreamSourceTopics(parent))),
  ]);
  // Generated names are drawn even when Named gives one (Kafka Streams' suffixWithOrElseGet).
  const aggregateNames = inputs.map((_input, i) => {
    const generated = builder.newName(AGGREGATE_NAME);
    return named ? `${named.name}-cogroup-agg-${i}` : generated;
  });
  const generatedMerge = builder.newName(MERGE_NAME);
  const mergeName = named ? `${named.name}-cogroup-merge` : generatedMerge;
  const table = new KTable<KR, VOut>(builder, mergeName, keySerde, valueSerde, storeName, storeUserNamed);
  const sendOldValues = (): boolean => table.sendOldValues;
  inputs.forEach(({ aggregator }, i) => {
    topology.addProcessor(aggregateNames[i]!, supplier(aggregator, sendOldValues), parents[i]!);
    topology.connectProcessorAndStateStores(aggregateNames[i]!, storeName);
  });
  // Kafka Streams' KTablePassThrough: forwards the aggregations' Change records as they are.
  topology.addProcessor(mergeName, passThrough, ...aggregateNames);
  return table;
}

/** Splits `aggregate`'s optional (Named | Materialized, Materialized) arguments as Kafka Streams' overloads take them. */
function aggregateArgs<K, VOut>(
  a: Named | Materialized<K, VOut> | undefined,
  b: Materialized<K, VOut> | undefined,
): { named: Named | undefined; materialized: Materialized<K, VOut> | undefined } {
  if (a instanceof Named) return { named: a, materialized: b };
  return { named: undefined, materialized: a ?? b };
}

/**
 * Several grouped streams aggregated into one table (Kafka Streams' CogroupedKStream, KIP-150): each
 * input has its own aggregator, all fold into the same aggregate per key, kept in one store. Made by
 * `KGroupedStream.cogroup(aggregator)`; add inputs with `cogroup(groupedStream, aggregator)`.
 */
export class CogroupedKStream<K, VOut> {
  private readonly inputs: Array<CogroupInput<K, VOut>> = [];

  /** @internal */
  constructor(
    private readonly builder: InternalStreamsBuilder,
    first: KGroupedStream<K, any>,
    aggregator: Aggregator<K, any, VOut>,
  ) {
    this.inputs.push({ grouped: first, aggregator });
  }

  /**
   * Adds a grouped stream with the aggregator that folds its values into the shared aggregate. A
   * grouped stream given twice keeps its latest aggregator (Kafka Streams keeps one per stream).
   */
  cogroup<VIn>(groupedStream: KGroupedStream<K, VIn>, aggregator: Aggregator<K, VIn, VOut>): this {
    if (groupedStream === undefined || groupedStream === null)
      throw new TypeError("groupedStream can't be null");
    if (typeof aggregator !== 'function') throw new TypeError("aggregator can't be null");
    const existing = this.inputs.find((input) => input.grouped === groupedStream);
    if (existing) existing.aggregator = aggregator as Aggregator<K, any, VOut>;
    else this.inputs.push({ grouped: groupedStream, aggregator: aggregator as Aggregator<K, any, VOut> });
    return this;
  }

  /**
   * Aggregates all inputs per key into one table, starting from `initializer()`. Records with a null
   * key or value are skipped; the result's timestamp is the largest input timestamp so far.
   */
  aggregate(initializer: Initializer<VOut>, materialized?: Materialized<K, VOut>): KTable<K, VOut>;
  aggregate(
    initializer: Initializer<VOut>,
    named: Named,
    materialized?: Materialized<K, VOut>,
  ): KTable<K, VOut>;
  aggregate(
    initializer: Initializer<VOut>,
    a?: Named | Materialized<K, VOut>,
    b?: Materialized<K, VOut>,
  ): KTable<K, VOut> {
    if (typeof initializer !== 'function') throw new TypeError("initializer can't be null");
    const { named, materialized } = aggregateArgs(a, b);
    const storeName = materialized?.storeName ?? this.builder.newName(`${AGGREGATE_NAME}STATE-STORE-`);
    refuseVersioned(storeName, materialized, 'a cogrouped aggregation here');
    const keySerde = materialized?.keySerde ?? this.keySerde();
    const valueSerde = materialized?.valueSerde;
    this.builder.addKeyValueStore(storeName, materialized, keySerde, valueSerde, []);
    return buildCogroup<K, VOut, K>(
      this.builder,
      this.inputs,
      storeName,
      materialized?.storeName !== undefined,
      named,
      keySerde,
      valueSerde,
      (aggregator, sendOldValues) =>
        aggregateProcessor<K, any, VOut>(
          storeName,
          initializer,
          aggregator as (k: K, v: any, agg: VOut | undefined) => VOut,
          sendOldValues,
        ),
    );
  }

  /** Cuts the cogrouped inputs into time, sliding or session windows before aggregating. */
  windowedBy(windows: SessionWindows): SessionWindowedCogroupedKStream<K, VOut>;
  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedCogroupedKStream<K, VOut>;
  windowedBy(
    windows: TimeWindows | SlidingWindows | SessionWindows,
  ): TimeWindowedCogroupedKStream<K, VOut> | SessionWindowedCogroupedKStream<K, VOut> {
    if (windows === undefined || windows === null) throw new TypeError("windows can't be null");
    if (windows instanceof SessionWindows)
      return new SessionWindowedCogroupedKStream(this.builder, this.inputs, windows);
    return new TimeWindowedCogroupedKStream(this.builder, this.inputs, windows);
  }

  /** The key serde of the first input that has one (the store's default when no Materialized gives one). */
  private keySerde(): Serde<K> | undefined {
    return firstKeySerde(this.inputs);
  }
}

function firstKeySerde<K>(inputs: ReadonlyArray<CogroupInput<K, any>>): Serde<K> | undefined {
  for (const { grouped } of inputs) {
    const serde = grouped.groupedKeySerde();
    if (serde) return serde;
  }
  return undefined;
}

/**
 * Cogrouped streams cut into time windows (tumbling or hopping) or sliding windows (Kafka Streams'
 * TimeWindowedCogroupedKStream): every input updates the windows of one window store; a record for a
 * window that closed (end at or before the input's observed stream time minus grace) is dropped.
 */
export class TimeWindowedCogroupedKStream<K, VOut> {
  /** @internal */
  constructor(
    private readonly builder: InternalStreamsBuilder,
    private readonly inputs: ReadonlyArray<CogroupInput<K, VOut>>,
    private readonly windows: TimeWindows | SlidingWindows,
  ) {}

  aggregate(initializer: Initializer<VOut>, materialized?: Materialized<K, VOut>): KTable<Windowed<K>, VOut>;
  aggregate(
    initializer: Initializer<VOut>,
    named: Named,
    materialized?: Materialized<K, VOut>,
  ): KTable<Windowed<K>, VOut>;
  aggregate(
    initializer: Initializer<VOut>,
    a?: Named | Materialized<K, VOut>,
    b?: Materialized<K, VOut>,
  ): KTable<Windowed<K>, VOut> {
    if (typeof initializer !== 'function') throw new TypeError("initializer can't be null");
    const { named, materialized } = aggregateArgs(a, b);
    const storeName = materialized?.storeName ?? this.builder.newName(`${AGGREGATE_NAME}STATE-STORE-`);
    const keySerde = materialized?.keySerde ?? firstKeySerde(this.inputs);
    const valueSerde = materialized?.valueSerde;
    const windows = this.windows;
    let supplier: AggregateSupplier<K, VOut>;
    if (windows instanceof SlidingWindows) {
      addSlidingWindowStore(this.builder, storeName, materialized, keySerde, valueSerde, windows);
      supplier = (aggregator, sendOldValues) =>
        slidingWindowAggregateProcessor<K, any, VOut>(
          storeName,
          windows,
          initializer,
          aggregator,
          sendOldValues,
        );
    } else {
      addTimeWindowStore(this.builder, storeName, materialized, keySerde, valueSerde, windows);
      supplier = (aggregator, sendOldValues) =>
        windowAggregateProcessor<K, any, VOut>(
          storeName,
          windows,
          initializer,
          aggregator as (k: K, v: any, agg: VOut | undefined) => VOut,
          sendOldValues,
          false,
        );
    }
    return buildCogroup<K, VOut, Windowed<K>>(
      this.builder,
      this.inputs,
      storeName,
      materialized?.storeName !== undefined,
      named,
      undefined,
      valueSerde,
      supplier,
    );
  }
}

/**
 * Cogrouped streams cut into session windows (Kafka Streams' SessionWindowedCogroupedKStream): every
 * input extends or merges the sessions of one session store; `merger` combines the aggregates of two
 * sessions a record bridges.
 */
export class SessionWindowedCogroupedKStream<K, VOut> {
  /** @internal */
  constructor(
    private readonly builder: InternalStreamsBuilder,
    private readonly inputs: ReadonlyArray<CogroupInput<K, VOut>>,
    private readonly windows: SessionWindows,
  ) {}

  aggregate(
    initializer: Initializer<VOut>,
    sessionMerger: Merger<K, VOut>,
    materialized?: Materialized<K, VOut>,
  ): KTable<Windowed<K>, VOut, VOut | null>;
  aggregate(
    initializer: Initializer<VOut>,
    sessionMerger: Merger<K, VOut>,
    named: Named,
    materialized?: Materialized<K, VOut>,
  ): KTable<Windowed<K>, VOut, VOut | null>;
  aggregate(
    initializer: Initializer<VOut>,
    sessionMerger: Merger<K, VOut>,
    a?: Named | Materialized<K, VOut>,
    b?: Materialized<K, VOut>,
  ): KTable<Windowed<K>, VOut, VOut | null> {
    if (typeof initializer !== 'function') throw new TypeError("initializer can't be null");
    if (typeof sessionMerger !== 'function') throw new TypeError("sessionMerger can't be null");
    const { named, materialized } = aggregateArgs(a, b);
    const storeName = materialized?.storeName ?? this.builder.newName(`${AGGREGATE_NAME}STATE-STORE-`);
    const keySerde = materialized?.keySerde ?? firstKeySerde(this.inputs);
    const valueSerde = materialized?.valueSerde;
    addSessionStore(this.builder, storeName, materialized, keySerde, valueSerde, this.windows);
    return buildCogroup<K, VOut, Windowed<K>>(
      this.builder,
      this.inputs,
      storeName,
      materialized?.storeName !== undefined,
      named,
      undefined,
      valueSerde,
      (aggregator, sendOldValues) =>
        sessionWindowAggregateProcessor<K, any, VOut>(
          storeName,
          this.windows,
          initializer,
          aggregator,
          sessionMerger,
          sendOldValues,
        ),
      // Merged sessions are deleted: the update stream carries nulls.
    ) as unknown as KTable<Windowed<K>, VOut, VOut | null>;
  }
}
