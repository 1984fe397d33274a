import { MeteredStore } from './metered-store.ts';
import type { SessionStoreLayer } from './store-layers.ts';
import type { KeyValue, SessionStore, Windowed } from './types.ts';

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

type SessionParts = { key: Buffer; start: number; end: number };

/**
 * The typed face of a session store (Kafka Streams' MeteredSessionStore): Windowed<K> keys whose
 * window is the session [start, end] (both inclusive).
 */
export class MeteredSessionStore<K, V>
  extends MeteredStore<K, V, SessionStoreLayer, SessionParts, Windowed<K>>
  implements SessionStore<K, V>
{
  get retentionPeriod(): number {
    return this.inner.retentionPeriod;
  }

  /** Largest session end seen (-Infinity before any): the store's notion of stream time. */
  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }

  put(sessionKey: Windowed<K>, aggregate: V | null): void {
    this.counters.puts++;
    this.write(sessionKey, this.valueBytes(aggregate));
  }

  remove(sessionKey: Windowed<K>): void {
    this.counters.deletes++;
    this.write(sessionKey, null);
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
      this.boundBytes(keyFrom),
      this.boundBytes(keyTo),
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

  protected typedKey({ key, start, end }: SessionParts, typed?: K): Windowed<K> {
    return { key: typed === undefined ? this.toKey(key) : typed, window: { start, end } };
  }

  private write(sessionKey: Windowed<K>, bytes: Buffer | null): void {
    this.inner.put(this.keyBytes(sessionKey.key), sessionKey.window.start, sessionKey.window.end, bytes);
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
    return this.typedEntries(
      this.inner.findSessions(keyFrom, keyTo, earliestSessionEndTime, latestSessionStartTime, backward),
      typedKey,
    );
  }
}
