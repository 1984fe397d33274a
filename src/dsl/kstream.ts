import type { FixedKeyProcessorSupplier, ProcessorContext, ProcessorSupplier } from '../processor/api.ts';
import type { Record } from '../processor/record.ts';
import type { Serde } from '../serde/serde.ts';
import type { TopicNameExtractor } from '../topology/nodes.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import {
  Grouped,
  type Joined,
  type KeyValue,
  Materialized,
  type Named,
  Produced,
  type Repartitioned,
  type StreamJoined,
  type ValueJoiner,
} from './options.ts';
import { BranchedKStream, splitterProcessor, type SplitRouting } from './branched.ts';
import { repartitionStream } from './repartition.ts';
import { tableSourceProcessor } from './processors/table.ts';
import { storeValueGetter } from './value-getter.ts';
import { JoinWindows } from './join-windows.ts';
import { streamStreamJoin, type StreamJoinKind } from './stream-stream-join.ts';
import { KTable } from './ktable.ts';
import { GlobalKTable } from './global-ktable.ts';
import { streamGlobalTableJoin, streamTableJoin } from './stream-table-join.ts';
import { KGroupedStream } from './kgrouped-stream.ts';
import { StreamsError } from '../processor/internals/errors.ts';
import { passThrough } from './processors/basic.ts';
import { deduplicateProcessor } from './processors/deduplicate.ts';
import { Serdes } from '../serde/serdes.ts';
import { Stores } from '../state/stores.ts';

export type Predicate<K, V> = (key: K, value: V) => boolean;
export type KeyValueMapper<K, V, R> = (key: K, value: V) => R;
/** Value first, key second (optional), so `(v) => ...` reads naturally. */
export type ValueMapper<V, K, VR> = (value: V, key: K) => VR;
export type ForeachAction<K, V> = (key: K, value: V) => void;

/** A stateless processor body: gets the record and a forward function. */
type Step<K, V, KR, VR> = (record: Record<K, V>, forward: (record: Record<KR, VR>) => void) => void;

/**
 * An unbounded stream of independent records (Kafka Streams' KStream). Operations add nodes to the
 * topology; key-changing ones mark the stream so a following stateful operation repartitions.
 */
export class KStream<K, V> {
  /** @internal */
  constructor(
    readonly builder: InternalStreamsBuilder,
    /** Name of the node whose output this stream is. */
    readonly nodeName: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** True after a key-changing operation: the next grouping or join must repartition. */
    readonly repartitionRequired: boolean,
  ) {}

  filter(predicate: Predicate<K, V>, named?: Named): KStream<K, V> {
    return this.step(
      'KSTREAM-FILTER-',
      named,
      (r, fwd) => predicate(r.key, r.value) && fwd(r),
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  filterNot(predicate: Predicate<K, V>, named?: Named): KStream<K, V> {
    return this.step(
      'KSTREAM-FILTER-',
      named,
      (r, fwd) => !predicate(r.key, r.value) && fwd(r),
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  map<KR, VR>(mapper: KeyValueMapper<K, V, KeyValue<KR, VR>>, named?: Named): KStream<KR, VR> {
    return this.step<KR, VR>(
      'KSTREAM-MAP-',
      named,
      (r, fwd) => {
        const kv = mapper(r.key, r.value);
        if (kv === null || kv === undefined) throw new StreamsError('map(): the mapper returned no KeyValue');
        fwd(r.withKey(kv.key).withValue(kv.value));
      },
      undefined,
      undefined,
      true,
    );
  }

  mapValues<VR>(mapper: ValueMapper<V, K, VR>, named?: Named): KStream<K, VR> {
    return this.step<K, VR>(
      'KSTREAM-MAPVALUES-',
      named,
      (r, fwd) => fwd(r.withValue(mapper(r.value, r.key))),
      this.keySerde,
      undefined,
      false,
    );
  }

  flatMap<KR, VR>(mapper: KeyValueMapper<K, V, Iterable<KeyValue<KR, VR>>>, named?: Named): KStream<KR, VR> {
    return this.step<KR, VR>(
      'KSTREAM-FLATMAP-',
      named,
      (r, fwd) => {
        for (const kv of mapper(r.key, r.value)) fwd(r.withKey(kv.key).withValue(kv.value));
      },
      undefined,
      undefined,
      true,
    );
  }

  flatMapValues<VR>(mapper: ValueMapper<V, K, Iterable<VR>>, named?: Named): KStream<K, VR> {
    return this.step<K, VR>(
      'KSTREAM-FLATMAPVALUES-',
      named,
      (r, fwd) => {
        for (const v of mapper(r.value, r.key)) fwd(r.withValue(v));
      },
      this.keySerde,
      undefined,
      false,
    );
  }

  selectKey<KR>(mapper: KeyValueMapper<K, V, KR>, named?: Named): KStream<KR, V> {
    return this.step<KR, V>(
      'KSTREAM-KEY-SELECT-',
      named,
      (r, fwd) => fwd(r.withKey(mapper(r.key, r.value))),
      undefined,
      this.valueSerde,
      true,
    );
  }

  peek(action: ForeachAction<K, V>, named?: Named): KStream<K, V> {
    return this.step<K, V>(
      'KSTREAM-PEEK-',
      named,
      (r, fwd) => {
        action(r.key, r.value);
        fwd(r);
      },
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  /** Terminal: runs an action per record. */
  foreach(action: ForeachAction<K, V>, named?: Named): void {
    this.step<K, V>(
      'KSTREAM-FOREACH-',
      named,
      (r) => action(r.key, r.value),
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  /** Interleaves two streams (no ordering guarantee between them beyond each one's own order). */
  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    const name = named?.name ?? this.builder.newName('KSTREAM-MERGE-');
    this.builder.topology.addProcessor(name, passThrough, this.nodeName, other.nodeName);
    return new KStream(
      this.builder,
      name,
      this.keySerde,
      this.valueSerde,
      this.repartitionRequired || other.repartitionRequired,
    );
  }

  /**
   * Writes to a topic, or to the topic a TopicNameExtractor picks per record. Null values (table
   * deletes) never reach the value serde, so a `Produced` of the non-null value type fits too.
   */
  to(
    topic: string | TopicNameExtractor<K, V>,
    produced?: Produced<K, V> | Produced<K, NonNullable<V>>,
  ): void {
    const name = produced?.processorName ?? this.builder.newName('KSTREAM-SINK-');
    const keySerde = produced?.keySerde ?? this.keySerde;
    const valueSerde = produced?.valueSerde ?? this.valueSerde;
    this.builder.topology.addSink(
      name,
      topic as string | TopicNameExtractor<any, any>,
      {
        ...(keySerde ? { keySerde } : {}),
        ...(valueSerde ? { valueSerde } : {}),
        ...(produced?.partitioner ? { partitioner: produced.partitioner as any } : {}),
      },
      this.nodeName,
    );
  }

  /** Runs a Processor API processor; its output may have any key, so later grouping repartitions. */
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, ...storeNames: string[]): KStream<KR, VR> {
    const name = this.builder.newName('KSTREAM-PROCESSOR-');
    return this.addProcessor(name, supplier, storeNames, true);
  }

  /** Like process, but the processor may not change keys: no repartition is needed afterwards. */
  processValues<VR>(supplier: FixedKeyProcessorSupplier<K, V, VR>, ...storeNames: string[]): KStream<K, VR> {
    const name = this.builder.newName('KSTREAM-PROCESSVALUES-');
    const guarded: ProcessorSupplier<K, V, K, VR> = () => {
      const inner = supplier();
      let processing = false;
      let currentKey: K;
      return {
        init(ctx: ProcessorContext<K, VR>) {
          // Same context, but forward checks that a record keeps the key of the input it came from.
          const checked = Object.create(ctx) as ProcessorContext<K, VR>;
          checked.forward = (record, childName) => {
            if (processing && record.key !== currentKey) {
              throw new StreamsError(
                `processValues(): processor '${name}' changed a record's key; use process() instead`,
              );
            }
            ctx.forward(record, childName);
          };
          inner.init?.(checked);
        },
        process(record) {
          processing = true;
          currentKey = record.key;
          try {
            inner.process(record);
          } finally {
            processing = false;
          }
        },
        close() {
          inner.close?.();
        },
      };
    };
    const stream = this.addProcessor<K, VR>(name, guarded, storeNames, this.repartitionRequired);
    return new KStream(this.builder, stream.nodeName, this.keySerde, undefined, this.repartitionRequired);
  }

  /**
   * Joins with another stream within a time window, with a table (lookup by key), or with a global
   * table (lookup by a key selected from each record). Inner join: only matches produce output.
   */
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V, VO, VR, K>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  join<VT, VR>(
    table: KTable<K, VT, any>,
    joiner: ValueJoiner<V, VT, VR, K>,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>;
  join<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: V) => GK,
    joiner: ValueJoiner<V, GV, VR, K>,
    named?: Named,
  ): KStream<K, VR>;
  join(other: unknown, a: any, b?: any, c?: any): KStream<any, any> {
    return this.dispatchJoin('inner', other, a, b, c);
  }

  /** Like join, but every record of this stream produces output (the other side null when missing). */
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<VT, VR>(
    table: KTable<K, VT, any>,
    joiner: ValueJoiner<V, VT | null, VR, K>,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>;
  leftJoin<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: V) => GK,
    joiner: ValueJoiner<V, GV | null, VR, K>,
    named?: Named,
  ): KStream<K, VR>;
  leftJoin(other: unknown, a: any, b?: any, c?: any): KStream<any, any> {
    return this.dispatchJoin('left', other, a, b, c);
  }

  /** Windowed outer join of two streams: unmatched records of either side are emitted with a null partner. */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V | null, VO | null, VR, K>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    return streamStreamJoin(this, other, 'outer', joiner, windows, streamJoined);
  }

  private dispatchJoin(kind: StreamJoinKind, other: unknown, a: any, b: any, c: any): KStream<any, any> {
    if (other instanceof KStream) {
      if (!(b instanceof JoinWindows))
        throw new TypeError('A stream-stream join needs JoinWindows as its third argument');
      return streamStreamJoin(this, other, kind, a, b, c);
    }
    if (other instanceof KTable)
      return streamTableJoin(this, other, kind === 'inner' ? 'inner' : 'left', a, b);
    if (other instanceof GlobalKTable)
      return streamGlobalTableJoin(this, other, kind === 'inner' ? 'inner' : 'left', a, b, c);
    throw new TypeError('join() takes a KStream (with JoinWindows), a KTable or a GlobalKTable');
  }

  /** Splits the stream into branches by predicates (first match wins). */
  split(named?: Named): BranchedKStream<K, V> {
    const name = named?.name ?? this.builder.newName('KSTREAM-BRANCH-');
    const routing: SplitRouting = { predicates: [], childNames: [] };
    this.builder.topology.addProcessor(name, splitterProcessor(routing), this.nodeName);
    return new BranchedKStream<K, V>(
      this.builder,
      name,
      this.keySerde,
      this.valueSerde,
      this.repartitionRequired,
      routing,
    );
  }

  /** Sends the stream through an internal topic, partitioned by its current key. */
  repartition(repartitioned?: Repartitioned<K, V>): KStream<K, V> {
    const name = repartitioned?.name ?? this.builder.newName('KSTREAM-REPARTITION-');
    return repartitionStream(
      this,
      `${name}-repartition`,
      repartitioned?.keySerde ?? this.keySerde,
      repartitioned?.valueSerde ?? this.valueSerde,
      {
        nodePrefix: name,
        ...(repartitioned?.numberOfPartitions !== undefined
          ? { numPartitions: repartitioned.numberOfPartitions }
          : {}),
        ...(repartitioned?.partitioner ? { partitioner: repartitioned.partitioner } : {}),
      },
    );
  }

  /**
   * Drops every record whose id (the key, or `idExtractor`'s answer) was seen within `retentionMs` of
   * its timestamp, before or after; the first copy passes. Ids are kept in a changelogged window store
   * (`<name>-store`), so duplicates are caught across restarts, failover and batch runs. Ids are kept
   * per partition: records with the same id must share a partition. Duplicates are counted in
   * `lambda_streams_dropped_records_total{reason="duplicate"}`.
   */
  deduplicate<ID = K>(retentionMs: number, options: DeduplicateOptions<K, V, ID> = {}): KStream<K, V> {
    if (!Number.isFinite(retentionMs) || retentionMs <= 0)
      throw new StreamsError(
        `deduplicate: retention must be a positive number of milliseconds, got ${retentionMs}`,
      );
    const name = options.name ?? this.builder.newName('KSTREAM-DEDUPLICATE-');
    const storeName = `${name}-store`;
    const idSerde = (options.idSerde ?? (options.idExtractor ? undefined : this.keySerde)) as
      Serde<ID> | undefined;
    const idOf = options.idExtractor ?? ((key: K) => key as unknown as ID);
    const source =
      this.repartitionRequired && !options.idExtractor
        ? repartitionStream(this, `${name}-repartition`, this.keySerde, this.valueSerde)
        : this;
    this.builder.topology.addProcessor(
      name,
      deduplicateProcessor<K, V, ID>(storeName, retentionMs, idOf),
      source.nodeName,
    );
    this.builder.topology.addStateStore(
      Stores.windowStoreBuilder(
        Stores.persistentWindowStore(storeName, retentionMs, retentionMs, false),
        (idSerde ?? this.builder.topology.defaultKeySerde) as Serde<ID>,
        Serdes.Long(),
      ),
      name,
    );
    return new KStream<K, V>(this.builder, name, this.keySerde, this.valueSerde, source.repartitionRequired);
  }

  /** Reads the stream as a table's changelog: latest value per key, null values delete. */
  toTable(options?: Named | Materialized<K, V>): KTable<K, V> {
    const named = options instanceof Materialized ? undefined : options;
    const materialized = options instanceof Materialized ? options : undefined;
    const name = named?.name ?? this.builder.newName('KSTREAM-TOTABLE-');
    const source = this.repartitionRequired
      ? repartitionStream(
          this,
          `${name}-repartition`,
          materialized?.keySerde ?? this.keySerde,
          materialized?.valueSerde ?? this.valueSerde,
        )
      : this;
    const storeName = materialized?.storeName ?? this.builder.newName('KSTREAM-TOTABLE-STATE-STORE-');
    const keySerde = materialized?.keySerde ?? this.keySerde;
    const valueSerde = materialized?.valueSerde ?? this.valueSerde;
    this.builder.topology.addProcessor(
      name,
      tableSourceProcessor<K, V>(
        () => storeName,
        () => table?.sendOldValues ?? false,
      ),
      source.nodeName,
    );
    this.builder.addKeyValueStore(storeName, materialized, keySerde, valueSerde, [name]);
    const table = new KTable<K, V>(
      this.builder,
      name,
      keySerde,
      valueSerde,
      storeName,
      materialized?.storeName !== undefined,
      {
        valueGetter: () => storeValueGetter<K, V>(storeName),
        enableSendingOldValues: () => undefined,
      },
    );
    return table;
  }

  groupByKey(grouped?: Grouped<K, V>): KGroupedStream<K, V> {
    return new KGroupedStream(
      this.builder,
      this.nodeName,
      grouped?.keySerde ?? this.keySerde,
      grouped?.valueSerde ?? this.valueSerde,
      this.repartitionRequired,
      grouped?.name,
    );
  }

  groupBy<KR>(selector: KeyValueMapper<K, V, KR>, grouped?: Grouped<KR, V>): KGroupedStream<KR, V> {
    const selected = this.selectKey(selector);
    return new KGroupedStream(
      this.builder,
      selected.nodeName,
      grouped?.keySerde,
      grouped?.valueSerde ?? this.valueSerde,
      true,
      grouped?.name,
    );
  }

  private addProcessor<KR, VR>(
    name: string,
    supplier: ProcessorSupplier<any, any, any, any>,
    storeNames: string[],
    repartitionRequired: boolean,
  ): KStream<KR, VR> {
    this.builder.topology.addProcessor(name, supplier, this.nodeName);
    if (storeNames.length > 0) this.builder.topology.connectProcessorAndStateStores(name, ...storeNames);
    return new KStream<KR, VR>(this.builder, name, undefined, undefined, repartitionRequired);
  }

  private step<KR, VR>(
    prefix: string,
    named: Named | undefined,
    body: Step<K, V, KR, VR>,
    keySerde: Serde<KR> | undefined,
    valueSerde: Serde<VR> | undefined,
    changesKey: boolean,
  ): KStream<KR, VR> {
    const name = named?.name ?? this.builder.newName(prefix);
    this.builder.topology.addProcessor(
      name,
      () => {
        let forward: (r: Record<KR, VR>) => void;
        return {
          init(ctx: ProcessorContext<KR, VR>) {
            forward = (r) => ctx.forward(r);
          },
          process(record: Record<K, V>) {
            body(record, forward);
          },
        };
      },
      this.nodeName,
    );
    return new KStream(this.builder, name, keySerde, valueSerde, this.repartitionRequired || changesKey);
  }
}

export { Grouped, Produced };

export interface DeduplicateOptions<K, V, ID> {
  /** The id of a record (default: its key); null or undefined: the record passes unchecked. */
  idExtractor?: (key: K, value: V) => ID | null | undefined;
  /** Serde of the ids in the store (default: the key serde without an extractor, else the default serde). */
  idSerde?: Serde<ID>;
  /** Processor name; the store is `<name>-store`. */
  name?: string;
}
