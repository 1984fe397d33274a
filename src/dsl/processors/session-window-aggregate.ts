import type { Processor, ProcessorContext } from '../../processor/api.ts';
import { Record } from '../../processor/record.ts';
import type { InternalProcessorContext } from '../../processor/internals/task.ts';
import type { KeyValue, SessionStore, Window, Windowed } from '../../state/types.ts';
import { logger } from '../../logger.ts';
import type { SessionWindows } from '../session-windows.ts';
import { change, type Change } from './change.ts';
import { sessionRecord, TupleForwarder } from './forwarding.ts';

/**
 * Session-windowed aggregation (Kafka Streams' KStreamSessionWindowAggregate, emit on every update):
 * a record at ts starts the session [ts, ts] and merges every session of its key that ends at or
 * after ts - gap and starts at or before ts + gap (aggregates combined with the merger, windows
 * spanned). Merged-away sessions are removed and forwarded as deletes (new value null) at their end
 * time, then the merged session is stored and forwarded at its end time. Where the store caches,
 * these updates are forwarded when the cache flushes instead, deduplicated: a session created and
 * merged away between two commits is never forwarded (Kafka Streams' SessionCacheFlushListener).
 * A record whose merged session ends before `streamTime - grace - gap` is late: dropped and
 * counted. Null keys are skipped; null values are aggregated, as in Kafka Streams. Records carry
 * no headers.
 */
export function sessionWindowAggregateProcessor<K, V, VA>(
  storeName: string,
  windows: SessionWindows,
  initializer: () => VA,
  aggregator: (key: K, value: V, aggregate: VA) => VA,
  merger: (key: K, left: VA, right: VA) => VA,
  sendOldValues: () => boolean,
): () => Processor<K, V, Windowed<K>, Change<VA>> {
  const gap = windows.inactivityGap();
  const grace = windows.gracePeriodMs();
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<VA>>;
    let store: SessionStore<K, VA>;
    let forwarder: TupleForwarder<Windowed<K>, VA>;
    let observedStreamTime = -1;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(storeName);
        forwarder = new TupleForwarder(store, ctx, sendOldValues(), sessionRecord);
      },
      process(record: Record<K, V>) {
        const key = record.key;
        if (key === null || key === undefined) {
          const meta = context.recordMetadata();
          logger.debug(
            meta
              ? `Skipping record due to null key. topic=[${meta.topic}] partition=[${meta.partition}] offset=[${meta.offset}]`
              : 'Skipping record due to null key. Topic, partition, and offset not known.',
          );
          (context as unknown as InternalProcessorContext).recordDropped('null-key');
          return;
        }
        const timestamp = record.timestamp;
        observedStreamTime = Math.max(observedStreamTime, timestamp);
        const windowCloseTime = observedStreamTime - grace - gap;

        // Read fully before writing: the store's iterators do not survive writes.
        const merged: Array<KeyValue<Windowed<K>, VA>> = [
          ...store.findSessions(key, timestamp - gap, timestamp + gap),
        ];
        let agg = initializer();
        let start = timestamp;
        let end = timestamp;
        for (const session of merged) {
          agg = merger(key, agg, session.value);
          start = Math.min(start, session.key.window.start);
          end = Math.max(end, session.key.window.end);
        }

        if (end < windowCloseTime) {
          const meta = context.recordMetadata();
          logger.debug(
            `Skipping record for expired window. ` +
              (meta ? `topic=[${meta.topic}] partition=[${meta.partition}] offset=[${meta.offset}] ` : '') +
              `timestamp=[${timestamp}] window=[${start},${end}] expiration=[${windowCloseTime}] streamTime=[${observedStreamTime}]`,
          );
          (context as unknown as InternalProcessorContext).recordDropped('late');
          return;
        }
        const oldValues = sendOldValues();
        if (start !== timestamp || end !== timestamp) {
          for (const session of merged) {
            store.remove(session.key);
            forwarder.maybeForward(
              new Record(
                session.key,
                change<VA>(null, oldValues ? session.value : null),
                session.key.window.end,
              ),
            );
          }
        }
        agg = aggregator(key, record.value, agg);
        const window: Window = { start, end };
        const sessionKey: Windowed<K> = { key, window };
        store.put(sessionKey, agg);
        forwarder.maybeForward(new Record(sessionKey, change<VA>(agg, null), end));
      },
    };
  };
}
