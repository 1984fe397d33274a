import type { Processor, ProcessorContext } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';
import type { InternalProcessorContext } from '../../processor/internals/task.ts';
import type { WindowStore } from '../../state/types.ts';
import type { ValueAndTimestamp } from '../../state/index.ts';
import { logger } from '../../logger.ts';
import type { DeltaIndex } from '../../state/delta-index.ts';
import type { TimeWindows } from '../windows.ts';
import type { Windowed } from '../../state/types.ts';
import { change, type Change } from './change.ts';
import { PUT_RETURN_CODE_NOT_PUT } from '../../state/versioned-key-value-store.ts';
import { PUT_RETURN_CODE_IS_LATEST, tableStore, type TableStore } from './table-store.ts';
import { TupleForwarder } from './forwarding.ts';
import { EmitStrategy } from '../emit-strategy.ts';
import { WindowCloseEmitter, type EmitRange } from './emit-final.ts';

export type Initializer<VA> = () => VA;
export type Aggregator<K, V, VA> = (key: K, value: V, aggregate: VA) => VA;
export type Reducer<V> = (aggregate: V, value: V) => V;

/** Logs and counts a record an aggregation cannot use (as Kafka Streams: "Skipping record due to ..."). */
export function skipRecord(
  context: ProcessorContext<any, any>,
  what: string,
  reason: 'null-key' | 'null-value',
): void {
  const meta = context.recordMetadata();
  logger.debug(
    meta
      ? `Skipping record due to ${what}. topic=[${meta.topic}] partition=[${meta.partition}] offset=[${meta.offset}]`
      : `Skipping record due to ${what}. Topic, partition, and offset not known.`,
  );
  (context as unknown as InternalProcessorContext).recordDropped(reason);
}

/** The delta index of a mergeable store, where the task keeps one (workers, for the serving layer). */
function mergeableDelta<K, VA>(
  context: ProcessorContext<any, any>,
  storeName: string,
): DeltaIndex<K, VA> | undefined {
  const delta = (context as unknown as InternalProcessorContext).deltaIndex(storeName);
  return delta?.mergeable ? (delta as DeltaIndex<K, VA>) : undefined;
}

/**
 * Folds a record into an aggregate: from the initializer when there is none yet (timestamp of the
 * record), else into the old one (the larger of both timestamps).
 */
function fold<K, V, VA>(
  key: K,
  value: V,
  timestamp: number,
  old: ValueAndTimestamp<VA> | undefined,
  initializer: Initializer<VA> | undefined,
  aggregator: (key: K, value: V, aggregate: VA | undefined) => VA,
): { value: VA; timestamp: number } {
  if (old === undefined || old.value === null || old.value === undefined) {
    return { value: aggregator(key, value, initializer ? initializer() : undefined), timestamp };
  }
  return { value: aggregator(key, value, old.value), timestamp: Math.max(timestamp, old.timestamp) };
}

/**
 * Rolling aggregation of a grouped stream (Kafka Streams' KStreamAggregate / KStreamReduce): records
 * with a null key or value are skipped; the result's timestamp is the largest input timestamp so far.
 */
export function aggregateProcessor<K, V, VA>(
  storeName: string,
  initializer: Initializer<VA> | undefined,
  aggregator: (key: K, value: V, aggregate: VA | undefined) => VA,
  sendOldValues: () => boolean,
): () => Processor<K, V, K, Change<VA>> {
  return () => {
    let context: ProcessorContext<K, Change<VA>>;
    let store: TableStore<K, VA>;
    let forwarder: TupleForwarder<K, VA>;
    let delta: DeltaIndex<K, VA> | undefined;
    return {
      init(ctx) {
        context = ctx;
        store = tableStore<K, VA>(ctx, storeName);
        forwarder = new TupleForwarder(store.store, ctx, sendOldValues());
        delta = mergeableDelta<K, VA>(ctx, storeName);
      },
      process(record: Record<K, V>) {
        if (
          record.key === null ||
          record.key === undefined ||
          record.value === null ||
          record.value === undefined
        ) {
          skipRecord(context, 'null key or value', record.key == null ? 'null-key' : 'null-value');
          return;
        }
        const old = store.get(record.key);
        const { value: newAgg, timestamp } = fold(
          record.key,
          record.value,
          record.timestamp,
          old,
          initializer,
          aggregator,
        );
        // A versioned store refuses a result older than its history retention: not forwarded either.
        const putCode = store.put(record.key, newAgg, timestamp);
        if (putCode === PUT_RETURN_CODE_NOT_PUT) return;
        // The serving layer's delta: this record folded into the partial of its own bucket.
        delta?.addPartial(record.key, record.timestamp, (partial) =>
          aggregator(record.key, record.value, partial ?? (initializer ? initializer() : undefined)),
        );
        forwarder.maybeForward(
          record
            .withValue(
              change(
                newAgg,
                sendOldValues() ? (old?.value ?? null) : null,
                putCode === PUT_RETURN_CODE_IS_LATEST,
              ),
            )
            .withTimestamp(timestamp),
        );
      },
    };
  };
}

/**
 * Windowed aggregation (Kafka Streams' KStreamWindowAggregate): each record updates every window that
 * contains it, unless the window closed (end <= observed stream time - grace): then it is late,
 * dropped and counted.
 */
export function windowAggregateProcessor<K, V, VA>(
  storeName: string,
  windows: TimeWindows,
  initializer: Initializer<VA> | undefined,
  aggregator: (key: K, value: V, aggregate: VA | undefined) => VA,
  sendOldValues: () => boolean,
  skipNullValues: boolean,
  emitStrategy: EmitStrategy = EmitStrategy.onWindowUpdate(),
): () => Processor<K, V, Windowed<K>, Change<VA>> {
  const onClose = emitStrategy.type() === 'ON_WINDOW_CLOSE';
  const size = windows.size();
  const range: EmitRange = {
    // Window ends are exclusive: windows ending at the last close time were emitted then.
    lower: (last) => (last === -1 ? 0 : Math.max(0, last - size) + 1),
    upper: (closeTime) => closeTime - size,
    shouldFetch: (lower, upper, last) => {
      if (last === -1) return true;
      const starts = (ts: number): string =>
        windows
          .windowsFor(ts)
          .map((w) => w.start)
          .join(',');
      return starts(upper) !== starts(lower - 1);
    },
    window: (start) => ({ start, end: start + size }),
  };
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<VA>>;
    let store: WindowStore<K, ValueAndTimestamp<VA>>;
    let forwarder: TupleForwarder<Windowed<K>, VA> | undefined;
    let emitter: WindowCloseEmitter<K, VA> | undefined;
    let observedStreamTime = -1;
    let delta: DeltaIndex<K, VA> | undefined;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(storeName);
        // Emitting on close forwards from the store, never from its cache's flushes.
        if (onClose) emitter = new WindowCloseEmitter(storeName, ctx, store, range);
        else forwarder = new TupleForwarder(store, ctx, sendOldValues());
        delta = mergeableDelta<K, VA>(ctx, storeName);
      },
      process(record: Record<K, V>) {
        if (record.key === null || record.key === undefined) {
          skipRecord(context, 'null key', 'null-key');
          return;
        }
        if (skipNullValues && (record.value === null || record.value === undefined)) {
          skipRecord(context, 'null value', 'null-value');
          return;
        }
        observedStreamTime = Math.max(observedStreamTime, record.timestamp);
        const closeTime = observedStreamTime - windows.gracePeriodMs();
        for (const window of windows.windowsFor(record.timestamp)) {
          if (window.end > closeTime) {
            const old = store.fetch(record.key, window.start);
            const { value: newAgg, timestamp } = fold(
              record.key,
              record.value,
              record.timestamp,
              old,
              initializer,
              aggregator,
            );
            // A null aggregate deletes the window, as ValueAndTimestamp.make(null, ts) does in Kafka Streams.
            store.put(
              record.key,
              newAgg === null || newAgg === undefined ? null : { value: newAgg, timestamp },
              window.start,
            );
            delta?.addWindowPartial(record.key, window.start, record.timestamp, (partial) =>
              aggregator(record.key, record.value, partial ?? (initializer ? initializer() : undefined)),
            );
            forwarder?.maybeForward(
              record
                .withKey({ key: record.key, window })
                .withValue(change(newAgg, sendOldValues() ? (old?.value ?? null) : null))
                .withTimestamp(timestamp),
            );
          } else {
            const meta = context.recordMetadata();
            logger.debug(
              `Skipping record for expired window. record timestamp=${record.timestamp} window=[${window.start},${window.end}) ` +
                `expiration=${closeTime} streamTime=${observedStreamTime}` +
                (meta ? ` topic=[${meta.topic}] partition=[${meta.partition}] offset=[${meta.offset}]` : ''),
            );
            (context as unknown as InternalProcessorContext).recordDropped('late');
          }
        }
        emitter?.maybeForwardFinalResult(record, closeTime);
      },
    };
  };
}
