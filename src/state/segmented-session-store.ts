import { SegmentedBytesStore } from './segmented-store.ts';
import { checkSessionWindow, fromSessionChangelogKey, SessionKeySchema } from './session-key-schema.ts';
import { segmentIds, type SessionStoreLayer } from './store-layers.ts';
import type { KeyValueBytesStore, SessionBytesEntry } from './types.ts';
import { defaultSegmentInterval } from './window-key-schema.ts';
import { StateStoreError } from './errors.ts';

const MAX_TIME = Number.MAX_SAFE_INTEGER;

export interface SegmentedSessionOptions {
  retentionPeriod: number;
  /** Default: max(retention / 2, 60 s), as Kafka Streams. */
  segmentInterval?: number;
}

/**
 * Session store over a key-value bytes store, keys laid out by SessionKeySchema (segment of the
 * session end, key, end, start); time is the session end (segments, expiry and stream time as
 * SegmentedBytesStore).
 */
export class SegmentedSessionBytesStore
  extends SegmentedBytesStore<SessionKeySchema>
  implements SessionStoreLayer
{
  constructor(inner: KeyValueBytesStore, options: SegmentedSessionOptions) {
    const { retentionPeriod } = options;
    if (!Number.isSafeInteger(retentionPeriod) || retentionPeriod < 0) {
      throw new StateStoreError(
        inner.name,
        `retention period must be a non-negative integer, got ${retentionPeriod}`,
      );
    }
    const segmentInterval = options.segmentInterval ?? defaultSegmentInterval(retentionPeriod);
    super(inner, retentionPeriod, new SessionKeySchema(segmentInterval));
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.putAndReport(key, start, end, value);
  }

  putAndReport(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    this.checkOpen();
    checkSessionWindow(this.name, start, end);
    if (!this.admit(end)) return false;
    this.inner.put(this.schema.toStoreKey(key, start, end), value);
    return true;
  }

  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    this.checkOpen();
    if (this.time.isExpired(end)) return undefined;
    return this.inner.get(this.schema.toStoreKey(key, start, end));
  }

  findSessions(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
    backward = false,
  ): IterableIterator<SessionBytesEntry> {
    this.checkOpen();
    return this.scan(keyFrom, keyTo, earliestSessionEndTime, latestSessionStartTime, backward);
  }

  /** Changelog keys as toSessionChangelogKey writes them (raw key + end + start). */
  protected restoredKey(changelogKey: Buffer): Buffer | undefined {
    const { key, start, end } = fromSessionChangelogKey(changelogKey);
    return this.restoredTime(end) ? this.schema.toStoreKey(key, start, end) : undefined;
  }

  /** Stream time of persisted data: the stored one, else the largest end in the last segment. */
  protected recover(): void {
    if (this.loadPersisted()) return;
    for (const key of this.lastSegmentKeys()) this.time.advance(this.schema.timesOf(key).end);
  }

  private *scan(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
    backward: boolean,
  ): Generator<SessionBytesEntry> {
    const live = this.time.liveRange(earliestSessionEndTime, MAX_TIME, keyFrom, keyTo);
    if (live === undefined) return;
    const [endFrom, endTo] = live;
    const { schema } = this;
    const single = keyFrom !== undefined && keyTo !== undefined && keyFrom.equals(keyTo);
    for (const segment of segmentIds(schema.segmentId(endFrom), schema.segmentId(endTo), backward)) {
      const [low, high] = single
        ? schema.keyBounds(segment, keyFrom, endFrom, endTo)
        : schema.keyRangeBounds(segment, keyFrom, keyTo);
      for (const entry of this.inner.range(low, high, backward)) {
        const { start, end } = schema.timesOf(entry.key);
        if (end < endFrom || end > endTo || start > latestSessionStartTime) continue;
        const key = single ? keyFrom : schema.fromStoreKey(entry.key).key;
        yield { key, start, end, value: entry.value };
      }
    }
  }
}
