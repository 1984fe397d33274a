import type { Serde } from '../serde/serde.ts';
import { CachingStore } from './caching-store.ts';
import { countersFor, createStoreCounters } from './counters.ts';
import { StateStoreError } from './errors.ts';
import type {
  CachedStore,
  CacheFlushListener,
  KeyValue,
  RestorableStateStore,
  StateStoreContext,
  StoreCounters,
} from './types.ts';
import { WrappedStateStore } from './wrapped-state-store.ts';

/**
 * The typed face of a store (Kafka Streams' Metered* stores): serdes at the top of the wrapper
 * stack, operation counters for metrics, null handling (a null value is a delete; null never
 * reaches a serde; a null key is refused), and the flush listener of a caching layer below, typed.
 * A kind adds its typed operations and says how an entry of the layer below (`Parts`: key bytes and
 * the kind's window) becomes its typed key `TK`.
 */
export abstract class MeteredStore<
  K,
  V,
  Inner extends RestorableStateStore,
  Parts extends { key: Buffer },
  TK,
>
  extends WrappedStateStore<Inner>
  implements CachedStore<TK, V>
{
  /** Live counters of this store (the context's, when it hands them out). */
  counters: StoreCounters = createStoreCounters();

  constructor(
    inner: Inner,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {
    super(inner);
  }

  override init(context: StateStoreContext): Promise<void> {
    this.counters = countersFor(context, this.name);
    return this.inner.init(context);
  }

  /** True when a caching layer will call the listener on each flush of a dirty entry. */
  setFlushListener(listener: CacheFlushListener<TK, V>, sendOldValues: boolean): boolean {
    const inner: RestorableStateStore = this.inner;
    if (!(inner instanceof CachingStore)) return false;
    (inner as CachingStore<RestorableStateStore, Parts>).setEntryFlushListener(
      (parts, newValue, oldValue, timestamp) =>
        listener(this.typedKey(parts), this.toValue(newValue), this.toValue(oldValue), timestamp),
      sendOldValues,
    );
    return true;
  }

  /** The typed key of an entry below; `key` is its typed key part when the caller already has it. */
  protected abstract typedKey(parts: Parts, key?: K): TK;

  protected *typedEntries(entries: Iterable<Parts & { value: Buffer }>, key?: K): Generator<KeyValue<TK, V>> {
    for (const entry of entries)
      yield { key: this.typedKey(entry, key), value: this.toValue(entry.value) as V };
  }

  protected keyBytes(key: K): Buffer {
    if (key === null || key === undefined) throw new StateStoreError(this.name, 'key must not be null');
    return this.keySerde.serialize(key);
  }

  /** Bytes of an optional range bound (undefined or null: unbounded). */
  protected boundBytes(key: K | undefined): Buffer | undefined {
    return key === undefined || key === null ? undefined : this.keySerde.serialize(key);
  }

  protected valueBytes(value: V | null): Buffer | null {
    return value === null || value === undefined ? null : this.valueSerde.serialize(value);
  }

  protected toKey(bytes: Buffer): K {
    try {
      return this.keySerde.deserialize(bytes);
    } catch (error) {
      throw new StateStoreError(this.name, `cannot deserialize key: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  protected toValue(bytes: Buffer | null | undefined): V | undefined {
    if (bytes === null || bytes === undefined) return undefined;
    try {
      return this.valueSerde.deserialize(bytes);
    } catch (error) {
      throw new StateStoreError(this.name, `cannot deserialize value: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
