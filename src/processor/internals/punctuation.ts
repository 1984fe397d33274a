import { PunctuationType, type Cancellable, type Punctuator } from '../api.ts';

interface Schedule {
  next: number;
  interval: number;
  type: PunctuationType;
  callback: Punctuator;
  /** Runs the callback within the scheduling node's context. */
  run: (timestamp: number) => void;
  cancelled: boolean;
}

/**
 * Punctuation schedules of one task, one queue per time type. As in Kafka Streams a late call fires a
 * schedule once (with the current time), then realigns it to the next interval boundary.
 */
export class PunctuationQueue {
  private readonly schedules: Schedule[] = [];

  add(
    type: PunctuationType,
    start: number,
    interval: number,
    callback: Punctuator,
    run: (s: Punctuator, ts: number) => void,
  ): Cancellable {
    if (!(interval >= 1)) throw new RangeError(`Punctuation interval must be at least 1 ms, got ${interval}`);
    const schedule: Schedule = {
      next: start,
      interval,
      type,
      callback,
      run: (ts) => run(callback, ts),
      cancelled: false,
    };
    this.schedules.push(schedule);
    return {
      cancel: () => {
        schedule.cancelled = true;
        const i = this.schedules.indexOf(schedule);
        if (i >= 0) this.schedules.splice(i, 1);
      },
    };
  }

  /** Fires due schedules of the given type at `now`; returns whether any fired. */
  mayPunctuate(type: PunctuationType, now: number): boolean {
    if (this.schedules.length === 0) return false;
    let fired = false;
    for (;;) {
      let due: Schedule | undefined;
      for (const s of this.schedules) {
        if (s.type === type && !s.cancelled && s.next <= now && (!due || s.next < due.next)) due = s;
      }
      if (!due) return fired;
      const scheduled = due.next;
      let next = scheduled + due.interval;
      if (now >= next) next = scheduled + (Math.floor((now - scheduled) / due.interval) + 1) * due.interval;
      due.next = next;
      due.run(now);
      fired = true;
    }
  }

  get size(): number {
    return this.schedules.length;
  }
}

export { PunctuationType };
