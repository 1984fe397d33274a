import type { Processor, ProcessorContext } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';
import type { InternalProcessorContext } from '../../processor/internals/task.ts';
import { PUT_RETURN_CODE_NOT_PUT } from '../../state/versioned-key-value-store.ts';
import { logger } from '../../logger.ts';
import type { ValueGetter, ValueGetterSupplier } from '../value-getter.ts';
import { change, isLatest, type Change } from './change.ts';
import { TupleForwarder } from './forwarding.ts';
import { PUT_RETURN_CODE_IS_LATEST, tableStore, type TableStore } from './table-store.ts';

export type TableJoinKind = 'inner' | 'left' | 'outer';

/**
 * One side of a table-table join (Kafka Streams' KTableKTableInnerJoin / LeftJoin / RightJoin /
 * OuterJoin): an update of this side looks up the other side's current value and emits the joined
 * change. `thisIsLeft` says whether this side's values are the joiner's first argument.
 */
export function tableJoinSideProcessor<K, VT, VO, VR>(options: {
  kind: TableJoinKind;
  thisIsLeft: boolean;
  other: ValueGetterSupplier<K, VO>;
  joiner: (left: any, right: any, key: K) => VR;
  sendOldValues: () => boolean;
}): () => Processor<K, Change<VT>, K, Change<VR>> {
  const { kind, thisIsLeft, other, joiner, sendOldValues } = options;
  const join = (key: K, mine: VT | null, theirs: VO | null): VR =>
    thisIsLeft ? joiner(mine, theirs, key) : joiner(theirs, mine, key);
  return () => {
    let context: ProcessorContext<K, Change<VR>>;
    let getOther: ValueGetter<K, VO>;
    return {
      init(ctx) {
        context = ctx;
        getOther = other.create(ctx);
      },
      process(record: Record<K, Change<VT>>) {
        if (record.key === null || record.key === undefined) {
          logger.debug('Skipping table join record due to null key');
          (context as unknown as InternalProcessorContext).recordDropped('null-key');
          return;
        }
        if (!isLatest(record.value)) {
          // An out-of-order version of a versioned table is not joined (Kafka Streams 3.5+, KIP-914).
          logger.debug(
            'Skipping out-of-order record from versioned table while performing table-table join.',
          );
          (context as unknown as InternalProcessorContext).recordDropped('out-of-order');
          return;
        }
        const otherVt = getOther(record.key);
        const theirs = otherVt?.value ?? null;
        const { newValue, oldValue } = record.value;
        let timestamp: number;
        let outNew: VR | null = null;
        let outOld: VR | null = null;
        // The right side of a left join behaves like an inner join that passes null new values through.
        const thisSideOptional = kind === 'outer' || (kind === 'left' && thisIsLeft);
        if (theirs === null) {
          if (!thisSideOptional) return;
          if (newValue === null && oldValue === null) return;
          timestamp = record.timestamp;
        } else {
          timestamp = Math.max(record.timestamp, otherVt!.timestamp);
        }
        if (kind === 'left' && !thisIsLeft) {
          outNew = join(record.key, newValue, theirs);
          if (sendOldValues()) outOld = join(record.key, oldValue, theirs);
        } else if (kind === 'outer') {
          if (theirs !== null || newValue !== null) outNew = join(record.key, newValue, theirs);
          if (sendOldValues() && (theirs !== null || oldValue !== null))
            outOld = join(record.key, oldValue, theirs);
        } else {
          if (newValue !== null) outNew = join(record.key, newValue, theirs);
          if (sendOldValues() && oldValue !== null) outOld = join(record.key, oldValue, theirs);
        }
        context.forward(record.withValue(change(outNew, outOld)).withTimestamp(timestamp));
      },
    };
  };
}

/** Both join sides meet here; materializes the join result when it is named (KTableKTableJoinMerger). */
export function tableJoinMergerProcessor<K, VR>(
  storeName: string | undefined,
  sendOldValues: () => boolean,
): () => Processor<K, Change<VR>, K, Change<VR>> {
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
      process(record: Record<K, Change<VR>>) {
        if (store && forwarder) {
          const { newValue, oldValue } = record.value;
          const putCode = store.put(record.key, newValue, record.timestamp);
          if (putCode === PUT_RETURN_CODE_NOT_PUT) return;
          forwarder.maybeForward(
            record.withValue(change(newValue, oldValue, putCode === PUT_RETURN_CODE_IS_LATEST)),
          );
        } else if (sendOldValues()) {
          context.forward(record);
        } else {
          context.forward(record.withValue(change(record.value.newValue, null)));
        }
      },
    };
  };
}

/** Computes a join table's value on the fly from both sides' getters (for downstream lookups). */
export function joinedValueGetter<K, V1, V2, VR>(
  kind: TableJoinKind,
  left: ValueGetterSupplier<K, V1>,
  right: ValueGetterSupplier<K, V2>,
  joiner: (left: V1 | null, right: V2 | null, key: K) => VR,
): ValueGetterSupplier<K, VR> {
  return {
    storeNames: () => [...new Set([...left.storeNames(), ...right.storeNames()])],
    create(ctx) {
      const getLeft = left.create(ctx);
      const getRight = right.create(ctx);
      return (key) => {
        const l = getLeft(key);
        const r = getRight(key);
        if (kind === 'inner' && (!l || !r)) return undefined;
        if (kind === 'left' && !l) return undefined;
        if (kind === 'outer' && !l && !r) return undefined;
        const timestamp = Math.max(l?.timestamp ?? -1, r?.timestamp ?? -1);
        return { value: joiner(l?.value ?? null, r?.value ?? null, key), timestamp };
      };
    },
  };
}
