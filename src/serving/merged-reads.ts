/**
 * The merge of DESIGN.md ("Lambda semantics") for one store partition: the batch view's value
 * combined with the speed layer's deltas of the buckets the view does not cover.
 *
 * - Mergeable stores (a `merge` function): `view[key] ⊕ Σ_{b ≥ B} delta[key, b]`.
 * - Other stores: the speed layer's value when the key changed in a bucket ≥ B (a deletion counts),
 *   else the view's value.
 * - Window stores: the same, window by window.
 * - Versioned stores: the same on the key's history (mergedVersionAt), so they also answer as of a time.
 * - Without a view: the speed layer's value (its deltas since the beginning add up to it).
 *
 * Reads are synchronous: one query sees one view and one state of the deltas.
 */
import type { DeltaIndex } from '../state/delta-index.ts';
import type {
  KeyValueBytesStore,
  KeyValueStore,
  SessionStore,
  StateStore,
  VersionedBytesStore,
  VersionedKeyValueStore,
  VersionedRecord,
  WindowStore,
} from '../state/types.ts';
import type { ValueAndTimestamp } from '../state/timestamped-serde.ts';
import { fromChangelogKey as fromWindowChangelogKey, toChangelogKey } from '../state/window-key-schema.ts';
import type { StoreMetadata } from '../topology/topology.ts';
import type { Serde } from '../serde/serde.ts';

/** What a merged read of one partition needs. */
export interface PartitionSources {
  meta: StoreMetadata;
  keySerde: Serde<unknown>;
  /** The speed layer's store of the partition (active task, or a standby for stale reads). */
  speed: StateStore;
  /** The partition's delta index (undefined: answer from the speed layer alone). */
  delta: DeltaIndex | undefined;
  /** The view's store of the partition and the view's boundary bucket (undefined: no view). */
  view: StateStore | undefined;
  boundaryBucket: number;
}

const unwrap = (meta: StoreMetadata, v: unknown): unknown =>
  v === undefined || v === null ? undefined : meta.timestamped ? (v as ValueAndTimestamp<unknown>).value : v;

function bytesLayer<S>(store: StateStore): S {
  return (store as unknown as { inner: S }).inner;
}

/** The merged value of one key, undefined when there is none. */
export function mergedGet(src: PartitionSources, key: unknown, keyBytes: Buffer): unknown {
  const { meta, delta, view } = src;
  const speed = src.speed as KeyValueStore<unknown, unknown>;
  if (meta.versioned) return mergedVersionAt(src, key, keyBytes, Number.MAX_SAFE_INTEGER)?.value;
  if (!view || !delta) return unwrap(meta, speed.get(key));
  const batch = unwrap(meta, (view as KeyValueStore<unknown, unknown>).get(key));
  if (meta.merge) {
    let acc = batch;
    for (const partial of delta.partialsOf(keyBytes, src.boundaryBucket))
      acc = acc === undefined ? partial : meta.merge(key, acc, partial);
    return acc;
  }
  return delta.changedSince(keyBytes, src.boundaryBucket) ? unwrap(meta, speed.get(key)) : batch;
}

/**
 * The merged version of a versioned store's key valid at `asOfMs` (DESIGN.md's latest-wins rule on
 * the key's history): versions that begin in a bucket ≥ B come from the speed layer, older ones from
 * the view. A deletion is a version too (it answers undefined). Beyond the speed layer's history
 * retention only the latest version answers, as a versioned store's get(key, asOf) does.
 */
export function mergedVersionAt(
  src: PartitionSources,
  key: unknown,
  keyBytes: Buffer,
  asOfMs: number,
): { value: unknown; timestamp: number } | undefined {
  const { delta, view, meta } = src;
  const speed = src.speed as VersionedKeyValueStore<unknown, unknown>;
  const typed = (record: VersionedRecord<unknown> | undefined) =>
    record && { value: record.value, timestamp: record.timestamp };
  if (!view || !delta) return typed(speed.get(key, asOfMs));
  const batch = view as VersionedKeyValueStore<unknown, unknown>;
  const speedBytes = bytesLayer<VersionedBytesStore>(src.speed);
  const changed = delta.changedSince(keyBytes, src.boundaryBucket);
  if (changed) {
    // The key's latest version is the speed layer's. None at all: it was deleted at or past the
    // boundary and the deletion has left the history since, so the key has no value at any time the
    // store still answers for.
    const latest = speedBytes.versionAt(keyBytes, Number.MAX_SAFE_INTEGER);
    if (latest === undefined) return undefined;
    // The latest version answers every time at or after its own (a deletion: nothing).
    if (latest.timestamp <= asOfMs) return latest.value === null ? undefined : typed(speed.get(key));
  } else {
    const latest = typed(batch.get(key));
    if (latest !== undefined && latest.timestamp <= asOfMs) return latest;
  }
  const retention = meta.versioned?.historyRetentionMs ?? Number.MAX_SAFE_INTEGER;
  if (asOfMs < speedBytes.observedStreamTime() - retention) return undefined;
  if (delta.bucketOf(asOfMs) < src.boundaryBucket) return typed(batch.get(key, asOfMs));
  const version = speedBytes.versionAt(keyBytes, asOfMs);
  // None in the speed layer, which saw every record: a deletion past the boundary that has left its
  // history (the versions the view has there end before asOf too).
  if (version === undefined) return changed ? undefined : typed(batch.get(key, asOfMs));
  if (delta.bucketOf(version.timestamp) >= src.boundaryBucket)
    return version.value === null ? undefined : typed(speed.get(key, asOfMs));
  return typed(batch.get(key, asOfMs)); // began below the boundary: the view's (late records wait)
}

/** Serialized keys in [from, to] (undefined: unbounded) that may have a merged value, sorted. */
export function candidateKeys(
  src: PartitionSources,
  from: Buffer | undefined,
  to: Buffer | undefined,
): Buffer[] {
  const inRange = (k: Buffer): boolean =>
    (from === undefined || Buffer.compare(k, from) >= 0) && (to === undefined || Buffer.compare(k, to) <= 0);
  const base = src.view && src.delta ? src.view : src.speed;
  const keys = new Map<string, Buffer>();
  if (src.meta.versioned) {
    // A versioned store keeps its latest versions apart; keys whose latest version is a deletion
    // have no merged value unless the delta index names them.
    for (const { key } of bytesLayer<VersionedBytesStore>(base).latestRecords())
      if (inRange(key)) keys.set(key.toString('latin1'), key);
  } else {
    for (const { key } of bytesLayer<KeyValueBytesStore>(base).range(from, to))
      keys.set(key.toString('latin1'), key);
  }
  if (src.view && src.delta) {
    for (const key of src.delta.keysSince(src.boundaryBucket))
      if (inRange(key)) keys.set(key.toString('latin1'), key);
  }
  return [...keys.values()].sort(Buffer.compare);
}

export interface MergedWindow {
  start: number;
  value: unknown;
}

/** Merged windows of one key with start in [fromMs, toMs], by start. */
export function mergedWindows(
  src: PartitionSources,
  key: unknown,
  keyBytes: Buffer,
  fromMs: number,
  toMs: number,
): MergedWindow[] {
  const { meta, delta, view } = src;
  const speed = src.speed as WindowStore<unknown, unknown>;
  const out: MergedWindow[] = [];
  if (!view || !delta) {
    for (const { windowStart, value } of speed.fetchRange(key, fromMs, toMs))
      out.push({ start: windowStart, value: unwrap(meta, value) });
    return out;
  }
  const batch = view as WindowStore<unknown, unknown>;
  const starts = new Set<number>();
  for (const { windowStart } of batch.fetchRange(key, fromMs, toMs)) starts.add(windowStart);
  for (const k of delta.keysSince(src.boundaryBucket)) {
    const parts = fromWindowChangelogKey(k);
    if (parts.key.equals(keyBytes) && parts.windowStart >= fromMs && parts.windowStart <= toMs)
      starts.add(parts.windowStart);
  }
  for (const start of [...starts].sort((a, b) => a - b)) {
    const windowKey = toChangelogKey(keyBytes, start, 0);
    const fromBatch = unwrap(meta, batch.fetch(key, start));
    let value: unknown;
    if (meta.merge) {
      value = fromBatch;
      for (const partial of delta.partialsOf(windowKey, src.boundaryBucket))
        value = value === undefined ? partial : meta.merge(key, value, partial);
    } else {
      value = delta.changedSince(windowKey, src.boundaryBucket)
        ? unwrap(meta, speed.fetch(key, start))
        : fromBatch;
    }
    if (value !== undefined) out.push({ start, value });
  }
  return out;
}

export interface MergedSession {
  start: number;
  end: number;
  value: unknown;
}

/**
 * Sessions of one key: the speed layer's sessions that reach into a bucket ≥ B, and the view's
 * sessions that none of those overlaps. A session ends at its newest record, so it reaches past the
 * boundary exactly when it holds a record the view does not; it then holds every record of the view's
 * sessions it overlaps (adding records only merges sessions) and replaces them. Sessions that end
 * below B come from the view: a late record that changed one is shown by the next batch run. (Markers
 * of the record that changed a session would miss a late record that moved a session's start: the
 * new session would carry only the late record's bucket.)
 */
export function mergedSessions(src: PartitionSources, key: unknown, _keyBytes: Buffer): MergedSession[] {
  const { delta, view } = src;
  const speed = src.speed as SessionStore<unknown, unknown>;
  const all = (store: SessionStore<unknown, unknown>): MergedSession[] =>
    [...store.fetch(key)].map(({ key: w, value }) => ({ start: w.window.start, end: w.window.end, value }));
  if (!view || !delta) return all(speed);
  const changed = all(speed).filter((s) => delta.bucketOf(s.end) >= src.boundaryBucket);
  const kept = all(view as SessionStore<unknown, unknown>).filter(
    (s) => !changed.some((c) => c.start <= s.end && s.start <= c.end),
  );
  return [...kept, ...changed].sort((a, b) => a.start - b.start || a.end - b.end);
}
