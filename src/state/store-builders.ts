import type { Serde } from '../serde/serde.ts';
import { CachingKeyValueBytesStore } from './caching-key-value-store.ts';
import { CachingSessionBytesStore } from './caching-session-store.ts';
import { CachingWindowBytesStore } from './caching-window-store.ts';
import { ChangeLoggingKeyValueBytesStore } from './change-logging-key-value-store.ts';
import { ChangeLoggingSessionBytesStore } from './change-logging-session-store.ts';
import { ChangeLoggingWindowBytesStore } from './change-logging-window-store.ts';
import { MeteredKeyValueStore } from './metered-key-value-store.ts';
import { MeteredSessionStore } from './metered-session-store.ts';
import { MeteredWindowStore } from './metered-window-store.ts';
import type { SessionStoreLayer, WindowStoreLayer } from './store-layers.ts';
import { ChangeLoggingVersionedKeyValueBytesStore } from './change-logging-versioned-store.ts';
import { MeteredVersionedKeyValueStore } from './metered-versioned-store.ts';
import type {
  KeyValueBytesStoreSupplier,
  SessionBytesStoreSupplier,
  VersionedBytesStoreSupplier,
  WindowBytesStoreSupplier,
} from './store-suppliers.ts';
import type { KeyValueBytesStore, StateStore, StoreBuilder, VersionedBytesStore } from './types.ts';

/** Kafka Streams keeps window changelogs one day longer than the store (windowstore.changelog.additional.retention.ms). */
export const WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS = 24 * 60 * 60 * 1000;

interface BuilderSettings {
  logging: boolean;
  caching: boolean;
  changelogConfig: globalThis.Record<string, string>;
}

/**
 * Logging on and caching off by default, as Kafka Streams' builders. Unlike Kafka Streams' the
 * `with…` methods return a modified copy and leave the builder alone: one builder is shared by
 * every task of a topology, and a task (or test driver) turning caching off must not turn it off
 * for the others. Chained use reads the same either way.
 */
abstract class AbstractStoreBuilder<S extends StateStore> implements StoreBuilder<S> {
  private settings: BuilderSettings = { logging: true, caching: false, changelogConfig: {} };

  constructor(
    readonly name: string,
    private readonly defaultChangelogConfig: globalThis.Record<string, string>,
  ) {}

  get loggingEnabled(): boolean {
    return this.settings.logging;
  }

  get cachingEnabled(): boolean {
    return this.settings.caching;
  }

  get changelogConfig(): globalThis.Record<string, string> {
    return { ...this.defaultChangelogConfig, ...this.settings.changelogConfig };
  }

  withCachingEnabled(): this {
    return this.copy({ caching: true });
  }

  withCachingDisabled(): this {
    return this.copy({ caching: false });
  }

  /** `config` overrides topic configs of the changelog (e.g. min.insync.replicas). */
  withLoggingEnabled(config: globalThis.Record<string, string> = {}): this {
    return this.copy({ logging: true, changelogConfig: { ...config } });
  }

  withLoggingDisabled(): this {
    return this.copy({ logging: false, changelogConfig: {} });
  }

  abstract build(): S;

  private copy(change: Partial<BuilderSettings>): this {
    const next = Object.create(Object.getPrototypeOf(this) as object) as this;
    return Object.assign(next, this, { settings: { ...this.settings, ...change } });
  }
}

/** Assembles Metered → [Caching] → [ChangeLogging] → bytes store from the supplier. */
export class KeyValueStoreBuilder<K, V> extends AbstractStoreBuilder<MeteredKeyValueStore<K, V>> {
  constructor(
    readonly supplier: KeyValueBytesStoreSupplier,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {
    super(supplier.name, { 'cleanup.policy': 'compact' });
  }

  build(): MeteredKeyValueStore<K, V> {
    let store: KeyValueBytesStore = this.supplier.get();
    if (this.loggingEnabled) store = new ChangeLoggingKeyValueBytesStore(store);
    if (this.cachingEnabled) store = new CachingKeyValueBytesStore(store);
    return new MeteredKeyValueStore(store, this.keySerde, this.valueSerde);
  }
}

/**
 * Assembles Metered → [Caching] → [ChangeLogging] → segmented bytes store. Caching is ignored for
 * stores that retain duplicates (as in Kafka Streams): `cachingEnabled` then reads false.
 */
export class WindowStoreBuilder<K, V> extends AbstractStoreBuilder<MeteredWindowStore<K, V>> {
  constructor(
    readonly supplier: WindowBytesStoreSupplier,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {
    super(supplier.name, segmentedChangelogConfig(supplier.retentionPeriod));
  }

  override get cachingEnabled(): boolean {
    return super.cachingEnabled && !this.supplier.retainDuplicates;
  }

  build(): MeteredWindowStore<K, V> {
    let store: WindowStoreLayer = this.supplier.get();
    if (this.loggingEnabled) store = new ChangeLoggingWindowBytesStore(store);
    if (this.cachingEnabled) store = new CachingWindowBytesStore(store);
    return new MeteredWindowStore(store, this.keySerde, this.valueSerde);
  }
}

/** Assembles Metered → [Caching] → [ChangeLogging] → segmented session bytes store. */
export class SessionStoreBuilder<K, V> extends AbstractStoreBuilder<MeteredSessionStore<K, V>> {
  constructor(
    readonly supplier: SessionBytesStoreSupplier,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {
    super(supplier.name, segmentedChangelogConfig(supplier.retentionPeriod));
  }

  build(): MeteredSessionStore<K, V> {
    let store: SessionStoreLayer = this.supplier.get();
    if (this.loggingEnabled) store = new ChangeLoggingSessionBytesStore(store);
    if (this.cachingEnabled) store = new CachingSessionBytesStore(store);
    return new MeteredSessionStore(store, this.keySerde, this.valueSerde);
  }
}

/** Kafka Streams keeps a versioned store's changelog records from compaction this much longer than the history retention. */
export const VERSIONED_CHANGELOG_ADDITIONAL_COMPACTION_LAG_MS = 24 * 60 * 60 * 1000;

/**
 * Assembles Metered → [ChangeLogging] → versioned bytes store (Kafka Streams'
 * VersionedKeyValueStoreBuilder). Versioned stores have no caching layer: withCachingEnabled()
 * throws, as in Kafka Streams. The changelog is compacted, with a minimum compaction lag of the
 * history retention plus a day, so the versions a restore needs stay in it.
 */
export class VersionedKeyValueStoreBuilder<K, V> extends AbstractStoreBuilder<
  MeteredVersionedKeyValueStore<K, V>
> {
  constructor(
    readonly supplier: VersionedBytesStoreSupplier,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {
    super(supplier.name, {
      'cleanup.policy': 'compact',
      'min.compaction.lag.ms': String(
        Math.min(
          supplier.historyRetentionMs + VERSIONED_CHANGELOG_ADDITIONAL_COMPACTION_LAG_MS,
          Number.MAX_SAFE_INTEGER,
        ),
      ),
    });
  }

  override withCachingEnabled(): this {
    throw new Error(`store '${this.name}': versioned stores do not support caching`);
  }

  get historyRetention(): number {
    return this.supplier.historyRetentionMs;
  }

  build(): MeteredVersionedKeyValueStore<K, V> {
    let store: VersionedBytesStore = this.supplier.get();
    if (this.loggingEnabled) store = new ChangeLoggingVersionedKeyValueBytesStore(store);
    return new MeteredVersionedKeyValueStore(store, this.keySerde, this.valueSerde);
  }
}

/** Changelogs of window and session stores: compacted, and deleted a day after the store's retention. */
function segmentedChangelogConfig(retentionPeriod: number): globalThis.Record<string, string> {
  return {
    'cleanup.policy': 'compact,delete',
    'retention.ms': String(retentionPeriod + WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS),
  };
}
