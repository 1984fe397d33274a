/**
 * Batch views on a worker: follows `<applicationId>-batch-views`, loads the partitions of the newest
 * complete view that this worker's tasks serve into local stores (LevelDB, as the topology declares
 * them), verifies every partition against the manifest's checksum, and then swaps the new view in at
 * once: a query sees the old view with its deltas or the new view with its deltas, never a mix.
 * After a swap the delta indexes forget the buckets the new view covers.
 *
 * A task assigned later (a rebalance) gets its partitions of the current view loaded before it
 * answers: until then `ready()` says no and queries get a 503.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from 'pino';

import {
  manifestTopic,
  compareViewsNewestFirst,
  decodeManifest,
  type ViewManifest,
} from '../batch/view-manifest.ts';
import { readViewPartitions } from '../batch/view-reader.ts';
import type { KafkaAdmin, KafkaClient, PartitionReader } from '../kafka/client.ts';
import type { KafkaStreams } from '../runtime/kafka-streams.ts';
import { decodeVersionedViewRecord } from '../state/store-export.ts';
import type { RestorableStateStore, StateStore } from '../state/types.ts';
import type { Topology } from '../topology/topology.ts';
import type { ViewRef } from './query-service.ts';

/** Records restored into a view store per call (bounded memory while loading). */
const RESTORE_CHUNK = 10_000;

/** One view, loaded for some partitions of its stores. */
export class LoadedView {
  readonly ref: ViewRef;
  /** store → partition → local store holding the view's records. */
  private readonly stores = new Map<string, Map<number, StateStore>>();

  constructor(
    readonly manifest: ViewManifest,
    readonly dir: string,
  ) {
    this.ref = {
      id: manifest.viewId,
      boundaryBucket: manifest.boundaryBucket,
      boundaryTime: manifest.boundaryTime,
    };
  }

  /** First instant the view does not cover. */
  get boundaryMs(): number {
    return this.manifest.boundaryBucket * this.manifest.bucketMs;
  }

  has(store: string, partition: number): boolean {
    return this.stores.get(store)?.has(partition) ?? false;
  }

  store(store: string, partition: number): StateStore | undefined {
    return this.stores.get(store)?.get(partition);
  }

  /** Reads store partitions from Kafka in one pass (checksums verified) into local stores. */
  async load(
    client: KafkaClient,
    admin: KafkaAdmin,
    topology: Topology,
    wanted: Array<{ store: string; partition: number }>,
  ): Promise<number> {
    const missing = wanted.filter((w) => !this.has(w.store, w.partition));
    if (missing.length === 0) return 0;
    const read = await readViewPartitions(client, admin, this.manifest, missing);
    let count = 0;
    for (const { store, partition } of missing) {
      const records = read.get(`${store}:${partition}`)!;
      const local = topology
        .storeBuilder(store)
        .withLoggingDisabled()
        .withCachingDisabled()
        .build() as RestorableStateStore;
      await local.init({
        applicationId: this.manifest.applicationId,
        taskId: `view-${partition}`,
        taskDir: path.join(this.dir, `${store}-${partition}`),
        currentTimestamp: () => -1,
      });
      // A versioned store's view records carry each version's timestamp (restored at it).
      const restorable = topology.storeMetadata.get(store)?.versioned
        ? records.map(decodeVersionedViewRecord)
        : records;
      for (let i = 0; i < restorable.length; i += RESTORE_CHUNK)
        local.restoreBatch(restorable.slice(i, i + RESTORE_CHUNK));
      await local.flush();
      let partitions = this.stores.get(store);
      if (!partitions) this.stores.set(store, (partitions = new Map()));
      partitions.set(partition, local);
      count += records.length;
    }
    return count;
  }

  async close(): Promise<void> {
    for (const partitions of this.stores.values())
      for (const store of partitions.values()) await store.close().catch(() => {});
    this.stores.clear();
    await rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}

export interface ViewLoaderConfig {
  streams: KafkaStreams;
  client: KafkaClient;
  admin: KafkaAdmin;
  topology: Topology;
  applicationId: string;
  /** Root of local state; views go to `<stateDir>/<applicationId>/views/<viewId>/`. */
  stateDir: string;
  log: Logger;
  /** Called after each swap (metrics). */
  onSwap?: (view: LoadedView, loadMs: number) => void;
  /** Called when a view fails to load (metrics). */
  onLoadFailure?: (manifest: ViewManifest, error: Error) => void;
  /** A source record arrived after the view's snapshot for a bucket the view covers (metrics). */
  onLateRecord?: (topic: string) => void;
}

export class ViewLoader {
  /** The view queries use; replaced in one assignment. */
  current: LoadedView | undefined;
  private newest: ViewManifest | undefined;
  private reader?: PartitionReader;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Last load failure, for /health and logs. */
  lastError: Error | undefined;

  constructor(private readonly config: ViewLoaderConfig) {}

  /** Starts following the manifest topic (created if missing) and loads when assignments change. */
  async start(): Promise<void> {
    const { admin, client, applicationId } = this.config;
    const topic = manifestTopic(applicationId);
    await admin.createTopics([{ name: topic, partitions: 1, config: { 'cleanup.policy': 'compact' } }]);
    this.config.streams.onAssignment(() => this.schedule());
    const low = (await admin.endOffsets(topic))[0]?.low ?? 0;
    this.reader = client.reader({
      isolationLevel: 'read_committed',
      onBatch: async (batch) => {
        for (const r of batch.records) this.onManifestRecord(r.key, r.value, r.offset);
      },
      onError: (error) => {
        this.lastError = error;
        this.config.log.error({ err: error }, `reading ${topic} failed: batch views are no longer followed`);
      },
    });
    await this.reader.assign([{ topic, partition: 0, offset: low }]);
  }

  /** Whether queries of a store partition can be answered (its part of the current view is loaded). */
  ready(store: string, partition: number): boolean {
    const view = this.current;
    if (!view || !view.manifest.stores[store]) return true;
    return view.has(store, partition);
  }

  /** Waits for the loads scheduled so far (tests, shutdown). */
  settled(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reader?.close().catch(() => {});
    await this.chain.catch(() => {});
    await this.current?.close();
    this.current = undefined;
  }

  private onManifestRecord(key: Buffer | null, value: Buffer | null, offset: number): void {
    const id = key?.toString('utf8');
    if (!id) return;
    if (value === null) {
      if (this.newest?.viewId === id)
        this.config.log.warn(`view ${id} was retired while in use; keeping it until a newer one loads`);
      return;
    }
    let manifest: ViewManifest;
    try {
      manifest = decodeManifest(value);
    } catch (error) {
      this.config.log.warn(`ignoring manifest record at offset ${offset}: ${(error as Error).message}`);
      return;
    }
    if (this.newest && compareViewsNewestFirst(manifest, this.newest) >= 0) return;
    this.newest = manifest;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.chain = this.chain.then(
      () => this.sync(),
      () => this.sync(),
    );
  }

  /** Loads what is missing; swaps to the newest view once its local partitions are loaded. */
  private async sync(): Promise<void> {
    if (this.closed || !this.newest) return;
    const { streams, client, admin, topology, log } = this.config;
    const manifest = this.newest;
    const started = Date.now();
    const isNew = this.current?.manifest.viewId !== manifest.viewId;
    const view = isNew
      ? new LoadedView(
          manifest,
          path.join(this.config.stateDir, this.config.applicationId, 'views', manifest.viewId),
        )
      : this.current!;
    try {
      const wanted: Array<{ store: string; partition: number }> = [];
      for (const task of streams.activeTasks()) {
        for (const store of task.task.stores.keys())
          if (manifest.stores[store]) wanted.push({ store, partition: task.partition });
      }
      const records = await view.load(client, admin, topology, wanted);
      this.lastError = undefined;
      if (!isNew) {
        if (records > 0)
          log.info(
            { viewId: manifest.viewId },
            `loaded ${records} record(s) of view ${manifest.viewId} for newly assigned tasks`,
          );
        this.applyBoundary(view);
        return;
      }
      const old = this.current;
      this.current = view; // the swap: from here on every query uses the new view
      this.applyBoundary(view);
      log.info(
        { viewId: manifest.viewId, boundary: manifest.boundaryTime, records, ms: Date.now() - started },
        `swapped in batch view ${manifest.viewId} (buckets < ${manifest.boundaryBucket}, before ${manifest.boundaryTime})`,
      );
      this.config.onSwap?.(view, Date.now() - started);
      await old?.close();
    } catch (error) {
      this.lastError = error as Error;
      this.config.onLoadFailure?.(manifest, error as Error);
      log.error(
        { err: error, viewId: manifest.viewId },
        `loading batch view ${manifest.viewId} failed: ${(error as Error).message}`,
      );
      if (isNew) await view.close();
    }
  }

  /**
   * A record is late for a view when it lies past the view's snapshot of its source partition but its
   * bucket is below the view's boundary: in neither the view nor a mergeable answer until the next
   * batch run. Source topics the view did not read (repartition topics) are not watched.
   */
  private lateRecordObserver(
    view: LoadedView,
  ): (topic: string, partition: number, offset: number, ts: number) => void {
    const snapshotEnd = new Map<string, number[]>();
    for (const source of view.manifest.sources) {
      const ends: number[] = [];
      for (const p of source.partitions) ends[p.partition] = p.to;
      snapshotEnd.set(source.topic, ends);
    }
    const boundaryMs = view.boundaryMs;
    const onLate = this.config.onLateRecord;
    return (topic, partition, offset, ts) => {
      if (ts >= boundaryMs) return;
      const end = snapshotEnd.get(topic)?.[partition];
      if (end !== undefined && offset >= end) onLate?.(topic);
    };
  }

  /** Tells the delta indexes the view's boundary and drops the buckets it covers. */
  private applyBoundary(view: LoadedView): void {
    const boundary = view.manifest.boundaryBucket;
    const observer = this.lateRecordObserver(view);
    void this.config.streams.runExclusive(() => {
      if (this.current !== view) return;
      for (const task of this.config.streams.activeTasks()) {
        task.task.sourceRecordObserver = observer;
        for (const delta of task.task.deltaIndexes.values()) {
          if (!view.manifest.stores[delta.store]) continue;
          delta.boundary = boundary;
          delta.prune(boundary);
        }
      }
    });
  }
}
