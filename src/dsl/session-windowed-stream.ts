import type { Serde } from '../serde/serde.ts';
import type { Windowed } from '../state/types.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import { GroupedBase } from './grouped-base.ts';
import type { KTable } from './ktable.ts';
import type { Materialized, Named } from './options.ts';
import type { SessionWindows } from './session-windows.ts';
import type { Aggregator, Initializer, Reducer } from './processors/aggregate.ts';

/** A grouped stream cut into session windows (Kafka Streams' SessionWindowedKStream). */
export class SessionWindowedKStream<K, V> extends GroupedBase<K, V> {
  constructor(
    builder: InternalStreamsBuilder,
    nodeName: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    repartitionRequired: boolean,
    repartitionName: string | undefined,
    readonly windows: SessionWindows,
  ) {
    super(builder, nodeName, keySerde, valueSerde, repartitionRequired, repartitionName);
  }

  count(_materialized?: Materialized<K, number>, _named?: Named): KTable<Windowed<K>, number> {
    throw new Error('session windows are not implemented yet');
  }

  reduce(_reducer: Reducer<V>, _materialized?: Materialized<K, V>, _named?: Named): KTable<Windowed<K>, V> {
    throw new Error('session windows are not implemented yet');
  }

  aggregate<VA>(
    _initializer: Initializer<VA>,
    _aggregator: Aggregator<K, V, VA>,
    ..._rest: unknown[]
  ): KTable<Windowed<K>, VA> {
    throw new Error('session windows are not implemented yet');
  }
}
