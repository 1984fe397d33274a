import { SegmentedCachingStore } from './caching-store.ts';
import { fromLatin1, toLatin1 } from './key-encoding.ts';
import { mergeCacheWithStore } from './merge-iterators.ts';
import {
  checkSessionWindow,
  fromSessionChangelogKey,
  SessionKeySchema,
  type SessionKeyParts,
} from './session-key-schema.ts';
import type { SessionStoreLayer } from './store-layers.ts';
import type { SessionBytesEntry } from './types.ts';

const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * Write-back cache over a session store (Kafka Streams' CachingSessionStore): cache keys are the
 * segmented session store's keys (segment of the end, key, end, start), time is the session end.
 * A removed session is a dirty tombstone until the flush, so a session created and merged away
 * between two commits never reaches the changelog or the flush listener.
 */
export class CachingSessionBytesStore
  extends SegmentedCachingStore<SessionStoreLayer, SessionKeyParts, SessionKeySchema>
  implements SessionStoreLayer
{
  constructor(inner: SessionStoreLayer) {
    super(inner, new SessionKeySchema(inner.segmentInterval));
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.putAndReport(key, start, end, value);
  }

  putAndReport(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    this.openContext();
    checkSessionWindow(this.name, start, end);
    if (!this.admit(end)) return false;
    this.writeDirty(toLatin1(this.schema.toStoreKey(key, start, end)), value);
    return true;
  }

  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    this.openContext();
    if (this.time.isExpired(end)) return undefined;
    return this.lookup(toLatin1(this.schema.toStoreKey(key, start, end)), { key, start, end });
  }

  findSessions(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
    backward = false,
  ): IterableIterator<SessionBytesEntry> {
    this.openContext();
    const live = this.time.liveRange(earliestSessionEndTime, MAX_TIME, keyFrom, keyTo);
    if (live === undefined) return [][Symbol.iterator]();
    const [endFrom, endTo] = live;
    const { schema } = this;
    const single = keyFrom !== undefined && keyTo !== undefined && keyFrom.equals(keyTo);
    const cached = this.walkCache(
      endFrom,
      endTo,
      backward,
      (segment) =>
        single
          ? schema.keyBounds(segment, keyFrom, endFrom, endTo)
          : schema.keyRangeBounds(segment, keyFrom, keyTo),
      ({ start, end }) => end >= endFrom && end <= endTo && start <= latestSessionStartTime,
    );
    return mergeCacheWithStore(
      cached,
      // The live range narrows the store's too: its stream time may lag behind the cache's.
      this.inner.findSessions(keyFrom, keyTo, endFrom, latestSessionStartTime, backward),
      backward,
      // The store's order: segment of the end, then key bytes, then end, then start.
      ([parts], stored) =>
        schema.segmentId(parts.end) - schema.segmentId(stored.end) ||
        Buffer.compare(parts.key, stored.key) ||
        parts.end - stored.end ||
        parts.start - stored.start,
      ([parts], value) => ({ key: parts.key, start: parts.start, end: parts.end, value }),
      (stored) => stored,
    );
  }

  protected partsOf(cacheKey: string): SessionKeyParts {
    return this.schema.fromStoreKey(fromLatin1(cacheKey));
  }

  protected cacheKeyOfChangelog(changelogKey: Buffer): string {
    const { key, start, end } = fromSessionChangelogKey(changelogKey);
    return toLatin1(this.schema.toStoreKey(key, start, end));
  }

  protected readBelow({ key, start, end }: SessionKeyParts): Buffer | undefined {
    return this.inner.fetchSession(key, start, end);
  }

  protected writeBelow({ key, start, end }: SessionKeyParts, value: Buffer | null): void {
    this.inner.putAndReport(key, start, end, value);
  }
}
