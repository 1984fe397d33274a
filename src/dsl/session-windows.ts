/** Session windows (Kafka Streams' SessionWindows): activity separated by an inactivity gap. */
export class SessionWindows {
  private constructor(
    readonly gapMs: number,
    readonly graceMs: number,
  ) {}

  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return SessionWindows.ofInactivityGapAndGrace(gapMs, 0);
  }

  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    if (!Number.isInteger(gapMs) || gapMs <= 0)
      throw new RangeError(`Inactivity gap must be a positive integer of ms, got ${gapMs}`);
    if (!Number.isInteger(graceMs) || graceMs < 0)
      throw new RangeError(`Grace period must be a non-negative integer of ms, got ${graceMs}`);
    return new SessionWindows(gapMs, graceMs);
  }

  inactivityGap(): number {
    return this.gapMs;
  }

  gracePeriodMs(): number {
    return this.graceMs;
  }
}
