/**
 * What a published batch view is (DESIGN.md, "Lambda semantics"): its manifest, the topics that hold
 * it, and the checksum that proves a partition intact. A view is visible only through its manifest
 * record in `<applicationId>-batch-views`; its data topics are written first.
 */
import { createHash } from 'node:crypto';

import type { StoreKind, StoreRecord } from '../state/store-export.ts';

export const MANIFEST_FORMAT = 1;

/** One source partition as the run read it: [from, to) with `to` the end offset at the snapshot. */
export interface SnapshotPartition {
  partition: number;
  from: number;
  to: number;
}

export interface SourceSnapshot {
  topic: string;
  partitions: SnapshotPartition[];
  /** The topic's retention.ms (-1 = unlimited); null when the broker did not say. */
  retentionMs: number | null;
}

export interface ViewStorePartition {
  partition: number;
  records: number;
  /** sha256 over the partition's records in order (see StoreChecksum). */
  checksum: string;
}

export interface ViewStore {
  kind: StoreKind;
  /** The data topic: partitioned like the store's changelog, records in changelog form. */
  topic: string;
  partitions: ViewStorePartition[];
}

export interface ViewRecordCounts {
  /** Source records read below the snapshot. */
  read: number;
  /** Source records processed (bucket below the boundary). */
  processed: number;
  /** Source records at or past the boundary, left to the speed layer. */
  beyondBoundary: number;
  /** Source records that could not be deserialized or carried an invalid timestamp (skipped). */
  skipped: number;
}

export interface ViewManifest {
  format: number;
  viewId: string;
  applicationId: string;
  /** The topology file the view was computed with (base name). */
  topology: string;
  /** The view holds the records with floor(ts / bucketMs) < boundaryBucket. */
  boundaryBucket: number;
  bucketMs: number;
  /** boundaryBucket * bucketMs as an ISO time: the first instant the view does not cover. */
  boundaryTime: string;
  createdAt: string;
  completedAt: string;
  /** Processes that computed the view together. */
  instances: number;
  sources: SourceSnapshot[];
  stores: Record<string, ViewStore>;
  records: ViewRecordCounts;
  /** Things an operator should know (e.g. a source topic with finite retention). */
  warnings: string[];
}

/** The compacted topic that lists the complete views of an application, one record per view. */
export function manifestTopic(applicationId: string): string {
  return `${applicationId}-batch-views`;
}

/** The data topic of one store of one view. */
export function viewDataTopic(applicationId: string, viewId: string, store: string): string {
  return `${applicationId}-batch-view-${viewId}-${store}`;
}

/** Prefix of every data topic of a view (cleanup of runs that never published). */
export function viewDataTopicPrefix(applicationId: string, viewId?: string): string {
  return `${applicationId}-batch-view-${viewId === undefined ? '' : `${viewId}-`}`;
}

/** Per-run topics of a multi-process run (repartition exchange); deleted when the run ends. */
export function runTopicPrefix(applicationId: string, runId?: string): string {
  return `${applicationId}-batch-run-${runId === undefined ? '' : `${runId}-`}`;
}

/** Where instances of a multi-process run meet (start, stage barriers, results). */
export function runControlTopic(applicationId: string): string {
  return `${applicationId}-batch-runs`;
}

/** View ids sort by creation time to the second: `20261202T130501Z-3fa2` (manifests order by createdAt). */
export function newViewId(now = new Date(), random = Math.random()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const suffix = Math.floor(random * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${stamp}-${suffix}`;
}

const VIEW_ID = /^(\d{8}T\d{6}Z-[0-9a-f]{4})-/;

/** Extracts the view id from a data topic of the application, if it is one. */
export function viewIdOfDataTopic(applicationId: string, topic: string): string | undefined {
  const prefix = viewDataTopicPrefix(applicationId);
  if (!topic.startsWith(prefix)) return undefined;
  return VIEW_ID.exec(topic.slice(prefix.length))?.[1];
}

/** Extracts the run id from a per-run topic of the application, if it is one. */
export function runIdOfTopic(applicationId: string, topic: string): string | undefined {
  const prefix = runTopicPrefix(applicationId);
  if (!topic.startsWith(prefix)) return undefined;
  return VIEW_ID.exec(topic.slice(prefix.length))?.[1];
}

/**
 * Checksum of one store partition: sha256 over every record as (u32 key length, key, u32 value
 * length, value), in the store's key order. Equal inputs give equal checksums on every machine.
 */
export class StoreChecksum {
  private readonly hash = createHash('sha256');
  private readonly lengths = Buffer.alloc(4);
  records = 0;

  add(record: StoreRecord): void {
    this.lengths.writeUInt32BE(record.key.length, 0);
    this.hash.update(this.lengths);
    this.hash.update(record.key);
    this.lengths.writeUInt32BE(record.value.length, 0);
    this.hash.update(this.lengths);
    this.hash.update(record.value);
    this.records++;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export function encodeManifest(manifest: ViewManifest): Buffer {
  return Buffer.from(JSON.stringify(manifest));
}

/** Parses a manifest record; throws with the reason when it is not one this version understands. */
export function decodeManifest(value: Buffer): ViewManifest {
  const parsed = JSON.parse(value.toString('utf8')) as Partial<ViewManifest>;
  if (parsed.format !== MANIFEST_FORMAT || typeof parsed.viewId !== 'string' || !parsed.stores) {
    throw new Error(`not a batch view manifest of format ${MANIFEST_FORMAT}`);
  }
  return parsed as ViewManifest;
}

/** Newest first: the larger boundary wins, then the later creation. */
export function compareViewsNewestFirst(a: ViewManifest, b: ViewManifest): number {
  // Creation time to the millisecond, not the view id: ids of two runs in the same second differ only
  // in their random suffix, which says nothing about which run came last.
  return (
    b.boundaryBucket - a.boundaryBucket ||
    Date.parse(b.createdAt) - Date.parse(a.createdAt) ||
    b.viewId.localeCompare(a.viewId)
  );
}

/** Where `--sinks redirect` writes a sink topic's records. */
export function redirectTopic(topic: string, viewId: string): string {
  return `${topic}-batch-${viewId}`;
}
