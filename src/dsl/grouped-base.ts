import type { ProcessorContext } from '../processor/api.ts';
import { Record } from '../processor/record.ts';
import type { InternalProcessorContext } from '../processor/internals/task.ts';
import type { Serde } from '../serde/serde.ts';
import type { TimeWindows } from './windows.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import { dropNullKeys } from './processors/basic.ts';
import { TopologyError } from '../topology/topology.ts';

/** Shared by grouped and windowed-grouped streams: where records come from and whether to repartition. */
export abstract class GroupedBase<K, V> {
  constructor(
    protected readonly builder: InternalStreamsBuilder,
    protected readonly nodeName: string,
    protected readonly keySerde: Serde<K> | undefined,
    protected readonly valueSerde: Serde<V> | undefined,
    protected readonly repartitionRequired: boolean,
    protected readonly repartitionName: string | undefined,
  ) {}

  /**
   * Adds the aggregation node, after a repartition topic when the key changed upstream: null keys are
   * filtered out, records written to `<name>-repartition` and read back in a new sub-topology.
   */
  protected addAggregation(
    processorName: string,
    storeName: string,
    supplier: () => any,
    storeUserNamed: boolean,
    combine?: CombineSpec<K, V, any>,
  ): void {
    const topology = this.builder.topology;
    const named = this.repartitionName !== undefined || storeUserNamed;
    const parent = this.aggregationParent(storeName, named, combine);
    const aggregate = this.repartitionRequired && combine ? combine.downstream : supplier;
    topology.addProcessor(processorName, aggregate, parent);
    topology.connectProcessorAndStateStores(processorName, storeName);
  }

  /** @internal Prefix of this grouping's repartition topic: the Grouped name, else the store name. */
  repartitionPrefix(storeName: string): string {
    return this.repartitionName ?? storeName;
  }

  /** @internal The key serde the grouping was given (Grouped or upstream), if any. */
  groupedKeySerde(): Serde<K> | undefined {
    return this.keySerde;
  }

  /**
   * @internal The node an aggregation of this grouped stream hangs off: the grouping node itself, or,
   * when the key changed upstream, the source of a new repartition topic `<prefix>-repartition`
   * (prefix: the Grouped name, else the store name) behind a null-key filter. `named` says whether
   * the repartition nodes take names from the prefix (`<prefix>-repartition-sink`) or generated ones;
   * the three generated names are drawn either way, as Kafka Streams does. Cogrouped aggregations
   * call it once per grouped input, all with the one store's name.
   */
  aggregationParent(storeName: string, named: boolean, combine?: CombineSpec<K, V, any>): string {
    if (!this.repartitionRequired) return this.nodeName;
    const topology = this.builder.topology;
    const prefix = this.repartitionPrefix(storeName);
    const nodeName = (suffix: string, generatedPrefix: string): string => {
      const generated = this.builder.newName(generatedPrefix);
      return named ? `${prefix}-repartition-${suffix}` : generated;
    };
    // Kafka Streams draws the generated names in this order: sink, filter, source.
    const sinkName = nodeName('sink', 'KSTREAM-SINK-');
    const filterName = nodeName('filter', 'KSTREAM-FILTER-');
    const sourceName = nodeName('source', 'KSTREAM-SOURCE-');
    const topic = `${prefix}-repartition`;
    if (topology.isInternalTopic(topic)) {
      throw new TopologyError(
        `Repartition topic '${topic}' is already used by another grouped stream: ` +
          `name the repartition topics of the grouped streams apart with Grouped.as(name)`,
      );
    }
    topology.addInternalTopic({ name: topic, kind: 'repartition', config: repartitionTopicConfig() });
    // A mergeable aggregation ships partial aggregates instead of records (see CombineSpec).
    topology.addProcessor(filterName, combine ? combinerProcessor(combine) : dropNullKeys, this.nodeName);
    const valueSerde = combine ? combine.partialSerde : this.valueSerde;
    const serdes = {
      ...(this.keySerde ? { keySerde: this.keySerde } : {}),
      ...(valueSerde ? { valueSerde } : {}),
    };
    topology.addSink(sinkName, topic, serdes, filterName);
    topology.addSource(sourceName, topic, serdes);
    return sourceName;
  }
}

/**
 * How a mergeable aggregation combines records before its repartition topic. The producer path decides
 * a worker's throughput, so where caching is on, records of one key are folded into a partial aggregate
 * until the next commit (or until the buffer fills) and only that partial is written; the aggregation
 * after the topic merges partials. With caching off every record travels as a partial of one, so
 * every update is forwarded exactly as without combining.
 *
 * Time-windowed aggregations combine only in batch runs (`combineWindowed`), and only records that fall
 * into the same set of windows (same first and last window start), so a partial belongs to exactly the
 * windows each of its records would have updated; its timestamp is the latest of theirs, as the
 * window's own. On a worker a partial reaches the aggregation later than its first record would
 * have, when stream time may have moved on, so lateness could drop what the record alone would have
 * counted: workers forward every record as a partial of one. A batch run hands the aggregation each
 * repartition partition sorted by timestamp (see exchange-partition.ts), so stream time there is
 * the current partial's own timestamp, which lies inside every window of its set: no partial is ever
 * late, as no record is on that in-order data. Session and sliding windows never combine: which
 * windows a record joins depends on its neighbours.
 */
export interface CombineSpec<K, V, P> {
  /** Folds one record into a partial aggregate (undefined: start a new one). */
  partialOf: (key: K, value: V, partial: P | undefined) => P;
  partialSerde: Serde<P> | undefined;
  /** The aggregation processor that merges partials. */
  downstream: () => any;
  /** Caching as materialized: off means no buffering. */
  cachingEnabled: boolean;
  /** Most keys buffered before an early flush. */
  maxKeys?: number;
  /**
   * A time-windowed aggregation's windows: records combine per window set, only where the task
   * allows it (`combineWindowed`), and null values are aggregated as the windowed aggregation does.
   */
  windows?: TimeWindows;
}

/**
 * The CombineSpec of a mergeable aggregation (one with an initializer and a merge): a partial is the
 * aggregate of its records, and the aggregation behind the topic (`downstream`, given how to merge a
 * partial into an aggregate) merges partials. Undefined when the aggregation is not mergeable.
 */
export function mergeableCombine<K, V, VA>(
  initializer: (() => VA) | undefined,
  aggregator: (key: K, value: V, aggregate: VA | undefined) => VA,
  merge: ((key: K, left: VA, right: VA) => VA) | undefined,
  partialSerde: Serde<VA> | undefined,
  materialized: { cachingEnabled?: boolean } | undefined,
  downstream: (mergePartial: (key: K, partial: VA, aggregate: VA | undefined) => VA) => () => any,
  windows?: TimeWindows,
): CombineSpec<K, V, VA> | undefined {
  if (!merge || !initializer) return undefined;
  return {
    partialOf: (key, value, partial) => aggregator(key, value, partial ?? initializer()),
    partialSerde,
    downstream: downstream((key, partial, aggregate) => merge(key, aggregate ?? initializer(), partial)),
    cachingEnabled: materialized?.cachingEnabled !== false,
    ...(windows ? { windows } : {}),
  };
}

function combinerProcessor<K, V, P>(spec: CombineSpec<K, V, P>) {
  return () => {
    let context: ProcessorContext<K, P>;
    let buffering = false;
    let bucketMs = Number.MAX_SAFE_INTEGER;
    let acrossBuckets = false;
    const { windows } = spec;
    // Records of different Lambda buckets are never folded together on a worker: the serving layer's
    // delta index attributes a partial to the bucket of its timestamp. Bucket → key id → partial. A
    // batch run (no delta index) folds every bucket into bucket 0; windowed aggregations fold per
    // window set instead.
    const partials = new Map<number | string, Map<unknown, { key: K; partial: P; timestamp: number }>>();
    // The map of the last record's bucket: consecutive records mostly share one.
    let lastBucket: number | string = NaN;
    let last: Map<unknown, { key: K; partial: P; timestamp: number }> | undefined;
    let size = 0;
    const maxKeys = spec.maxKeys ?? 10_000;
    const idOf = (key: K): unknown => (typeof key === 'object' ? JSON.stringify(key) : key);
    const flush = (): void => {
      for (const bucket of partials.values())
        for (const { key, partial, timestamp } of bucket.values())
          context.forward(new Record(key, partial, timestamp));
      partials.clear();
      last = undefined;
      lastBucket = NaN;
      size = 0;
    };
    return {
      init(ctx: ProcessorContext<K, P>) {
        context = ctx;
        const internal = ctx as unknown as InternalProcessorContext;
        buffering =
          spec.cachingEnabled && internal.combiningEnabled && (!windows || internal.combineWindowed);
        bucketMs = internal.bucketMs;
        acrossBuckets = internal.combineAcrossBuckets;
      },
      process(record: Record<K, V>) {
        if (record.key === null || record.key === undefined) return;
        if (!windows && (record.value === null || record.value === undefined)) {
          (context as unknown as InternalProcessorContext).recordDropped('null-value');
          return;
        }
        if (!buffering) {
          context.forward(record.withValue(spec.partialOf(record.key, record.value, undefined)));
          return;
        }
        const bucketOf = windows
          ? windowSetOf(windows, record.timestamp)
          : acrossBuckets
            ? 0
            : Math.floor(record.timestamp / bucketMs);
        let bucket = last;
        if (bucketOf !== lastBucket || !bucket) {
          bucket = partials.get(bucketOf);
          if (!bucket) partials.set(bucketOf, (bucket = new Map()));
          last = bucket;
          lastBucket = bucketOf;
        }
        const id = idOf(record.key);
        const entry = bucket.get(id);
        if (entry) {
          entry.partial = spec.partialOf(record.key, record.value, entry.partial);
          if (record.timestamp > entry.timestamp) entry.timestamp = record.timestamp;
        } else {
          bucket.set(id, {
            key: record.key,
            partial: spec.partialOf(record.key, record.value, undefined),
            timestamp: record.timestamp,
          });
          if (++size > maxKeys) flush();
        }
      },
      /** Called by the task at every commit, before stores flush. */
      flush,
    };
  };
}

/**
 * Identifies the set of time windows that contain `timestamp` (see TimeWindows.windowsFor): the last
 * window start, which alone decides the set when the size is a multiple of the advance, else the
 * first and last start together.
 */
function windowSetOf(windows: TimeWindows, timestamp: number): number | string {
  const { sizeMs, advanceMs } = windows;
  const last = Math.floor(timestamp / advanceMs) * advanceMs;
  if (sizeMs % advanceMs === 0) return last;
  return `${windows.firstWindowStart(timestamp)}:${last}`;
}

/** A grouped stream cut into windows of kind W (time, session or sliding). */
export abstract class WindowedGroupedBase<K, V, W> extends GroupedBase<K, V> {
  constructor(
    builder: InternalStreamsBuilder,
    nodeName: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    repartitionRequired: boolean,
    repartitionName: string | undefined,
    readonly windows: W,
  ) {
    super(builder, nodeName, keySerde, valueSerde, repartitionRequired, repartitionName);
  }
}

/** Repartition topics are consumed once and purged by the application: delete policy, long retention. */
export function repartitionTopicConfig(): globalThis.Record<string, string> {
  return { 'cleanup.policy': 'delete', 'segment.bytes': '52428800', 'retention.ms': '-1' };
}
