import type { KeyValueBytesStore } from './types.ts';

/** A bytes store that can list keys without reading values (both built-in stores can). */
export interface KeyScanningBytesStore extends KeyValueBytesStore {
  /** Keys in [from, to] (inclusive; undefined: open), ascending or descending. */
  keys(from: Buffer | undefined, to: Buffer | undefined, reverse?: boolean): IterableIterator<Buffer>;
}

function scansKeys(store: KeyValueBytesStore): store is KeyScanningBytesStore {
  return typeof (store as Partial<KeyScanningBytesStore>).keys === 'function';
}

/** Keys of a range; skips the value reads (LevelDB point reads) where the store allows. */
export function* keysOf(
  store: KeyValueBytesStore,
  from: Buffer | undefined,
  to: Buffer | undefined,
  reverse = false,
): Generator<Buffer> {
  if (scansKeys(store)) yield* store.keys(from, to, reverse);
  else for (const entry of store.range(from, to, reverse)) yield entry.key;
}
