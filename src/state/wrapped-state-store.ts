import type { RestorableStateStore, StateStoreContext } from './types.ts';

/** A changelog record as the restorer hands it to a store. */
export type ChangelogRecord = { key: Buffer; value: Buffer | null; timestamp?: number };

/**
 * One layer of a store stack over the store below it (Kafka Streams' WrappedStateStore): name,
 * persistence, lifecycle and restoration go down unchanged. Every metered, caching, change-logging
 * and segmented layer extends it and overrides only what its own concern changes.
 */
export abstract class WrappedStateStore<Inner extends RestorableStateStore> implements RestorableStateStore {
  constructor(readonly inner: Inner) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  init(context: StateStoreContext): Promise<void> {
    return this.inner.init(context);
  }

  isOpen(): boolean {
    return this.inner.isOpen();
  }

  flushCache(): void {
    this.inner.flushCache();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Applies changelog records (bytes, as logged) below; restored records are never logged again. */
  restoreBatch(records: ReadonlyArray<ChangelogRecord>): void {
    this.inner.restoreBatch(records);
  }
}
