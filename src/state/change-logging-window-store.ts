import { ChangeLoggingStore } from './change-logging-store.ts';
import type { WindowBytesEntry, WindowStoreLayer } from './store-layers.ts';
import { toChangelogKey } from './window-key-schema.ts';

/**
 * Change logging of a window store: every window write that was stored, keyed by toChangelogKey
 * (raw key + window start + seq, Kafka Streams' layout); the segmented store's restoreBatch reads
 * that back. Puts dropped as expired are not logged.
 */
export class ChangeLoggingWindowBytesStore
  extends ChangeLoggingStore<WindowStoreLayer>
  implements WindowStoreLayer
{
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

  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): void {
    this.putAndReturnSeq(key, value, windowStart);
  }

  putAndReturnSeq(key: Buffer, value: Buffer | null, windowStart: number): number {
    const seq = this.inner.putAndReturnSeq(key, value, windowStart);
    if (seq >= 0 && this.logging) this.log(toChangelogKey(key, windowStart, seq), value);
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
}
