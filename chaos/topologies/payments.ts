import { Consumed, Grouped, Materialized, Serdes, defineTopology } from '../../src/index.ts';

interface Payment {
  user: string;
  amount: number;
}

/**
 * The hostile-input topology: MessagePack payments summed per user. Its mapper refuses what is not a
 * payment (as careful user code does), so malformed records meet the deserialization handler or the
 * processing handler, and with --dead-letter-topic end up there.
 */
export default defineTopology({
  applicationId: process.env.CHAOS_APPLICATION_ID ?? 'chaos-payments',
  build(builder) {
    builder
      .stream(
        process.env.CHAOS_INPUT_TOPIC ?? 'chaos-payments',
        Consumed.with(Serdes.String(), Serdes.MsgPack<Payment>()),
      )
      .mapValues((p) => {
        if (typeof p !== 'object' || p === null) throw new TypeError(`not a payment: ${typeof p}`);
        if (typeof p.amount !== 'number' || !Number.isFinite(p.amount))
          throw new TypeError('payment without a numeric amount');
        return p.amount;
      })
      .groupByKey(Grouped.with(Serdes.String(), Serdes.JSON<number>()))
      .reduce((a, b) => a + b, Materialized.as<string, number>('totals').withKeySerde(Serdes.String()));
  },
});
