import { readInt64BE, writeInt64BE } from './key-encoding.ts';
import { toSessionChangelogKey } from './session-key-schema.ts';
import type {
  KeyValueBytesStore,
  SessionBytesStore,
  StateStore,
  VersionedBytesStore,
  WindowBytesStore,
} from './types.ts';
import { toChangelogKey } from './window-key-schema.ts';

export type StoreKind = 'key-value' | 'window' | 'session';

/** A store record in changelog form: what a store's restoreBatch() reads back. */
export interface StoreRecord {
  key: Buffer;
  value: Buffer;
}

/** The bytes layer under a typed (metered) store. */
function bytesLayer<S>(store: StateStore): S {
  const inner = (store as { inner?: unknown }).inner;
  if (!inner) throw new Error(`store '${store.name}' has no bytes layer to export`);
  return inner as S;
}

/**
 * Every live record of a store, in changelog form (key-value: key and value bytes; window: Kafka
 * Streams' window changelog key; session: its session changelog key), in the store's key order;
 * a versioned store: every version it holds (see encodeVersionedViewRecord), oldest first. A
 * batch view is published in this form, so a worker loads it with the restore path it already has.
 * Flush the store's cache first: the export reads what the bytes layers hold.
 */
export function* exportStoreRecords(store: StateStore, kind: StoreKind): Generator<StoreRecord> {
  const versioned = bytesLayer<Partial<VersionedBytesStore>>(store);
  if (typeof versioned.allVersions === 'function') {
    yield* exportVersions(versioned as VersionedBytesStore);
    return;
  }
  if (kind === 'key-value') {
    for (const { key, value } of bytesLayer<KeyValueBytesStore>(store).range(undefined, undefined))
      yield { key, value };
  } else if (kind === 'window') {
    for (const { key, windowStart, value } of bytesLayer<WindowBytesStore>(store).all())
      yield { key: toChangelogKey(key, windowStart, 0), value };
  } else {
    const sessions = bytesLayer<SessionBytesStore>(store).findSessions(
      undefined,
      undefined,
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    );
    for (const { key, start, end, value } of sessions)
      yield { key: toSessionChangelogKey(key, start, end), value };
  }
}

const VERSION_TOMBSTONE = 0;
const VERSION_VALUE = 1;

/**
 * Every version of a versioned store, oldest first (then by key): replayed in this order, a
 * versioned store's restore refuses exactly what the store had already expired.
 */
function exportVersions(store: VersionedBytesStore): StoreRecord[] {
  const versions = [...store.allVersions()];
  versions.sort((a, b) => a.timestamp - b.timestamp || Buffer.compare(a.key, b.key));
  return versions.map((v) => encodeVersionedViewRecord(v.key, v.value, v.timestamp));
}

/**
 * A version as a view record: the user key, and as value the version's timestamp (int64), a flag
 * (0 tombstone, 1 value) and the value bytes. Views of other stores carry no timestamp of their own,
 * and view records are never null, so both go into the value.
 */
export function encodeVersionedViewRecord(key: Buffer, value: Buffer | null, timestamp: number): StoreRecord {
  const out = Buffer.allocUnsafe(9 + (value?.length ?? 0));
  writeInt64BE(out, timestamp, 0);
  out[8] = value === null ? VERSION_TOMBSTONE : VERSION_VALUE;
  value?.copy(out, 9);
  return { key, value: out };
}

/** The inverse of encodeVersionedViewRecord: a changelog record a versioned store restores. */
export function decodeVersionedViewRecord(record: StoreRecord): {
  key: Buffer;
  value: Buffer | null;
  timestamp: number;
} {
  if (record.value.length < 9 || record.value[8]! > VERSION_VALUE)
    throw new Error(`not a versioned view record (${record.value.length} value bytes)`);
  return {
    key: record.key,
    value: record.value[8] === VERSION_TOMBSTONE ? null : record.value.subarray(9),
    timestamp: readInt64BE(record.value, 0),
  };
}
