/**
 * A QueryService that answers "not ready" until the worker's engine exists: the HTTP server has to
 * listen before the worker joins its group (the group learns the worker's application.server, and a
 * port of 0 is only known once bound), while the engine needs a started instance.
 */
import {
  StoreNotReadyError,
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

export class DeferredQueryService implements QueryService {
  private target: QueryService | undefined;

  constructor(readonly endpoint: string | undefined) {}

  /** From now on every call goes to `service`. */
  resolve(service: QueryService): void {
    this.target = service;
  }

  private get ready(): QueryService {
    if (!this.target)
      throw new StoreNotReadyError('the worker is starting (joining its group, restoring its stores)', 2);
    return this.target;
  }

  stores(): StoreInfo[] {
    return this.target?.stores() ?? [];
  }
  store(name: string): StoreInfo {
    return this.ready.store(name);
  }
  parseKey(store: string, raw: string, format: KeyFormat): unknown {
    return this.ready.parseKey(store, raw, format);
  }
  serializeKey(store: string, key: unknown): Buffer {
    return this.ready.serializeKey(store, key);
  }
  metadataForKey(store: string, key: unknown): KeyMetadata {
    return this.ready.metadataForKey(store, key);
  }
  hostsForStore(store: string): HostInfo[] {
    return this.ready.hostsForStore(store);
  }
  get(store: string, key: unknown, options?: LocalQueryOptions): Answer<unknown | null> {
    return this.ready.get(store, key, options);
  }
  getAsOf(
    store: string,
    key: unknown,
    asOfMs: number,
    options?: LocalQueryOptions,
  ): Answer<VersionAnswer | null> {
    return this.ready.getAsOf(store, key, asOfMs, options);
  }
  range(store: string, options: RangeOptions): Answer<KeyValueEntry[]> {
    return this.ready.range(store, options);
  }
  fetchWindows(
    store: string,
    key: unknown,
    fromMs: number,
    toMs: number,
    options?: LocalQueryOptions,
  ): Answer<WindowEntry[]> {
    return this.ready.fetchWindows(store, key, fromMs, toMs, options);
  }
  fetchSessions(store: string, key: unknown, options?: LocalQueryOptions): Answer<SessionEntry[]> {
    return this.ready.fetchSessions(store, key, options);
  }
  position(): Position & { view: ViewRef | null; lagMs: number | undefined } {
    return this.target?.position() ?? { offsets: {}, lagRecords: 0, view: null, lagMs: undefined };
  }
}
