import type { Processor, ProcessorContext } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';
import type { InternalProcessorContext } from '../../processor/internals/task.ts';
import type { ValueAndTimestamp } from '../../state/index.ts';
import type { Window, Windowed, WindowStore } from '../../state/types.ts';
import { logger } from '../../logger.ts';
import type { SlidingWindows } from '../sliding-windows.ts';
import { change, type Change } from './change.ts';
import { TupleForwarder } from './forwarding.ts';
import { EmitStrategy } from '../emit-strategy.ts';
import { WindowCloseEmitter, type EmitRange } from './emit-final.ts';
import { skipRecord } from './aggregate.ts';

type Vat<VA> = ValueAndTimestamp<VA> | undefined;

/**
 * Sliding-window aggregation (Kafka Streams' KStreamSlidingWindowAggregate, reverse-iterator
 * variant, emit on every update). Windows [start, start + difference] (both ends inclusive) exist
 * only where records define them: each record gets a left window ending at its timestamp and, when
 * later records fall within the difference, a right window starting just after it; the record also
 * updates every existing window that contains it, and creates the right window of the previous
 * record when needed. Records earlier than the time difference share the window [0, difference].
 * A window whose end is before `streamTime - grace` is not updated (counted as late); records with a
 * null key or value are skipped.
 */
export function slidingWindowAggregateProcessor<K, V, VA>(
  storeName: string,
  windows: SlidingWindows,
  initializer: () => VA,
  aggregator: (key: K, value: V, aggregate: VA) => VA,
  sendOldValues: () => boolean,
  emitStrategy: EmitStrategy = EmitStrategy.onWindowUpdate(),
): () => Processor<K, V, Windowed<K>, Change<VA>> {
  const diff = windows.timeDifferenceMs;
  const grace = windows.gracePeriodMs();
  const onClose = emitStrategy.type() === 'ON_WINDOW_CLOSE';
  const range: EmitRange = {
    // Both window ends are inclusive: a window [start, start + diff] is closed once its end < close time.
    lower: (last) => (last === -1 ? 0 : Math.max(0, last - diff)),
    upper: (closeTime) => closeTime - diff - 1,
    shouldFetch: () => true,
    window: (start) => ({ start, end: start + diff }),
  };
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<VA>>;
    let store: WindowStore<K, ValueAndTimestamp<VA>>;
    let forwarder: TupleForwarder<Windowed<K>, VA> | undefined;
    let emitter: WindowCloseEmitter<K, VA> | undefined;
    let observedStreamTime = -1;

    const skipExpired = (timestamp: number, closeTime: number, start: number, end: number): void => {
      const meta = context.recordMetadata();
      logger.debug(
        `Skipping record for expired window. ` +
          (meta ? `topic=[${meta.topic}] partition=[${meta.partition}] offset=[${meta.offset}] ` : '') +
          `timestamp=[${timestamp}] window=[${start},${end}] expiration=[${closeTime}] streamTime=[${observedStreamTime}]`,
      );
      (context as unknown as InternalProcessorContext).recordDropped('late');
    };

    const forwardUpdate = (
      record: Record<K, V>,
      window: Window,
      oldAgg: VA | null,
      newAgg: VA,
      ts: number,
    ) => {
      forwarder?.maybeForward(
        record
          .withKey({ key: record.key, window })
          .withValue(change<VA>(newAgg, sendOldValues() ? oldAgg : null))
          .withTimestamp(ts),
      );
    };

    /** ValueAndTimestamp.make: a null aggregate makes no value. */
    const make = (value: VA, timestamp: number): Vat<VA> =>
      value === null || value === undefined ? undefined : { value, timestamp };

    const updateWindowAndForward = (
      start: number,
      current: Vat<VA>,
      record: Record<K, V>,
      closeTime: number,
    ) => {
      const end = start + diff;
      if (end >= closeTime) {
        const oldAgg = current === undefined ? null : current.value;
        const newAgg = aggregator(record.key, record.value, oldAgg as VA);
        const newTimestamp =
          oldAgg === null ? record.timestamp : Math.max(record.timestamp, current!.timestamp);
        store.put(record.key, make(newAgg, newTimestamp) ?? null, start);
        forwardUpdate(record, { start, end }, oldAgg, newAgg, newTimestamp);
      } else {
        skipExpired(record.timestamp, closeTime, start, end);
      }
    };

    const createCurrentRecordRightWindow = (
      timestamp: number,
      rightWinAgg: ValueAndTimestamp<VA>,
      record: Record<K, V>,
    ) => {
      const start = timestamp + 1;
      store.put(record.key, rightWinAgg, start);
      forwardUpdate(record, { start, end: start + diff }, null, rightWinAgg.value, rightWinAgg.timestamp);
    };

    const createPreviousRecordRightWindow = (start: number, record: Record<K, V>, closeTime: number) => {
      updateWindowAndForward(start, make(initializer(), record.timestamp), record, closeTime);
    };

    const rightWindowIsNotEmpty = (
      rightWinAgg: Vat<VA>,
      timestamp: number,
    ): rightWinAgg is ValueAndTimestamp<VA> => rightWinAgg !== undefined && rightWinAgg.timestamp > timestamp;

    const createWindows = (
      record: Record<K, V>,
      closeTime: number,
      windowStartTimes: Set<number>,
      rightWinAgg: Vat<VA>,
      leftWinAgg: Vat<VA>,
      leftWinAlreadyCreated: boolean,
      rightWinAlreadyCreated: boolean,
      previousRecordTimestamp: number | undefined,
    ) => {
      const timestamp = record.timestamp;
      if (previousRecordTimestamp !== undefined) {
        const previousRightWinStart = previousRecordTimestamp + 1;
        if (!windowStartTimes.has(previousRightWinStart) && previousRightWinStart + diff >= timestamp) {
          createPreviousRecordRightWindow(previousRightWinStart, record, closeTime);
        }
      }
      if (!leftWinAlreadyCreated) {
        const leftNotEmpty =
          previousRecordTimestamp !== undefined && timestamp - diff <= previousRecordTimestamp;
        const valueAndTime = leftNotEmpty
          ? make(leftWinAgg!.value, timestamp)
          : make(initializer(), timestamp);
        updateWindowAndForward(timestamp - diff, valueAndTime, record, closeTime);
      }
      if (!rightWinAlreadyCreated && rightWindowIsNotEmpty(rightWinAgg, timestamp)) {
        createCurrentRecordRightWindow(timestamp, rightWinAgg, record);
      }
    };

    const processReverse = (record: Record<K, V>, closeTime: number): void => {
      const timestamp = record.timestamp;
      const windowStartTimes = new Set<number>();
      let leftWinAgg: Vat<VA>;
      let rightWinAgg: Vat<VA>;
      let leftWinAlreadyCreated = false;
      let rightWinAlreadyCreated = false;
      let previousRecordTimestamp: number | undefined;
      // Read before writing: the store's iterators do not survive writes.
      const existing = [
        ...store.backwardFetchRange(record.key, Math.max(0, timestamp - 2 * diff), timestamp + 1),
      ];
      for (const { windowStart: startTime, value } of existing) {
        windowStartTimes.add(startTime);
        const endTime = startTime + diff;
        if (startTime === timestamp + 1) {
          rightWinAlreadyCreated = true;
        } else if (endTime > timestamp) {
          rightWinAgg ??= value;
          updateWindowAndForward(startTime, value, record, closeTime);
        } else if (endTime === timestamp) {
          leftWinAlreadyCreated = true;
          updateWindowAndForward(startTime, value, record, closeTime);
          if (value.timestamp < timestamp) previousRecordTimestamp = value.timestamp;
          else return;
        } else {
          leftWinAgg = value;
          previousRecordTimestamp = value.timestamp;
          break;
        }
      }
      createWindows(
        record,
        closeTime,
        windowStartTimes,
        rightWinAgg,
        leftWinAgg,
        leftWinAlreadyCreated,
        rightWinAlreadyCreated,
        previousRecordTimestamp,
      );
    };

    /** Records before the time difference would open windows with negative starts: they share [0, difference]. */
    const processEarly = (record: Record<K, V>, closeTime: number): void => {
      const timestamp = record.timestamp;
      let combinedStart: number | undefined;
      let combinedValue: Vat<VA>;
      let rightWinAgg: Vat<VA>;
      let rightWinAlreadyCreated = false;
      const windowStartTimes = new Set<number>();
      let previousRecordTimestamp: number | undefined;
      const existing = [...store.fetchRange(record.key, 0, timestamp + 1)];
      for (const { windowStart: startTime, value } of existing) {
        windowStartTimes.add(startTime);
        if (startTime === 0) {
          combinedStart = startTime;
          combinedValue = value;
          if (value.timestamp < timestamp) previousRecordTimestamp = value.timestamp;
        } else if (startTime <= timestamp) {
          rightWinAgg = value;
          updateWindowAndForward(startTime, value, record, closeTime);
        } else if (startTime === timestamp + 1) {
          rightWinAlreadyCreated = true;
        }
      }
      if (rightWinAgg === undefined && combinedValue !== undefined && combinedValue.timestamp > timestamp) {
        rightWinAgg = combinedValue;
      }
      if (!rightWinAlreadyCreated && rightWindowIsNotEmpty(rightWinAgg, timestamp)) {
        createCurrentRecordRightWindow(timestamp, rightWinAgg, record);
      }
      if (previousRecordTimestamp !== undefined && !windowStartTimes.has(previousRecordTimestamp + 1)) {
        createPreviousRecordRightWindow(previousRecordTimestamp + 1, record, closeTime);
      }
      if (combinedStart === undefined) {
        updateWindowAndForward(0, make(initializer(), timestamp), record, closeTime);
      } else {
        updateWindowAndForward(combinedStart, combinedValue, record, closeTime);
      }
    };

    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(storeName);
        // Emitting on close forwards from the store, never from its cache's flushes.
        if (onClose) emitter = new WindowCloseEmitter(storeName, ctx, store, range);
        else forwarder = new TupleForwarder(store, ctx, sendOldValues());
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
        observedStreamTime = Math.max(observedStreamTime, record.timestamp);
        const closeTime = observedStreamTime - grace;
        if (record.timestamp + diff < closeTime) {
          skipExpired(record.timestamp, closeTime, record.timestamp, record.timestamp + diff);
          return;
        }
        // As in Kafka Streams, only records past the first time difference check for closed windows.
        if (record.timestamp < diff) {
          processEarly(record, closeTime);
          return;
        }
        processReverse(record, closeTime);
        emitter?.maybeForwardFinalResult(record, closeTime);
      },
    };
  };
}
