/**
 * What the serving layer's HTTP API asks of a worker: the contract between `http/` (routes,
 * forwarding, auth, validation) and the worker's query engine (`local-query-service.ts`: the batch
 * view merged with the speed layer's deltas). Keys and values cross it decoded (JavaScript values);
 * the HTTP layer turns them into JSON.
 *
 * Every answer says which batch view it used and how much speed-layer state it reflects, so a caller
 * can tell an old answer from a fresh one.
 */

export type StoreKind = 'key-value' | 'window' | 'session';

/** How a key is written in a URL: a string (the default), JSON, or base64 of the serialized key. */
export type KeyFormat = 'string' | 'json' | 'base64';

export interface StoreInfo {
  name: string;
  kind: StoreKind;
  /** Batch and speed values are combined (count, sum, aggregate with merge); else latest wins. */
  mergeable: boolean;
  /** Partitions (tasks) of the store across the application. */
  partitions: number;
  /** Window stores: size and grace (ms). */
  window?: { sizeMs: number; advanceMs: number; graceMs: number };
  /** Versioned key-value stores: how long older versions are kept (ms); such stores answer asOf. */
  versioned?: { historyRetentionMs: number };
}

/** The batch view an answer was merged with (null: no view published or loaded yet). */
export interface ViewRef {
  id: string;
  boundaryBucket: number;
  /** The first instant the view does not cover (ISO time). */
  boundaryTime: string;
}

/** How far the speed layer had read when it answered. */
export interface Position {
  /** Source topic → partition → next offset the answering task(s) will process. */
  offsets: Record<string, Record<string, number>>;
  /** Records in those partitions not processed yet (end offset - position; 0 when caught up). */
  lagRecords: number;
}

/** One worker, as the group knows it (Kafka Streams' HostInfo: its application.server). */
export interface HostInfo {
  host: string;
  port: number;
}

export interface KeyMetadata {
  store: string;
  partition: number;
  /** Where the key is answered; null when no instance owns the partition now (rebalancing). */
  activeHost: HostInfo | null;
  standbyHosts: HostInfo[];
  /** This worker is the active host. */
  local: boolean;
}

export interface Answer<T> {
  result: T;
  view: ViewRef | null;
  position: Position;
  /** The worker that computed the answer (its application.server, or "local"). */
  servedBy: string;
  /** Answered from a standby replica (opt-in stale read). */
  stale: boolean;
}

export interface KeyValueEntry {
  key: unknown;
  value: unknown;
  /** Serialized key, base64: what a range cursor continues after. */
  keyBytes: string;
}

export interface WindowEntry {
  key: unknown;
  /** [start, end) in ms. */
  start: number;
  end: number;
  value: unknown;
}

export interface SessionEntry {
  key: unknown;
  /** [start, end] in ms, both inclusive. */
  start: number;
  end: number;
  value: unknown;
}

export interface RangeOptions {
  /** Inclusive bounds, serialized keys (undefined: unbounded). */
  from?: Buffer;
  to?: Buffer;
  /** Entries strictly after this serialized key (a cursor). */
  after?: Buffer;
  limit: number;
  reverse?: boolean;
}

export interface LocalQueryOptions {
  /** Allow answering from a standby replica (Kafka Streams' enableStaleStores). */
  allowStale?: boolean;
}

/** A version of a versioned store's key, merged (batch view and speed layer). */
export interface VersionAnswer {
  value: unknown;
  /** When the version began (its record's timestamp). */
  timestamp: number;
}

/** A store name the application does not have (HTTP 404). */
export class UnknownStoreError extends Error {
  override name = 'UnknownStoreError';
}

/** A request the store cannot take: a key its serde cannot read, a fetch on the wrong kind (HTTP 400). */
export class BadQueryError extends Error {
  override name = 'BadQueryError';
}

/**
 * The key's partition is not served here (another worker owns it): the HTTP layer forwards to
 * `owner`, or answers 503 when the group has no owner now.
 */
export class NotLocalError extends Error {
  override name = 'NotLocalError';
  constructor(
    message: string,
    readonly metadata: KeyMetadata,
  ) {
    super(message);
  }
}

/**
 * The store cannot answer right now: its task is restoring, migrating, or loading a view (Kafka
 * Streams' InvalidStateStoreException). HTTP 503 with Retry-After.
 */
export class StoreNotReadyError extends Error {
  override name = 'StoreNotReadyError';
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** The worker's query engine, as the HTTP layer uses it. All answers come from local state. */
export interface QueryService {
  /** This worker's application.server (host:port), or undefined when it has none. */
  readonly endpoint: string | undefined;
  stores(): StoreInfo[];
  /** Throws UnknownStoreError. */
  store(name: string): StoreInfo;
  /** Reads a key from a URL with the store's key serde; throws BadQueryError naming the problem. */
  parseKey(store: string, raw: string, format: KeyFormat): unknown;
  /** Serializes a key with the store's key serde (range bounds, cursors). */
  serializeKey(store: string, key: unknown): Buffer;
  metadataForKey(store: string, key: unknown): KeyMetadata;
  /** Every worker of the group that serves part of the store (for range scans over all partitions). */
  hostsForStore(store: string): HostInfo[];
  /** The merged value of one key (null: none); throws NotLocalError, StoreNotReadyError. */
  get(store: string, key: unknown, options?: LocalQueryOptions): Answer<unknown | null>;
  /**
   * The merged version of a key of a versioned store valid at `asOfMs` (undefined: none); throws
   * BadQueryError for a store that is not versioned, NotLocalError, StoreNotReadyError.
   */
  getAsOf(
    store: string,
    key: unknown,
    asOfMs: number,
    options?: LocalQueryOptions,
  ): Answer<VersionAnswer | null>;
  /** Merged entries of this worker's partitions, in serialized-key order. Key-value stores only. */
  range(store: string, options: RangeOptions): Answer<KeyValueEntry[]>;
  /** Merged windows of one key with start in [fromMs, toMs]. Window stores only. */
  fetchWindows(
    store: string,
    key: unknown,
    fromMs: number,
    toMs: number,
    options?: LocalQueryOptions,
  ): Answer<WindowEntry[]>;
  /** Sessions of one key. Session stores only. */
  fetchSessions(store: string, key: unknown, options?: LocalQueryOptions): Answer<SessionEntry[]>;
  /** The current position without a query (freshness waits: ?minOffsets=, ?maxLagMs=). */
  position(): Position & { view: ViewRef | null; lagMs: number | undefined };
}
