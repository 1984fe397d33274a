/**
 * Kafka Streams' interactive-query parameters: which store, as which type, and whether a standby
 * replica may answer (stale reads). `KafkaStreams#store(StoreQueryParameters.fromNameAndType(name,
 * QueryableStoreTypes.keyValueStore()))`.
 */
import type { ReadOnlyKeyValueStore, ReadOnlySessionStore, ReadOnlyWindowStore } from '../state/types.ts';
import type { ValueAndTimestamp } from '../state/timestamped-serde.ts';

export type QueryableStoreKind = 'key-value' | 'timestamped-key-value' | 'window' | 'session';

/** The type a store is queried as (Kafka Streams' QueryableStoreType). */
export interface QueryableStoreType<T> {
  readonly kind: QueryableStoreKind;
  /** Phantom: carries T. */
  readonly __type?: T;
}

export const QueryableStoreTypes = {
  keyValueStore<K, V>(): QueryableStoreType<ReadOnlyKeyValueStore<K, V>> {
    return { kind: 'key-value' };
  },
  timestampedKeyValueStore<K, V>(): QueryableStoreType<ReadOnlyKeyValueStore<K, ValueAndTimestamp<V>>> {
    return { kind: 'timestamped-key-value' };
  },
  windowStore<K, V>(): QueryableStoreType<ReadOnlyWindowStore<K, V>> {
    return { kind: 'window' };
  },
  sessionStore<K, V>(): QueryableStoreType<ReadOnlySessionStore<K, V>> {
    return { kind: 'session' };
  },
};

export class StoreQueryParameters<T> {
  private constructor(
    readonly storeName: string,
    readonly queryableStoreType: QueryableStoreType<T>,
    readonly staleStoresEnabled: boolean,
    readonly partition: number | undefined,
  ) {}

  static fromNameAndType<T>(storeName: string, type: QueryableStoreType<T>): StoreQueryParameters<T> {
    return new StoreQueryParameters(storeName, type, false, undefined);
  }

  /** Standby replicas may answer too (their values may lag the active task's). */
  enableStaleStores(): StoreQueryParameters<T> {
    return new StoreQueryParameters(this.storeName, this.queryableStoreType, true, this.partition);
  }

  /** Only this partition of the store. */
  withPartition(partition: number): StoreQueryParameters<T> {
    return new StoreQueryParameters(
      this.storeName,
      this.queryableStoreType,
      this.staleStoresEnabled,
      partition,
    );
  }
}
