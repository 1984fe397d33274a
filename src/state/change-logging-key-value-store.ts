import { ChangeLoggingStore } from './change-logging-store.ts';
import type { KeyValue, KeyValueBytesStore } from './types.ts';

/**
 * Change logging of a key-value store (Kafka Streams' ChangeLoggingKeyValueBytesStore): the
 * changelog key is the key itself.
 */
export class ChangeLoggingKeyValueBytesStore
  extends ChangeLoggingStore<KeyValueBytesStore>
  implements KeyValueBytesStore
{
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
}
