import { countersFor, createStoreCounters } from './counters.ts';
import { notOpen } from './errors.ts';
import {
  encodeEscaped,
  readEscaped,
  readInt64BE,
  readSortableInt64,
  writeInt64BE,
  writeSortableInt64,
} from './key-encoding.ts';
import type {
  KeyValueBytesStore,
  StateStoreContext,
  StoreCounters,
  VersionedBytesStore,
  VersionedRecord,
} from './types.ts';
import type { ChangelogRecord } from './wrapped-state-store.ts';

/** put() result: the record put is the latest version of its key (Kafka Streams' value, -1). */
export const PUT_RETURN_CODE_VALID_TO_UNDEFINED = -1;
/**
 * put() result: the record was older than the grace period and not stored. Kafka Streams uses
 * Long.MIN_VALUE; the smallest safe integer is its JavaScript stand-in.
 */
export const PUT_RETURN_CODE_NOT_PUT = Number.MIN_SAFE_INTEGER;

/*
 * Layout inside one sorted bytes store (LevelDB, or in memory), four key spaces by first byte:
 *   0x00 key                                → latest version: int64 timestamp, value bytes
 *   0x01 esc(key) sortable(validFrom)       → older versions and tombstones: int64 validTo
 *                                             (NO_VALID_TO for a latest tombstone), flag, value
 *   0x02 sortable(expiry) esc(key) sortable(validFrom) → empty: expiry index of the 0x01 entries
 *   0x03                                    → int64 observed stream time
 * Like Kafka Streams' RocksDBVersionedStore, the latest value of a key is one point read (its
 * "latest value store"); older versions sit apart. Kafka Streams groups them into segments by
 * validTo and drops whole segments; here each older version is indexed by the time it stops being
 * needed (its validTo; a tombstone's own timestamp) and dropped once that is at or before
 * `observedStreamTime - historyRetention`: no get within the history retention can return it
 * then. Answers are the same as Kafka Streams' for every query and put. Keys are escaped
 * (prefix-free) so one key's versions are contiguous and ordered by timestamp.
 */
const LATEST = 0x00;
const HISTORY = 0x01;
const EXPIRY = 0x02;
const META = Buffer.from([0x03]);
const NO_VALID_TO = -1;
const TOMBSTONE = 0;
const VALUE = 1;
const MIN_TS = Number.MIN_SAFE_INTEGER;
const MAX_TS = Number.MAX_SAFE_INTEGER;

/** A version found in the history key space. */
interface HistoryEntry {
  validFrom: number;
  validTo: number;
  value: Buffer | null;
}

/**
 * Persistent (or in-memory) versioned key-value bytes store over a sorted bytes store (Kafka
 * Streams' RocksDBVersionedStore). Reads are synchronous; the store below batches writes until
 * flush, as every store here does. The observed stream time is kept in the store too, so a
 * restarted task refuses and answers exactly as before (Kafka Streams rebuilds it from the
 * changelog records it restores, and starts unset when there are none).
 */
export class VersionedKeyValueBytesStore implements VersionedBytesStore {
  private counters: StoreCounters = createStoreCounters();
  private streamTime = -Infinity;

  constructor(
    private readonly inner: KeyValueBytesStore,
    readonly historyRetention: number,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  async init(context: StateStoreContext): Promise<void> {
    this.counters = countersFor(context, this.name);
    await this.inner.init(context);
    const meta = this.inner.get(META);
    this.streamTime = meta === undefined ? -Infinity : readInt64BE(meta, 0);
  }

  isOpen(): boolean {
    return this.inner.isOpen();
  }

  flushCache(): void {}

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  observedStreamTime(): number {
    return this.streamTime;
  }

  put(key: Buffer, value: Buffer | null, timestamp: number): number {
    this.checkOpen();
    if (this.isTooOld(timestamp)) {
      this.counters.expiredWindowDrops++;
      return PUT_RETURN_CODE_NOT_PUT;
    }
    this.advance(timestamp);
    return this.doPut(key, value, timestamp);
  }

  delete(key: Buffer, timestamp: number): VersionedRecord<Buffer> | undefined {
    this.checkOpen();
    if (this.isTooOld(timestamp)) {
      this.counters.expiredWindowDrops++;
      return undefined;
    }
    // What was valid at the deletion time, read before stream time moves (as Kafka Streams does).
    const existing = this.getAsOf(key, timestamp);
    this.advance(timestamp);
    this.doPut(key, null, timestamp);
    return existing;
  }

  get(key: Buffer): VersionedRecord<Buffer> | undefined {
    this.checkOpen();
    return this.latest(key);
  }

  getAsOf(key: Buffer, asOfTimestamp: number): VersionedRecord<Buffer> | undefined {
    const found = this.versionAt(key, asOfTimestamp);
    if (found === undefined || found.value === null) return undefined;
    return found.validTo === undefined
      ? { value: found.value, timestamp: found.timestamp }
      : { value: found.value, timestamp: found.timestamp, validTo: found.validTo };
  }

  *latestRecords(): IterableIterator<{ key: Buffer; record: VersionedRecord<Buffer> }> {
    this.checkOpen();
    const from = Buffer.from([LATEST]);
    const to = Buffer.from([LATEST + 1]);
    for (const { key, value } of this.inner.range(from, to)) {
      if (key[0] !== LATEST) continue;
      yield { key: key.subarray(1), record: decodeLatest(value) };
    }
  }

  /**
   * The version valid at `asOfTimestamp`, tombstones included (`value: null`): what the serving layer
   * merges. `getAsOf` is this without tombstones. Beyond the history retention only the latest
   * version answers, even where older ones remain.
   */
  versionAt(
    key: Buffer,
    asOfTimestamp: number,
  ): { value: Buffer | null; timestamp: number; validTo?: number } | undefined {
    this.checkOpen();
    const latest = this.latest(key);
    if (latest !== undefined && latest.timestamp <= asOfTimestamp) return latest;
    if (asOfTimestamp < this.streamTime - this.historyRetention) return undefined;
    const found = this.versionAtOrBefore(key, asOfTimestamp);
    if (found === undefined) return undefined;
    return found.validTo === NO_VALID_TO
      ? { value: found.value, timestamp: found.validFrom }
      : { value: found.value, timestamp: found.validFrom, validTo: found.validTo };
  }

  *allVersions(): IterableIterator<{ key: Buffer; value: Buffer | null; timestamp: number }> {
    this.checkOpen();
    for (const { key, record } of this.latestRecords())
      yield { key, value: record.value, timestamp: record.timestamp };
    for (const { key, value } of this.inner.range(Buffer.from([HISTORY]), Buffer.from([HISTORY + 1]))) {
      if (key[0] !== HISTORY) continue;
      const entry = decodeHistory(key, value);
      yield { key: userKeyOfHistoryKey(key), value: entry.value, timestamp: entry.validFrom };
    }
  }

  /**
   * Replays changelog records as puts at their timestamps (the changelog carries every put, each
   * with its timestamp), skipping those a live store would have refused as too old.
   */
  restoreBatch(records: ReadonlyArray<ChangelogRecord>): void {
    this.checkOpen();
    for (const { key, value, timestamp } of records) {
      if (timestamp === undefined) {
        throw new Error(
          `store '${this.name}': a versioned store restores only timestamped changelog records`,
        );
      }
      this.counters.restored++;
      if (this.isTooOld(timestamp)) continue;
      this.advance(timestamp);
      this.doPut(key, value, timestamp);
    }
  }

  private isTooOld(timestamp: number): boolean {
    return timestamp < this.streamTime - this.historyRetention;
  }

  private advance(timestamp: number): void {
    if (timestamp <= this.streamTime) return;
    this.streamTime = timestamp;
    const meta = Buffer.allocUnsafe(8);
    writeInt64BE(meta, timestamp, 0);
    this.inner.put(META, meta);
    this.expire();
  }

  /** Drops older versions no get within the history retention can return. */
  private expire(): void {
    const horizon = this.streamTime - this.historyRetention;
    if (!Number.isSafeInteger(horizon + 1)) return;
    const from = Buffer.from([EXPIRY]);
    // Inclusive bound below every index key whose expiry is after the horizon.
    const to = Buffer.allocUnsafe(9);
    to[0] = EXPIRY;
    writeSortableInt64(to, horizon + 1, 1);
    const expired: Buffer[] = [];
    for (const entry of this.inner.range(from, to)) {
      if (entry.key.length > 9 && readSortableInt64(entry.key, 1) <= horizon) expired.push(entry.key);
    }
    for (const indexKey of expired) {
      this.inner.put(indexKey, null);
      // The history key is the index key without its expiry time.
      const rest = indexKey.subarray(9);
      this.inner.put(Buffer.concat([Buffer.from([HISTORY]), rest]), null);
    }
  }

  /**
   * Puts one version (Kafka Streams' doPut, over this layout): a version at the same timestamp is
   * replaced; otherwise the new one becomes valid until the next version's timestamp, and the
   * previous version's validity ends at the new timestamp. Returns the new version's validTo.
   */
  private doPut(key: Buffer, value: Buffer | null, timestamp: number): number {
    this.counters.puts++;
    const latestBytes = this.inner.get(latestKey(key));
    const latest = latestBytes === undefined ? undefined : decodeLatest(latestBytes);
    if (latest !== undefined && timestamp >= latest.timestamp) {
      // The new version is the latest; the old latest (unless replaced) ends where it begins.
      if (timestamp > latest.timestamp) this.putHistory(key, latest.timestamp, timestamp, latest.value);
      if (value === null) {
        this.inner.put(latestKey(key), null);
        this.putHistory(key, timestamp, NO_VALID_TO, null);
      } else {
        this.inner.put(latestKey(key), encodeLatest(value, timestamp));
      }
      return PUT_RETURN_CODE_VALID_TO_UNDEFINED;
    }
    const previous = this.versionAtOrBefore(key, timestamp);
    const nextTimestamp =
      previous !== undefined && previous.validFrom === timestamp
        ? previous.validTo
        : (this.versionAfter(key, timestamp) ?? latest?.timestamp ?? NO_VALID_TO);
    if (previous !== undefined && previous.validFrom < timestamp) {
      // The previous version is valid until this one starts.
      this.putHistory(key, previous.validFrom, timestamp, previous.value, previous.validTo);
    }
    if (nextTimestamp === NO_VALID_TO && value !== null) {
      // No later version: this is the latest (after a tombstone, which stays in the history).
      if (previous !== undefined && previous.validFrom === timestamp) this.removeHistory(key, previous);
      this.inner.put(latestKey(key), encodeLatest(value, timestamp));
      return PUT_RETURN_CODE_VALID_TO_UNDEFINED;
    }
    if (previous !== undefined && previous.validFrom === timestamp) this.removeExpiry(key, previous);
    this.putHistory(key, timestamp, nextTimestamp, value);
    return nextTimestamp === NO_VALID_TO ? PUT_RETURN_CODE_VALID_TO_UNDEFINED : nextTimestamp;
  }

  /** Writes an older version (or a tombstone) and its expiry entry; `oldValidTo`: the entry it replaces. */
  private putHistory(
    key: Buffer,
    validFrom: number,
    validTo: number,
    value: Buffer | null,
    oldValidTo?: number,
  ): void {
    const escaped = encodeEscaped(key);
    if (oldValidTo !== undefined) this.inner.put(expiryKey(escaped, validFrom, oldValidTo, value), null);
    const entry = Buffer.allocUnsafe(9 + (value?.length ?? 0));
    writeInt64BE(entry, validTo, 0);
    entry[8] = value === null ? TOMBSTONE : VALUE;
    value?.copy(entry, 9);
    this.inner.put(historyKey(escaped, validFrom), entry);
    this.inner.put(expiryKey(escaped, validFrom, validTo, value), Buffer.alloc(0));
  }

  private removeHistory(key: Buffer, entry: HistoryEntry): void {
    const escaped = encodeEscaped(key);
    this.inner.put(historyKey(escaped, entry.validFrom), null);
    this.inner.put(expiryKey(escaped, entry.validFrom, entry.validTo, entry.value), null);
  }

  private removeExpiry(key: Buffer, entry: HistoryEntry): void {
    this.inner.put(expiryKey(encodeEscaped(key), entry.validFrom, entry.validTo, entry.value), null);
  }

  private latest(key: Buffer): VersionedRecord<Buffer> | undefined {
    const bytes = this.inner.get(latestKey(key));
    return bytes === undefined ? undefined : decodeLatest(bytes);
  }

  /** The older version (or tombstone) of the key with the largest validFrom ≤ timestamp. */
  private versionAtOrBefore(key: Buffer, timestamp: number): HistoryEntry | undefined {
    const escaped = encodeEscaped(key);
    for (const { key: k, value } of this.inner.range(
      historyKey(escaped, MIN_TS),
      historyKey(escaped, timestamp),
      true,
    )) {
      return decodeHistory(k, value);
    }
    return undefined;
  }

  /** The smallest validFrom > timestamp among the key's older versions. */
  private versionAfter(key: Buffer, timestamp: number): number | undefined {
    if (timestamp >= MAX_TS) return undefined;
    const escaped = encodeEscaped(key);
    for (const { key: k } of this.inner.range(
      historyKey(escaped, timestamp + 1),
      historyKey(escaped, MAX_TS),
    ))
      return readSortableInt64(k, k.length - 8);
    return undefined;
  }

  private checkOpen(): void {
    if (!this.inner.isOpen()) throw notOpen(this.name);
  }
}

function latestKey(key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + key.length);
  out[0] = LATEST;
  key.copy(out, 1);
  return out;
}

function historyKey(escaped: Buffer, validFrom: number): Buffer {
  const out = Buffer.allocUnsafe(1 + escaped.length + 8);
  out[0] = HISTORY;
  escaped.copy(out, 1);
  writeSortableInt64(out, validFrom, 1 + escaped.length);
  return out;
}

/** Expiry time: when the version stops being needed (validTo; a latest tombstone's own timestamp). */
function expiryKey(escaped: Buffer, validFrom: number, validTo: number, value: Buffer | null): Buffer {
  const expiry = validTo === NO_VALID_TO && value === null ? validFrom : validTo;
  const out = Buffer.allocUnsafe(9 + escaped.length + 8);
  out[0] = EXPIRY;
  writeSortableInt64(out, expiry, 1);
  escaped.copy(out, 9);
  writeSortableInt64(out, validFrom, 9 + escaped.length);
  return out;
}

function encodeLatest(value: Buffer, timestamp: number): Buffer {
  const out = Buffer.allocUnsafe(8 + value.length);
  writeInt64BE(out, timestamp, 0);
  value.copy(out, 8);
  return out;
}

function decodeLatest(bytes: Buffer): VersionedRecord<Buffer> {
  return { timestamp: readInt64BE(bytes, 0), value: Buffer.from(bytes.subarray(8)) };
}

function decodeHistory(key: Buffer, bytes: Buffer): HistoryEntry {
  return {
    validFrom: readSortableInt64(key, key.length - 8),
    validTo: readInt64BE(bytes, 0),
    value: bytes[8] === TOMBSTONE ? null : Buffer.from(bytes.subarray(9)),
  };
}

/** The user key of a history key (for exports and tests). */
export function userKeyOfHistoryKey(key: Buffer): Buffer {
  return readEscaped(key, 1).key;
}
