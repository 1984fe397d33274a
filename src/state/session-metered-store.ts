import type { Serde } from '../serde/serde.ts';
import { countersFor, createStoreCounters } from './counters.ts';
import { StateStoreError } from './errors.ts';
import type { SessionStoreLayer } from './session-bytes-store.ts';
import type {
  KeyValue,
  SessionBytesEntry,
  SessionStore,
  StateStoreContext,
  StoreCounters,
  Windowed,
} from './types.ts';

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * The typed face of a session store (Kafka Streams' MeteredSessionStore): serdes, counters, and
 * Windowed<K> keys whose window is the session [start, end] (both inclusive). No caching layer:
 * session stores always write through (their updates are forwarded at once).
 */
export class MeteredSessionStore<K, V> implements SessionStore<K, V> {
  counters: StoreCounters = createStoreCounters();

  constructor(
    readonly inner: SessionStoreLayer,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get persistent(): boolean {
    return this.inner.persistent;
  }

  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  init(context: StateStoreContext): Promise<void> {
    this.counters = countersFor(context, this.name);
    return this.inner.init(context);
  }

  isOpen(): boolean {
    return this.inner.isOpen();
  }

  flushCache(): void {
    this.inner.flushCache();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Applies changelog records (bytes, as logged) to the innermost store. */
  restoreBatch(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    this.inner.restoreBatch(records);
  }

  /** Largest session end seen (-Infinity before any): the store's notion of stream time. */
  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }

  put(sessionKey: Windowed<K>, aggregate: V | null): void {
    this.counters.puts++;
    const bytes = aggregate === null || aggregate === undefined ? null : this.valueSerde.serialize(aggregate);
    this.inner.put(this.keyBytes(sessionKey.key), sessionKey.window.start, sessionKey.window.end, bytes);
  }

  remove(sessionKey: Windowed<K>): void {
    this.counters.deletes++;
    this.inner.put(this.keyBytes(sessionKey.key), sessionKey.window.start, sessionKey.window.end, null);
  }

  fetchSession(key: K, sessionStartTime: number, sessionEndTime: number): V | undefined {
    this.counters.gets++;
    return this.toValue(this.inner.fetchSession(this.keyBytes(key), sessionStartTime, sessionEndTime));
  }

  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>> {
    const bytes = this.keyBytes(key);
    return this.scan(bytes, bytes, earliestSessionEndTime, latestSessionStartTime, false, key);
  }

  backwardFindSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>> {
    const bytes = this.keyBytes(key);
    return this.scan(bytes, bytes, earliestSessionEndTime, latestSessionStartTime, true, key);
  }

  findSessionsInRange(
    keyFrom: K | undefined,
    keyTo: K | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.scan(
      this.optionalKeyBytes(keyFrom),
      this.optionalKeyBytes(keyTo),
      earliestSessionEndTime,
      latestSessionStartTime,
      false,
    );
  }

  fetch(key: K): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.findSessions(key, MIN_TIME, MAX_TIME);
  }

  backwardFetch(key: K): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.backwardFindSessions(key, MIN_TIME, MAX_TIME);
  }

  fetchRange(keyFrom: K | undefined, keyTo: K | undefined): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.findSessionsInRange(keyFrom, keyTo, MIN_TIME, MAX_TIME);
  }

  private scan(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
    backward: boolean,
    typedKey?: K,
  ): IterableIterator<KeyValue<Windowed<K>, V>> {
    this.counters.rangeScans++;
    return this.entries(
      this.inner.findSessions(keyFrom, keyTo, earliestSessionEndTime, latestSessionStartTime, backward),
      typedKey,
    );
  }

  private *entries(
    entries: Iterable<SessionBytesEntry>,
    typedKey: K | undefined,
  ): Generator<KeyValue<Windowed<K>, V>> {
    for (const { key, start, end, value } of entries) {
      yield {
        key: { key: typedKey === undefined ? this.toKey(key) : typedKey, window: { start, end } },
        value: this.toValue(value) as V,
      };
    }
  }

  private toKey(bytes: Buffer): K {
    try {
      return this.keySerde.deserialize(bytes);
    } catch (error) {
      throw new StateStoreError(this.name, `cannot deserialize key: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private keyBytes(key: K): Buffer {
    if (key === null || key === undefined) throw new StateStoreError(this.name, 'key must not be null');
    return this.keySerde.serialize(key);
  }

  private optionalKeyBytes(key: K | undefined): Buffer | undefined {
    return key === undefined || key === null ? undefined : this.keySerde.serialize(key);
  }

  private toValue(bytes: Buffer | null | undefined): V | undefined {
    if (bytes === null || bytes === undefined) return undefined;
    try {
      return this.valueSerde.deserialize(bytes);
    } catch (error) {
      throw new StateStoreError(this.name, `cannot deserialize value: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
