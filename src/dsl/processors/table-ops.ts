import type { Processor, ProcessorContext } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';
import { PUT_RETURN_CODE_NOT_PUT } from '../../state/versioned-key-value-store.ts';
import { change, isLatest, type Change } from './change.ts';
import { TupleForwarder } from './forwarding.ts';
import { PUT_RETURN_CODE_IS_LATEST, tableStore, type TableStore } from './table-store.ts';

/**
 * A per-key transformation of table updates shared by KTable.filter and KTable.mapValues
 * (Kafka Streams' KTableFilter / KTableMapValues): compute the new (and, when asked, old) value;
 * materialize into `storeName` when the result is named.
 */
export function tableTransformProcessor<K, V, VR>(options: {
  storeName: string | undefined;
  compute: (key: K, value: V | null) => VR | null;
  sendOldValues: () => boolean;
  /** Filter semantics: an update that is null before and after is not forwarded when old values flow. */
  skipDoubleNull: boolean;
}): () => Processor<K, Change<V>, K, Change<VR>> {
  const { storeName, compute, sendOldValues, skipDoubleNull } = options;
  return () => {
    let context: ProcessorContext<K, Change<VR>>;
    let store: TableStore<K, VR> | undefined;
    let forwarder: TupleForwarder<K, VR> | undefined;
    return {
      init(ctx) {
        context = ctx;
        if (storeName) {
          store = tableStore<K, VR>(ctx, storeName);
          forwarder = new TupleForwarder(store.store, ctx, sendOldValues());
        }
      },
      process(record: Record<K, Change<V>>) {
        const newValue = compute(record.key, record.value.newValue);
        let oldValue: VR | null = null;
        if (sendOldValues()) {
          oldValue = store
            ? (store.get(record.key)?.value ?? null)
            : compute(record.key, record.value.oldValue);
        }
        if (skipDoubleNull && sendOldValues() && oldValue === null && newValue === null) return;
        if (store && forwarder) {
          // Materialized, the result's own store says whether it is the latest (a timestamped one: always).
          const putCode = store.put(record.key, newValue, record.timestamp);
          if (putCode === PUT_RETURN_CODE_NOT_PUT) return;
          forwarder.maybeForward(
            record.withValue(change(newValue, oldValue, putCode === PUT_RETURN_CODE_IS_LATEST)),
          );
        } else {
          context.forward(record.withValue(change(newValue, oldValue, isLatest(record.value))));
        }
      },
    };
  };
}

/**
 * KTable.groupBy's re-keying step (Kafka Streams' KTableRepartitionMap): each update becomes a
 * subtraction of the old pair and an addition of the new one, sent to the new keys.
 */
export function tableRepartitionMapProcessor<K, V, KR, VR>(
  selector: (key: K, value: V) => { key: KR; value: VR },
): () => Processor<K, Change<V>, KR, Change<VR>> {
  return () => {
    let context: ProcessorContext<KR, Change<VR>>;
    return {
      init(ctx) {
        context = ctx;
      },
      process(record: Record<K, Change<V>>) {
        if (record.key === null || record.key === undefined) {
          throw new Error('Record key for the grouping KTable should not be null');
        }
        // Aggregating a versioned table counts latest versions only (Kafka Streams 3.5+, KIP-914).
        if (!isLatest(record.value)) return;
        const newPair = record.value.newValue === null ? null : selector(record.key, record.value.newValue);
        const oldPair = record.value.oldValue === null ? null : selector(record.key, record.value.oldValue);
        const oldOk = oldPair !== null && oldPair.key != null && oldPair.value != null;
        const newOk = newPair !== null && newPair.key != null && newPair.value != null;
        if (oldOk && newOk && sameKey(oldPair.key, newPair.key)) {
          context.forward(record.withKey(oldPair.key).withValue(change(newPair.value, oldPair.value)));
          return;
        }
        // Subtract first, then add: downstream aggregates stay consistent.
        if (oldOk) context.forward(record.withKey(oldPair.key).withValue(change<VR>(null, oldPair.value)));
        if (newOk) context.forward(record.withKey(newPair.key).withValue(change<VR>(newPair.value, null)));
      },
    };
  };
}

function sameKey(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return typeof a === 'object' && a !== null && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Aggregation of a re-grouped table (Kafka Streams' KTableAggregate / KTableReduce): subtract the old
 * value, then add the new one.
 */
export function tableAggregateProcessor<K, V, VA>(options: {
  storeName: string;
  initializer: (() => VA) | undefined;
  adder: (key: K, value: V, aggregate: VA) => VA;
  subtractor: (key: K, value: V, aggregate: VA) => VA;
  sendOldValues: () => boolean;
}): () => Processor<K, Change<V>, K, Change<VA>> {
  const { storeName, initializer, adder, subtractor, sendOldValues } = options;
  return () => {
    let store: TableStore<K, VA>;
    let forwarder: TupleForwarder<K, VA>;
    return {
      init(ctx) {
        store = tableStore<K, VA>(ctx, storeName);
        forwarder = new TupleForwarder(store.store, ctx, sendOldValues());
      },
      process(record: Record<K, Change<V>>) {
        if (record.key === null || record.key === undefined) {
          throw new Error(
            `Record key for KTable aggregate operator with state ${storeName} should not be null`,
          );
        }
        const old = store.get(record.key);
        const oldAgg = old?.value ?? null;
        let intermediate: VA | null;
        let timestamp = record.timestamp;
        if (record.value.oldValue !== null && oldAgg !== null) {
          intermediate = subtractor(record.key, record.value.oldValue, oldAgg);
          timestamp = Math.max(record.timestamp, old!.timestamp);
        } else {
          intermediate = oldAgg;
        }
        let newAgg: VA | null;
        if (record.value.newValue !== null) {
          if (intermediate === null) {
            // Reduce starts from the first value; aggregate from the initializer.
            newAgg = initializer
              ? adder(record.key, record.value.newValue, initializer())
              : (record.value.newValue as unknown as VA);
            if (initializer && old !== undefined) timestamp = Math.max(record.timestamp, old.timestamp);
          } else {
            newAgg = adder(record.key, record.value.newValue, intermediate);
            if (old !== undefined) timestamp = Math.max(record.timestamp, old.timestamp);
          }
        } else {
          newAgg = intermediate;
        }
        const putCode = store.put(record.key, newAgg ?? null, timestamp);
        if (putCode === PUT_RETURN_CODE_NOT_PUT) return;
        forwarder.maybeForward(
          record
            .withValue(
              change(newAgg ?? null, sendOldValues() ? oldAgg : null, putCode === PUT_RETURN_CODE_IS_LATEST),
            )
            .withTimestamp(timestamp),
        );
      },
    };
  };
}
