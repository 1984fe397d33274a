import { describe } from 'vitest';
import { Stores } from '../../../src/state/stores.ts';
import type { StateStore, StoreBuilder } from '../../../src/state/types.ts';
import { bytesSerde, stringSerde } from './helpers.ts';
import { keyValueStoreConformance } from './key-value-conformance.ts';
import { SESSION_RETENTION, sessionStoreConformance } from './session-conformance.ts';
import { RETENTION, WINDOW, windowStoreConformance } from './window-conformance.ts';

/** One store stack: bytes store kind and the wrapper layers on top of it. */
interface Stack {
  label: string;
  persistent: boolean;
  caching: boolean;
  logging: boolean;
  /** A tiny cache budget: every few writes evict and flush, exercising the spill path. */
  cacheMaxBytes?: number;
}

/** Every stack: in-memory or LevelDB × caching on or off × logging on or off, and a tiny cache. */
function stacks(tinyCacheBytes: number): Stack[] {
  const out: Stack[] = [];
  for (const persistent of [false, true]) {
    for (const caching of [false, true]) {
      for (const logging of [false, true]) {
        const label = `${persistent ? 'LevelDB' : 'in-memory'}, caching ${caching ? 'on' : 'off'}, logging ${logging ? 'on' : 'off'}`;
        out.push({ label, persistent, caching, logging });
        if (caching && logging) {
          out.push({
            label: `${label}, tiny cache`,
            persistent,
            caching,
            logging,
            cacheMaxBytes: tinyCacheBytes,
          });
        }
      }
    }
  }
  return out;
}

function withFlags<S extends StateStore>(builder: StoreBuilder<S>, stack: Stack): StoreBuilder<S> {
  const cached = stack.caching ? builder.withCachingEnabled() : builder.withCachingDisabled();
  return stack.logging ? cached.withLoggingEnabled() : cached.withLoggingDisabled();
}

describe('key-value store conformance', () => {
  for (const stack of stacks(600)) {
    keyValueStoreConformance({
      ...stack,
      builder: (name) =>
        withFlags(
          Stores.keyValueStoreBuilder(
            stack.persistent ? Stores.persistentKeyValueStore(name) : Stores.inMemoryKeyValueStore(name),
            bytesSerde,
            stringSerde,
          ),
          stack,
        ),
    });
  }
});

describe('window store conformance', () => {
  for (const retainDuplicates of [false, true]) {
    // Caching is ignored for stores that retain duplicates: their stacks with caching requested are
    // the ones without a cache.
    for (const stack of stacks(700).filter((s) => !retainDuplicates || (s.caching && !s.cacheMaxBytes))) {
      windowStoreConformance({
        ...stack,
        label: retainDuplicates
          ? stack.label.replace('caching on', 'duplicates (caching requested, ignored)')
          : stack.label,
        retainDuplicates,
        builder: (name) =>
          withFlags(
            Stores.windowStoreBuilder(
              stack.persistent
                ? Stores.persistentWindowStore(name, RETENTION, WINDOW, retainDuplicates)
                : Stores.inMemoryWindowStore(name, RETENTION, WINDOW, retainDuplicates),
              stringSerde,
              stringSerde,
            ),
            stack,
          ),
      });
    }
  }
});

describe('session store conformance', () => {
  for (const stack of stacks(600)) {
    sessionStoreConformance({
      ...stack,
      builder: (name) =>
        withFlags(
          Stores.sessionStoreBuilder(
            stack.persistent
              ? Stores.persistentSessionStore(name, SESSION_RETENTION)
              : Stores.inMemorySessionStore(name, SESSION_RETENTION),
            stringSerde,
            stringSerde,
          ),
          stack,
        ),
    });
  }
});
