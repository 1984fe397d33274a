import type { Serde } from '../serde/serde.ts';
import {
  KeyValueStoreBuilder,
  SessionStoreBuilder,
  VersionedKeyValueStoreBuilder,
  WindowStoreBuilder,
} from './store-builders.ts';
import {
  keyValueSupplier,
  sessionSupplier,
  windowSupplier,
  type KeyValueBytesStoreSupplier,
  versionedSupplier,
  type SessionBytesStoreSupplier,
  type VersionedBytesStoreSupplier,
  type WindowBytesStoreSupplier,
} from './store-suppliers.ts';
import { timestampedSerde, type ValueAndTimestamp } from './timestamped-serde.ts';

/** Factory of store suppliers and builders (Kafka Streams' Stores). */
export const Stores = {
  /** LevelDB at `<taskDir>/<name>`. */
  persistentKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return keyValueSupplier(name, true);
  },

  /**
   * A versioned key-value store on LevelDB at `<taskDir>/<name>` (KIP-889): every version of a key
   * kept for `historyRetentionMs` of stream time, read with `get(key, asOfTimestamp)`. The history
   * retention is also the grace period: older writes are refused. `segmentIntervalMs` is accepted
   * and validated as in Kafka Streams.
   */
  persistentVersionedKeyValueStore(
    name: string,
    historyRetentionMs: number,
    segmentIntervalMs?: number,
  ): VersionedBytesStoreSupplier {
    return versionedSupplier(name, historyRetentionMs, segmentIntervalMs);
  },

  inMemoryKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return keyValueSupplier(name, false);
  },

  /** Windows kept for `retentionMs` of stream time after their start; LevelDB at `<taskDir>/<name>`. */
  persistentWindowStore(
    name: string,
    retentionMs: number,
    windowSizeMs: number,
    retainDuplicates: boolean,
  ): WindowBytesStoreSupplier {
    return windowSupplier(name, true, retentionMs, windowSizeMs, retainDuplicates);
  },

  inMemoryWindowStore(
    name: string,
    retentionMs: number,
    windowSizeMs: number,
    retainDuplicates: boolean,
  ): WindowBytesStoreSupplier {
    return windowSupplier(name, false, retentionMs, windowSizeMs, retainDuplicates);
  },

  keyValueStoreBuilder<K, V>(
    supplier: KeyValueBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): KeyValueStoreBuilder<K, V> {
    return new KeyValueStoreBuilder(supplier, keySerde, valueSerde);
  },

  /** Values stored with the timestamp of their last update (what DSL tables materialise). */
  timestampedKeyValueStoreBuilder<K, V>(
    supplier: KeyValueBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): KeyValueStoreBuilder<K, ValueAndTimestamp<V>> {
    return new KeyValueStoreBuilder(supplier, keySerde, timestampedSerde(valueSerde));
  },

  versionedKeyValueStoreBuilder<K, V>(
    supplier: VersionedBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): VersionedKeyValueStoreBuilder<K, V> {
    return new VersionedKeyValueStoreBuilder(supplier, keySerde, valueSerde);
  },

  windowStoreBuilder<K, V>(
    supplier: WindowBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): WindowStoreBuilder<K, V> {
    return new WindowStoreBuilder(supplier, keySerde, valueSerde);
  },

  timestampedWindowStoreBuilder<K, V>(
    supplier: WindowBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): WindowStoreBuilder<K, ValueAndTimestamp<V>> {
    return new WindowStoreBuilder(supplier, keySerde, timestampedSerde(valueSerde));
  },

  /** Sessions kept for `retentionMs` of stream time after their end; LevelDB at `<taskDir>/<name>`. */
  persistentSessionStore(name: string, retentionMs: number): SessionBytesStoreSupplier {
    return sessionSupplier(name, true, retentionMs);
  },

  inMemorySessionStore(name: string, retentionMs: number): SessionBytesStoreSupplier {
    return sessionSupplier(name, false, retentionMs);
  },

  sessionStoreBuilder<K, V>(
    supplier: SessionBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): SessionStoreBuilder<K, V> {
    return new SessionStoreBuilder(supplier, keySerde, valueSerde);
  },
} as const;
