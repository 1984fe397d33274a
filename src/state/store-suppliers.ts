import { InMemoryKeyValueBytesStore } from './in-memory-key-value-store.ts';
import { LevelDbKeyValueBytesStore } from './leveldb-key-value-store.ts';
import { SegmentedSessionBytesStore } from './segmented-session-store.ts';
import { SegmentedWindowBytesStore } from './segmented-window-store.ts';
import type { SessionStoreLayer, WindowStoreLayer } from './store-layers.ts';
import type { KeyValueBytesStore } from './types.ts';
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
