import type { Processor, ProcessorContext } from '../processor/api.ts';
import { Record } from '../processor/record.ts';
import { StreamsError } from '../processor/internals/errors.ts';
import { Serdes } from '../serde/index.ts';
import { Stores } from '../state/index.ts';
import type { KeyValueStore, Windowed } from '../state/types.ts';
import { TopologyError } from '../topology/topology.ts';
import { KTable } from './ktable.ts';
import type { Suppressed } from './suppressed.ts';
import { change, type Change } from './processors/change.ts';

/** One buffered key: when it was first buffered, and its prior and latest values. */
interface BufferEntry<K, V> {
  key: K;
  time: number;
  timestamp: number;
  newValue: V | null;
  oldValue: V | null;
  /** Tie-breaker among entries with the same time (Kafka Streams orders by key bytes). */
  order: string;
}

type StoredEntry = { t: number; ts: number; n: unknown; o: unknown };

export function suppressTable<K, V>(table: KTable<K, V>, suppressed: Suppressed<K>): KTable<K, V> {
  const builder = table.builder;
  // As Kafka Streams' eager check: only the table's own store is looked at.
  if (table.storeName && builder.topology.storeMetadata.get(table.storeName)?.versioned) {
    throw new TopologyError('suppress() is only supported for non-versioned KTables');
  }
  const name = suppressed.name ?? builder.newName('KTABLE-SUPPRESS-');
  const storeName = suppressed.name
    ? `${suppressed.name}-store`
    : builder.newName('KTABLE-SUPPRESS-STATE-STORE-');
  // The buffer needs each update's prior value.
  table.enableSendingOldValues();
  const windowClose = suppressed.mode === 'window-close';
  const graceOf = (): number => {
    const meta = table.storeName ? builder.topology.storeMetadata.get(table.storeName) : undefined;
    if (!meta?.window) {
      throw new StreamsError(
        `suppress(untilWindowCloses) needs a windowed aggregation upstream of '${name}'`,
      );
    }
    return meta.window.graceMs;
  };
  const waitMs = windowClose ? graceOf() : suppressed.timeToWaitMs;
  builder.topology.addProcessor(
    name,
    suppressProcessor<K, V>(storeName, suppressed, waitMs, windowClose, () => result?.sendOldValues ?? false),
    table.nodeName,
  );
  // The buffer is kept in memory and logged to a changelog, so a restarted task restores it.
  builder.topology.addStateStore(
    Stores.keyValueStoreBuilder(
      Stores.inMemoryKeyValueStore(storeName),
      Serdes.MsgPack<K>(),
      Serdes.MsgPack<StoredEntry>(),
    )
      .withCachingDisabled()
      .withLoggingEnabled({}),
    name,
  );
  const result = new KTable<K, V>(builder, name, table.keySerde, table.valueSerde, undefined, false, {
    valueGetter: () => table.valueGetterSupplier(),
    enableSendingOldValues: () => undefined,
  });
  return result;
}

function orderOf(key: unknown): string {
  if (typeof key === 'string') return Buffer.from(key).toString('latin1');
  if (typeof key === 'number') return key.toString(36).padStart(16, '0');
  const windowed = key as Windowed<unknown>;
  if (windowed && typeof windowed === 'object' && 'window' in windowed) {
    return `${orderOf(windowed.key)}\u0000${String(windowed.window.start).padStart(16, '0')}`;
  }
  return JSON.stringify(key);
}

/**
 * Kafka Streams' KTableSuppressProcessor: buffers the latest update per key (keeping the time the
 * key was first buffered) and emits entries whose time <= stream time - wait, oldest first. For final
 * results the time is the window end and deletes are dropped.
 */
function suppressProcessor<K, V>(
  storeName: string,
  suppressed: Suppressed<K>,
  waitMs: number,
  windowClose: boolean,
  sendOldValues: () => boolean,
): () => Processor<K, Change<V>, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>;
    let store: KeyValueStore<K, StoredEntry>;
    const byOrder = new Map<string, BufferEntry<K, V>>();
    let observedStreamTime = -1;
    const { maxRecords, whenFull } = suppressed.buffer;

    const minEntry = (): BufferEntry<K, V> | undefined => {
      let min: BufferEntry<K, V> | undefined;
      for (const e of byOrder.values()) {
        if (!min || e.time < min.time || (e.time === min.time && e.order < min.order)) min = e;
      }
      return min;
    };
    const emit = (entry: BufferEntry<K, V>): void => {
      byOrder.delete(entry.order);
      store.delete(entry.key);
      if (windowClose && entry.newValue === null) return; // final results: deletes are not emitted
      context.forward(
        new Record(
          entry.key,
          change(entry.newValue, sendOldValues() ? entry.oldValue : null),
          entry.timestamp,
        ),
      );
    };
    const enforce = (): void => {
      const expiry = observedStreamTime - waitMs;
      for (let e = minEntry(); e && e.time <= expiry; e = minEntry()) emit(e);
      if (byOrder.size > maxRecords) {
        if (whenFull === 'shut-down') {
          throw new StreamsError(
            `Suppression buffer '${storeName}' is full (${byOrder.size} records > ${maxRecords}); the buffer is configured to shut down when full`,
          );
        }
        while (byOrder.size > maxRecords) emit(minEntry()!);
      }
    };
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<KeyValueStore<K, StoredEntry>>(storeName);
        for (const { key, value } of store.all()) {
          const order = orderOf(key);
          byOrder.set(order, {
            key,
            time: value.t,
            timestamp: value.ts,
            newValue: value.n as V | null,
            oldValue: value.o as V | null,
            order,
          });
        }
      },
      process(record: Record<K, Change<V>>) {
        observedStreamTime = Math.max(observedStreamTime, record.timestamp);
        const order = orderOf(record.key);
        const existing = byOrder.get(order);
        const time = existing
          ? existing.time
          : windowClose
            ? (record.key as unknown as Windowed<unknown>).window.end
            : record.timestamp;
        const entry: BufferEntry<K, V> = {
          key: record.key,
          time,
          timestamp: record.timestamp,
          newValue: record.value.newValue,
          oldValue: existing ? existing.oldValue : record.value.oldValue,
          order,
        };
        byOrder.set(order, entry);
        store.put(record.key, { t: entry.time, ts: entry.timestamp, n: entry.newValue, o: entry.oldValue });
        enforce();
      },
    };
  };
}
