import type { KeyValue, KeyValueStore, WindowStore, Windowed } from '../state/types.ts';

type Stamped<V> = { value: V; timestamp: number } | undefined;

function* mapValues<K, V>(it: Iterable<KeyValue<K, Stamped<V>>>): IterableIterator<KeyValue<K, V>> {
  for (const kv of it) if (kv.value !== undefined) yield { key: kv.key, value: kv.value.value };
}

/** Shows a DSL store (values kept with their timestamps) with plain values, as Kafka Streams' driver does. */
export function unwrapTimestampedKeyValueStore<K, V>(inner: KeyValueStore<K, any>): KeyValueStore<K, V> {
  const store = inner as KeyValueStore<K, Stamped<V>>;
  return Object.assign(Object.create(inner) as KeyValueStore<K, V>, {
    get: (key: K) => store.get(key)?.value,
    put: (key: K, value: V | null) => store.put(key, value === null ? null : { value, timestamp: -1 }),
    putIfAbsent: (key: K, value: V) => store.putIfAbsent(key, { value, timestamp: -1 })?.value,
    putAll: (entries: ReadonlyArray<KeyValue<K, V | null>>) =>
      store.putAll(
        entries.map((e) => ({
          key: e.key,
          value: e.value === null ? null : { value: e.value, timestamp: -1 },
        })),
      ),
    delete: (key: K) => store.delete(key)?.value,
    range: (from?: K, to?: K) => mapValues<K, V>(store.range(from, to)),
    reverseRange: (from?: K, to?: K) => mapValues<K, V>(store.reverseRange(from, to)),
    all: () => mapValues<K, V>(store.all()),
    reverseAll: () => mapValues<K, V>(store.reverseAll()),
    prefixScan: (prefix: K) => mapValues<K, V>(store.prefixScan(prefix)),
    approximateNumEntries: () => store.approximateNumEntries(),
  });
}

export function unwrapTimestampedWindowStore<K, V>(inner: WindowStore<K, any>): WindowStore<K, V> {
  const store = inner as WindowStore<K, Stamped<V>>;
  function* windows(it: Iterable<{ windowStart: number; value: Stamped<V> }>) {
    for (const w of it) if (w.value !== undefined) yield { windowStart: w.windowStart, value: w.value.value };
  }
  return Object.assign(Object.create(inner) as WindowStore<K, V>, {
    fetch: (key: K, start: number) => store.fetch(key, start)?.value,
    put: (key: K, value: V | null, start: number) =>
      store.put(key, value === null ? null : { value, timestamp: start }, start),
    fetchRange: (key: K, from: number, to: number) => windows(store.fetchRange(key, from, to)),
    backwardFetchRange: (key: K, from: number, to: number) =>
      windows(store.backwardFetchRange(key, from, to)),
    fetchKeyRange: (kf: K | undefined, kt: K | undefined, from: number, to: number) =>
      mapValues<Windowed<K>, V>(store.fetchKeyRange(kf, kt, from, to)),
    fetchAll: (from: number, to: number) => mapValues<Windowed<K>, V>(store.fetchAll(from, to)),
    all: () => mapValues<Windowed<K>, V>(store.all()),
  });
}
