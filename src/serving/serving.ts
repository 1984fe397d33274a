/**
 * The serving layer of one worker: batch views followed and loaded (view-loader.ts), merged reads
 * (local-query-service.ts), and Kafka Streams' interactive queries on top of them
 * (`streams.store(StoreQueryParameters.fromNameAndType(...))`). The HTTP API (http/) serves the same
 * QueryService.
 */
import type { Logger } from 'pino';

import { childLogger } from '../logger.ts';
import type { KafkaStreams, StoreProvider } from '../runtime/kafka-streams.ts';
import type { StoreQueryParameters } from '../runtime/store-query-parameters.ts';
import { InvalidStateStoreError } from '../state/errors.ts';
import type {
  KeyValue,
  ReadOnlyKeyValueStore,
  ReadOnlySessionStore,
  ReadOnlyWindowStore,
  Windowed,
} from '../state/types.ts';
import { LocalQueryService } from './local-query-service.ts';
import { NotLocalError, StoreNotReadyError, UnknownStoreError } from './query-service.ts';
import { ServingMetrics } from './serving-metrics.ts';
import { ViewLoader, type LoadedView } from './view-loader.ts';

export interface ServingOptions {
  /** This worker's application.server (host:port), as the group knows it. */
  endpoint?: string;
  /** Root of local state (views are loaded under it); default: the instance's state dir. */
  stateDir: string;
  log?: Logger;
  onSwap?: (view: LoadedView, loadMs: number) => void;
}

export interface Serving {
  queries: LocalQueryService;
  views: ViewLoader;
  close(): Promise<void>;
}

/** Starts the serving layer of a started KafkaStreams instance and makes streams.store() answer. */
export async function startServing(streams: KafkaStreams, options: ServingOptions): Promise<Serving> {
  const client = streams.kafkaClient;
  if (!client) throw new Error('startServing: start the KafkaStreams instance first');
  const log = options.log ?? childLogger({ component: 'serving', applicationId: streams.applicationId });
  const admin = await client.admin();
  const metrics = new ServingMetrics(streams, () => views.current);
  const views: ViewLoader = new ViewLoader({
    streams,
    client,
    admin,
    topology: streams.topology,
    applicationId: streams.applicationId,
    stateDir: options.stateDir,
    log,
    onSwap: (view, loadMs) => {
      metrics.swapped(view, loadMs);
      options.onSwap?.(view, loadMs);
    },
    onLoadFailure: () => metrics.loadFailures.inc(),
    onLateRecord: (topic) => metrics.lateRecords.inc({ topic }),
  });
  const partitions = streams.subTopologyPartitions();
  const queries = new LocalQueryService(
    {
      streams,
      topology: streams.topology,
      views,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      log,
      admin,
    },
    (sub) => partitions.get(sub) ?? 0,
  );
  await queries.refreshHosts();
  await views.start();
  streams.attachStoreProvider(new QueryStoreProvider(queries));
  return {
    queries,
    views,
    async close() {
      streams.attachStoreProvider(undefined);
      await views.close();
      await admin.close().catch(() => {});
    },
  };
}

/** Read-only stores over this instance's partitions, answering merged values (Kafka Streams' IQ). */
class QueryStoreProvider implements StoreProvider {
  constructor(private readonly queries: LocalQueryService) {}

  store<T>(parameters: StoreQueryParameters<T>): T {
    const { storeName: name, queryableStoreType: type } = parameters;
    let info;
    try {
      info = this.queries.store(name);
    } catch (error) {
      if (error instanceof UnknownStoreError) throw new InvalidStateStoreError(name, error.message);
      throw error;
    }
    const expected = type.kind === 'timestamped-key-value' ? 'key-value' : type.kind;
    if (info.kind !== expected) {
      throw new InvalidStateStoreError(
        name,
        `is a ${info.kind} store; query it as QueryableStoreTypes.${info.kind === 'key-value' ? 'keyValueStore' : info.kind === 'window' ? 'windowStore' : 'sessionStore'}()`,
      );
    }
    const stale = { allowStale: parameters.staleStoresEnabled };
    const q = this.queries;
    /** Not-local keys read as absent, as a composite of local stores does; not-ready stores throw. */
    const local = <R>(fn: () => R, absent: R): R => {
      try {
        return fn();
      } catch (error) {
        if (error instanceof NotLocalError) return absent;
        if (error instanceof StoreNotReadyError) throw new InvalidStateStoreError(name, error.message);
        throw error;
      }
    };
    if (info.kind === 'key-value') {
      const timestamped = type.kind === 'timestamped-key-value';
      const wrap = (value: unknown): unknown => (timestamped ? { value, timestamp: -1 } : value);
      const scan = (
        from: unknown,
        to: unknown,
        reverse: boolean,
      ): IterableIterator<KeyValue<unknown, unknown>> => {
        const answer = local(
          () =>
            q.range(name, {
              ...(from !== undefined ? { from: q.serializeKey(name, from) } : {}),
              ...(to !== undefined ? { to: q.serializeKey(name, to) } : {}),
              limit: Number.MAX_SAFE_INTEGER,
              reverse,
            }).result,
          [],
        );
        return answer.map((e) => ({ key: e.key, value: wrap(e.value) }))[Symbol.iterator]();
      };
      const store: ReadOnlyKeyValueStore<unknown, unknown> = {
        get: (key) => {
          const value = local(() => q.get(name, key, stale).result, null);
          return value === null ? undefined : wrap(value);
        },
        range: (from, to) => scan(from, to, false),
        reverseRange: (from, to) => scan(from, to, true),
        all: () => scan(undefined, undefined, false),
        reverseAll: () => scan(undefined, undefined, true),
        prefixScan: (prefix) => {
          const from = q.serializeKey(name, prefix);
          const matching = [...scan(undefined, undefined, false)].filter((e) =>
            q.serializeKey(name, e.key).subarray(0, from.length).equals(from),
          );
          return matching[Symbol.iterator]();
        },
        approximateNumEntries: () => [...scan(undefined, undefined, false)].length,
      };
      return store as T;
    }
    if (info.kind === 'window') {
      const fetchRange = (key: unknown, from: number, to: number, backward: boolean) => {
        const windows = local(() => q.fetchWindows(name, key, from, to, stale).result, []);
        const out = windows.map((w) => ({ windowStart: w.start, value: w.value }));
        return (backward ? out.reverse() : out)[Symbol.iterator]();
      };
      const scan = (from: unknown, to: unknown, timeFrom: number, timeTo: number) => {
        const keyBytes = (k: unknown): Buffer | undefined =>
          k === undefined ? undefined : q.serializeKey(name, k);
        const entries = local(() => q.localWindows(name, keyBytes(from), keyBytes(to), timeFrom, timeTo), []);
        const out = entries.map((w) => ({
          key: { key: w.key, window: { start: w.start, end: w.end } },
          value: w.value,
        }));
        return out[Symbol.iterator]();
      };
      const store: ReadOnlyWindowStore<unknown, unknown> = {
        fetch: (key, windowStart) =>
          local(() => q.fetchWindows(name, key, windowStart, windowStart, stale).result, [])[0]?.value,
        fetchRange: (key, from, to) => fetchRange(key, from, to, false),
        backwardFetchRange: (key, from, to) => fetchRange(key, from, to, true),
        fetchKeyRange: (from, to, timeFrom, timeTo) => scan(from, to, timeFrom, timeTo),
        fetchAll: (timeFrom, timeTo) => scan(undefined, undefined, timeFrom, timeTo),
        all: () => scan(undefined, undefined, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      };
      return store as T;
    }
    const sessions = (key: unknown): Array<KeyValue<Windowed<unknown>, unknown>> =>
      local(() => q.fetchSessions(name, key, stale).result, []).map((s) => ({
        key: { key, window: { start: s.start, end: s.end } },
        value: s.value,
      }));
    const within = (key: unknown, earliestEnd: number, latestStart: number) =>
      sessions(key).filter((s) => s.key.window.end >= earliestEnd && s.key.window.start <= latestStart);
    const sessionScan = (from: unknown, to: unknown): Array<KeyValue<Windowed<unknown>, unknown>> => {
      const keyBytes = (k: unknown): Buffer | undefined =>
        k === undefined ? undefined : q.serializeKey(name, k);
      return local(() => q.localSessions(name, keyBytes(from), keyBytes(to)), []).map((s) => ({
        key: { key: s.key, window: { start: s.start, end: s.end } },
        value: s.value,
      }));
    };
    const store: ReadOnlySessionStore<unknown, unknown> = {
      fetch: (key) => sessions(key)[Symbol.iterator](),
      backwardFetch: (key) => sessions(key).reverse()[Symbol.iterator](),
      findSessions: (key, earliestEnd, latestStart) =>
        within(key, earliestEnd, latestStart)[Symbol.iterator](),
      backwardFindSessions: (key, earliestEnd, latestStart) =>
        within(key, earliestEnd, latestStart).reverse()[Symbol.iterator](),
      fetchSession: (key, start, end) =>
        sessions(key).find((s) => s.key.window.start === start && s.key.window.end === end)?.value,
      findSessionsInRange: (from, to, earliestEnd, latestStart) => {
        const found = sessionScan(from, to).filter(
          (s) => s.key.window.end >= earliestEnd && s.key.window.start <= latestStart,
        );
        return found[Symbol.iterator]();
      },
      fetchRange: (from, to) => sessionScan(from, to)[Symbol.iterator](),
    };
    return store as T;
  }
}
