import type { Processor, ProcessorContext } from '../processor/api.ts';
import type { Record } from '../processor/record.ts';
import type { InternalProcessorContext } from '../processor/internals/task.ts';
import type { KeyValueStore } from '../state/types.ts';
import type { ValueAndTimestamp } from '../state/index.ts';
import { logger } from '../logger.ts';
import { KStream } from './kstream.ts';
import type { KTable } from './ktable.ts';
import type { GlobalKTable } from './global-ktable.ts';
import type { Joined, Named, ValueJoiner } from './options.ts';
import type { ValueGetter, ValueGetterSupplier } from './value-getter.ts';
import { repartitionStream } from './repartition.ts';

/**
 * Stream-table join (Kafka Streams' KStreamKTableJoin): each stream record looks up the table's current
 * value for its key (a versioned table's value as of the record's timestamp); the table side never
 * triggers output. Inner joins drop records without a match.
 */
export function streamTableJoin<K, V, VT, VR>(
  stream: KStream<K, V>,
  table: KTable<K, VT, any>,
  kind: 'inner' | 'left',
  joiner: ValueJoiner<V, VT | null, VR, K>,
  joined: Joined<K, V, VT> | undefined,
): KStream<K, VR> {
  const builder = stream.builder;
  const name = joined?.name ?? builder.newName(kind === 'left' ? 'KSTREAM-LEFTJOIN-' : 'KSTREAM-JOIN-');
  const source = stream.repartitionRequired
    ? repartitionStream(
        stream,
        `${name}-repartition`,
        joined?.keySerde ?? stream.keySerde,
        joined?.valueSerde ?? stream.valueSerde,
      )
    : stream;
  const getter = table.valueGetterSupplier();
  builder.topology.addProcessor(
    name,
    lookupJoinProcessor<K, V, K, VT, VR>(getter, (key) => key, kind, joiner),
    source.nodeName,
  );
  builder.topology.connectProcessorAndStateStores(name, ...getter.storeNames());
  // The stream's partitions must line up with the table's: same key, same partition.
  builder.topology.copartitionGroups.push([
    ...new Set([
      ...builder.topology.upstreamSourceTopics(source.nodeName),
      ...builder.topology.upstreamSourceTopics(table.nodeName),
    ]),
  ]);
  return new KStream<K, VR>(builder, name, source.keySerde, undefined, false);
}

/** Stream-global-table join: the lookup key is selected from each record; no co-partitioning needed. */
export function streamGlobalTableJoin<K, V, GK, GV, VR>(
  stream: KStream<K, V>,
  table: GlobalKTable<GK, GV>,
  kind: 'inner' | 'left',
  keySelector: (key: K, value: V) => GK,
  joiner: ValueJoiner<V, GV | null, VR, K>,
  named: Named | undefined,
): KStream<K, VR> {
  const builder = stream.builder;
  const name = named?.name ?? builder.newName(kind === 'left' ? 'KSTREAM-LEFTJOIN-' : 'KSTREAM-JOIN-');
  const getter: ValueGetterSupplier<GK, GV> = {
    storeNames: () => [table.storeName],
    create(ctx) {
      const store = ctx.getStateStore<KeyValueStore<GK, ValueAndTimestamp<GV>>>(table.storeName);
      return (key) => store.get(key) ?? undefined;
    },
  };
  builder.topology.addProcessor(
    name,
    lookupJoinProcessor<K, V, GK, GV, VR>(getter, keySelector, kind, joiner),
    stream.nodeName,
  );
  builder.topology.connectProcessorAndStateStores(name, table.storeName);
  return new KStream<K, VR>(builder, name, stream.keySerde, undefined, stream.repartitionRequired);
}

function lookupJoinProcessor<K, V, LK, VT, VR>(
  getterSupplier: ValueGetterSupplier<LK, VT>,
  keyMapper: (key: K, value: V) => LK,
  kind: 'inner' | 'left',
  joiner: ValueJoiner<V, VT | null, VR, K>,
): () => Processor<K, V, K, VR> {
  return () => {
    let context: ProcessorContext<K, VR>;
    let get: ValueGetter<LK, VT>;
    return {
      init(ctx) {
        context = ctx;
        get = getterSupplier.create(ctx);
      },
      process(record: Record<K, V>) {
        // A null value is an empty message, never joined; a null key can only left-join with nothing.
        const keyless = record.key === null || record.key === undefined;
        const valueless = record.value === null || record.value === undefined;
        const mappedKey = valueless ? null : keyMapper(record.key, record.value);
        if (
          !(kind === 'left' && keyless && !valueless) &&
          (mappedKey === null || mappedKey === undefined || valueless)
        ) {
          const meta = context.recordMetadata();
          logger.debug(
            'Skipping record due to null join key or value.' +
              (meta ? ` topic=[${meta.topic}] partition=[${meta.partition}] offset=[${meta.offset}]` : ''),
          );
          (context as unknown as InternalProcessorContext).recordDropped(keyless ? 'null-key' : 'null-value');
          return;
        }
        // A versioned table is read as of the stream record's time (Kafka Streams 3.5+, KIP-914).
        const other =
          mappedKey === null || mappedKey === undefined
            ? undefined
            : get.versioned
              ? get(mappedKey, record.timestamp)
              : get(mappedKey);
        const otherValue = other?.value ?? null;
        if (kind === 'left' || otherValue !== null) {
          context.forward(record.withValue(joiner(record.value, otherValue, record.key)));
        }
      },
    };
  };
}
