import type { KeyValue, KeyValueBytesStore } from './types.ts';

/*
 * The read-then-write operations of a key-value bytes store, the same over any store's get and put
 * (in-memory, LevelDB, caching).
 */

type GetPut = Pick<KeyValueBytesStore, 'get' | 'put'>;

export function putIfAbsentVia(store: GetPut, key: Buffer, value: Buffer): Buffer | undefined {
  const existing = store.get(key);
  if (existing === undefined) store.put(key, value);
  return existing;
}

export function putAllVia(store: GetPut, entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
  for (const { key, value } of entries) store.put(key, value);
}

/** Deletes a key that is there; returns what was there. */
export function deleteVia(store: GetPut, key: Buffer): Buffer | undefined {
  const existing = store.get(key);
  if (existing !== undefined) store.put(key, null);
  return existing;
}
