import { describe, expect, it } from 'vitest';

import { boundaryFromUntil, bucketOf, defaultBoundary, parseUntil } from '../../../src/batch/boundary.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 11, 2, 13, 25); // 13:25

describe('bucket boundaries', () => {
  it('buckets are floor(ts / bucketMs)', () => {
    expect(bucketOf(0, HOUR)).toBe(0);
    expect(bucketOf(HOUR - 1, HOUR)).toBe(0);
    expect(bucketOf(HOUR, HOUR)).toBe(1);
  });

  it('--until rounds down to its bucket and refuses buckets that have not begun', () => {
    expect(boundaryFromUntil(Date.UTC(2026, 11, 2, 12, 59), HOUR, NOW)).toBe(
      bucketOf(Date.UTC(2026, 11, 2, 12), HOUR),
    );
    // The current bucket has begun: allowed (the view then covers everything before 13:00).
    expect(boundaryFromUntil(NOW, HOUR, NOW)).toBe(bucketOf(NOW, HOUR));
    expect(() => boundaryFromUntil(Date.UTC(2026, 11, 2, 14), HOUR, NOW)).toThrow(/in the future/);
  });

  it('parses epoch ms and ISO times, and says what it wants otherwise', () => {
    expect(parseUntil('1700000000000')).toBe(1_700_000_000_000);
    expect(parseUntil('2026-12-02T13:00:00Z')).toBe(Date.UTC(2026, 11, 2, 13));
    expect(() => parseUntil('yesterday')).toThrow(/neither epoch milliseconds nor an ISO time/);
    expect(() => parseUntil('12:00')).toThrow(/ISO time/);
  });

  it('defaults to the last bucket complete at the snapshot: before stream time and wall clock', () => {
    // Stream time 11:40 (the largest event time): the 11:00 bucket is still filling.
    expect(defaultBoundary([Date.UTC(2026, 11, 2, 9), Date.UTC(2026, 11, 2, 11, 40)], HOUR, NOW)).toBe(
      bucketOf(Date.UTC(2026, 11, 2, 11), HOUR),
    );
    // Event times in the future of the wall clock do not push the boundary past it.
    expect(defaultBoundary([Date.UTC(2026, 11, 2, 18)], HOUR, NOW)).toBe(bucketOf(NOW, HOUR));
    // No records: the wall clock decides.
    expect(defaultBoundary([], HOUR, NOW)).toBe(bucketOf(NOW, HOUR));
  });
});
