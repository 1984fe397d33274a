/**
 * The worker's query engine (QueryService): answers from this worker's tasks, merging the loaded
 * batch view with the speed layer's delta index (merged-reads.ts), and says where a key lives when it
 * is not here. Store partitions are found as Kafka Streams finds them: the store's key serde and
 * Kafka's default partitioner.
 */
import type { Logger } from 'pino';

import { defaultPartition } from '../kafka/partitioner.ts';
import type { KafkaAdmin } from '../kafka/client.ts';
import type { ActiveTaskView, KafkaStreams } from '../runtime/kafka-streams.ts';
import type { Serde } from '../serde/serde.ts';
import { fromSessionChangelogKey } from '../state/session-key-schema.ts';
import type { SessionBytesStore, StateStore, WindowBytesStore } from '../state/types.ts';
import { fromChangelogKey as fromWindowChangelogKey } from '../state/window-key-schema.ts';
import type { StoreMetadata, Topology } from '../topology/topology.ts';
import {
  candidateKeys,
  mergedGet,
  mergedSessions,
  mergedVersionAt,
  mergedWindows,
  type PartitionSources,
} from './merged-reads.ts';
import {
  BadQueryError,
  NotLocalError,
  StoreNotReadyError,
  UnknownStoreError,
  type Answer,
  type HostInfo,
  type KeyFormat,
  type KeyMetadata,
  type KeyValueEntry,
  type LocalQueryOptions,
  type Position,
  type QueryService,
  type RangeOptions,
  type SessionEntry,
  type StoreInfo,
  type VersionAnswer,
  type ViewRef,
  type WindowEntry,
} from './query-service.ts';
import type { ViewLoader } from './view-loader.ts';

export interface LocalQueryServiceConfig {
  streams: KafkaStreams;
  topology: Topology;
  views: ViewLoader;
  /** This worker's application.server (host:port). */
  endpoint?: string;
  log: Logger;
  /** Reads the group's committed offsets: a task's position until it processes its first record. */
  admin?: KafkaAdmin;
}

/** How often, at most, committed offsets are read again for tasks that have not processed a record. */
const COMMITTED_REFRESH_MS = 2_000;

interface StoreEntry {
  info: StoreInfo;
  meta: StoreMetadata;
  keySerde: Serde<unknown>;
  subtopology: number;
}

export function parseHostInfo(endpoint: string): HostInfo {
  const i = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

export class LocalQueryService implements QueryService {
  readonly endpoint: string | undefined;
  private readonly config: LocalQueryServiceConfig;
  private readonly storeEntries = new Map<string, StoreEntry>();
  /** Task id → endpoints, refreshed after every rebalance. */
  private activeHosts = new Map<string, string>();
  private standbyHosts = new Map<string, string[]>();
  private lastCaughtUp = Date.now();
  /** The group's committed offsets ("topic:partition" → next offset), read after each assignment. */
  private committed = new Map<string, number>();
  private committedReading: Promise<void> | undefined;
  private committedReadAt = 0;

  constructor(config: LocalQueryServiceConfig, partitionsOf: (subtopology: number) => number) {
    this.config = config;
    this.endpoint = config.endpoint;
    const { topology } = config;
    const subs = topology.subTopologies();
    for (const [name, meta] of topology.storeMetadata) {
      if (!meta.queryable || topology.globalStores.has(name)) continue;
      const sub = subs.find((s) => s.stores.includes(name));
      if (!sub) continue;
      this.storeEntries.set(name, {
        info: {
          name,
          kind: meta.kind,
          mergeable: meta.merge !== undefined,
          partitions: partitionsOf(sub.id),
          ...(meta.window ? { window: meta.window } : {}),
          ...(meta.versioned ? { versioned: meta.versioned } : {}),
        },
        meta,
        keySerde: (meta.keySerde ?? topology.defaultKeySerde) as Serde<unknown>,
        subtopology: sub.id,
      });
    }
    config.streams.onAssignment(() => {
      void this.refreshHosts();
      this.readCommitted(true);
    });
  }

  /**
   * Reads the group's committed offsets of this worker's source partitions, in the background: a task
   * that has not processed a record since its assignment stands at its committed offset (after a
   * restart on caught-up input, not at 0 with the whole partition as lag).
   */
  private readCommitted(force = false): void {
    const { admin, streams } = this.config;
    if (!admin || this.committedReading) return;
    if (!force && Date.now() - this.committedReadAt < COMMITTED_REFRESH_MS) return;
    const topics = [...new Set(streams.activeTasks().flatMap((t) => t.sourceTopics))];
    if (topics.length === 0) return;
    this.committedReadAt = Date.now();
    this.committedReading = admin
      .committedOffsets(streams.applicationId, topics)
      .then((offsets) => {
        for (const { topic, partition, offset } of offsets)
          if (offset >= 0) this.committed.set(`${topic}:${partition}`, offset);
      })
      .catch((error: unknown) =>
        this.config.log.warn(
          { err: error },
          `serving: could not read the committed offsets of ${topics.join(', ')}; positions of tasks that have not processed a record yet show 0`,
        ),
      )
      .finally(() => {
        this.committedReading = undefined;
      });
  }

  /** Reads the group's task → host map (after each rebalance, and on demand). */
  async refreshHosts(): Promise<void> {
    try {
      const { active, standby } = await this.config.streams.hostMaps();
      const activeHosts = new Map<string, string>();
      for (const [endpoint, tasks] of Object.entries(active))
        for (const t of tasks) activeHosts.set(t, endpoint);
      const standbyHosts = new Map<string, string[]>();
      for (const [endpoint, tasks] of Object.entries(standby))
        for (const t of tasks) standbyHosts.set(t, [...(standbyHosts.get(t) ?? []), endpoint]);
      this.activeHosts = activeHosts;
      this.standbyHosts = standbyHosts;
    } catch (error) {
      this.config.log.warn({ err: error }, `could not read the group's hosts: ${(error as Error).message}`);
    }
  }

  stores(): StoreInfo[] {
    return [...this.storeEntries.values()].map((e) => e.info);
  }

  store(name: string): StoreInfo {
    return this.entry(name).info;
  }

  parseKey(store: string, raw: string, format: KeyFormat): unknown {
    const { keySerde } = this.entry(store);
    try {
      if (format === 'base64') return keySerde.deserialize(Buffer.from(raw, 'base64'));
      const value: unknown = format === 'json' ? JSON.parse(raw) : raw;
      keySerde.serialize(value); // the serde must take it
      return value;
    } catch (error) {
      throw new BadQueryError(
        `key '${raw.length > 80 ? `${raw.slice(0, 80)}…` : raw}' (keyFormat=${format}) does not fit store '${store}': ` +
          `${(error as Error).message}` +
          (format === 'string'
            ? '; try keyFormat=json for numbers and objects, or base64 for raw bytes'
            : ''),
      );
    }
  }

  serializeKey(store: string, key: unknown): Buffer {
    try {
      return this.entry(store).keySerde.serialize(key);
    } catch (error) {
      throw new BadQueryError(`key does not fit store '${store}': ${(error as Error).message}`);
    }
  }

  metadataForKey(store: string, key: unknown): KeyMetadata {
    const entry = this.entry(store);
    const partition = defaultPartition(this.serializeKey(store, key), entry.info.partitions);
    return this.metadataForPartition(entry, partition);
  }

  hostsForStore(store: string): HostInfo[] {
    const entry = this.entry(store);
    const endpoints = new Set<string>();
    for (let p = 0; p < entry.info.partitions; p++) {
      const host = this.activeHosts.get(`${entry.subtopology}_${p}`);
      if (host) endpoints.add(host);
    }
    if (this.endpoint) endpoints.add(this.endpoint);
    return [...endpoints].sort().map(parseHostInfo);
  }

  get(store: string, key: unknown, options: LocalQueryOptions = {}): Answer<unknown | null> {
    const entry = this.entry(store);
    if (entry.info.kind !== 'key-value')
      throw new BadQueryError(
        `store '${store}' is a ${entry.info.kind} store; use its ${entry.info.kind === 'window' ? 'windows' : 'sessions'} route`,
      );
    const keyBytes = this.serializeKey(store, key);
    const partition = defaultPartition(keyBytes, entry.info.partitions);
    const { sources, stale } = this.sources(entry, partition, options);
    return this.answer([partition], entry, stale, mergedGet(sources, key, keyBytes) ?? null);
  }

  getAsOf(
    store: string,
    key: unknown,
    asOfMs: number,
    options: LocalQueryOptions = {},
  ): Answer<VersionAnswer | null> {
    const entry = this.entry(store);
    if (!entry.meta.versioned)
      throw new BadQueryError(
        `asOf needs a versioned store; '${store}' keeps only the latest value (Stores.persistentVersionedKeyValueStore makes one)`,
      );
    const keyBytes = this.serializeKey(store, key);
    const partition = defaultPartition(keyBytes, entry.info.partitions);
    const { sources, stale } = this.sources(entry, partition, options);
    return this.answer([partition], entry, stale, mergedVersionAt(sources, key, keyBytes, asOfMs) ?? null);
  }

  range(store: string, options: RangeOptions): Answer<KeyValueEntry[]> {
    const entry = this.entry(store);
    if (entry.info.kind !== 'key-value')
      throw new BadQueryError(`range scans need a key-value store; '${store}' is a ${entry.info.kind} store`);
    const partitions = this.localPartitions(entry);
    const candidates: Array<{ keyBytes: Buffer; partition: number; sources: PartitionSources }> = [];
    for (const partition of partitions) {
      const { sources } = this.sources(entry, partition, {});
      for (const keyBytes of candidateKeys(sources, options.from, options.to)) {
        if (
          options.after &&
          (options.reverse
            ? Buffer.compare(keyBytes, options.after) >= 0
            : Buffer.compare(keyBytes, options.after) <= 0)
        )
          continue;
        candidates.push({ keyBytes, partition, sources });
      }
    }
    candidates.sort((a, b) => (options.reverse ? -1 : 1) * Buffer.compare(a.keyBytes, b.keyBytes));
    const entries: KeyValueEntry[] = [];
    for (const c of candidates) {
      if (entries.length >= options.limit) break;
      const key = entry.keySerde.deserialize(c.keyBytes);
      const value = mergedGet(c.sources, key, c.keyBytes);
      if (value !== undefined) entries.push({ key, value, keyBytes: c.keyBytes.toString('base64') });
    }
    return this.answer(partitions, entry, false, entries);
  }

  fetchWindows(
    store: string,
    key: unknown,
    fromMs: number,
    toMs: number,
    options: LocalQueryOptions = {},
  ): Answer<WindowEntry[]> {
    const entry = this.entry(store);
    if (entry.info.kind !== 'window')
      throw new BadQueryError(`store '${store}' is a ${entry.info.kind} store, not a window store`);
    const keyBytes = this.serializeKey(store, key);
    const partition = defaultPartition(keyBytes, entry.info.partitions);
    const { sources, stale } = this.sources(entry, partition, options);
    const size = entry.meta.window?.sizeMs ?? 0;
    const windows = mergedWindows(sources, key, keyBytes, fromMs, toMs).map((w) => ({
      key,
      start: w.start,
      end: w.start + size,
      value: w.value,
    }));
    return this.answer([partition], entry, stale, windows);
  }

  fetchSessions(store: string, key: unknown, options: LocalQueryOptions = {}): Answer<SessionEntry[]> {
    const entry = this.entry(store);
    if (entry.info.kind !== 'session')
      throw new BadQueryError(`store '${store}' is a ${entry.info.kind} store, not a session store`);
    const keyBytes = this.serializeKey(store, key);
    const partition = defaultPartition(keyBytes, entry.info.partitions);
    const { sources, stale } = this.sources(entry, partition, options);
    const sessions = mergedSessions(sources, key, keyBytes).map((s) => ({
      key,
      start: s.start,
      end: s.end,
      value: s.value,
    }));
    return this.answer([partition], entry, stale, sessions);
  }

  /**
   * Merged windows of every key of this worker's partitions with key in [keyFrom, keyTo] (serialized;
   * undefined: unbounded) and start in [fromMs, toMs], by key bytes then start (Kafka Streams'
   * fetchKeyRange / fetchAll over local stores).
   */
  localWindows(
    store: string,
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    fromMs: number,
    toMs: number,
  ): WindowEntry[] {
    const entry = this.entry(store);
    if (entry.info.kind !== 'window')
      throw new BadQueryError(`store '${store}' is a ${entry.info.kind} store, not a window store`);
    const size = entry.meta.window?.sizeMs ?? 0;
    const out: WindowEntry[] = [];
    for (const { sources, keyBytes } of this.localKeys(entry, keyFrom, keyTo, (s) =>
      windowKeysOf(s, fromMs, toMs),
    )) {
      const key = entry.keySerde.deserialize(keyBytes);
      for (const w of mergedWindows(sources, key, keyBytes, fromMs, toMs))
        out.push({ key, start: w.start, end: w.start + size, value: w.value });
    }
    return out;
  }

  /** Sessions of every key of this worker's partitions with key in [keyFrom, keyTo], by key bytes. */
  localSessions(store: string, keyFrom: Buffer | undefined, keyTo: Buffer | undefined): SessionEntry[] {
    const entry = this.entry(store);
    if (entry.info.kind !== 'session')
      throw new BadQueryError(`store '${store}' is a ${entry.info.kind} store, not a session store`);
    const out: SessionEntry[] = [];
    for (const { sources, keyBytes } of this.localKeys(entry, keyFrom, keyTo, sessionKeysOf)) {
      const key = entry.keySerde.deserialize(keyBytes);
      for (const s of mergedSessions(sources, key, keyBytes))
        out.push({ key, start: s.start, end: s.end, value: s.value });
    }
    return out;
  }

  /** Keys (serialized) of the local partitions that may hold windows or sessions, each with its sources. */
  private localKeys(
    entry: StoreEntry,
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    keysOf: (store: StateStore) => Buffer[],
  ): Array<{ sources: PartitionSources; keyBytes: Buffer }> {
    const inRange = (k: Buffer): boolean =>
      (keyFrom === undefined || Buffer.compare(k, keyFrom) >= 0) &&
      (keyTo === undefined || Buffer.compare(k, keyTo) <= 0);
    const out: Array<{ sources: PartitionSources; keyBytes: Buffer }> = [];
    for (const partition of this.localPartitions(entry)) {
      const { sources } = this.sources(entry, partition, {});
      const keys = new Map<string, Buffer>();
      const add = (k: Buffer): void => {
        if (inRange(k)) keys.set(k.toString('latin1'), k);
      };
      keysOf(sources.speed).forEach(add);
      if (sources.view) keysOf(sources.view).forEach(add);
      if (sources.view && sources.delta) {
        for (const k of sources.delta.keysSince(sources.boundaryBucket))
          add(entry.info.kind === 'window' ? fromWindowChangelogKey(k).key : fromSessionChangelogKey(k).key);
      }
      for (const keyBytes of [...keys.values()].sort(Buffer.compare)) out.push({ sources, keyBytes });
    }
    return out.sort((a, b) => Buffer.compare(a.keyBytes, b.keyBytes));
  }

  position(): Position & { view: ViewRef | null; lagMs: number | undefined } {
    const tasks = this.config.streams.activeTasks();
    const position = this.positionOf(
      tasks.map((t) => t.partition),
      tasks,
    );
    if (position.lagRecords === 0) this.lastCaughtUp = Date.now();
    return {
      ...position,
      view: this.config.views.current?.ref ?? null,
      lagMs: position.lagRecords === 0 ? 0 : Date.now() - this.lastCaughtUp,
    };
  }

  /** Each active task of this worker with its position and lag (the operator's view: /status, /ui). */
  taskPositions(): Array<{
    id: string;
    subtopology: number;
    partition: number;
    restoring: boolean;
    position: Position;
  }> {
    const tasks = this.config.streams.activeTasks();
    return tasks
      .map((t) => ({
        id: t.id,
        subtopology: t.subtopology,
        partition: t.partition,
        restoring: t.restoring,
        position: this.positionOf([t.partition], [t]),
      }))
      .sort((a, b) => a.subtopology - b.subtopology || a.partition - b.partition);
  }

  /** endpoint → active task ids and endpoint → standby task ids, as last read from the group. */
  groupHosts(): { active: Record<string, string[]>; standby: Record<string, string[]> } {
    const invert = (entries: Iterable<[string, string[]]>): Record<string, string[]> => {
      const out: Record<string, string[]> = {};
      for (const [task, endpoints] of entries) for (const e of endpoints) (out[e] ??= []).push(task);
      for (const tasks of Object.values(out)) tasks.sort();
      return out;
    };
    return {
      active: invert([...this.activeHosts].map(([task, endpoint]) => [task, [endpoint]])),
      standby: invert(this.standbyHosts),
    };
  }

  // ---- internals ----

  private entry(name: string): StoreEntry {
    const entry = this.storeEntries.get(name);
    if (!entry) {
      const known = [...this.storeEntries.keys()];
      throw new UnknownStoreError(
        `no queryable store '${name}'; this application has ${known.length > 0 ? known.map((s) => `'${s}'`).join(', ') : 'none'} (name a store with Materialized.as to query it)`,
      );
    }
    return entry;
  }

  private metadataForPartition(entry: StoreEntry, partition: number): KeyMetadata {
    const task = `${entry.subtopology}_${partition}`;
    const local = this.config.streams.activeTask(task) !== undefined;
    const active = this.activeHosts.get(task) ?? (local ? this.endpoint : undefined);
    return {
      store: entry.info.name,
      partition,
      activeHost: active ? parseHostInfo(active) : null,
      standbyHosts: (this.standbyHosts.get(task) ?? []).map(parseHostInfo),
      local,
    };
  }

  private localPartitions(entry: StoreEntry): number[] {
    return this.config.streams
      .activeTasks()
      .filter((t) => t.subtopology === entry.subtopology)
      .map((t) => t.partition)
      .sort((a, b) => a - b);
  }

  /** The speed store, delta index and view store of one partition, or why they cannot answer. */
  private sources(
    entry: StoreEntry,
    partition: number,
    options: LocalQueryOptions,
  ): { sources: PartitionSources; stale: boolean } {
    const name = entry.info.name;
    const taskId = `${entry.subtopology}_${partition}`;
    const task = this.config.streams.activeTask(taskId);
    const view = this.config.views.current;
    const viewStore = view && view.manifest.stores[name] ? view.store(name, partition) : undefined;
    if (!task) {
      if (options.allowStale) {
        const standby = this.config.streams.standbyStores().get(taskId);
        const speed = standby?.get(name);
        if (speed) {
          // A standby keeps the changelogs, not a delta index: answer with its speed value.
          return {
            sources: {
              meta: entry.meta,
              keySerde: entry.keySerde,
              speed,
              delta: undefined,
              view: undefined,
              boundaryBucket: 0,
            },
            stale: true,
          };
        }
      }
      const metadata = this.metadataForPartition(entry, partition);
      throw new NotLocalError(
        `partition ${partition} of store '${name}' is served by ${metadata.activeHost ? `${metadata.activeHost.host}:${metadata.activeHost.port}` : 'no worker right now (the group is rebalancing)'}`,
        metadata,
      );
    }
    if (task.restoring)
      throw new StoreNotReadyError(
        `store '${name}' partition ${partition} is restoring from its changelog; retry shortly`,
      );
    if (view && view.manifest.stores[name] && !viewStore) {
      throw new StoreNotReadyError(
        `store '${name}' partition ${partition} is loading batch view ${view.ref.id}; retry shortly`,
      );
    }
    const speed = task.task.getStore<StateStore>(name);
    if (!speed) throw new StoreNotReadyError(`store '${name}' partition ${partition} is not open yet`);
    return {
      sources: {
        meta: entry.meta,
        keySerde: entry.keySerde,
        speed,
        delta: task.task.deltaIndexes.get(name),
        view: viewStore,
        boundaryBucket: view?.manifest.boundaryBucket ?? 0,
      },
      stale: false,
    };
  }

  private answer<T>(partitions: number[], entry: StoreEntry, stale: boolean, result: T): Answer<T> {
    // By id, not by filtering activeTasks(): a point query looks up one task, not every task's view.
    const tasks: ActiveTaskView[] = [];
    for (const partition of partitions) {
      const task = this.config.streams.activeTask(`${entry.subtopology}_${partition}`);
      if (task) tasks.push(task);
    }
    const view = this.config.views.current;
    return {
      result,
      view: view && view.manifest.stores[entry.info.name] ? view.ref : null,
      position: this.positionOf(partitions, tasks),
      servedBy: this.endpoint ?? 'local',
      stale,
    };
  }

  private positionOf(partitions: number[], tasks: ReturnType<KafkaStreams['activeTasks']>): Position {
    const offsets: Position['offsets'] = {};
    let lagRecords = 0;
    for (const t of tasks) {
      if (!partitions.includes(t.partition)) continue;
      for (const topic of t.sourceTopics) {
        let offset = t.task.consumedOffset(topic, t.partition);
        if (offset < 0) {
          // Nothing processed since the assignment: the task stands at the group's committed offset.
          const committed = this.committed.get(`${topic}:${t.partition}`);
          if (committed === undefined) this.readCommitted();
          offset = committed ?? 0;
        }
        (offsets[topic] ??= {})[String(t.partition)] = offset;
        const hw = this.config.streams.highWatermark(topic, t.partition);
        if (hw !== undefined) lagRecords += Math.max(0, hw - offset);
      }
    }
    return { offsets, lagRecords };
  }
}

/** Serialized keys with a window starting in [fromMs, toMs] in a window store. */
function windowKeysOf(store: StateStore, fromMs: number, toMs: number): Buffer[] {
  const bytes = (store as unknown as { inner: WindowBytesStore }).inner;
  return [...bytes.fetchKeyRange(undefined, undefined, fromMs, toMs)].map((e) => e.key);
}

/** Serialized keys with a live session in a session store. */
function sessionKeysOf(store: StateStore): Buffer[] {
  const bytes = (store as unknown as { inner: SessionBytesStore }).inner;
  return [...bytes.findSessions(undefined, undefined, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)].map(
    (e) => e.key,
  );
}
