/**
 * Range and prefix scans: one worker's page of its own partitions, and the merge of every worker's
 * page into one. Pages are ordered by serialized key (`keyBytes`); a page's `nextCursor` is the base64url
 * of its last key, and the next page continues strictly after it. Each worker returns up to `limit`
 * entries and a cursor when it has more, so the merged first `limit` entries are exactly the global
 * first `limit`, and the pages of a scan add up to the whole store.
 */
import type { Position, QueryService, ViewRef } from '../query-service.ts';
import { toJsonValue } from './json-value.ts';
import type { JsonValue } from './json-value.ts';

export interface ScanEntry {
  key: JsonValue;
  value: JsonValue;
  /** Serialized key, base64. */
  keyBytes: string;
}

export interface ScanPage {
  entries: ScanEntry[];
  /** Continue after this (base64url of the last key), or null: nothing after this page. */
  nextCursor: string | null;
  view: ViewRef | null;
  position: Position;
  servedBy: string[];
  /** The workers of a fan-out answered from different batch views (a swap in progress). */
  mixedViews: boolean;
}

export interface ScanRequest {
  store: string;
  /** Inclusive bounds (serialized keys). */
  from?: Buffer;
  to?: Buffer;
  /** Only keys whose serialized bytes start with these (prefix scans; replaces from/to). */
  prefix?: Buffer;
  /** A previous page's cursor: entries strictly after it in scan order. */
  after?: Buffer;
  limit: number;
  reverse: boolean;
}

export function encodeCursor(keyBytes: Buffer): string {
  return keyBytes.toString('base64url');
}

export function decodeCursor(cursor: string): Buffer {
  return Buffer.from(cursor, 'base64url');
}

/**
 * The smallest byte string greater than every string that starts with `prefix` (drop trailing 0xff
 * bytes, add one to the last); undefined when there is none (empty or all 0xff).
 */
export function prefixUpperBound(prefix: Buffer): Buffer | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const bound = Buffer.from(prefix.subarray(0, end));
  bound[end - 1] = (bound[end - 1] ?? 0) + 1;
  return bound;
}

/** This worker's page: its own partitions only. */
export function scanLocal(service: QueryService, request: ScanRequest): ScanPage {
  const { store, prefix, after, limit, reverse } = request;
  // A prefix scan reads [prefix, upper bound]; the bound itself is the one key in there without the
  // prefix, so ask for one more and drop it.
  const upper = prefix && prefixUpperBound(prefix);
  const answer = service.range(store, {
    ...(prefix ? { from: prefix } : request.from ? { from: request.from } : {}),
    ...(prefix ? (upper ? { to: upper } : {}) : request.to ? { to: request.to } : {}),
    ...(after ? { after } : {}),
    limit: limit + (upper ? 2 : 1),
    reverse,
  });
  let entries = answer.result;
  if (prefix)
    entries = entries.filter((e) =>
      Buffer.from(e.keyBytes, 'base64').subarray(0, prefix.length).equals(prefix),
    );
  const page = entries.slice(0, limit).map((e) => ({
    key: toJsonValue(e.key),
    value: toJsonValue(e.value),
    keyBytes: e.keyBytes,
  }));
  const last = page.at(-1);
  return {
    entries: page,
    nextCursor: entries.length > limit && last ? encodeCursor(Buffer.from(last.keyBytes, 'base64')) : null,
    view: answer.view,
    position: answer.position,
    servedBy: [answer.servedBy],
    mixedViews: false,
  };
}

function mergeViews(pages: ScanPage[]): { view: ViewRef | null; mixedViews: boolean } {
  const views = pages.map((p) => p.view);
  const first = views[0] ?? null;
  const mixed = pages.some((p) => p.mixedViews) || views.some((v) => (v?.id ?? null) !== (first?.id ?? null));
  if (!mixed) return { view: first, mixedViews: false };
  // Name the oldest view any part came from (none loaded counts as oldest).
  if (views.some((v) => v === null)) return { view: null, mixedViews: true };
  const oldest = (views as ViewRef[]).reduce((a, b) => (b.boundaryBucket < a.boundaryBucket ? b : a));
  return { view: oldest, mixedViews: true };
}

/** Offsets of every worker (the lower one where two list the same partition) and their summed lag. */
export function mergePositions(positions: Position[]): Position {
  const offsets: Record<string, Record<string, number>> = {};
  let lagRecords = 0;
  for (const position of positions) {
    lagRecords += position.lagRecords;
    for (const [topic, partitions] of Object.entries(position.offsets)) {
      const into = (offsets[topic] ??= {});
      for (const [partition, offset] of Object.entries(partitions)) {
        const known = into[partition];
        into[partition] = known === undefined ? offset : Math.min(known, offset);
      }
    }
  }
  return { offsets, lagRecords };
}

/** Merges the workers' pages of one scan into the page the caller gets. */
export function mergePages(pages: ScanPage[], limit: number, reverse: boolean): ScanPage {
  const byKey = new Map<string, ScanEntry>();
  for (const page of pages)
    for (const entry of page.entries) if (!byKey.has(entry.keyBytes)) byKey.set(entry.keyBytes, entry);
  const sorted = [...byKey.values()]
    .map((entry) => ({ entry, bytes: Buffer.from(entry.keyBytes, 'base64') }))
    .sort((a, b) => (reverse ? Buffer.compare(b.bytes, a.bytes) : Buffer.compare(a.bytes, b.bytes)));
  const page = sorted.slice(0, limit);
  const last = page.at(-1);
  const more = sorted.length > limit || pages.some((p) => p.nextCursor !== null);
  return {
    entries: page.map((p) => p.entry),
    nextCursor: more && last ? encodeCursor(last.bytes) : null,
    ...mergeViews(pages),
    position: mergePositions(pages.map((p) => p.position)),
    servedBy: [...new Set(pages.flatMap((p) => p.servedBy))],
  };
}
