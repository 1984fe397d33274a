/**
 * Which view is the newest: the one workers load and the one `--keep-views` keeps. Found by the
 * serving property test: two runs with the same boundary in the same second, where the run that came
 * first had the larger random id suffix, kept the older view and retired the one just published.
 */
import { describe, expect, it } from 'vitest';

import { compareViewsNewestFirst, newViewId, type ViewManifest } from '../../../src/batch/view-manifest.ts';

function manifest(viewId: string, boundaryBucket: number, createdAt: string): ViewManifest {
  return {
    format: 1,
    viewId,
    applicationId: 'app',
    topology: 'word-count.ts',
    boundaryBucket,
    bucketMs: 1_000,
    boundaryTime: new Date(boundaryBucket * 1_000).toISOString(),
    createdAt,
    completedAt: createdAt,
    instances: 1,
    sources: [],
    stores: {},
    records: { read: 0, processed: 0, beyondBoundary: 0, skipped: 0 },
    warnings: [],
  };
}

describe('compareViewsNewestFirst', () => {
  it('puts the later run first when two runs share a boundary and a second', () => {
    const first = new Date('2026-12-03T00:24:14.100Z');
    const second = new Date('2026-12-03T00:24:14.900Z');
    const older = manifest(newViewId(first, 0.99), 10, first.toISOString());
    const newer = manifest(newViewId(second, 0.01), 10, second.toISOString());
    // Same second, so the ids alone would put the older run first.
    expect(older.viewId > newer.viewId).toBe(true);
    expect([older, newer].sort(compareViewsNewestFirst).map((v) => v.viewId)).toEqual([
      newer.viewId,
      older.viewId,
    ]);
  });

  it('puts the larger boundary first, whenever it was computed', () => {
    const late = manifest('20261203T010000Z-0001', 9, '2026-12-03T01:00:00.000Z');
    const early = manifest('20261203T000000Z-0001', 10, '2026-12-03T00:00:00.000Z');
    expect([late, early].sort(compareViewsNewestFirst)[0]).toBe(early);
  });
});
