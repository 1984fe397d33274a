import type { ProcessorContext } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';
import type { ValueAndTimestamp } from '../../state/index.ts';
import type { KeyValueStore, Window, Windowed, WindowStore } from '../../state/types.ts';
import { change, type Change } from './change.ts';

/** Kafka Streams' ConsumerRecord.NO_TIMESTAMP: nothing emitted yet. */
const NO_TIMESTAMP = -1;

/** The hidden store that keeps the last window-close time an aggregation emitted (see Topology.hiddenStores). */
export function emitCloseTimeStoreName(storeName: string): string {
  return `${storeName}-emit-close-time`;
}

/** Which windows closed since the last emission, as one kind of windows defines them. */
export interface EmitRange {
  /** Inclusive lower bound of the window starts to emit (the first emission starts at 0). */
  lower(lastEmitWindowCloseTime: number): number;
  /** Inclusive upper bound of the window starts to emit; negative: no window closed yet. */
  upper(windowCloseTime: number): number;
  /** False when the range holds no window start that was not emitted before (saves the store read). */
  shouldFetch(lower: number, upper: number, lastEmitWindowCloseTime: number): boolean;
  /** The window of a stored start. */
  window(start: number): Window;
}

/**
 * Emits final results of a windowed aggregation with `emitStrategy(onWindowClose())` (Kafka Streams'
 * AbstractKStreamTimeWindowAggregateProcessor, KIP-825): after a record, when the window-close time
 * (observed stream time - grace) passed the last one emitted, every window of the store whose start
 * lies in the newly closed range is forwarded once, with its aggregate and timestamp and no old
 * value, ordered by window start and then key bytes (as Kafka Streams' in-memory and time-ordered
 * window stores iterate). Kafka Streams keeps the last emitted close time in the commit metadata
 * and throttles the check by wall-clock time (`__emit.interval.ms.kstreams.windowed.aggregation__`,
 * 1 s); here it is kept in a hidden changelogged store, so a restored task does not emit twice,
 * and the check runs after every record (the reference harness sets the interval to 0).
 */
export class WindowCloseEmitter<K, VA> {
  private lastEmitWindowCloseTime = NO_TIMESTAMP;
  private loaded = false;
  private readonly closeTimes: KeyValueStore<string, number>;

  constructor(
    private readonly storeName: string,
    private readonly context: ProcessorContext<Windowed<K>, Change<VA>>,
    private readonly store: WindowStore<K, ValueAndTimestamp<VA>>,
    private readonly range: EmitRange,
  ) {
    this.closeTimes = context.getStateStore(emitCloseTimeStoreName(storeName));
  }

  maybeForwardFinalResult(record: Record<K, unknown>, windowCloseTime: number): void {
    // Read at the first record, not at init: a worker initialises processors before it restores.
    if (!this.loaded) {
      const restored = this.closeTimes.get(this.storeName);
      if (restored !== undefined && restored !== null) this.lastEmitWindowCloseTime = restored;
      this.loaded = true;
    }
    const last = this.lastEmitWindowCloseTime;
    // Only emit when the window-close time progressed.
    if (last !== NO_TIMESTAMP && last >= windowCloseTime) return;
    const upper = this.range.upper(windowCloseTime);
    // A negative upper bound: no window ever closed.
    if (upper < 0) return;
    const lower = this.range.lower(last);
    if (!this.range.shouldFetch(lower, upper, last)) return;
    // The store iterates key-major within a segment; Kafka Streams' stores emit start-major, then by key.
    const closed = [...this.store.fetchAll(lower, upper)].sort(
      (a, b) => a.key.window.start - b.key.window.start,
    );
    for (const { key, value } of closed) {
      this.context.forward(
        record
          .withKey({ key: key.key, window: this.range.window(key.window.start) })
          .withValue(change<VA>(value.value, null))
          .withTimestamp(value.timestamp),
      );
    }
    this.lastEmitWindowCloseTime = windowCloseTime;
    this.closeTimes.put(this.storeName, windowCloseTime);
  }
}
