import type { RestorableStateStore, StateStore, StateStoreContext, StoreCounters } from './types.ts';

export function createStoreCounters(): StoreCounters {
  return {
    puts: 0,
    gets: 0,
    deletes: 0,
    rangeScans: 0,
    restored: 0,
    expiredWindowDrops: 0,
    cacheHits: 0,
    cacheMisses: 0,
    cacheFlushedEntries: 0,
    cacheEvictions: 0,
  };
}

/** The counters the context hands out for this store, or a private set nobody reads. */
export function countersFor(context: StateStoreContext, storeName: string): StoreCounters {
  return context.storeCounters?.(storeName) ?? createStoreCounters();
}

export function isRestorable(store: StateStore): store is RestorableStateStore {
  return typeof (store as Partial<RestorableStateStore>).restoreBatch === 'function';
}
