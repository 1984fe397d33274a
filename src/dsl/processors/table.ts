import type { Processor, ProcessorContext } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';
import type { InternalProcessorContext } from '../../processor/internals/task.ts';
import { PUT_RETURN_CODE_NOT_PUT } from '../../state/versioned-key-value-store.ts';
import { logger } from '../../logger.ts';
import { change, type Change } from './change.ts';
import { TupleForwarder } from './forwarding.ts';
import { PUT_RETURN_CODE_IS_LATEST, tableStore, type TableStore } from './table-store.ts';

/**
 * Turns a changelog stream into table updates (Kafka Streams' KTableSource): null keys are dropped;
 * a null value is a tombstone that deletes the key. Materializes into `storeName` when given. On a
 * versioned store, an update the store refuses (older than its history retention) is not
 * forwarded, and an out-of-order one is forwarded marked `isLatest: false`, as in Kafka Streams 3.5+.
 */
export function tableSourceProcessor<K, V>(
  storeNameOf: () => string | undefined,
  sendOldValues: () => boolean,
): () => Processor<K, V, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>;
    let store: TableStore<K, V> | undefined;
    let forwarder: TupleForwarder<K, V> | undefined;
    let storeName: string | undefined;
    return {
      init(ctx) {
        context = ctx;
        storeName = storeNameOf();
        if (storeName) {
          store = tableStore<K, V>(ctx, storeName);
          forwarder = new TupleForwarder(store.store, ctx, sendOldValues());
        }
      },
      process(record: Record<K, V>) {
        if (record.key === null || record.key === undefined) {
          const meta = context.recordMetadata();
          logger.debug(
            `Skipping record due to null key.` +
              (meta ? ` topic=[${meta.topic}] partition=[${meta.partition}] offset=[${meta.offset}]` : ''),
          );
          (context as unknown as InternalProcessorContext).recordDropped('null-key');
          return;
        }
        const newValue = record.value === undefined ? null : record.value;
        if (!store || !forwarder) {
          context.forward(record.withValue(change<V>(newValue, null)));
          return;
        }
        const old = store.get(record.key);
        if (old !== undefined && record.timestamp < old.timestamp) {
          logger.debug(`Detected out-of-order KTable update for store ${storeName}`);
        }
        const putCode = store.put(record.key, newValue, record.timestamp);
        if (putCode === PUT_RETURN_CODE_NOT_PUT) return;
        forwarder.maybeForward(
          record.withValue(
            change<V>(
              newValue,
              sendOldValues() ? (old?.value ?? null) : null,
              putCode === PUT_RETURN_CODE_IS_LATEST,
            ),
          ),
        );
      },
    };
  };
}

/** KTable.toStream(): emits each update's new value (null for deletes), optionally re-keyed. */
export function toStreamProcessor<K, V, KR>(
  mapper?: (key: K, value: V | null) => KR,
): () => Processor<K, Change<V>, KR, V | null> {
  return () => {
    let context: ProcessorContext<KR, V | null>;
    return {
      init(ctx) {
        context = ctx;
      },
      process(record: Record<K, Change<V>>) {
        const value = record.value.newValue;
        const key = mapper ? mapper(record.key, value) : (record.key as unknown as KR);
        context.forward(record.withKey(key).withValue(value));
      },
    };
  };
}
