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
 * Streams' window changelog key; session: its session changelog key), in the store's key order. A
 * batch view is published in this form, so a worker loads it with the restore path it already has.
 * Flush the store's cache first: the export reads what the bytes layers hold.
 */
export function* exportStoreRecords(store: StateStore, kind: StoreKind): Generator<StoreRecord> {
  if (typeof bytesLayer<Partial<VersionedBytesStore>>(store).latestRecords === 'function') {
    // A view record has no timestamp, and a versioned store restores only timestamped records.
    throw new Error(`store '${store.name}' is versioned: batch views cannot publish versioned stores yet`);
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
