import type { Serde } from '../serde/serde.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import { KStream } from './kstream.ts';
import { Materialized, Named, type Grouped, type KeyValue, type ValueJoiner } from './options.ts';
import { toStreamProcessor } from './processors/table.ts';
import { tableRepartitionMapProcessor, tableTransformProcessor } from './processors/table-ops.ts';
import {
  joinedValueGetter,
  tableJoinMergerProcessor,
  tableJoinSideProcessor,
  type TableJoinKind,
} from './processors/table-join.ts';
import { derivedValueGetter, storeValueGetter, type ValueGetterSupplier } from './value-getter.ts';
import { KGroupedTable } from './kgrouped-table.ts';
import { foreignKeyJoin } from './foreign-key-join.ts';
import type { Suppressed } from './suppressed.ts';
import { suppressTable } from './suppress.ts';

/** How a table's values can be read by key and how it is asked to send old values upstream. */
export interface TableLineage<K, V> {
  valueGetter(): ValueGetterSupplier<K, V>;
  enableSendingOldValues(): void;
}

/**
 * A changelog stream seen as a table of latest values per key (Kafka Streams' KTable). Its nodes
 * forward Change records (new value, and the old value when a downstream needs it).
 *
 * `VS` is the value type of the table's update stream (`toStream()`): `V | null` where the table can
 * delete (tables read from a topic with tombstones, `filter`, session windows that merge), `V` where
 * it never does (time-windowed aggregations, counts). Table operations themselves never see null.
 */
export class KTable<K, V, VS = V> {
  /** Set when a downstream operation needs old values (table groupBy, joins that send old values). */
  sendOldValues = false;
  private readonly lineage: TableLineage<K, V>;

  /** @internal */
  constructor(
    readonly builder: InternalStreamsBuilder,
    readonly nodeName: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** Store holding the table, if materialized (source tables get one on demand). */
    public storeName: string | undefined,
    /** True when the user named the store (Materialized.as): it is queryable. */
    readonly queryable: boolean,
    lineage?: TableLineage<K, V>,
  ) {
    this.lineage = lineage ?? {
      valueGetter: () => {
        if (!this.storeName) throw new Error(`KTable '${nodeName}' is not materialized`);
        return storeValueGetter<K, V>(this.storeName);
      },
      enableSendingOldValues: () => undefined,
    };
  }

  /** Name of the store to query, when the table was materialized under a user-given name. */
  queryableStoreName(): string | undefined {
    return this.queryable ? this.storeName : undefined;
  }

  /** @internal Reads the table by key from another processor (joins); may materialize a source table. */
  valueGetterSupplier(): ValueGetterSupplier<K, V> {
    return this.lineage.valueGetter();
  }

  /** @internal Makes this table (and what it derives from) forward old values too. */
  enableSendingOldValues(): void {
    if (this.sendOldValues) return;
    this.sendOldValues = true;
    this.lineage.enableSendingOldValues();
  }

  /** Keeps entries matching the predicate; an update that stops matching becomes a delete downstream. */
  filter(
    predicate: (key: K, value: V) => boolean,
    options?: Named | Materialized<K, V>,
  ): KTable<K, V, V | null> {
    return this.doFilter(predicate, false, options) as unknown as KTable<K, V, V | null>;
  }

  filterNot(
    predicate: (key: K, value: V) => boolean,
    options?: Named | Materialized<K, V>,
  ): KTable<K, V, V | null> {
    return this.doFilter(predicate, true, options) as unknown as KTable<K, V, V | null>;
  }

  /** Transforms each value (value first, key second); deletes stay deletes. */
  mapValues<VR>(
    mapper: (value: V, key: K) => VR,
    options?: Named | Materialized<K, VR>,
  ): KTable<K, VR, VR | Extract<VS, null>> {
    const { named, materialized } = splitOptions(options);
    const name = named?.name ?? this.builder.newName('KTABLE-MAPVALUES-');
    const compute = (key: K, value: V | null): VR | null => (value === null ? null : mapper(value, key));
    return this.derive<VR>(name, materialized, compute, false, (key, vt) => ({
      value: mapper(vt.value, key),
      timestamp: vt.timestamp,
    })) as unknown as KTable<K, VR, VR | Extract<VS, null>>;
  }

  /** The table's update stream: every change as a record, deletes as null values. */
  toStream<KR>(mapper: (key: K, value: V) => KR, named?: Named): KStream<KR, VS>;
  toStream(named?: Named): KStream<K, VS>;
  toStream<KR>(mapperOrNamed?: ((key: K, value: V) => KR) | Named, named?: Named): KStream<KR, VS> {
    const mapper =
      mapperOrNamed instanceof Named
        ? undefined
        : (mapperOrNamed as ((key: K, value: V | null) => KR) | undefined);
    const nodeNamed = mapperOrNamed instanceof Named ? mapperOrNamed : named;
    const name = nodeNamed?.name ?? this.builder.newName('KTABLE-TOSTREAM-');
    this.builder.topology.addProcessor(name, toStreamProcessor<K, V, KR>(mapper), this.nodeName);
    // Deletes arrive as null values, as in Kafka Streams (VS says whether this table has any).
    return new KStream<KR, VS>(
      this.builder,
      name,
      mapper ? undefined : (this.keySerde as unknown as Serde<KR> | undefined),
      this.valueSerde as Serde<VS> | undefined,
      mapper !== undefined,
    );
  }

  /** Re-keys the table for an aggregation; updates subtract the old value and add the new one. */
  groupBy<KR, VR>(
    selector: (key: K, value: V) => KeyValue<KR, VR>,
    grouped?: Grouped<KR, VR>,
  ): KGroupedTable<KR, VR> {
    this.enableSendingOldValues();
    const name = this.builder.newName('KTABLE-SELECT-');
    this.builder.topology.addProcessor(
      name,
      tableRepartitionMapProcessor<K, V, KR, VR>(selector),
      this.nodeName,
    );
    return new KGroupedTable<KR, VR>(
      this.builder,
      name,
      grouped?.keySerde,
      grouped?.valueSerde,
      grouped?.name,
    );
  }

  /** Primary-key join with another table; or, with a foreign-key extractor, a foreign-key join. */
  join<KO, VO, VR>(
    other: KTable<KO, VO, any>,
    foreignKeyExtractor: (value: V) => KO,
    joiner: ValueJoiner<V, VO, VR, K>,
    options?: Named | Materialized<K, VR>,
  ): KTable<K, VR>;
  join<VO, VR>(
    other: KTable<K, VO, any>,
    joiner: ValueJoiner<V, VO, VR, K>,
    options?: Named | Materialized<K, VR>,
  ): KTable<K, VR>;
  join(other: KTable<any, any>, a: any, b?: any, c?: any): KTable<K, any> {
    return this.dispatchJoin('inner', other, a, b, c);
  }

  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO, any>,
    foreignKeyExtractor: (value: V) => KO,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    options?: Named | Materialized<K, VR>,
  ): KTable<K, VR>;
  leftJoin<VO, VR>(
    other: KTable<K, VO, any>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    options?: Named | Materialized<K, VR>,
  ): KTable<K, VR>;
  leftJoin(other: KTable<any, any>, a: any, b?: any, c?: any): KTable<K, any> {
    return this.dispatchJoin('left', other, a, b, c);
  }

  outerJoin<VO, VR>(
    other: KTable<K, VO, any>,
    joiner: ValueJoiner<V | null, VO | null, VR, K>,
    options?: Named | Materialized<K, VR>,
  ): KTable<K, VR> {
    return this.doJoin('outer', other, joiner, options);
  }

  /** Holds back updates: until a window closes (final results) or for a time limit per key. */
  suppress(suppressed: Suppressed<K>): KTable<K, V, VS> {
    return suppressTable(this as unknown as KTable<K, V>, suppressed) as unknown as KTable<K, V, VS>;
  }

  // ---- internals ----

  private dispatchJoin(
    kind: 'inner' | 'left',
    other: KTable<any, any, any>,
    a: any,
    b: any,
    c: any,
  ): KTable<K, any> {
    // Two functions: (foreign-key extractor, joiner); one function: a primary-key joiner.
    if (typeof a === 'function' && typeof b === 'function')
      return foreignKeyJoin(this as unknown as KTable<K, V>, other, kind, a, b, c);
    return this.doJoin(kind, other, a, b);
  }

  private doJoin<VO, VR>(
    kind: TableJoinKind,
    other: KTable<K, VO, any>,
    joiner: (left: any, right: any, key: K) => VR,
    options: Named | Materialized<K, VR> | undefined,
  ): KTable<K, VR> {
    const { named, materialized } = splitOptions(options);
    const mergeName = named?.name ?? this.builder.newName('KTABLE-MERGE-');
    const thisName = named ? `${named.name}-join-this` : this.builder.newName('KTABLE-JOINTHIS-');
    const otherName = named ? `${named.name}-join-other` : this.builder.newName('KTABLE-JOINOTHER-');
    // An outer side must see old values: a delete on it still produces a result when the other side is gone.
    if (kind === 'left' || kind === 'outer') this.enableSendingOldValues();
    if (kind === 'outer') other.enableSendingOldValues();
    const storeName = materialized?.storeName;
    const thisGetter = this.valueGetterSupplier();
    const otherGetter = other.valueGetterSupplier();
    const topology = this.builder.topology;
    topology.copartitionGroups.push([
      ...new Set([
        ...topology.upstreamSourceTopics(this.nodeName),
        ...topology.upstreamSourceTopics(other.nodeName),
      ]),
    ]);
    const sendOld = (): boolean => result?.sendOldValues ?? false;
    topology.addProcessor(
      thisName,
      tableJoinSideProcessor<K, V, VO, VR>({
        kind,
        thisIsLeft: true,
        other: otherGetter,
        joiner,
        sendOldValues: sendOld,
      }),
      this.nodeName,
    );
    topology.addProcessor(
      otherName,
      tableJoinSideProcessor<K, VO, V, VR>({
        kind,
        thisIsLeft: false,
        other: thisGetter,
        joiner,
        sendOldValues: sendOld,
      }),
      other.nodeName,
    );
    topology.connectProcessorAndStateStores(thisName, ...otherGetter.storeNames());
    topology.connectProcessorAndStateStores(otherName, ...thisGetter.storeNames());
    topology.addProcessor(
      mergeName,
      tableJoinMergerProcessor<K, VR>(storeName, sendOld),
      thisName,
      otherName,
    );
    if (storeName) {
      topology.addStateStore(
        this.builder.keyValueStore(
          storeName,
          materialized,
          materialized?.keySerde ?? this.keySerde,
          materialized?.valueSerde,
        ),
        mergeName,
      );
      topology.storeMetadata.set(storeName, {
        timestamped: true,
        kind: 'key-value',
        queryable: materialized?.storeName !== undefined,
        ...(materialized?.storeSupplier
          ? { versioned: { historyRetentionMs: materialized.storeSupplier.historyRetentionMs } }
          : {}),
      });
    }
    const joinedGetter = joinedValueGetter<K, V, VO, VR>(kind, thisGetter, otherGetter, joiner);
    const result = new KTable<K, VR>(
      this.builder,
      mergeName,
      materialized?.keySerde ?? this.keySerde,
      materialized?.valueSerde,
      storeName,
      storeName !== undefined,
      {
        valueGetter: () => (storeName ? storeValueGetter<K, VR>(storeName) : joinedGetter),
        enableSendingOldValues: () => {
          this.enableSendingOldValues();
          other.enableSendingOldValues();
        },
      },
    );
    return result;
  }

  private doFilter(
    predicate: (key: K, value: V) => boolean,
    negate: boolean,
    options: Named | Materialized<K, V> | undefined,
  ): KTable<K, V> {
    const { named, materialized } = splitOptions(options);
    const name = named?.name ?? this.builder.newName('KTABLE-FILTER-');
    const keep = (key: K, value: V): boolean => predicate(key, value) !== negate;
    const compute = (key: K, value: V | null): V | null =>
      value !== null && keep(key, value) ? value : null;
    return this.derive<V>(name, materialized, compute, true, (key, vt) =>
      keep(key, vt.value) ? vt : undefined,
    );
  }

  private derive<VR>(
    name: string,
    materialized: Materialized<K, VR> | undefined,
    compute: (key: K, value: V | null) => VR | null,
    skipDoubleNull: boolean,
    getterCompute: (
      key: K,
      vt: { value: V; timestamp: number },
    ) => { value: VR; timestamp: number } | undefined,
  ): KTable<K, VR> {
    // Kafka Streams materializes a derived table only when the Materialized names its store.
    const storeName = materialized?.storeName;
    this.builder.topology.addProcessor(
      name,
      tableTransformProcessor<K, V, VR>({
        storeName,
        compute,
        sendOldValues: () => result?.sendOldValues ?? false,
        skipDoubleNull,
      }),
      this.nodeName,
    );
    const keySerde = materialized?.keySerde ?? this.keySerde;
    const valueSerde =
      materialized?.valueSerde ?? (skipDoubleNull ? (this.valueSerde as unknown as Serde<VR>) : undefined);
    if (storeName) {
      this.builder.addKeyValueStore(storeName, materialized, keySerde, valueSerde, [name]);
    }
    const result = new KTable<K, VR>(
      this.builder,
      name,
      keySerde,
      valueSerde,
      storeName,
      storeName !== undefined,
      {
        valueGetter: () =>
          storeName
            ? storeValueGetter<K, VR>(storeName)
            : derivedValueGetter(this.valueGetterSupplier(), getterCompute),
        enableSendingOldValues: () => {
          if (!storeName) this.enableSendingOldValues();
        },
      },
    );
    return result;
  }
}

function splitOptions<K, V>(
  options: Named | Materialized<K, V> | undefined,
): { named?: Named; materialized?: Materialized<K, V> } {
  if (options instanceof Named) return { named: options };
  if (options instanceof Materialized) return { materialized: options };
  return {};
}
