import type { Window } from '../state/types.ts';

/** Kafka Streams' deprecated default grace: one day minus the window size (kept for TimeWindows.of). */
const DEFAULT_GRACE_MS = 24 * 60 * 60 * 1000;

function assertMs(what: string, ms: number): void {
  if (!Number.isInteger(ms) || ms < 0)
    throw new RangeError(`${what} must be a non-negative integer of ms, got ${ms}`);
}

/** Fixed-size windows: tumbling (advance = size) or hopping (advance < size), with a grace period. */
export class TimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {}

  /** Tumbling windows that close as soon as stream time passes their end. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeAndGrace(sizeMs, 0);
  }

  /** Tumbling windows that accept out-of-order records until stream time passes end + grace. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    assertMs('Window size', sizeMs);
    assertMs('Grace period', graceMs);
    if (sizeMs === 0) throw new RangeError('Window size must be larger than zero');
    return new TimeWindows(sizeMs, sizeMs, graceMs);
  }

  /** Kafka Streams' legacy default: grace of one day minus the size. Prefer ofSizeAndGrace. */
  static of(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeAndGrace(sizeMs, Math.max(0, DEFAULT_GRACE_MS - sizeMs));
  }

  /** Hopping windows: a new window every advanceMs (0 < advance <= size). */
  advanceBy(advanceMs: number): TimeWindows {
    assertMs('Advance', advanceMs);
    if (advanceMs === 0 || advanceMs > this.sizeMs) {
      throw new RangeError(`Advance must be in (0, size=${this.sizeMs}], got ${advanceMs}`);
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  gracePeriodMs(): number {
    return this.graceMs;
  }

  size(): number {
    return this.sizeMs;
  }

  /** Start of the earliest window that contains `timestamp` (windows start at multiples of the advance). */
  firstWindowStart(timestamp: number): number {
    return (
      Math.floor(Math.max(0, timestamp - this.sizeMs + this.advanceMs) / this.advanceMs) * this.advanceMs
    );
  }

  /** Windows that contain `timestamp`, by start time ascending (Kafka Streams' windowsFor). */
  windowsFor(timestamp: number): Window[] {
    const windows: Window[] = [];
    let start = this.firstWindowStart(timestamp);
    while (start <= timestamp) {
      windows.push({ start, end: start + this.sizeMs });
      start += this.advanceMs;
    }
    return windows;
  }
}
