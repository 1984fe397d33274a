/** Sliding windows (Kafka Streams' SlidingWindows): a window per record, [t - difference, t]. */
export class SlidingWindows {
  private constructor(
    readonly timeDifferenceMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return SlidingWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    if (!Number.isInteger(timeDifferenceMs) || timeDifferenceMs < 0) {
      throw new RangeError(`Time difference must be a non-negative integer of ms, got ${timeDifferenceMs}`);
    }
    if (!Number.isInteger(graceMs) || graceMs < 0)
      throw new RangeError(`Grace period must be a non-negative integer of ms, got ${graceMs}`);
    return new SlidingWindows(timeDifferenceMs, graceMs);
  }

  gracePeriodMs(): number {
    return this.graceMs;
  }
}
