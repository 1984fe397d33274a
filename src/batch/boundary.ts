/**
 * Buckets and the boundary of a batch view (DESIGN.md: bucket(ts) = floor(ts / bucketMs); a view with
 * boundary B holds exactly the source records with bucket(ts) < B).
 */

export class BoundaryError extends Error {
  override name = 'BoundaryError';
}

export function bucketOf(timestamp: number, bucketMs: number): number {
  return Math.floor(timestamp / bucketMs);
}

/** Parses `--until`: epoch milliseconds, or an ISO 8601 time with a date. */
export function parseUntil(value: string): number {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (!Number.isFinite(ms)) {
    throw new BoundaryError(
      `--until '${value}' is neither epoch milliseconds nor an ISO time (e.g. 2026-12-02T13:00:00Z)`,
    );
  }
  return ms;
}

/**
 * `--until t`: the bucket that contains t (rounded down), so the view covers the records before the
 * start of that bucket. A boundary whose bucket starts in the future is refused: records for it may
 * still arrive, so the view could never be exact.
 */
export function boundaryFromUntil(untilMs: number, bucketMs: number, nowMs: number): number {
  const boundary = bucketOf(untilMs, bucketMs);
  const startMs = boundary * bucketMs;
  if (startMs > nowMs) {
    throw new BoundaryError(
      `the boundary ${new Date(startMs).toISOString()} (--until ${new Date(untilMs).toISOString()} rounded ` +
        `down to a ${bucketMs} ms bucket) is in the future; a view can only cover buckets that have begun`,
    );
  }
  return boundary;
}

/**
 * The default boundary: the last bucket that is complete at the snapshot. The bucket that holds the
 * stream time (Kafka Streams' notion: the largest event time seen, over every source partition) is
 * still filling, and so is the one that holds the wall clock: B = min(bucket(now), bucket(stream
 * time)). A partition that lags the others by more than a bucket can still deliver records below B
 * after the snapshot; they are late for this view and go into the next run's (choose --until to be
 * more careful). With no records at all, B = bucket(now).
 */
export function defaultBoundary(newestTimestamps: number[], bucketMs: number, nowMs: number): number {
  const boundary = bucketOf(nowMs, bucketMs);
  if (newestTimestamps.length === 0) return boundary;
  return Math.min(boundary, bucketOf(Math.max(...newestTimestamps), bucketMs));
}
