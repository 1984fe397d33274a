/**
 * An in-memory QueryService for the HTTP tests: one deterministic application whose stores are split
 * over two "hosts" (each the QueryService of one test server). Partition = sum of the serialized key's
 * bytes mod 4; host 0 owns partitions 0 and 2, host 1 owns 1 and 3, and each is the other's standby.
 *
 * Stores:
 * - `page-counts` key-value, string keys (UTF-8 bytes), number values; mergeable.
 * - `users` key-value, integer keys (4 bytes big-endian, sign flipped), object values holding a bigint
 *   and bytes (the JSON mapping).
 * - `clicks-per-minute` window store (string keys), 60 s windows.
 * - `user-sessions` session store (string keys).
 */
import {
  BadQueryError,
  NotLocalError,
  StoreNotReadyError,
  UnknownStoreError,
} from '../../../src/serving/query-service.ts';
import type {
  Answer,
  HostInfo,
  KeyFormat,
  KeyMetadata,
  KeyValueEntry,
  LocalQueryOptions,
  Position,
  QueryService,
  RangeOptions,
  SessionEntry,
  StoreInfo,
  VersionAnswer,
  ViewRef,
  WindowEntry,
} from '../../../src/serving/query-service.ts';

export const PARTITIONS = 4;
export const SOURCE_TOPIC = 'pageviews';

export const STORES: StoreInfo[] = [
  { name: 'page-counts', kind: 'key-value', mergeable: true, partitions: PARTITIONS },
  { name: 'users', kind: 'key-value', mergeable: false, partitions: PARTITIONS },
  {
    name: 'clicks-per-minute',
    kind: 'window',
    mergeable: true,
    partitions: PARTITIONS,
    window: { sizeMs: 60_000, advanceMs: 60_000, graceMs: 0 },
  },
  { name: 'user-sessions', kind: 'session', mergeable: false, partitions: PARTITIONS },
];

/** Keys of page-counts: shared prefixes, unicode, spaces, slashes, and a run of numbered pages. */
export const PAGE_KEYS: string[] = [
  'home',
  'home/about',
  'home/blog',
  'home/blog/2026',
  'about',
  'ähnlich',
  'with space',
  'a%b?c#d',
  '日本',
  ...Array.from({ length: 60 }, (_, i) => `page-${String(i).padStart(2, '0')}`),
];

export const USER_IDS = [-5, 0, 7, 42, 1000];
export const WINDOW_KEY = 'home';
export const WINDOW_START = Date.UTC(2026, 10, 25, 10, 0, 0);
export const SESSION_KEY = 'alice';

export const VIEW: ViewRef = {
  id: 'view-0001',
  boundaryBucket: 491_234,
  boundaryTime: new Date(491_234 * 3_600_000).toISOString(),
};

type StoredKey = string | number;

function serialize(store: string, key: StoredKey): Buffer {
  if (store === 'users') {
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE((key as number) + 0x8000_0000);
    return buf;
  }
  return Buffer.from(key as string, 'utf8');
}

export function partitionOf(bytes: Buffer): number {
  let sum = 0;
  for (const b of bytes) sum += b;
  return sum % PARTITIONS;
}

export class FakeCluster {
  /** Each host's application.server (set once its test server listens). */
  readonly endpoints: (string | undefined)[] = [undefined, undefined];
  /** Partitions with no active host (a rebalance). */
  readonly orphans = new Set<number>();
  /** Every host believes the other one owns every key (two workers disagreeing mid-rebalance). */
  misroute = false;
  /** Stores whose queries fail with StoreNotReadyError. */
  readonly notReady = new Set<string>();
  /** Hosts on which every store is restoring. */
  readonly notReadyHosts = new Set<number>();
  /** Per host: source partition → next offset. */
  readonly offsets: Record<string, number>[] = [
    { '0': 100, '2': 200 },
    { '1': 110, '3': 210 },
  ];
  readonly lagMs: (number | undefined)[] = [0, 0];
  /** Counts calls per host and method (what reached which service). */
  readonly calls: Record<string, number>[] = [{}, {}];
  readonly kv = new Map<string, Map<StoredKey, unknown>>();
  readonly services: FakeQueryService[];

  constructor() {
    this.kv.set('page-counts', new Map(PAGE_KEYS.map((k, i) => [k, i + 1])));
    this.kv.set(
      'users',
      new Map(
        USER_IDS.map((id) => [
          id,
          {
            name: `user ${id}`,
            visits: 9_007_199_254_740_993n + BigInt(id),
            avatar: Buffer.from([id & 0xff, 1, 2]),
          },
        ]),
      ),
    );
    this.services = [new FakeQueryService(this, 0), new FakeQueryService(this, 1)];
  }

  owner(partition: number): number | null {
    return this.orphans.has(partition) ? null : partition % 2;
  }

  hostInfo(index: number): HostInfo {
    const [host, port] = (this.endpoints[index] ?? `host-${index}:0`).split(':');
    return { host: host ?? '', port: Number(port) };
  }

  /** Every key of a key-value store with its bytes, sorted by bytes. */
  sorted(store: string): { key: StoredKey; value: unknown; bytes: Buffer }[] {
    return [...(this.kv.get(store) ?? new Map<StoredKey, unknown>()).entries()]
      .map(([key, value]) => ({ key, value, bytes: serialize(store, key) }))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  }
}

export class FakeQueryService implements QueryService {
  constructor(
    private readonly cluster: FakeCluster,
    private readonly index: number,
  ) {}

  get endpoint(): string | undefined {
    return this.cluster.endpoints[this.index];
  }

  private count(method: string): void {
    const calls = this.cluster.calls[this.index]!;
    calls[method] = (calls[method] ?? 0) + 1;
  }

  stores(): StoreInfo[] {
    return STORES;
  }

  store(name: string): StoreInfo {
    const info = STORES.find((s) => s.name === name);
    if (!info) throw new UnknownStoreError(`no store named ${name}`);
    return info;
  }

  parseKey(store: string, raw: string, format: KeyFormat): unknown {
    this.store(store);
    const numeric = store === 'users';
    if (format === 'base64') {
      const bytes = Buffer.from(raw, 'base64');
      if (!numeric) return bytes.toString('utf8');
      if (bytes.length !== 4) throw new BadQueryError(`a users key is 4 bytes, not ${bytes.length}`);
      return bytes.readUInt32BE(0) - 0x8000_0000;
    }
    let key: unknown = raw;
    if (format === 'json') {
      try {
        key = JSON.parse(raw);
      } catch {
        throw new BadQueryError(`key '${raw.slice(0, 40)}' is not JSON`);
      }
    } else if (numeric) key = Number(raw);
    if (numeric ? !Number.isInteger(key) || Math.abs(key as number) > 2 ** 31 - 1 : typeof key !== 'string') {
      throw new BadQueryError(
        `store ${store} has ${numeric ? 'int32' : 'string'} keys; got ${JSON.stringify(key)}`,
      );
    }
    return key;
  }

  serializeKey(store: string, key: unknown): Buffer {
    return serialize(store, key as StoredKey);
  }

  metadataForKey(store: string, key: unknown): KeyMetadata {
    this.store(store);
    const partition = partitionOf(serialize(store, key as StoredKey));
    const owner = this.cluster.misroute ? 1 - this.index : this.cluster.owner(partition);
    return {
      store,
      partition,
      activeHost: owner === null ? null : this.cluster.hostInfo(owner),
      standbyHosts: owner === null ? [] : [this.cluster.hostInfo(1 - owner)],
      local: owner === this.index,
    };
  }

  hostsForStore(store: string): HostInfo[] {
    this.store(store);
    const owners = new Set<number>();
    for (let p = 0; p < PARTITIONS; p++) {
      const owner = this.cluster.owner(p);
      if (owner !== null) owners.add(owner);
    }
    return [...owners].sort().map((i) => this.cluster.hostInfo(i));
  }

  private answer<T>(result: T, stale = false): Answer<T> {
    const { offsets, lagRecords } = this.position();
    return {
      result,
      view: VIEW,
      position: { offsets, lagRecords },
      servedBy: this.endpoint ?? 'local',
      stale,
    };
  }

  private checkReady(store: string): void {
    if (this.cluster.notReady.has(store) || this.cluster.notReadyHosts.has(this.index)) {
      throw new StoreNotReadyError(`store ${store} is restoring`, 2);
    }
  }

  /** Throws unless this host may answer for the key (active, or standby with allowStale). */
  private check(store: string, key: unknown, options?: LocalQueryOptions): { stale: boolean } {
    this.checkReady(store);
    const metadata = this.metadataForKey(store, key);
    if (metadata.local) return { stale: false };
    if (options?.allowStale && metadata.activeHost !== null) return { stale: true };
    throw new NotLocalError(`partition ${metadata.partition} of ${store} is not served here`, metadata);
  }

  private requireKind(store: string, kind: StoreInfo['kind']): void {
    const info = this.store(store);
    if (info.kind !== kind) throw new BadQueryError(`store ${store} is a ${info.kind} store, not ${kind}`);
  }

  get(store: string, key: unknown, options?: LocalQueryOptions): Answer<unknown | null> {
    this.count('get');
    this.requireKind(store, 'key-value');
    const { stale } = this.check(store, key, options);
    return this.answer(this.cluster.kv.get(store)?.get(key as StoredKey) ?? null, stale);
  }

  /** The fake cluster has no versioned stores: every store refuses asOf, as a real one does. */
  getAsOf(store: string, key: unknown): Answer<VersionAnswer | null> {
    this.count('getAsOf');
    this.requireKind(store, 'key-value');
    this.serializeKey(store, key);
    throw new BadQueryError(`asOf needs a versioned store; '${store}' keeps only the latest value`);
  }

  range(store: string, options: RangeOptions): Answer<KeyValueEntry[]> {
    this.count('range');
    this.requireKind(store, 'key-value');
    this.checkReady(store);
    const { from, to, after, limit, reverse } = options;
    let rows = this.cluster
      .sorted(store)
      .filter((r) => this.cluster.owner(partitionOf(r.bytes)) === this.index)
      .filter(
        (r) => (!from || Buffer.compare(r.bytes, from) >= 0) && (!to || Buffer.compare(r.bytes, to) <= 0),
      );
    if (reverse) rows = rows.reverse();
    if (after) rows = rows.filter((r) => (reverse ? -1 : 1) * Buffer.compare(r.bytes, after) > 0);
    return this.answer(
      rows.slice(0, limit).map((r) => ({ key: r.key, value: r.value, keyBytes: r.bytes.toString('base64') })),
    );
  }

  fetchWindows(
    store: string,
    key: unknown,
    fromMs: number,
    toMs: number,
    options?: LocalQueryOptions,
  ): Answer<WindowEntry[]> {
    this.count('fetchWindows');
    this.requireKind(store, 'window');
    const { stale } = this.check(store, key, options);
    const windows =
      key === WINDOW_KEY
        ? [0, 1, 2, 3].map((i) => ({
            key,
            start: WINDOW_START + i * 60_000,
            end: WINDOW_START + (i + 1) * 60_000,
            value: 10 * (i + 1),
          }))
        : [];
    return this.answer(
      windows.filter((w) => w.start >= fromMs && w.start <= toMs),
      stale,
    );
  }

  fetchSessions(store: string, key: unknown, options?: LocalQueryOptions): Answer<SessionEntry[]> {
    this.count('fetchSessions');
    this.requireKind(store, 'session');
    const { stale } = this.check(store, key, options);
    const sessions =
      key === SESSION_KEY
        ? [
            { key, start: WINDOW_START, end: WINDOW_START + 90_000, value: 3 },
            { key, start: WINDOW_START + 600_000, end: WINDOW_START + 600_000, value: 1 },
          ]
        : [];
    return this.answer(sessions, stale);
  }

  position(): Position & { view: ViewRef | null; lagMs: number | undefined } {
    const offsets = { [SOURCE_TOPIC]: { ...this.cluster.offsets[this.index] } };
    return { offsets, lagRecords: 0, view: VIEW, lagMs: this.cluster.lagMs[this.index] };
  }
}
