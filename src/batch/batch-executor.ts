/**
 * Batch-optimised execution of a topology's processor graph: the same StreamTask, processors and
 * stores the speed layer runs, over bounded input, without consumer groups, commits, changelogs or
 * per-record awaits.
 *
 * - Stages (see batch-plan.ts) run one after another. Within a stage every task reads its source
 *   partitions [earliest, snapshot end) and processes records in timestamp order across its
 *   co-partitioned inputs: a task takes a record only when each of its unfinished inputs has one
 *   queued, so the order does not depend on how the fetches interleave (Kafka Streams' record
 *   queues, without the idle timeout a live stream needs).
 * - Records the speed layer would write to a repartition topic go to the task that reads that
 *   partition: straight into its queue within a cyclic stage, else through the exchange, which
 *   hands the next stage each partition complete and sorted by (timestamp, origin task, sequence).
 * - Records with bucket(ts) >= the boundary are passed over at the source; sinks to external topics
 *   go to the SinkWriter (dropped unless redirected); stores keep writes in memory and flush them to
 *   LevelDB only when the process exceeds its memory budget, and once more before publication.
 * - When a task's inputs are exhausted its caches flush and its queryable stores are published
 *   through the ViewWriter, partition = task partition, as the speed layer's changelog.
 */
import type { ErrorHandling } from '../processor/error-handlers.ts';
import { mkdir, rm } from 'node:fs/promises';

import type { Logger } from 'pino';

import type { ConsumedRecord, OutgoingRecord } from '../kafka/client.ts';
import { defaultPartition } from '../kafka/partitioner.ts';
import { childLogger } from '../logger.ts';
import type { Headers } from '../processor/record.ts';
import type { InputQueue } from '../processor/internals/record-queue.ts';
import { StreamTask, type BadRecordHandling, type DropReason } from '../processor/internals/task.ts';
import { sharedStoreView } from '../runtime/global-state.ts';
import { exportStoreRecords, type StoreRecord } from '../state/store-export.ts';
import type { StateStore } from '../state/types.ts';
import type { Topology } from '../topology/topology.ts';
import type { BatchPlan, BatchStage, BatchTask, PublishedStore } from './batch-plan.ts';
import type { ExchangeCursor } from './exchange-partition.ts';
import type { ViewStorePartition } from './view-manifest.ts';

/** A bounded offset range of one partition: [fromOffset, toOffset). */
export interface SourceRange {
  topic: string;
  partition: number;
  fromOffset: number;
  toOffset: number;
}

/** Records in bounded ranges (a snapshot's size). */
export function recordsIn(ranges: readonly SourceRange[]): number {
  return ranges.reduce((n, r) => n + Math.max(0, r.toOffset - r.fromOffset), 0);
}

/** Flow control of a running read: a partition that runs ahead of its task is paused. */
export interface RangeControl {
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
}

export interface SourceHandlers {
  /** Records of one range, in offset order; awaited before the reader delivers more. */
  onBatch(records: ConsumedRecord[], range: SourceRange, control: RangeControl): void | Promise<void>;
  /** The range is read to its end (called once per range, empty ranges included). */
  onRangeDone(range: SourceRange, control: RangeControl): void;
}

/** Reads bounded ranges (Kafka in a run, arrays in unit tests). Resolves when every range is read. */
export interface SourceReader {
  read(ranges: SourceRange[], handlers: SourceHandlers): Promise<void>;
}

/** Which task wrote a repartition record (with the task's sequence number, the exchange's tie-break). */
export interface RecordOrigin {
  subtopology: number;
  partition: number;
}

/** Where one task writes its repartition records; the writer numbers them (the origin sequence). */
export interface ExchangeWriter {
  write(
    topic: string,
    partition: number,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: Headers,
  ): void;
}

/**
 * Carries repartition records from one stage to the next (memory in one process, Kafka across). A
 * stage reads each partition complete, in exchange order: (timestamp, origin sub-topology, origin
 * partition, origin sequence), whatever process wrote what (see exchange-partition.ts).
 */
export interface RepartitionExchange {
  writer(origin: RecordOrigin): ExchangeWriter;
  /** This process finished writing a stage's records; resolves once they are readable everywhere. */
  stageWritten(stage: BatchStage): Promise<void>;
  /** Every record of one repartition partition, in exchange order. */
  read(topic: string, partition: number): Promise<ExchangeCursor>;
}

/** Output of sinks to external topics. */
export interface SinkWriter {
  send(record: OutgoingRecord): void;
  /** True when records of the topic are not written (then counted here, never serialized). */
  discard?(topic: string): boolean;
  flush(): Promise<void>;
}

/** Publishes one store partition of the view; returns its count and checksum. */
export interface ViewWriter {
  write(
    store: PublishedStore,
    partition: number,
    records: Iterable<StoreRecord>,
  ): Promise<ViewStorePartition>;
}

export interface BatchExecutorConfig {
  applicationId: string;
  topology: Topology;
  plan: BatchPlan;
  /** This process (0 ... plan.instances - 1). */
  instance: number;
  /** What to read of every external source and global partition (the snapshot). */
  ranges: SourceRange[];
  /** Records with timestamp >= boundaryMs are passed over. */
  boundaryMs: number;
  /** A directory of this run only; removed when the run ends. */
  stateDir: string;
  /** The wall clock processors see (frozen at the snapshot: a run is reproducible). */
  wallClockMs: number;
  reader: SourceReader;
  exchange: RepartitionExchange;
  sinks: SinkWriter;
  views: ViewWriter;
  badRecordHandling: BadRecordHandling;
  /** The application's handlers (no dead-letter topic: the workers wrote those records there). */
  errorHandling?: ErrorHandling;
  /** Stores flush their writes to LevelDB whenever the process's RSS exceeds this. */
  memoryBudgetBytes?: number;
  /** Aborts the run at the next fetched batch or stage (Ctrl-C). */
  signal?: AbortSignal;
  log?: Logger;
}

/** Counters a run reports while it goes (progress) and at the end (manifest, summary). */
export interface BatchStats {
  /** Source records (external and global) the run has to read, from the snapshot. */
  total: number;
  read: number;
  /** Source records taken into processing (bucket below the boundary, readable). */
  processed: number;
  /** Passed over: bucket at or past the boundary. */
  beyondBoundary: number;
  /**
   * Dropped by an error handler's CONTINUE: could not be deserialized, had an invalid timestamp, made
   * a processor throw, or could not be serialized by a sink.
   */
  skipped: number;
  /** Records written to repartition topics (exchanged or routed within a stage). */
  repartitioned: number;
  /** Times the memory budget made the stores flush to LevelDB. */
  spills: number;
  /** Smallest and largest event time of the source records processed (undefined before the first). */
  firstTimestamp?: number;
  lastTimestamp?: number;
  stage: number;
  stages: number;
}

/** High and low water marks of queued records per input partition (flow control). */
const PAUSE_ABOVE = 50_000;
const RESUME_BELOW = 10_000;
/** Records fed at a time from an exchanged partition into a task's queue. */
const FEED_CHUNK = 2_000;
/** Store partitions of the view written at once. */
const PUBLISH_CONCURRENCY = 8;

interface Input {
  owner: TaskRun;
  topic: string;
  partition: number;
  queue: InputQueue;
  /** No more records will arrive (range read, or exchanged records all fed). */
  finished: boolean;
  /** Exchanged partitions: feeds the next chunk; false when nothing is left. */
  refill?: () => boolean;
  paused?: boolean;
}

interface TaskRun {
  spec: BatchTask;
  task: StreamTask;
  unit: Unit;
  /** Round-robin position for repartition records without a key. */
  nullKeyCursor: number;
}

/** Tasks scheduled together: one task, or every task of a cyclic stage. */
interface Unit {
  tasks: TaskRun[];
  /** Inputs that gate processing (external and exchanged; records routed within a stage do not). */
  inputs: Input[];
  done: boolean;
}

export class BatchExecutor {
  readonly stats: BatchStats;
  private readonly config: BatchExecutorConfig;
  private readonly log: Logger;
  private globalTask?: StreamTask;
  private readonly sharedStores = new Map<string, StateStore>();
  /** Store name → published partitions (this process's share). */
  private readonly published = new Map<string, ViewStorePartition[]>();
  private lastSpill = 0;

  constructor(config: BatchExecutorConfig) {
    this.config = config;
    this.log = config.log ?? childLogger({ component: 'batch', applicationId: config.applicationId });
    this.stats = {
      total: recordsIn(config.ranges),
      read: 0,
      processed: 0,
      beyondBoundary: 0,
      skipped: 0,
      repartitioned: 0,
      spills: 0,
      stage: 0,
      stages: config.plan.stages.length,
    };
  }

  /**
   * Runs every stage this process has a part in; `afterStage` runs after each (the barrier of a
   * multi-process run). Returns the published partitions per store.
   */
  async run(afterStage?: (stage: BatchStage) => Promise<void>): Promise<Map<string, ViewStorePartition[]>> {
    await mkdir(this.config.stateDir, { recursive: true });
    try {
      await this.loadGlobalStores();
      for (const stage of this.config.plan.stages) {
        this.config.signal?.throwIfAborted();
        this.stats.stage = stage.index + 1;
        await this.runStage(stage);
        await this.config.exchange.stageWritten(stage);
        await afterStage?.(stage);
      }
      await this.config.sinks.flush();
      return this.published;
    } finally {
      await this.globalTask?.close().catch(() => {});
      await rm(this.config.stateDir, { recursive: true, force: true }).catch(() => {});
    }
  }

  // ---- global stores ----

  /** Global tables are loaded in full (below the boundary) before any task runs, as at a worker's start. */
  private async loadGlobalStores(): Promise<void> {
    const { plan } = this.config;
    if (plan.topics.globalSubTopologies.length === 0) return;
    const nodes = new Set(plan.topics.globalSubTopologies.flatMap((s) => [...s.nodes]));
    const task = this.newTask('global', nodes, false, {
      send: (record) => {
        throw new Error(`global sub-topologies do not produce (record for ${record.topic})`);
      },
    });
    await task.init();
    this.globalTask = task;
    for (const [name, store] of task.stores) this.sharedStores.set(name, sharedStoreView(store));
    const globalTopics = new Set(plan.globalTopics);
    const ranges = this.config.ranges.filter((r) => globalTopics.has(r.topic));
    // Every instance (process or thread) loads the global tables; instance 0 counts their records.
    const counted = this.config.instance === 0;
    await this.config.reader.read(ranges, {
      onBatch: (records) => {
        const queued = task.addRecords(records);
        if (counted) {
          this.stats.read += records.length;
          this.stats.processed += queued;
        }
        task.processAll();
      },
      onRangeDone: () => {},
    });
    if (counted) this.stats.beyondBoundary += task.filteredRecords;
    this.log.debug(
      {
        stores: [...task.stores.keys()],
      },
      'global stores loaded',
    );
  }

  // ---- stages ----

  private async runStage(stage: BatchStage): Promise<void> {
    const { instance, plan } = this.config;
    const mine = stage.tasks.filter((t) => t.instance === instance);
    if (mine.length === 0) return;
    const started = Date.now();
    const runs = new Map<string, TaskRun>();
    const units: Unit[] = [];
    const shared: Unit | undefined = stage.cyclic ? { tasks: [], inputs: [], done: false } : undefined;
    for (const spec of mine) {
      const unit = shared ?? { tasks: [], inputs: [], done: false };
      const sub = plan.topics.subTopologies.find((s) => s.id === spec.subtopology)!;
      const run: TaskRun = this.createTaskRun(spec, stage, sub.nodes, unit, runs);
      unit.tasks.push(run);
      runs.set(spec.id, run);
      if (!shared) units.push(unit);
    }
    if (shared) units.push(shared);
    for (const run of runs.values()) await run.task.init();

    // Inputs, registered in a fixed order (topic, partition): ties between equal timestamps are
    // then broken the same way in every run.
    const external = new Map<string, Input>();
    for (const run of runs.values()) {
      const sub = plan.topics.subTopologies.find((s) => s.id === run.spec.subtopology)!;
      for (const topic of [...sub.sourceTopics].sort()) {
        const queue = run.task.inputQueue(topic, run.spec.partition);
        const route = plan.repartition.get(topic);
        if (route?.live) continue; // fed by tasks of this stage while it runs
        const input: Input = { owner: run, topic, partition: run.spec.partition, queue, finished: false };
        if (route) {
          const cursor = await this.config.exchange.read(topic, run.spec.partition);
          input.refill = this.feeder(run.task, cursor);
          input.finished = true;
          // Exchanged records are all here: "finished" means no more will arrive, not all are queued.
        } else {
          external.set(`${topic}:${run.spec.partition}`, input);
        }
        run.unit.inputs.push(input);
      }
    }

    for (const unit of units) this.advance(unit);
    const ranges = this.config.ranges.filter((r) => external.has(`${r.topic}:${r.partition}`));
    if (ranges.length > 0) {
      await this.config.reader.read(ranges, {
        onBatch: async (records, range, control) => {
          this.config.signal?.throwIfAborted();
          const input = external.get(`${range.topic}:${range.partition}`)!;
          const run = input.owner;
          this.stats.read += records.length;
          this.stats.processed += run.task.addRecords(records);
          if (input.queue.size > PAUSE_ABOVE && !input.paused) {
            input.paused = true;
            control.pause(input.topic, input.partition);
          }
          this.advance(run.unit, control);
          await this.respectMemoryBudget(runs);
        },
        onRangeDone: (range, control) => {
          const input = external.get(`${range.topic}:${range.partition}`);
          if (!input || input.finished) return;
          input.finished = true;
          this.advance(input.owner.unit, control);
        },
      });
    }
    for (const unit of units) {
      this.advance(unit);
      if (!unit.done) {
        const waiting = unit.inputs.filter((i) => !i.finished).map((i) => `${i.topic}[${i.partition}]`);
        throw new Error(
          `batch stage ${stage.index}: tasks ${unit.tasks.map((t) => t.spec.id).join(', ')} did not finish (waiting for ${waiting.join(', ') || 'nothing'})`,
        );
      }
    }
    await this.publish([...runs.values()]);
    this.log.debug(
      { stage: stage.index, tasks: [...runs.keys()], ms: Date.now() - started },
      `stage ${stage.index + 1}/${plan.stages.length} done`,
    );
  }

  /**
   * Feeds exchanged records into a task's queue a chunk at a time (memory: compact bytes until
   * needed). True when records were queued; false when none are left (records the task passes over,
   * beyond the boundary or unreadable, do not count as queued).
   */
  private feeder(task: StreamTask, cursor: ExchangeCursor): () => boolean {
    return () => {
      while (cursor.remaining > 0) {
        if (task.addRecords(cursor.take(FEED_CHUNK)) > 0) return true;
      }
      return false;
    };
  }

  /**
   * Processes what the unit can: the record with the smallest timestamp across its tasks, as long as
   * every unfinished gating input has a record queued. Finishes the unit once everything is read.
   */
  private advance(unit: Unit, control?: RangeControl): void {
    if (unit.done) return;
    const single = unit.tasks.length === 1 ? unit.tasks[0]! : undefined;
    for (;;) {
      if (single) {
        // One task: take as many records at once as keep every gating input non-empty.
        for (;;) {
          let n = this.readyCount(unit);
          if (n === Infinity) n = single.task.queuedRecords;
          if (n === 0 || single.task.processUpTo(n) === 0) break;
        }
      } else {
        for (;;) {
          if (this.readyCount(unit) === 0) break;
          const run = this.earliest(unit);
          if (!run || !run.task.processNext()) break;
          run.task.maybePunctuateStreamTime();
        }
      }
      if (!unit.inputs.every((i) => i.finished)) break; // more records will arrive
      // All inputs finished and every queue drained; exchanged partitions may still hold records.
      if (unit.inputs.some((i) => i.refill?.())) continue;
      this.finish(unit);
      break;
    }
    if (control) {
      for (const input of unit.inputs) {
        if (input.paused && input.queue.size < RESUME_BELOW) {
          input.paused = false;
          control.resume(input.topic, input.partition);
        }
      }
    }
  }

  /**
   * How many records the unit may take before it must look at its inputs again: 0 while an
   * unfinished input has nothing queued (its next record may be the earliest), else the fewest
   * queued in an input that can still block (taking n records empties no such input before the
   * n-th), Infinity when none can. Refills exchanged partitions whose queue ran empty.
   */
  private readyCount(unit: Unit): number {
    let n = Infinity;
    for (const input of unit.inputs) {
      let size = input.queue.size;
      if (size === 0) {
        if (input.refill?.()) size = input.queue.size;
        else if (!input.finished) return 0;
        else continue; // read and drained: never blocks again
      }
      // Exchanged partitions may have more to refill once the queue runs empty; ranges still being
      // read block when it does. A finished range's queue only drains.
      if ((!input.finished || input.refill) && size < n) n = size;
    }
    return n;
  }

  private earliest(unit: Unit): TaskRun | undefined {
    let best: TaskRun | undefined;
    let bestTs = Infinity;
    for (const run of unit.tasks) {
      const ts = run.task.nextTimestamp();
      if (ts !== undefined && ts < bestTs) {
        best = run;
        bestTs = ts;
      }
    }
    return best;
  }

  /** Everything read and processed: flush caches (which may emit into the unit again) until quiet. */
  private finish(unit: Unit): void {
    for (let round = 0; ; round++) {
      for (const run of unit.tasks) run.task.flushCaches();
      if (unit.tasks.every((t) => t.task.queuedRecords === 0)) break;
      for (;;) {
        const run = this.earliest(unit);
        if (!run || !run.task.processNext()) break;
        run.task.maybePunctuateStreamTime();
      }
      if (round > 1_000_000) throw new Error('batch: caches keep emitting records into a cycle');
    }
    unit.done = true;
  }

  // ---- tasks ----

  private createTaskRun(
    spec: BatchTask,
    stage: BatchStage,
    nodes: ReadonlySet<string>,
    unit: Unit,
    runs: Map<string, TaskRun>,
  ): TaskRun {
    const { plan, exchange, sinks } = this.config;
    const run = {} as TaskRun;
    const writer = exchange.writer({ subtopology: spec.subtopology, partition: spec.partition });
    /** Topic → partition → next offset of records routed within a cyclic stage. */
    const liveOffsets = new Map<string, number[]>();
    // Records of an acyclic stage reach their readers through the exchange, sorted by timestamp.
    const task = this.newTask(spec.id, nodes, !stage.cyclic, {
      send: (record) => {
        const route = plan.repartition.get(record.topic);
        if (!route) {
          sinks.send(record);
          return;
        }
        this.stats.repartitioned++;
        const partition =
          record.partition ??
          (record.key
            ? defaultPartition(record.key, route.partitions)
            : run.nullKeyCursor++ % route.partitions);
        if (route.live) {
          // Within a cyclic stage: straight into the queue of the task that reads the partition.
          const target = runs.get(`${route.consumer}_${partition}`);
          if (!target) throw new Error(`batch: no task ${route.consumer}_${partition} for ${record.topic}`);
          let offsets = liveOffsets.get(record.topic);
          if (!offsets) liveOffsets.set(record.topic, (offsets = []));
          const offset = offsets[partition] ?? 0;
          offsets[partition] = offset + 1;
          target.task.addRecords([
            {
              topic: record.topic,
              partition,
              offset,
              key: record.key,
              value: record.value,
              timestamp: record.timestamp,
              headers: record.headers,
            },
          ]);
          return;
        }
        writer.write(record.topic, partition, record.key, record.value, record.timestamp, record.headers);
      },
      partitionsFor: (topic) => plan.topics.partitionCounts.get(topic),
      ...(sinks.discard
        ? { discard: (topic: string) => !plan.repartition.has(topic) && sinks.discard!(topic) }
        : {}),
    });
    Object.assign(run, { spec, task, unit, nullKeyCursor: 0 });
    return run;
  }

  private newTask(
    taskId: string,
    nodes: ReadonlySet<string>,
    combineWindowed: boolean,
    collector: ConstructorParameters<typeof StreamTask>[0]['collector'],
  ): StreamTask {
    const { applicationId, topology, boundaryMs } = this.config;
    const stores = new Map<string, StateStore>();
    for (const name of nodes) {
      const def = topology.node(name);
      if (def.kind !== 'processor') continue;
      for (const store of def.stores) {
        const view = this.sharedStores.get(store);
        if (view) stores.set(store, view);
      }
    }
    const task = new StreamTask({
      applicationId,
      taskId,
      stateDir: this.config.stateDir,
      topology,
      nodes,
      collector,
      resolveTopic: (topic) => (topology.isInternalTopic(topic) ? `${applicationId}-${topic}` : topic),
      // No logChange: batch runs write no changelogs.
      wallClock: () => this.config.wallClockMs,
      defaultKeySerde: topology.defaultKeySerde,
      defaultValueSerde: topology.defaultValueSerde,
      badRecordHandling: this.config.badRecordHandling,
      ...(this.config.errorHandling ? { errorHandling: this.config.errorHandling } : {}),
      metrics: {
        recordDropped: (reason: DropReason, task: string, node: string) => {
          if (task !== 'global' || this.config.instance === 0) this.dropped(reason, node);
        },
      },
      acceptTimestamp: (ts) => {
        if (ts >= boundaryMs) return false;
        const { stats } = this;
        if (stats.firstTimestamp === undefined || ts < stats.firstTimestamp) stats.firstTimestamp = ts;
        if (stats.lastTimestamp === undefined || ts > stats.lastTimestamp) stats.lastTimestamp = ts;
        return true;
      },
      // Every update is forwarded (Kafka Streams' semantics with caching off), so a view does not
      // depend on when caches would have flushed; mergeable aggregations still combine.
      cachingDisabled: true,
      combiningEnabled: taskId !== 'global',
      // No delta index downstream: one partial per key whatever the records' buckets.
      combineAcrossBuckets: true,
      combineWindowed,
      ...(stores.size > 0 ? { stores } : {}),
    });
    return task;
  }

  private dropped(reason: DropReason, node: string): void {
    if (
      (node === 'source' && (reason === 'deserialization' || reason === 'invalid-timestamp')) ||
      reason === 'processing-error' ||
      reason === 'serialization'
    )
      this.stats.skipped++;
  }

  private collectTaskCounters(task: StreamTask): void {
    this.stats.beyondBoundary += task.filteredRecords;
  }

  /** Over budget: write the stores' pending writes to LevelDB (at most once a second). */
  private async respectMemoryBudget(runs: Map<string, TaskRun>): Promise<void> {
    const budget = this.config.memoryBudgetBytes;
    if (budget === undefined || Date.now() - this.lastSpill < 1_000) return;
    if (process.memoryUsage.rss() <= budget) return;
    this.lastSpill = Date.now();
    this.stats.spills++;
    for (const run of runs.values()) await run.task.flushStores();
    this.log.debug(
      { rss: process.memoryUsage.rss(), budget },
      'memory budget exceeded: store writes flushed to LevelDB',
    );
  }

  // ---- publication ----

  private async publish(runs: TaskRun[]): Promise<void> {
    const storesBySub = new Map<number, PublishedStore[]>();
    for (const store of this.config.plan.stores) {
      const list = storesBySub.get(store.subtopology) ?? [];
      list.push(store);
      storesBySub.set(store.subtopology, list);
    }
    for (const run of runs) await run.task.flushStores();
    // Store partitions are written a few at a time (each its own produce to its own partition: the
    // round trips overlap), and recorded in task order.
    const jobs = runs.flatMap((run) =>
      (storesBySub.get(run.spec.subtopology) ?? []).map((store) => ({ run, store })),
    );
    const results: ViewStorePartition[] = [];
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < jobs.length && !failed) {
        const i = next++;
        const { run, store } = jobs[i]!;
        const instance = run.task.getStore(store.name);
        if (!instance) throw new Error(`batch task ${run.spec.id} has no store '${store.name}'`);
        try {
          results[i] = await this.config.views.write(
            store,
            run.spec.partition,
            exportStoreRecords(instance, store.kind),
          );
        } catch (error) {
          failed = true; // the others take no new partition
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, jobs.length) }, worker));
    jobs.forEach(({ store }, i) => {
      const list = this.published.get(store.name) ?? [];
      list.push(results[i]!);
      this.published.set(store.name, list);
    });
    for (const run of runs) {
      this.collectTaskCounters(run.task);
      await run.task.close();
      await rm(run.task.taskDir, { recursive: true, force: true });
    }
  }
}
