import type { ProcessorContext } from '../../processor/api.ts';
import { Record } from '../../processor/record.ts';
import type { CachedStore } from '../../state/types.ts';
import type { ValueAndTimestamp } from '../../state/index.ts';
import { change, type Change } from './change.ts';

/**
 * Forwards table updates either at once (no cache) or when the store's cache flushes them, deduplicated
 * (Kafka Streams' TimestampedTupleForwarder).
 */
export class TupleForwarder<K, V> {
  private readonly cached: boolean;

  constructor(
    store: unknown,
    private readonly context: ProcessorContext<K, Change<V>>,
    private readonly sendOldValues: boolean,
  ) {
    const cachedStore = store as Partial<CachedStore<K, ValueAndTimestamp<V>>>;
    this.cached =
      typeof cachedStore.setFlushListener === 'function' &&
      cachedStore.setFlushListener((key, newValue, oldValue, timestamp) => {
        this.context.forward(
          new Record(
            key,
            change(newValue?.value ?? null, this.sendOldValues ? (oldValue?.value ?? null) : null),
            newValue?.timestamp ?? timestamp,
          ),
        );
      }, sendOldValues);
  }

  maybeForward(record: Record<K, Change<V>>): void {
    if (!this.cached) this.context.forward(record);
  }
}
