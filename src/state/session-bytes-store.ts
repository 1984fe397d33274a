import { countersFor, createStoreCounters } from './counters.ts';
import { notOpen, StateStoreError } from './errors.ts';
import { fromSessionChangelogKey, SessionKeySchema } from './session-key-schema.ts';
import { defaultSegmentInterval } from './window-key-schema.ts';
import type {
  KeyValue,
  KeyValueBytesStore,
  SessionBytesEntry,
  SessionBytesStore,
  StateStoreContext,
  StoreCounters,
} from './types.ts';
import { afterInnerInit } from './init-chain.ts';
import { SegmentTime } from './segment-time.ts';

/** Reserved key holding the stream time (empty: sorts before every session key). */

/** What the layers of a session store stack tell each other beyond the public SessionBytesStore. */
export interface SessionStoreLayer extends SessionBytesStore {
  /** put, returning false when the session was expired and nothing was stored. */
  putAndReport(key: Buffer, start: number, end: number, value: Buffer | null): boolean;
}

export interface SegmentedSessionOptions {
  retentionPeriod: number;
  /** Default: max(retention / 2, 60 s), as Kafka Streams. */
  segmentInterval?: number;
}

/**
 * Session store over a key-value bytes store (in-memory or LevelDB), keys laid out by
 * SessionKeySchema (segment of the session end, key, end, start). The stream time is the largest
 * session end seen; a session whose end is at or before `streamTime - retention` is expired (puts
 * dropped and counted as expiredWindowDrops, reads skip it), and whole expired segments are deleted
 * as the stream time moves on. Stream time survives reopening (a reserved key written on flush).
 */
export class SegmentedSessionBytesStore implements SessionStoreLayer {
  readonly retentionPeriod: number;
  readonly segmentInterval: number;
  readonly schema: SessionKeySchema;
  private readonly time: SegmentTime;
  private open = false;
  private counters: StoreCounters = createStoreCounters();

  constructor(
    readonly inner: KeyValueBytesStore,
    options: SegmentedSessionOptions,
  ) {
    if (!Number.isSafeInteger(options.retentionPeriod) || options.retentionPeriod < 0) {
      throw new StateStoreError(
        inner.name,
        `retention period must be a non-negative integer, got ${options.retentionPeriod}`,
      );
    }
    this.retentionPeriod = options.retentionPeriod;
    this.segmentInterval = options.segmentInterval ?? defaultSegmentInterval(options.retentionPeriod);
    this.schema = new SessionKeySchema(this.segmentInterval);
    this.time = new SegmentTime(inner, this.schema, this.retentionPeriod);
  }

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  init(context: StateStoreContext): Promise<void> {
    return afterInnerInit(this.inner, this.inner.init(context), () => {
      this.counters = countersFor(context, this.name);
      this.time.reset();
      this.recoverStreamTime();
      this.time.dropExpiredSegments();
      this.open = true;
    });
  }

  isOpen(): boolean {
    return this.open && this.inner.isOpen();
  }

  flushCache(): void {
    this.inner.flushCache();
  }

  flush(): Promise<void> {
    if (this.open) this.time.persist();
    return this.inner.flush();
  }

  async close(): Promise<void> {
    if (this.open) this.time.persist();
    this.open = false;
    await this.inner.close();
  }

  observedStreamTime(): number {
    return this.time.observed;
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.putAndReport(key, start, end, value);
  }

  putAndReport(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    this.checkOpen();
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
      throw new StateStoreError(this.name, `invalid session window [${start}, ${end}]`);
    }
    if (end > this.time.observed) {
      this.time.observed = end;
      this.time.dropExpiredSegments();
    }
    if (this.isExpired(end)) {
      this.counters.expiredWindowDrops++;
      return false;
    }
    this.inner.put(this.schema.toStoreKey(key, start, end), value);
    return true;
  }

  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    this.checkOpen();
    if (this.isExpired(end)) return undefined;
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

  /** Records keyed as the changelog has them (toSessionChangelogKey); expired ones are skipped. */
  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    const batch: Array<KeyValue<Buffer, Buffer | null>> = [];
    for (const record of records) {
      const { key, start, end } = fromSessionChangelogKey(record.key);
      if (end > this.time.observed) this.time.observed = end;
      if (this.isExpired(end)) continue;
      batch.push({ key: this.schema.toStoreKey(key, start, end), value: record.value });
    }
    this.inner.restoreBatch(batch);
    this.time.dropExpiredSegments();
  }

  private isExpired(end: number): boolean {
    return end <= this.time.observed - this.retentionPeriod;
  }

  private *scan(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
    backward: boolean,
  ): Generator<SessionBytesEntry> {
    if (this.time.observed === -Infinity) return;
    if (keyFrom !== undefined && keyTo !== undefined && Buffer.compare(keyFrom, keyTo) > 0) return;
    const endFrom = Math.max(earliestSessionEndTime, this.time.observed - this.retentionPeriod + 1);
    const endTo = this.time.observed;
    if (endFrom > endTo) return;
    const { schema } = this;
    const single = keyFrom !== undefined && keyTo !== undefined && keyFrom.equals(keyTo);
    const first = schema.segmentId(endFrom);
    const last = schema.segmentId(endTo);
    for (let i = 0; i <= last - first; i++) {
      const segment = backward ? last - i : first + i;
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

  /** Stream time of persisted data: the stored one, else the largest end in the last segment. */
  private recoverStreamTime(): void {
    if (this.time.loadPersisted()) return;
    for (const key of this.time.lastSegmentKeys()) this.time.advance(this.schema.timesOf(key).end);
  }

  private checkOpen(): void {
    if (!this.open) throw notOpen(this.name);
  }
}
