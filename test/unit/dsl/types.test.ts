/**
 * Type-level tests (checked by tsc in `npm run lint`, and run by vitest): sources infer key and value
 * types from their serdes, and result types say where the update stream carries nulls.
 */
import { describe, expectTypeOf, it } from 'vitest';

import type { GlobalKTable, KStream, KTable } from '../../../src/index.ts';
import {
  Consumed,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
  type Windowed,
} from '../../../src/index.ts';

describe('DSL types', () => {
  it('stream(), table() and globalTable() infer key and value types from their serdes', () => {
    const b = new StreamsBuilder();
    expectTypeOf(b.stream('t', Consumed.with(Serdes.String(), Serdes.Long()))).toEqualTypeOf<
      KStream<string, number>
    >();
    expectTypeOf(b.table('u', Consumed.with(Serdes.String(), Serdes.Boolean()))).toEqualTypeOf<
      KTable<string, boolean, boolean | null>
    >();
    expectTypeOf(b.globalTable('g', Consumed.with(Serdes.Integer(), Serdes.String()))).toEqualTypeOf<
      GlobalKTable<number, string>
    >();
    // Without serdes (the configured defaults apply at run time) the types are unknown.
    expectTypeOf(b.stream('v')).toEqualTypeOf<KStream<unknown, unknown>>();
    expectTypeOf(b.stream<string, { n: number }>('w')).toEqualTypeOf<KStream<string, { n: number }>>();
  });

  it('update streams carry null where Kafka Streams emits deletes', () => {
    const b = new StreamsBuilder();
    const s = b.stream('t', Consumed.with(Serdes.String(), Serdes.Long()));
    const timeCounts = s.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(1000)).count();
    expectTypeOf(timeCounts.toStream()).toEqualTypeOf<KStream<Windowed<string>, number>>();
    const sessionCounts = s.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(1000)).count();
    // A record that bridges two sessions deletes them (null) and emits the merged one.
    expectTypeOf(sessionCounts.toStream()).toEqualTypeOf<KStream<Windowed<string>, number | null>>();
    expectTypeOf(sessionCounts.mapValues((n) => String(n)).toStream()).toEqualTypeOf<
      KStream<Windowed<string>, string | null>
    >();
    // Tombstones in a table's topic and filter() delete.
    const table = b.table('u', Consumed.with(Serdes.String(), Serdes.Long()));
    expectTypeOf(table.toStream()).toEqualTypeOf<KStream<string, number | null>>();
    expectTypeOf(
      s
        .groupByKey()
        .count()
        .filter((_k, n) => n > 1)
        .toStream(),
    ).toEqualTypeOf<KStream<string, number | null>>();
    expectTypeOf(s.groupByKey().count().toStream()).toEqualTypeOf<KStream<string, number>>();
  });
});
