/**
 * State store contracts. Reads and writes are synchronous so a fetched batch runs through the
 * topology without a per-record await; only init, flush and close touch the disk asynchronously.
 *
 * A store is a stack of thin wrappers over a bytes store, one concern each (as Kafka Streams'
 * state/internals): Metered (serdes, metrics, typed API) → Caching (write-back, dedup) →
 * ChangeLogging (changelog records) → inner bytes store (LevelDB or in-memory).
 */
import type { CacheBudget } from './write-back-cache.ts';

/** Where a store lives and whom it reports to; given by the task (or the test driver) at init. */
export interface StateStoreContext {
  readonly applicationId: string;
  /** e.g. "0_1" (sub-topology 0, partition 1). */
  readonly taskId: string;
  /** Directory owned by this task; persistent stores create `<taskDir>/<storeName>` inside it. */
  readonly taskDir: string;
  /**
   * Sends one change to the store's changelog; undefined when changelogging is off for this run
   * (batch mode, or a store built with logging disabled). `latestWrite`: the largest timestamp among
   * the writes the change stands for (a cache collapses several writes of a key into one change).
   */
  readonly logChange?: (
    storeName: string,
    key: Buffer,
    value: Buffer | null,
    timestamp: number,
    latestWrite?: number,
  ) => void;
  /** Timestamp of the record being processed, stamped on changelog records and cache entries. */
  currentTimestamp(): number;
  /**
   * While a cache flushes an entry: the largest timestamp among the writes it collapsed (the
   * serving layer's delta index must see that a key changed in a bucket even when an older,
   * out-of-order record wrote it last). Undefined outside a flush: the current timestamp.
   */
  readonly latestWriteTimestamp?: () => number | undefined;
  /**
   * Counters for one store (metrics hook). Every layer of a store asks for its store's counters at
   * init and increments plain fields in the hot path; a metrics layer reads them at scrape time.
   * Return the same object for the same store name. Undefined: counting goes to a private object.
   */
  readonly storeCounters?: (storeName: string) => StoreCounters;
  /**
   * Byte budget of the caching layers' write-back caches: a CacheBudget is shared by every cache
   * built on it (a stream thread's, for all the stores of its tasks); a number gives each cache a
   * budget of its own. Default: 10 MiB of its own.
   */
  readonly cacheBudget?: CacheBudget | number;
}

/** Plain counters a store increments (no metrics library dependency in the state layer). */
export interface StoreCounters {
  puts: number;
  gets: number;
  deletes: number;
  rangeScans: number;
  /** Changelog records applied by restoreBatch. */
  restored: number;
  /** Puts into windows already past retention, dropped. */
  expiredWindowDrops: number;
  cacheHits: number;
  cacheMisses: number;
  /** Dirty entries written down by a caching layer (on flushCache or eviction). */
  cacheFlushedEntries: number;
  cacheEvictions: number;
}

export interface StateStore {
  readonly name: string;
  readonly persistent: boolean;
  /** Opens the store (async edge: LevelDB open, key-index load). */
  init(context: StateStoreContext): Promise<void>;
  /**
   * Synchronous first half of a commit: a caching layer evicts dirty entries (forwarding them to its
   * flush listener and writing them to the layers below). No-op for stores without a cache.
   */
  flushCache(): void;
  /** Second half of a commit: makes every write so far durable (one LevelDB batch). */
  flush(): Promise<void>;
  close(): Promise<void>;
  isOpen(): boolean;
}

/**
 * A store the restorer can feed changelog records to, as they were logged (bytes). Every store the
 * builders make is one (typed stores pass the records down to the innermost bytes store).
 */
export interface RestorableStateStore extends StateStore {
  /** `timestamp`: the changelog record's timestamp (versioned stores put each record at it). */
  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null; timestamp?: number }>): void;
}

export interface KeyValue<K, V> {
  key: K;
  value: V;
}

/** Bytes-level key-value store. Keys sort by unsigned byte order; ranges are inclusive at both ends. */
export interface KeyValueBytesStore extends StateStore {
  get(key: Buffer): Buffer | undefined;
  /** A null value deletes the key (a tombstone). */
  put(key: Buffer, value: Buffer | null): void;
  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined;
  putAll(entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void;
  delete(key: Buffer): Buffer | undefined;
  range(
    from: Buffer | undefined,
    to: Buffer | undefined,
    reverse?: boolean,
  ): IterableIterator<KeyValue<Buffer, Buffer>>;
  prefixScan(prefix: Buffer): IterableIterator<KeyValue<Buffer, Buffer>>;
  approximateNumEntries(): number;
  /** Applies changelog records during restoration, bypassing changelogging and caching. */
  restoreBatch(records: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void;
}

/** Typed key-value store, as processors see it (Kafka Streams' KeyValueStore). */
export interface ReadOnlyKeyValueStore<K, V> {
  get(key: K): V | undefined;
  range(from?: K, to?: K): IterableIterator<KeyValue<K, V>>;
  reverseRange(from?: K, to?: K): IterableIterator<KeyValue<K, V>>;
  all(): IterableIterator<KeyValue<K, V>>;
  reverseAll(): IterableIterator<KeyValue<K, V>>;
  prefixScan(prefix: K): IterableIterator<KeyValue<K, V>>;
  approximateNumEntries(): number;
}

export interface KeyValueStore<K, V> extends StateStore, ReadOnlyKeyValueStore<K, V> {
  put(key: K, value: V | null): void;
  putIfAbsent(key: K, value: V): V | undefined;
  putAll(entries: ReadonlyArray<KeyValue<K, V | null>>): void;
  delete(key: K): V | undefined;
}

/** A window: [start, end) in milliseconds. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** A key together with the window it was aggregated in (Kafka Streams' Windowed<K>). */
export interface Windowed<K> {
  readonly key: K;
  readonly window: Window;
}

/**
 * Bytes-level window store: values addressed by (key, window start). Data older than the retention
 * period (relative to the largest timestamp seen) is dropped, and puts into expired windows are ignored.
 * With retainDuplicates (stream-stream joins) every put is kept, even under the same key and start.
 */
export interface WindowBytesStore extends StateStore {
  readonly windowSize: number;
  readonly retentionPeriod: number;
  readonly retainDuplicates: boolean;
  put(key: Buffer, value: Buffer | null, windowStart: number): void;
  fetch(key: Buffer, windowStart: number): Buffer | undefined;
  /** Values of one key with window start in [timeFrom, timeTo], ordered by start (reversed if backward). */
  fetchRange(
    key: Buffer,
    timeFrom: number,
    timeTo: number,
    backward?: boolean,
  ): IterableIterator<{ windowStart: number; value: Buffer }>;
  /** Entries with key in [keyFrom, keyTo] (undefined: unbounded) and start in [timeFrom, timeTo]. */
  fetchKeyRange(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    timeFrom: number,
    timeTo: number,
    backward?: boolean,
  ): IterableIterator<{ key: Buffer; windowStart: number; value: Buffer }>;
  all(): IterableIterator<{ key: Buffer; windowStart: number; value: Buffer }>;
  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null; timestamp?: number }>): void;
}

export interface ReadOnlyWindowStore<K, V> {
  fetch(key: K, windowStart: number): V | undefined;
  fetchRange(key: K, timeFrom: number, timeTo: number): IterableIterator<{ windowStart: number; value: V }>;
  backwardFetchRange(
    key: K,
    timeFrom: number,
    timeTo: number,
  ): IterableIterator<{ windowStart: number; value: V }>;
  fetchKeyRange(
    keyFrom: K | undefined,
    keyTo: K | undefined,
    timeFrom: number,
    timeTo: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>>;
  fetchAll(timeFrom: number, timeTo: number): IterableIterator<KeyValue<Windowed<K>, V>>;
  all(): IterableIterator<KeyValue<Windowed<K>, V>>;
}

export interface WindowStore<K, V> extends StateStore, ReadOnlyWindowStore<K, V> {
  put(key: K, value: V | null, windowStart: number): void;
}

/**
 * Called by a caching layer when it evicts or flushes a dirty entry, so a DSL processor can forward
 * the deduplicated update downstream (Kafka Streams' CacheFlushListener).
 */
export type CacheFlushListener<K, V> = (
  key: K,
  newValue: V | undefined,
  oldValue: V | undefined,
  timestamp: number,
) => void;

/** A store that may cache; setFlushListener returns true when caching is on (the owner then forwards on flush). */
export interface CachedStore<K, V> {
  setFlushListener(listener: CacheFlushListener<K, V>, sendOldValues: boolean): boolean;
}

/** Builds a fresh store instance per task (Kafka Streams' StoreBuilder). */
export interface StoreBuilder<S extends StateStore = StateStore> {
  readonly name: string;
  readonly loggingEnabled: boolean;
  readonly cachingEnabled: boolean;
  /** Topic-level configs for the changelog topic (e.g. retention for window stores). */
  readonly changelogConfig: globalThis.Record<string, string>;
  withCachingEnabled(): StoreBuilder<S>;
  withCachingDisabled(): StoreBuilder<S>;
  withLoggingEnabled(config?: globalThis.Record<string, string>): StoreBuilder<S>;
  withLoggingDisabled(): StoreBuilder<S>;
  build(): S;
}

/** A session of a bytes-level session store: key, start and end (both inclusive), aggregate. */
export interface SessionBytesEntry {
  key: Buffer;
  start: number;
  end: number;
  value: Buffer;
}

/**
 * Bytes-level session store (Kafka Streams' SessionStore<Bytes, byte[]>): values addressed by
 * (key, start, end). Sessions whose end is at or before `observedStreamTime - retentionPeriod` (the
 * largest session end seen) are expired: puts into them are dropped and reads never show them.
 */
export interface SessionBytesStore extends StateStore {
  readonly retentionPeriod: number;
  /** A null value removes the session. */
  put(key: Buffer, start: number, end: number, value: Buffer | null): void;
  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined;
  /**
   * Sessions with key in [keyFrom, keyTo] (undefined: unbounded), end >= earliestSessionEndTime and
   * start <= latestSessionStartTime. One key's sessions come by end, then start (reversed if backward).
   */
  findSessions(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
    backward?: boolean,
  ): IterableIterator<SessionBytesEntry>;
  /** Largest session end put or restored so far; -Infinity before the first. */
  observedStreamTime(): number;
  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null; timestamp?: number }>): void;
}

/** Typed read access to a session store (Kafka Streams' ReadOnlySessionStore); windows are [start, end]. */
export interface ReadOnlySessionStore<K, V> {
  /** Sessions of a key with end >= earliestSessionEndTime and start <= latestSessionStartTime. */
  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>>;
  backwardFindSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>>;
  /** Like findSessions over a key range (undefined: unbounded). */
  findSessionsInRange(
    keyFrom: K | undefined,
    keyTo: K | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>>;
  fetchSession(key: K, sessionStartTime: number, sessionEndTime: number): V | undefined;
  /** Every live session of a key. */
  fetch(key: K): IterableIterator<KeyValue<Windowed<K>, V>>;
  backwardFetch(key: K): IterableIterator<KeyValue<Windowed<K>, V>>;
  /** Every live session of the keys in [keyFrom, keyTo] (undefined: unbounded). */
  fetchRange(keyFrom: K | undefined, keyTo: K | undefined): IterableIterator<KeyValue<Windowed<K>, V>>;
}

/** Typed session store as processors see it (Kafka Streams' SessionStore). */
export interface SessionStore<K, V> extends StateStore, ReadOnlySessionStore<K, V> {
  /** A null aggregate removes the session. */
  put(sessionKey: Windowed<K>, aggregate: V | null): void;
  remove(sessionKey: Windowed<K>): void;
}

/**
 * One version of a key in a versioned store (Kafka Streams' VersionedRecord): valid from `timestamp`
 * (inclusive) to `validTo` (exclusive). `validTo` is absent for the latest version of a key.
 */
export interface VersionedRecord<V> {
  value: V;
  timestamp: number;
  validTo?: number;
}

/**
 * Bytes-level versioned key-value store (Kafka Streams' VersionedBytesStore): several versions per
 * key, each valid from its timestamp until the next one's. History older than the observed stream
 * time minus `historyRetention` may be dropped, and writes older than that are refused (the
 * history retention doubles as grace period, as in Kafka Streams).
 */
export interface VersionedBytesStore extends RestorableStateStore {
  readonly historyRetention: number;
  /**
   * Adds a version (a null value is a tombstone); returns its validTo, or
   * PUT_RETURN_CODE_VALID_TO_UNDEFINED (-1) when it is the latest, or PUT_RETURN_CODE_NOT_PUT when
   * it was older than the grace period and not stored.
   */
  put(key: Buffer, value: Buffer | null, timestamp: number): number;
  /** The latest version, unless it is a tombstone. */
  get(key: Buffer): VersionedRecord<Buffer> | undefined;
  /** The version with the largest timestamp not after asOfTimestamp, unless it is a tombstone. */
  getAsOf(key: Buffer, asOfTimestamp: number): VersionedRecord<Buffer> | undefined;
  /** put(key, null, timestamp), returning what was valid at timestamp (undefined if too old). */
  delete(key: Buffer, timestamp: number): VersionedRecord<Buffer> | undefined;
  /** The latest version of every key that has one (not a tombstone), in key byte order. */
  latestRecords(): IterableIterator<{ key: Buffer; record: VersionedRecord<Buffer> }>;
  /**
   * Like getAsOf, but a tombstone answers too (value null, with its timestamp): the serving merge
   * needs to know when the version valid at a time began, deletions included.
   */
  versionAt(key: Buffer, asOfTimestamp: number): { value: Buffer | null; timestamp: number } | undefined;
  /** Every version the store holds, tombstones included (what a batch view publishes), unordered. */
  allVersions(): IterableIterator<{ key: Buffer; value: Buffer | null; timestamp: number }>;
  /** Largest timestamp put or restored so far; -Infinity before the first. */
  observedStreamTime(): number;
}

/** Typed read access to a versioned store. */
export interface ReadOnlyVersionedKeyValueStore<K, V> {
  /** The latest version of the key, or (with asOfTimestamp) the version valid at that time. */
  get(key: K, asOfTimestamp?: number): VersionedRecord<V> | undefined;
}

/** Typed versioned store as processors see it (Kafka Streams' VersionedKeyValueStore). */
export interface VersionedKeyValueStore<K, V> extends StateStore, ReadOnlyVersionedKeyValueStore<K, V> {
  put(key: K, value: V | null, timestamp: number): number;
  delete(key: K, timestamp: number): VersionedRecord<V> | undefined;
}
