import type { Processor } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';
import type { KeyValueStore } from '../../state/types.ts';
import type { ValueAndTimestamp } from '../../state/index.ts';

/** Keeps a global table's store up to date; global tables forward nothing downstream. */
export function globalTableSourceProcessor<K, V>(storeName: string): () => Processor<K, V, never, never> {
  return () => {
    let store: KeyValueStore<K, ValueAndTimestamp<V>>;
    return {
      init(ctx) {
        store = ctx.getStateStore<KeyValueStore<K, ValueAndTimestamp<V>>>(storeName);
      },
      process(record: Record<K, V>) {
        if (record.key === null || record.key === undefined) return;
        store.put(
          record.key,
          record.value === null || record.value === undefined
            ? null
            : { value: record.value, timestamp: record.timestamp },
        );
      },
    };
  };
}
