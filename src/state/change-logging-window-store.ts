import { toChangelogKey } from './window-key-schema.ts';
import type { WindowBytesEntry, WindowStoreLayer } from './window-store-layer.ts';
import type { StateStoreContext } from './types.ts';

/**
 * Sends every window write that was stored to the changelog, keyed by toChangelogKey (raw key +
 * window start + seq, Kafka Streams' layout); the segmented store's restoreBatch reads that back.
 * Puts dropped as expired are not logged.
 */
export class ChangeLoggingWindowBytesStore implements WindowStoreLayer {
  private context: StateStoreContext | undefined;
  private logging = false;

  constructor(readonly inner: WindowStoreLayer) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  get windowSize(): number {
    return this.inner.windowSize;
  }

  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  get retainDuplicates(): boolean {
    return this.inner.retainDuplicates;
  }

  get segmentInterval(): number {
    return this.inner.segmentInterval;
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

  put(key: Buffer, value: Buffer | null, windowStart: number): void {
    this.putAndReturnSeq(key, value, windowStart);
  }

  putAndReturnSeq(key: Buffer, value: Buffer | null, windowStart: number): number {
    const seq = this.inner.putAndReturnSeq(key, value, windowStart);
    if (seq >= 0 && this.logging) {
      const context = this.context!;
      context.logChange!(this.name, toChangelogKey(key, windowStart, seq), value, context.currentTimestamp());
    }
    return seq;
  }

  fetch(key: Buffer, windowStart: number): Buffer | undefined {
    return this.inner.fetch(key, windowStart);
  }

  fetchRange(
    key: Buffer,
    timeFrom: number,
    timeTo: number,
    backward?: boolean,
  ): IterableIterator<{ windowStart: number; value: Buffer }> {
    return this.inner.fetchRange(key, timeFrom, timeTo, backward);
  }

  fetchKeyRange(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    timeFrom: number,
    timeTo: number,
    backward?: boolean,
  ): IterableIterator<WindowBytesEntry> {
    return this.inner.fetchKeyRange(keyFrom, keyTo, timeFrom, timeTo, backward);
  }

  all(): IterableIterator<WindowBytesEntry> {
    return this.inner.all();
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
