export type * from './types.ts';
export { Stores } from './stores.ts';
export {
  KeyValueStoreBuilder,
  WindowStoreBuilder,
  SessionStoreBuilder,
  VersionedKeyValueStoreBuilder,
  WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS,
  VERSIONED_CHANGELOG_ADDITIONAL_COMPACTION_LAG_MS,
} from './store-builders.ts';
export {
  keyValueSupplier,
  windowSupplier,
  sessionSupplier,
  versionedSupplier,
  validateStoreName,
  type KeyValueBytesStoreSupplier,
  type WindowBytesStoreSupplier,
  type SessionBytesStoreSupplier,
  type VersionedBytesStoreSupplier,
} from './store-suppliers.ts';
export {
  VersionedKeyValueBytesStore,
  PUT_RETURN_CODE_NOT_PUT,
  PUT_RETURN_CODE_VALID_TO_UNDEFINED,
} from './versioned-key-value-store.ts';
export { MeteredVersionedKeyValueStore } from './metered-versioned-store.ts';
export { ChangeLoggingVersionedKeyValueBytesStore } from './change-logging-versioned-store.ts';
export { WrappedStateStore, type ChangelogRecord } from './wrapped-state-store.ts';
export { MeteredStore } from './metered-store.ts';
export { ChangeLoggingStore } from './change-logging-store.ts';
export { CachingStore, SegmentedCachingStore, type EntryFlushListener } from './caching-store.ts';
export { SegmentedBytesStore } from './segmented-store.ts';
export { SegmentedKeySchema } from './segmented-key-schema.ts';
export { MeteredKeyValueStore } from './metered-key-value-store.ts';
export { MeteredWindowStore } from './metered-window-store.ts';
export { CachingKeyValueBytesStore, type BytesFlushListener } from './caching-key-value-store.ts';
export { CachingWindowBytesStore, type WindowBytesFlushListener } from './caching-window-store.ts';
export { ChangeLoggingKeyValueBytesStore } from './change-logging-key-value-store.ts';
export { ChangeLoggingWindowBytesStore } from './change-logging-window-store.ts';
export { InMemoryKeyValueBytesStore } from './in-memory-key-value-store.ts';
export { LevelDbKeyValueBytesStore } from './leveldb-key-value-store.ts';
export { SegmentedWindowBytesStore, type SegmentedWindowOptions } from './segmented-window-store.ts';
export type {
  WindowStoreLayer,
  WindowBytesEntry,
  SessionStoreLayer,
  SegmentedLayer,
} from './store-layers.ts';
export {
  WindowKeySchema,
  defaultSegmentInterval,
  toChangelogKey as toWindowChangelogKey,
  fromChangelogKey as fromWindowChangelogKey,
  type WindowKeyParts,
} from './window-key-schema.ts';
export { timestampedSerde, type ValueAndTimestamp } from './timestamped-serde.ts';
export { createStoreCounters, isRestorable } from './counters.ts';
export { CacheBudget, DEFAULT_CACHE_MAX_BYTES } from './write-back-cache.ts';
export { InvalidStateStoreError, StateStoreError } from './errors.ts';
export {
  encodeEscaped,
  decodeEscaped,
  sortableInt64,
  writeSortableInt64,
  readSortableInt64,
  writeInt64BE,
  readInt64BE,
} from './key-encoding.ts';
export { MeteredSessionStore } from './metered-session-store.ts';
export { ChangeLoggingSessionBytesStore } from './change-logging-session-store.ts';
export { CachingSessionBytesStore } from './caching-session-store.ts';
export { SegmentedSessionBytesStore, type SegmentedSessionOptions } from './segmented-session-store.ts';
export {
  SessionKeySchema,
  toSessionChangelogKey,
  fromSessionChangelogKey,
  type SessionKeyParts,
} from './session-key-schema.ts';
