import type { ProcessorContext } from '../../processor/api.ts';
import { Record } from '../../processor/record.ts';
import type { CachedStore, Windowed } from '../../state/types.ts';
import type { ValueAndTimestamp } from '../../state/index.ts';
import { change, type Change } from './change.ts';

/** The record forwarded for an update flushed from a store's cache (old value: undefined unless asked for). */
export type FlushedRecord<K, V, S> = (
  key: K,
  newValue: S | undefined,
  oldValue: S | undefined,
  timestamp: number,
) => Record<K, Change<V>>;

/**
 * Forwards table updates either at once (no cache) or when the store's cache flushes them, deduplicated
 * (Kafka Streams' TimestampedTupleForwarder). `flushed` makes the record of a flushed update from
 * the stored values: by default they are ValueAndTimestamp, and the update carries their timestamp.
 */
export class TupleForwarder<K, V> {
  private readonly cached: boolean;

  constructor(
    store: unknown,
    private readonly context: ProcessorContext<K, Change<V>>,
    sendOldValues: boolean,
    flushed: FlushedRecord<K, V, any> = timestampedRecord,
  ) {
    const cachedStore = store as Partial<CachedStore<K, unknown>>;
    this.cached =
      typeof cachedStore.setFlushListener === 'function' &&
      cachedStore.setFlushListener((key, newValue, oldValue, timestamp) => {
        this.context.forward(flushed(key, newValue, sendOldValues ? oldValue : undefined, timestamp));
      }, sendOldValues);
  }

  maybeForward(record: Record<K, Change<V>>): void {
    if (!this.cached) this.context.forward(record);
  }
}

function timestampedRecord<K, V>(
  key: K,
  newValue: ValueAndTimestamp<V> | undefined,
  oldValue: ValueAndTimestamp<V> | undefined,
  timestamp: number,
): Record<K, Change<V>> {
  return new Record(
    key,
    change(newValue?.value ?? null, oldValue?.value ?? null),
    newValue?.timestamp ?? timestamp,
  );
}

/**
 * Session stores keep plain aggregates; a flushed session update is stamped with the session's end
 * (Kafka Streams' SessionCacheFlushListener).
 */
export function sessionRecord<K, V>(
  key: Windowed<K>,
  newValue: V | undefined,
  oldValue: V | undefined,
): Record<Windowed<K>, Change<V>> {
  return new Record(key, change(newValue ?? null, oldValue ?? null), key.window.end);
}
