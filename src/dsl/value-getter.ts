import type { ProcessorContext } from '../processor/api.ts';
import type { ValueAndTimestamp } from '../state/index.ts';
import { tableStore } from './processors/table-store.ts';

/**
 * Reads a table's value for a key from inside another processor of the same task. A getter over a
 * versioned table (`versioned: true`) also answers as of a time: the version valid then.
 */
export interface ValueGetter<K, V> {
  (key: K, asOfTimestamp?: number): ValueAndTimestamp<V> | undefined;
  readonly versioned?: boolean;
}

/**
 * How to build a ValueGetter (Kafka Streams' KTableValueGetterSupplier): which stores the reading
 * processor must be connected to, and how to read them.
 */
export interface ValueGetterSupplier<K, V> {
  storeNames(): string[];
  create(context: ProcessorContext<any, any>): ValueGetter<K, V>;
}

/** Reads a table's store directly (timestamped, or versioned: then as of a time when asked). */
export function storeValueGetter<K, V>(storeName: string): ValueGetterSupplier<K, V> {
  return {
    storeNames: () => [storeName],
    create(context) {
      const store = tableStore<K, V>(context, storeName);
      if (!store.versioned) return (key: K) => store.get(key);
      return Object.assign(
        (key: K, asOf?: number) => (asOf === undefined ? store.get(key) : store.getAsOf(key, asOf)),
        { versioned: true },
      );
    },
  };
}

/** Derives values from a parent getter (filter, mapValues of a table that is not materialized). */
export function derivedValueGetter<K, VP, V>(
  parent: ValueGetterSupplier<K, VP>,
  compute: (key: K, parentValue: ValueAndTimestamp<VP>) => ValueAndTimestamp<V> | undefined,
): ValueGetterSupplier<K, V> {
  return {
    storeNames: () => parent.storeNames(),
    create(context) {
      const get = parent.create(context);
      const derived = (key: K, asOf?: number): ValueAndTimestamp<V> | undefined => {
        const vt = get(key, asOf);
        return vt === undefined ? undefined : compute(key, vt);
      };
      return get.versioned ? Object.assign(derived, { versioned: true }) : derived;
    },
  };
}
