/**
 * Time bounds of a stream-stream join (Kafka Streams' JoinWindows): records join when their
 * timestamps differ by at most `beforeMs` (other earlier) / `afterMs` (other later).
 */
export class JoinWindows {
  private constructor(
    readonly beforeMs: number,
    readonly afterMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceWithNoGrace(differenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifferenceAndGrace(differenceMs, 0);
  }

  static ofTimeDifferenceAndGrace(differenceMs: number, graceMs: number): JoinWindows {
    if (!Number.isInteger(differenceMs) || differenceMs < 0)
      throw new RangeError(`Time difference must be a non-negative integer of ms, got ${differenceMs}`);
    if (!Number.isInteger(graceMs) || graceMs < 0)
      throw new RangeError(`Grace period must be a non-negative integer of ms, got ${graceMs}`);
    return new JoinWindows(differenceMs, differenceMs, graceMs);
  }

  /** Other-stream records may be up to `ms` earlier. */
  before(ms: number): JoinWindows {
    return new JoinWindows(ms, this.afterMs, this.graceMs);
  }

  /** Other-stream records may be up to `ms` later. */
  after(ms: number): JoinWindows {
    return new JoinWindows(this.beforeMs, ms, this.graceMs);
  }

  size(): number {
    return this.beforeMs + this.afterMs;
  }

  gracePeriodMs(): number {
    return this.graceMs;
  }
}
