import type { ProcessorContext, ProcessorSupplier } from '../../processor/api.ts';
import type { InternalProcessorContext } from '../../processor/internals/task.ts';
import type { Record } from '../../processor/record.ts';
import type { WindowStore } from '../../state/types.ts';

/**
 * Drops a record whose id was seen within `retentionMs` of its timestamp, before or after (an
 * out-of-order copy counts too). Ids live in a window store (one window per id, at the time it was
 * first seen), changelogged like any store, so a restart, a failover or a batch run remembers them;
 * the store drops ids older than the retention as stream time moves on. A record without an id
 * (null or undefined) passes. Ids are remembered per task: records with the same id must arrive on
 * the same partition (key them by the id, or repartition first).
 */
export function deduplicateProcessor<K, V, ID>(
  storeName: string,
  retentionMs: number,
  idOf: (key: K, value: V) => ID | null | undefined,
): ProcessorSupplier<K, V, K, V> {
  return () => {
    let context: ProcessorContext<K, V>;
    let seen: WindowStore<ID, number>;
    return {
      init(ctx) {
        context = ctx;
        seen = ctx.getStateStore(storeName);
      },
      process(record: Record<K, V>) {
        const id = idOf(record.key, record.value);
        if (id === null || id === undefined) {
          context.forward(record);
          return;
        }
        const { timestamp } = record;
        const earlier = seen.fetchRange(id, timestamp - retentionMs, timestamp + retentionMs);
        if (!earlier.next().done) {
          (context as unknown as InternalProcessorContext).recordDropped('duplicate');
          return;
        }
        seen.put(id, timestamp, timestamp);
        context.forward(record);
      },
    };
  };
}
