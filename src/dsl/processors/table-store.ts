import type { ProcessorContext } from '../../processor/api.ts';
import { MeteredVersionedKeyValueStore } from '../../state/metered-versioned-store.ts';
import type { KeyValueStore, StateStore } from '../../state/types.ts';
import type { ValueAndTimestamp } from '../../state/timestamped-serde.ts';
import { PUT_RETURN_CODE_VALID_TO_UNDEFINED } from '../../state/versioned-key-value-store.ts';

/** What a timestamped store's put returns: the value put is always the latest. */
export const PUT_RETURN_CODE_IS_LATEST = PUT_RETURN_CODE_VALID_TO_UNDEFINED;

/**
 * A DSL table's store, timestamped or versioned, behind one face (Kafka Streams'
 * KeyValueStoreWrapper): reads give ValueAndTimestamp either way; put returns the versioned
 * store's code (PUT_RETURN_CODE_IS_LATEST for a timestamped store).
 */
export interface TableStore<K, V> {
  readonly store: StateStore;
  readonly versioned: boolean;
  get(key: K): ValueAndTimestamp<V> | undefined;
  /** Versioned stores only: the value valid at the time. */
  getAsOf(key: K, asOfTimestamp: number): ValueAndTimestamp<V> | undefined;
  put(key: K, value: V | null, timestamp: number): number;
}

export function tableStore<K, V>(context: ProcessorContext<any, any>, storeName: string): TableStore<K, V> {
  const store = context.getStateStore<StateStore>(storeName);
  if (store instanceof MeteredVersionedKeyValueStore) {
    const versioned = store as MeteredVersionedKeyValueStore<K, V>;
    const plain = (r: { value: V; timestamp: number } | undefined): ValueAndTimestamp<V> | undefined =>
      r === undefined ? undefined : { value: r.value, timestamp: r.timestamp };
    return {
      store,
      versioned: true,
      get: (key) => plain(versioned.get(key)),
      getAsOf: (key, asOf) => plain(versioned.get(key, asOf)),
      put: (key, value, timestamp) => versioned.put(key, value, timestamp),
    };
  }
  const timestamped = store as unknown as KeyValueStore<K, ValueAndTimestamp<V>>;
  return {
    store,
    versioned: false,
    get: (key) => timestamped.get(key) ?? undefined,
    getAsOf: () => {
      throw new Error(`store '${storeName}': get(key, asOfTimestamp) needs a versioned store`);
    },
    put: (key, value, timestamp) => {
      timestamped.put(key, value === null ? null : { value, timestamp });
      return PUT_RETURN_CODE_IS_LATEST;
    },
  };
}
