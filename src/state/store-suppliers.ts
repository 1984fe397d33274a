import { InMemoryKeyValueBytesStore } from './in-memory-key-value-store.ts';
import { LevelDbKeyValueBytesStore } from './leveldb-key-value-store.ts';
import { SegmentedSessionBytesStore } from './segmented-session-store.ts';
import { SegmentedWindowBytesStore } from './segmented-window-store.ts';
import type { SessionStoreLayer, WindowStoreLayer } from './store-layers.ts';
import type { KeyValueBytesStore, VersionedBytesStore } from './types.ts';
import { VersionedKeyValueBytesStore } from './versioned-key-value-store.ts';
import { defaultSegmentInterval } from './window-key-schema.ts';

/** Makes the innermost bytes store of a key-value store, one per task (Kafka Streams' KeyValueBytesStoreSupplier). */
export interface KeyValueBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
  get(): KeyValueBytesStore;
}

/** Makes the segmented bytes store of a window store, one per task. */
export interface WindowBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
  readonly retentionPeriod: number;
  readonly windowSize: number;
  readonly retainDuplicates: boolean;
  readonly segmentInterval: number;
  get(): WindowStoreLayer;
}

/** Makes the segmented bytes store of a session store, one per task (Kafka Streams' SessionBytesStoreSupplier). */
export interface SessionBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
  readonly retentionPeriod: number;
  readonly segmentInterval: number;
  get(): SessionStoreLayer;
}

/** Makes the bytes store of a versioned key-value store, one per task (Kafka Streams' VersionedBytesStoreSupplier). */
export interface VersionedBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
  readonly historyRetentionMs: number;
  /**
   * Kafka Streams' segment interval, validated and kept for describe-level compatibility; the
   * LevelDB layout here expires each old version on its own, so it does not change the layout.
   */
  readonly segmentIntervalMs: number;
  get(): VersionedBytesStore;
}

/** Store names become directory names and part of changelog topic names: Kafka's topic charset. */
export function validateStoreName(name: string): string {
  if (!/^[a-zA-Z0-9._-]+$/.test(name) || name === '.' || name === '..') {
    throw new Error(`invalid store name '${name}': use letters, digits, '.', '_' and '-'`);
  }
  return name;
}

export function keyValueSupplier(name: string, persistent: boolean): KeyValueBytesStoreSupplier {
  validateStoreName(name);
  return {
    name,
    persistent,
    get: () => (persistent ? new LevelDbKeyValueBytesStore(name) : new InMemoryKeyValueBytesStore(name)),
  };
}

export function windowSupplier(
  name: string,
  persistent: boolean,
  retentionPeriod: number,
  windowSize: number,
  retainDuplicates: boolean,
): WindowBytesStoreSupplier {
  validateStoreName(name);
  if (!Number.isSafeInteger(windowSize) || windowSize <= 0) {
    throw new Error(`store '${name}': window size must be a positive integer (ms), got ${windowSize}`);
  }
  if (!Number.isSafeInteger(retentionPeriod) || retentionPeriod < windowSize) {
    throw new Error(
      `store '${name}': retention period (${retentionPeriod} ms) must be an integer no smaller than the window size (${windowSize} ms)`,
    );
  }
  const { segmentInterval, kv } = segmented(name, persistent, retentionPeriod);
  return {
    name,
    persistent,
    retentionPeriod,
    windowSize,
    retainDuplicates,
    segmentInterval,
    get: () =>
      new SegmentedWindowBytesStore(kv.get(), {
        retentionPeriod,
        windowSize,
        retainDuplicates,
        segmentInterval,
      }),
  };
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
  const { segmentInterval, kv } = segmented(name, persistent, retentionPeriod);
  return {
    name,
    persistent,
    retentionPeriod,
    segmentInterval,
    get: () => new SegmentedSessionBytesStore(kv.get(), { retentionPeriod, segmentInterval }),
  };
}

/** The segment interval and the key-value supplier under a segmented store. */
function segmented(
  name: string,
  persistent: boolean,
  retentionPeriod: number,
): { segmentInterval: number; kv: KeyValueBytesStoreSupplier } {
  return { segmentInterval: defaultSegmentInterval(retentionPeriod), kv: keyValueSupplier(name, persistent) };
}

export function versionedSupplier(
  name: string,
  historyRetentionMs: number,
  segmentIntervalMs: number = defaultVersionedSegmentInterval(historyRetentionMs),
): VersionedBytesStoreSupplier {
  validateStoreName(name);
  if (!Number.isSafeInteger(historyRetentionMs) || historyRetentionMs < 0) {
    throw new Error(
      `store '${name}': historyRetention must be a non-negative integer (ms), got ${historyRetentionMs}`,
    );
  }
  if (!Number.isSafeInteger(segmentIntervalMs) || segmentIntervalMs < 1) {
    throw new Error(
      `store '${name}': segmentInterval must be a positive integer (ms), got ${segmentIntervalMs}`,
    );
  }
  const kv = keyValueSupplier(name, true);
  return {
    name,
    persistent: true,
    historyRetentionMs,
    segmentIntervalMs,
    get: () => new VersionedKeyValueBytesStore(kv.get(), historyRetentionMs),
  };
}

/** Kafka Streams' default segment interval of a versioned store (RocksDbVersionedKeyValueBytesStoreSupplier). */
function defaultVersionedSegmentInterval(historyRetentionMs: number): number {
  if (historyRetentionMs <= 60_000) return Math.max(Math.floor(historyRetentionMs / 3), 2_000);
  if (historyRetentionMs <= 300_000) return Math.max(Math.floor(historyRetentionMs / 5), 20_000);
  if (historyRetentionMs <= 3_600_000) return Math.max(Math.floor(historyRetentionMs / 12), 60_000);
  return Math.max(Math.floor(historyRetentionMs / 24), 300_000);
}

/** True for a versioned store supplier (Materialized.as accepts one). */
export function isVersionedSupplier(value: unknown): value is VersionedBytesStoreSupplier {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<VersionedBytesStoreSupplier>).historyRetentionMs === 'number' &&
    typeof (value as Partial<VersionedBytesStoreSupplier>).get === 'function'
  );
}
