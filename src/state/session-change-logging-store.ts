import { toSessionChangelogKey } from './session-key-schema.ts';
import type { SessionStoreLayer } from './session-bytes-store.ts';
import type { SessionBytesEntry, StateStoreContext } from './types.ts';

/**
 * Sends every session write that was stored to the changelog, keyed by toSessionChangelogKey (raw
 * key + end + start, Kafka Streams' layout); the segmented store's restoreBatch reads that back.
 * Puts dropped as expired are not logged.
 */
export class ChangeLoggingSessionBytesStore implements SessionStoreLayer {
  private context: StateStoreContext | undefined;
  private logging = false;

  constructor(readonly inner: SessionStoreLayer) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  init(context: StateStoreContext): Promise<void> {
    this.context = context;
    this.logging = context.logChange !== undefined;
    return this.inner.init(context);
  }

  isOpen(): boolean {
    return this.inner.isOpen();
  }

  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.putAndReport(key, start, end, value);
  }

  putAndReport(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    const stored = this.inner.putAndReport(key, start, end, value);
    if (stored && this.logging) {
      const context = this.context!;
      context.logChange!(
        this.name,
        toSessionChangelogKey(key, start, end),
        value,
        context.currentTimestamp(),
      );
    }
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

  /** Restored records come from the changelog; they are not logged again. */
  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    this.inner.restoreBatch(records);
  }

  flushCache(): void {
    this.inner.flushCache();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  async close(): Promise<void> {
    this.context = undefined;
    this.logging = false;
    await this.inner.close();
  }
}
