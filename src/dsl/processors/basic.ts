import type { ProcessorContext, ProcessorSupplier } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';

/** Forwards every record unchanged (merge nodes, branch children). */
export const passThrough: ProcessorSupplier = () => {
  let context: ProcessorContext;
  return {
    init(ctx) {
      context = ctx;
    },
    process(record: Record<unknown, unknown>) {
      context.forward(record);
    },
  };
};

/** Drops records without a key: they have no partition to go to on a repartition topic. */
export const dropNullKeys: ProcessorSupplier = () => {
  let context: ProcessorContext;
  return {
    init(ctx) {
      context = ctx;
    },
    process(record: Record<unknown, unknown>) {
      if (record.key !== null && record.key !== undefined) context.forward(record);
    },
  };
};
