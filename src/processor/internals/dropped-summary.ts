import type { Logger } from 'pino';

/** At most one summary line per drop reason in this window. */
export const DROPPED_SUMMARY_INTERVAL_MS = 30_000;

/**
 * Expected per-record drops (late records, null keys, null values, duplicates) are logged one by one
 * at debug only: a stream with many of them would otherwise flood the log. This keeps the operator
 * informed with one warn line per reason at most every 30 s, carrying the count since the previous
 * line; every drop is also counted in lambda_streams_dropped_records_total{reason}.
 */
export class DroppedRecordSummary {
  private readonly pending = new Map<string, { count: number; lastLineAt: number | undefined }>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = DROPPED_SUMMARY_INTERVAL_MS,
  ) {}

  /** Counts one drop; writes the summary line when the reason's window has passed. */
  dropped(reason: string): void {
    let entry = this.pending.get(reason);
    if (!entry) this.pending.set(reason, (entry = { count: 0, lastLineAt: undefined }));
    entry.count++;
    const now = this.now();
    if (entry.lastLineAt !== undefined && now - entry.lastLineAt < this.intervalMs) return;
    const since =
      entry.lastLineAt === undefined ? '' : ` in the last ${Math.round((now - entry.lastLineAt) / 1000)} s`;
    this.log.warn(
      { reason, dropped: entry.count },
      `dropped ${entry.count} record${entry.count === 1 ? '' : 's'} (${reason})${since}; counted in lambda_streams_dropped_records_total{reason="${reason}"}; LOG_LEVEL=debug logs each one`,
    );
    entry.count = 0;
    entry.lastLineAt = now;
  }
}
