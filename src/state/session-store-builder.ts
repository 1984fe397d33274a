import type { Serde } from '../serde/serde.ts';
import { SegmentedSessionBytesStore, type SessionStoreLayer } from './session-bytes-store.ts';
import { ChangeLoggingSessionBytesStore } from './session-change-logging-store.ts';
import { MeteredSessionStore } from './session-metered-store.ts';
import { keyValueSupplier, validateStoreName } from './store-suppliers.ts';
import { WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS } from './store-builders.ts';
import type { StoreBuilder } from './types.ts';
import { defaultSegmentInterval } from './window-key-schema.ts';

/** Makes the segmented bytes store of a session store, one per task (Kafka Streams' SessionBytesStoreSupplier). */
export interface SessionBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
  readonly retentionPeriod: number;
  readonly segmentInterval: number;
  get(): SessionStoreLayer;
}

export function sessionSupplier(
  name: string,
  persistent: boolean,
  retentionPeriod: number,
): SessionBytesStoreSupplier {
  validateStoreName(name);
  if (!Number.isSafeInteger(retentionPeriod) || retentionPeriod < 0) {
    throw new Error(
      `store '${name}': retention period must be a non-negative integer (ms), got ${retentionPeriod}`,
    );
  }
  const segmentInterval = defaultSegmentInterval(retentionPeriod);
  const kv = keyValueSupplier(name, persistent);
  return {
    name,
    persistent,
    retentionPeriod,
    segmentInterval,
    get: () => new SegmentedSessionBytesStore(kv.get(), { retentionPeriod, segmentInterval }),
  };
}

interface Settings {
  logging: boolean;
  caching: boolean;
  changelogConfig: globalThis.Record<string, string>;
}

/**
 * Assembles Metered → [ChangeLogging] → segmented session bytes store. Logging is on by default;
 * caching may be requested but session stores have no caching layer yet (writes go straight
 * through and every update is forwarded, as with caching off): `cachingEnabled` reads false.
 * The `with…` methods return modified copies, like the other builders.
 */
export class SessionStoreBuilder<K, V> implements StoreBuilder<MeteredSessionStore<K, V>> {
  private settings: Settings = { logging: true, caching: false, changelogConfig: {} };

  constructor(
    readonly supplier: SessionBytesStoreSupplier,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {}

  get name(): string {
    return this.supplier.name;
  }

  get loggingEnabled(): boolean {
    return this.settings.logging;
  }

  get cachingEnabled(): boolean {
    return false;
  }

  get changelogConfig(): globalThis.Record<string, string> {
    return {
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(this.supplier.retentionPeriod + WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS),
      ...this.settings.changelogConfig,
    };
  }

  withCachingEnabled(): SessionStoreBuilder<K, V> {
    return this.copy({ caching: true });
  }

  withCachingDisabled(): SessionStoreBuilder<K, V> {
    return this.copy({ caching: false });
  }

  withLoggingEnabled(config: globalThis.Record<string, string> = {}): SessionStoreBuilder<K, V> {
    return this.copy({ logging: true, changelogConfig: { ...config } });
  }

  withLoggingDisabled(): SessionStoreBuilder<K, V> {
    return this.copy({ logging: false, changelogConfig: {} });
  }

  build(): MeteredSessionStore<K, V> {
    let store: SessionStoreLayer = this.supplier.get();
    if (this.loggingEnabled) store = new ChangeLoggingSessionBytesStore(store);
    return new MeteredSessionStore(store, this.keySerde, this.valueSerde);
  }

  private copy(change: Partial<Settings>): SessionStoreBuilder<K, V> {
    const next = new SessionStoreBuilder(this.supplier, this.keySerde, this.valueSerde);
    next.settings = { ...this.settings, ...change };
    return next;
  }
}
