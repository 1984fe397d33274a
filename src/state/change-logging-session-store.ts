import { ChangeLoggingStore } from './change-logging-store.ts';
import { toSessionChangelogKey } from './session-key-schema.ts';
import type { SessionStoreLayer } from './store-layers.ts';
import type { SessionBytesEntry } from './types.ts';

/**
 * Change logging of a session store: every session write that was stored, keyed by
 * toSessionChangelogKey (raw key + end + start, Kafka Streams' layout); the segmented store's
 * restoreBatch reads that back. Puts dropped as expired are not logged.
 */
export class ChangeLoggingSessionBytesStore
  extends ChangeLoggingStore<SessionStoreLayer>
  implements SessionStoreLayer
{
  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  get segmentInterval(): number {
    return this.inner.segmentInterval;
  }

  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.putAndReport(key, start, end, value);
  }

  putAndReport(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    const stored = this.inner.putAndReport(key, start, end, value);
    if (stored && this.logging) this.log(toSessionChangelogKey(key, start, end), value);
    return stored;
  }

  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    return this.inner.fetchSession(key, start, end);
  }

  findSessions(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
    backward?: boolean,
  ): IterableIterator<SessionBytesEntry> {
    return this.inner.findSessions(keyFrom, keyTo, earliestSessionEndTime, latestSessionStartTime, backward);
  }
}
