import type { ProcessorContext } from '../processor/api.ts';
import type { KeyValueStore } from '../state/types.ts';
import type { ValueAndTimestamp } from '../state/index.ts';

/** Reads a table's current value for a key from inside another processor of the same task. */
export type ValueGetter<K, V> = (key: K) => ValueAndTimestamp<V> | undefined;

/**
 * How to build a ValueGetter (Kafka Streams' KTableValueGetterSupplier): which stores the reading
 * processor must be connected to, and how to read them.
 */
export interface ValueGetterSupplier<K, V> {
  storeNames(): string[];
  create(context: ProcessorContext<any, any>): ValueGetter<K, V>;
}

/** Reads a timestamped key-value store directly. */
export function storeValueGetter<K, V>(storeName: string): ValueGetterSupplier<K, V> {
  return {
    storeNames: () => [storeName],
    create(context) {
      const store = context.getStateStore<KeyValueStore<K, ValueAndTimestamp<V>>>(storeName);
      return (key) => {
        const vt = store.get(key);
        return vt === undefined || vt === null ? undefined : vt;
      };
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
      return (key) => {
        const vt = get(key);
        return vt === undefined ? undefined : compute(key, vt);
      };
    },
  };
}
