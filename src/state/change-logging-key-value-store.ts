import type { KeyValue, KeyValueBytesStore, StateStoreContext } from './types.ts';

/**
 * Sends every write that reaches it to the store's changelog through `context.logChange` (Kafka
 * Streams' ChangeLoggingKeyValueBytesStore); a pass-through when the context has no logChange
 * (batch mode). Below a cache it sees, and logs, only the deduplicated writes of each flush.
 */
export class ChangeLoggingKeyValueBytesStore implements KeyValueBytesStore {
  private logging = false;
  private context: StateStoreContext | undefined;

  constructor(readonly inner: KeyValueBytesStore) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  init(context: StateStoreContext): Promise<void> {
    this.context = context;
    this.logging = context.logChange !== undefined;
    return this.inner.init(context);
  }

  isOpen(): boolean {
    return this.inner.isOpen();
  }

  get(key: Buffer): Buffer | undefined {
    return this.inner.get(key);
  }

  put(key: Buffer, value: Buffer | null): void {
    this.inner.put(key, value);
    this.log(key, value);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const existing = this.inner.putIfAbsent(key, value);
    if (existing === undefined) this.log(key, value);
    return existing;
  }

  putAll(entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    this.inner.putAll(entries);
    for (const { key, value } of entries) this.log(key, value);
  }

  /** Logs a tombstone even when the key was absent, as Kafka Streams does. */
  delete(key: Buffer): Buffer | undefined {
    const existing = this.inner.delete(key);
    this.log(key, null);
    return existing;
  }

  range(
    from: Buffer | undefined,
    to: Buffer | undefined,
    reverse?: boolean,
  ): IterableIterator<KeyValue<Buffer, Buffer>> {
    return this.inner.range(from, to, reverse);
  }

  prefixScan(prefix: Buffer): IterableIterator<KeyValue<Buffer, Buffer>> {
    return this.inner.prefixScan(prefix);
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }

  /** Restored records come from the changelog; they are not logged again. */
  restoreBatch(records: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    this.inner.restoreBatch(records);
  }

  flushCache(): void {
    this.inner.flushCache();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  async close(): Promise<void> {
    this.context = undefined;
    this.logging = false;
    await this.inner.close();
  }

  private log(key: Buffer, value: Buffer | null): void {
    if (this.logging) {
      const context = this.context!;
      context.logChange!(this.name, key, value, context.currentTimestamp());
    }
  }
}
