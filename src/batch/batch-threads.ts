/**
 * A batch run on several threads of one process (`--threads`). The stage plan is made for as many
 * instances as threads, exactly as for a multi-process run: thread i runs the tasks of instance i
 * (source partition p goes to thread p % threads; a cyclic stage runs on thread 0), each thread with
 * its own Kafka client, stores, view writer and sinks. What the processes of a multi-process run
 * send each other through Kafka, threads hand over in memory:
 *
 * - Repartition records: each thread collects the partitions its tasks write compactly
 *   (ExchangePartition); when a stage is written, a partition read by another thread moves there
 *   whole, its typed arrays and byte segments transferred, not copied. The reading thread merges the
 *   runs of every origin into the one order of the exchange, so any thread count yields the same
 *   order, and the same view, as one thread or several processes.
 * - Stage barriers: thread 0 (the caller's thread, which also publishes) starts the next stage of
 *   every thread once all of them wrote the last one. Messages between two threads arrive in the
 *   order they were sent, so a thread has every partition it reads before it is told to go on.
 * - Results: each thread reports its published store partitions, counters and sink counts.
 *
 * Worker threads load the topology from its file and connect to Kafka while thread 0 takes the
 * snapshot, so their start-up overlaps it.
 */
import { rm } from 'node:fs/promises';
import { Worker, parentPort, workerData } from 'node:worker_threads';

import type { Logger } from 'pino';

import type { KafkaClientConfig, KafkaProducer } from '../kafka/client.ts';
import {
  ContinueProductionExceptionHandler,
  DefaultProductionExceptionHandler,
  errorHandlingOf,
  LogAndContinueExceptionHandler,
  LogAndFailExceptionHandler,
  type ErrorHandlingConfig,
} from '../processor/error-handlers.ts';
import type { BadRecordHandling } from '../processor/internals/task.ts';
import {
  BatchExecutor,
  type BatchStats,
  type ExchangeWriter,
  type RecordOrigin,
  type RepartitionExchange,
  type SinkWriter,
} from './batch-executor.ts';
import { planBatch, type BatchPlan, type BatchStage } from './batch-plan.ts';
import { ExchangePartition, type ExchangeCursor, type ExchangePayload } from './exchange-partition.ts';
import { InMemoryExchange } from './exchange.ts';
import type { ViewStorePartition } from './view-manifest.ts';

/** What a worker thread needs to start (before the run is known). */
export interface ThreadSetup {
  thread: number;
  threads: number;
  topologyFile: string;
  applicationId: string;
  clientConfig: KafkaClientConfig;
}

/** The run, as thread 0 decided it. */
export interface ThreadRun {
  runId: string;
  createdAt: string;
  partitionCounts: Record<string, number>;
  includeInternalStores: boolean;
  ranges: BatchExecutorParts['ranges'];
  boundaryMs: number;
  wallClockMs: number;
  /** Thread i uses `<stateDir>-t<i>`. */
  stateDir: string;
  badRecordHandling: BadRecordHandling;
  /** The run's error handlers by name (handler objects cannot cross to another thread). */
  errorHandlers: ThreadErrorHandlers;
  memoryBudgetBytes?: number;
  sinkMode: 'drop' | 'redirect';
}

type BatchExecutorParts = ConstructorParameters<typeof BatchExecutor>[0];

/** The built-in error handlers, by name: what a worker thread can be told to use. */
const BUILT_IN_HANDLERS = {
  'log-and-fail': LogAndFailExceptionHandler,
  'log-and-continue': LogAndContinueExceptionHandler,
  'default-production': DefaultProductionExceptionHandler,
  'continue-production': ContinueProductionExceptionHandler,
} as const;
type HandlerName = keyof typeof BUILT_IN_HANDLERS;

/** A run's error handlers as worker threads receive them. */
export interface ThreadErrorHandlers {
  deserialization?: HandlerName;
  processing?: HandlerName;
  production?: HandlerName;
}

/**
 * Names the handlers of a run for its worker threads, or undefined when one of them is not a built-in
 * handler (an application's own class, whose object cannot be sent to another thread).
 */
export function describeErrorHandlers(
  config: Omit<ErrorHandlingConfig, 'deadLetterQueueTopic'> = {},
): ThreadErrorHandlers | undefined {
  const nameOf = (handler: object | undefined): HandlerName | null | undefined => {
    if (handler === undefined) return undefined;
    for (const [name, type] of Object.entries(BUILT_IN_HANDLERS))
      if (handler.constructor === type) return name as HandlerName;
    return null;
  };
  const out: ThreadErrorHandlers = {};
  const entries = [
    ['deserialization', config.deserializationExceptionHandler],
    ['processing', config.processingExceptionHandler],
    ['production', config.productionExceptionHandler],
  ] as const;
  for (const [kind, handler] of entries) {
    const name = nameOf(handler);
    if (name === null) return undefined;
    if (name !== undefined) out[kind] = name;
  }
  return out;
}

/** The handlers a worker thread runs with: new objects of the named built-in classes. */
export function errorHandlersOf(names: ThreadErrorHandlers): ErrorHandlingConfig {
  const make = <T>(name: HandlerName | undefined): T | undefined =>
    name === undefined ? undefined : (new BUILT_IN_HANDLERS[name]() as T);
  const deserialization = make<ErrorHandlingConfig['deserializationExceptionHandler']>(names.deserialization);
  const processing = make<ErrorHandlingConfig['processingExceptionHandler']>(names.processing);
  const production = make<ErrorHandlingConfig['productionExceptionHandler']>(names.production);
  return {
    ...(deserialization ? { deserializationExceptionHandler: deserialization } : {}),
    ...(processing ? { processingExceptionHandler: processing } : {}),
    ...(production ? { productionExceptionHandler: production } : {}),
  };
}

/** What a worker thread reports when its share is done. */
export interface ThreadResult {
  thread: number;
  stats: BatchStats;
  partitions: Record<string, ViewStorePartition[]>;
  sinks: Record<string, number>;
}

type ToWorker =
  | { type: 'run'; run: ThreadRun }
  | { type: 'exchange'; payload: ExchangePayload }
  | { type: 'stage-go'; stage: number }
  | { type: 'abort' };

type FromWorker =
  | { type: 'stats'; stats: BatchStats }
  | { type: 'exchange'; to: number; payload: ExchangePayload }
  | { type: 'stage-done'; stage: number }
  | { type: 'done'; result: ThreadResult }
  | { type: 'closed' }
  | { type: 'error'; message: string; stack?: string };

/**
 * The repartition exchange of one thread: partitions its tasks write wait here until their stage is
 * written; those another thread reads are then shipped there, and arrive here from the others.
 */
export class ThreadExchange implements RepartitionExchange {
  private readonly local = new InMemoryExchange();
  /** Reading task id → thread. */
  private readonly owners = new Map<string, number>();

  constructor(
    private readonly plan: BatchPlan,
    private readonly thread: number,
    private readonly ship: (to: number, payload: ExchangePayload, transfer: ArrayBuffer[]) => void,
  ) {
    for (const stage of plan.stages) for (const task of stage.tasks) this.owners.set(task.id, task.instance);
  }

  writer(origin: RecordOrigin): ExchangeWriter {
    return this.local.writer(origin);
  }

  /** Ships every partition written so far that another thread reads. */
  stageWritten(_stage: BatchStage): Promise<void> {
    for (const written of this.local.partitionsWritten()) {
      const owner = this.ownerOf(written.topic, written.partition);
      if (owner === this.thread) continue;
      this.local.remove(written.topic, written.partition);
      const { payload, transfer } = written.export();
      this.ship(owner, payload, transfer);
    }
    return Promise.resolve();
  }

  read(topic: string, partition: number): Promise<ExchangeCursor> {
    return this.local.read(topic, partition);
  }

  /** Records another thread wrote for a partition this thread reads. */
  adopt(payload: ExchangePayload): void {
    this.local.partitionOf(payload.topic, payload.partition).adopt(payload);
  }

  private ownerOf(topic: string, partition: number): number {
    const route = this.plan.repartition.get(topic);
    const owner = route ? this.owners.get(`${route.consumer}_${partition}`) : undefined;
    if (owner === undefined) throw new Error(`batch threads: no task reads ${topic}[${partition}]`);
    return owner;
  }
}

/**
 * The worker threads' entry, in bin/ (shipped in the package as it is): two levels up from this file
 * both as src/batch/batch-threads.ts and as dist/batch/batch-threads.js.
 */
const ENTRY = new URL('../../bin/batch-thread.js', import.meta.url);

// ---- thread 0 ----------------------------------------------------------------------------------

interface WorkerState {
  worker: Worker;
  stats?: BatchStats;
  stagesDone: Set<number>;
  result?: ThreadResult;
  closed: boolean;
  /** Stopped on purpose (not needed, or the run is over): its exit is no failure. */
  dismissed: boolean;
}

/**
 * Thread 0's side: starts the worker threads, relays exchanged partitions, runs the barriers and
 * gathers results. Any worker's failure fails every wait (and aborts `failed`).
 */
export class BatchThreads {
  private readonly workers: WorkerState[] = [];
  private exchange: ThreadExchange | undefined;
  private failure: Error | undefined;
  private readonly abort = new AbortController();
  private waiters: Array<{ check: () => boolean; resolve: () => void; reject: (error: Error) => void }> = [];
  private stateDir: string | undefined;

  /** Spawns threads 1 ... threads - 1, which load the topology and connect at once. */
  constructor(
    private readonly setup: Omit<ThreadSetup, 'thread'>,
    private readonly log: Logger,
  ) {
    for (let thread = 1; thread < setup.threads; thread++) {
      let worker: Worker;
      try {
        worker = new Worker(ENTRY, {
          workerData: { ...setup, thread } satisfies ThreadSetup,
          // The entry registers the TypeScript loader itself; profiling flags carry over.
          execArgv: profilingExecArgv(process.execArgv),
        });
      } catch (error) {
        // The threads started so far would keep the process alive.
        for (const state of this.workers) {
          state.dismissed = true;
          void state.worker.terminate().catch(() => 0);
        }
        throw error;
      }
      const state: WorkerState = { worker, stagesDone: new Set(), closed: false, dismissed: false };
      worker.on('message', (message: FromWorker) => {
        if (!state.dismissed) this.onMessage(thread, state, message);
      });
      worker.on('error', (error) => {
        if (!state.dismissed) this.fail(new Error(`batch thread ${thread} failed: ${error.message}`));
      });
      worker.on('exit', (code) => {
        state.closed = true;
        if (!state.dismissed && !state.result && code !== 0)
          this.fail(new Error(`batch thread ${thread} exited with code ${code}`));
        this.settle();
      });
      this.workers.push(state);
    }
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Keeps `threads` threads (before the run starts): the others stop. */
  async shrink(threads: number): Promise<void> {
    const extra = this.workers.splice(Math.max(0, threads - 1));
    for (const state of extra) {
      state.dismissed = true;
      state.worker.postMessage({ type: 'abort' } satisfies ToWorker);
    }
    await Promise.all(extra.map((state) => state.worker.terminate().catch(() => 0)));
    this.settle();
  }

  /** Aborted when a worker thread fails (thread 0's executor stops at its next batch). */
  get failed(): AbortSignal {
    return this.abort.signal;
  }

  /** Thread 0's exchange, for the plan of the run. */
  exchangeFor(plan: BatchPlan): ThreadExchange {
    this.exchange = new ThreadExchange(plan, 0, (to, payload, transfer) =>
      this.workers[to - 1]!.worker.postMessage({ type: 'exchange', payload } satisfies ToWorker, transfer),
    );
    return this.exchange;
  }

  /** Starts every worker thread on the run. */
  run(run: ThreadRun): void {
    this.stateDir = run.stateDir;
    for (const state of this.workers) state.worker.postMessage({ type: 'run', run } satisfies ToWorker);
  }

  /** Thread 0 wrote `stage`: waits until every thread did, then lets them all go on. */
  async barrier(stage: BatchStage): Promise<void> {
    await this.until(() => this.workers.every((w) => w.stagesDone.has(stage.index)));
    for (const state of this.workers)
      state.worker.postMessage({ type: 'stage-go', stage: stage.index } satisfies ToWorker);
  }

  /** The worker threads' latest counters. */
  stats(): BatchStats[] {
    return this.workers.flatMap((w) => {
      const stats = w.result?.stats ?? w.stats;
      return stats ? [stats] : [];
    });
  }

  /** Waits for every worker thread's result. */
  async finish(): Promise<ThreadResult[]> {
    await this.until(() => this.workers.every((w) => w.result !== undefined));
    return this.workers.map((w) => w.result!);
  }

  /** Stops the worker threads (asking them to clean up first) and removes their state. */
  async close(): Promise<void> {
    for (const state of this.workers)
      if (!state.closed) state.worker.postMessage({ type: 'abort' } satisfies ToWorker);
    const deadline = Date.now() + 10_000;
    await new Promise<void>((resolve) => {
      const poll = (): void => {
        if (this.workers.every((w) => w.closed) || Date.now() > deadline) resolve();
        else setTimeout(poll, 20);
      };
      poll();
    });
    for (const state of this.workers) state.dismissed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate().catch(() => 0)));
    if (this.stateDir !== undefined) {
      await Promise.all(
        this.workers.map((_, i) => rm(`${this.stateDir}-t${i + 1}`, { recursive: true, force: true })),
      ).catch(() => {});
    }
  }

  private onMessage(thread: number, state: WorkerState, message: FromWorker): void {
    switch (message.type) {
      case 'stats':
        state.stats = message.stats;
        return;
      case 'exchange': {
        const { payload, to } = message;
        if (to === 0) this.exchange!.adopt(payload);
        else
          this.workers[to - 1]!.worker.postMessage(
            { type: 'exchange', payload } satisfies ToWorker,
            transferOf(payload),
          );
        return;
      }
      case 'stage-done':
        state.stagesDone.add(message.stage);
        break;
      case 'done':
        state.result = message.result;
        break;
      case 'closed':
        state.closed = true;
        break;
      case 'error': {
        const error = new Error(`batch thread ${thread}: ${message.message}`);
        if (message.stack) error.stack = message.stack;
        this.fail(error);
        break;
      }
    }
    this.settle();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.log.debug({ err: error }, 'batch thread failed');
    this.abort.abort(error);
    this.settle();
  }

  private until(check: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ check, resolve, reject });
      this.settle();
    });
  }

  private settle(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (this.failure) waiter.reject(this.failure);
      else if (waiter.check()) waiter.resolve();
      else if (this.workers.some((w) => w.closed && !w.result))
        waiter.reject(new Error('batch: a worker thread stopped before it finished'));
      else this.waiters.push(waiter);
    }
  }
}

/**
 * The `--cpu-prof` flags of this process, for its worker threads (each writes its own profile), with
 * their values whether written `--flag=value` or `--flag value`; every other flag stays behind. A
 * profile name would make the threads overwrite one another's profile, so it stays behind too.
 */
export function profilingExecArgv(execArgv: readonly string[]): string[] {
  const withValue = new Set(['--cpu-prof-dir', '--cpu-prof-interval']);
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.split('=', 1)[0]!;
    if (name === '--cpu-prof') out.push(arg);
    else if (withValue.has(name)) {
      if (arg.includes('=')) out.push(arg);
      else if (i + 1 < execArgv.length) out.push(arg, execArgv[++i]!);
    }
  }
  return out;
}

/** The buffers of a payload, to transfer again when it is relayed. */
function transferOf(payload: ExchangePayload): ArrayBuffer[] {
  return ExchangePartition.transferList(payload);
}

// ---- threads 1 ... n - 1 -----------------------------------------------------------------------

/** A worker thread's whole life: set up, run its share, report, clean up. */
export async function runBatchThread(): Promise<void> {
  const port = parentPort!;
  const setup = workerData as ThreadSetup;
  const abort = new AbortController();
  const post = (message: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(message, transfer);
  let exchange: ThreadExchange | undefined;
  const inbox: ExchangePayload[] = [];
  const stagesGo = new Set<number>();
  let onStageGo: (() => void) | undefined;
  let resolveRun!: (run: ThreadRun) => void;
  const runReceived = new Promise<ThreadRun>((resolve) => (resolveRun = resolve));
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'run':
        resolveRun(message.run);
        return;
      case 'exchange':
        if (exchange) exchange.adopt(message.payload);
        else inbox.push(message.payload);
        return;
      case 'stage-go':
        stagesGo.add(message.stage);
        onStageGo?.();
        return;
      case 'abort':
        abort.abort(new Error('batch run stopped'));
        resolveRun(undefined as unknown as ThreadRun);
        onStageGo?.();
        return;
    }
  });

  let producer: KafkaProducer | undefined;
  let statsTimer: NodeJS.Timeout | undefined;
  try {
    const [{ loadTopologyFile }, { defaultKafkaClientFactory }, io, manifest, { childLogger }] =
      await Promise.all([
        import('../cli/load-topology.ts'),
        import('../kafka/factory.ts'),
        import('./kafka-io.ts'),
        import('./view-manifest.ts'),
        import('../logger.ts'),
      ]);
    const { topology } = await loadTopologyFile(setup.topologyFile);
    const client = defaultKafkaClientFactory(setup.clientConfig);
    producer = await client.producer({ idempotent: true });
    const run = await runReceived;
    abort.signal.throwIfAborted();
    const { applicationId } = setup;
    const counts = new Map(Object.entries(run.partitionCounts));
    const plan = planBatch(applicationId, topology, counts, setup.threads, {
      ...(run.includeInternalStores ? { includeInternalStores: true } : {}),
    });
    exchange = new ThreadExchange(plan, setup.thread, (to, payload, transfer) =>
      post({ type: 'exchange', to, payload }, transfer),
    );
    for (const payload of inbox.splice(0)) exchange.adopt(payload);
    const sinks: SinkWriter & { counts: Map<string, number> } =
      run.sinkMode === 'redirect'
        ? new io.RedirectingSinks(producer, (topic) => manifest.redirectTopic(topic, run.runId))
        : new io.DroppingSinks();
    const executor = new BatchExecutor({
      applicationId,
      topology,
      plan,
      instance: setup.thread,
      ranges: run.ranges,
      boundaryMs: run.boundaryMs,
      stateDir: `${run.stateDir}-t${setup.thread}`,
      wallClockMs: run.wallClockMs,
      reader: new io.KafkaSourceReader(client),
      exchange,
      sinks,
      views: new io.KafkaViewWriter(
        producer,
        (store) => manifest.viewDataTopic(applicationId, run.runId, store),
        Date.parse(run.createdAt),
      ),
      badRecordHandling: run.badRecordHandling,
      // The same handlers as thread 0's executor (run-batch.ts), rebuilt from their names.
      errorHandling: errorHandlingOf({
        ...errorHandlersOf(run.errorHandlers),
        badRecordHandling: run.badRecordHandling,
      }),
      ...(run.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: run.memoryBudgetBytes } : {}),
      signal: abort.signal,
      log: childLogger({ component: 'batch', applicationId, thread: setup.thread }),
    });
    statsTimer = setInterval(() => post({ type: 'stats', stats: executor.stats }), 500);
    const partitions = await executor.run(async (stage) => {
      post({ type: 'stage-done', stage: stage.index });
      await new Promise<void>((resolve) => {
        onStageGo = () => {
          if (stagesGo.has(stage.index) || abort.signal.aborted) resolve();
        };
        onStageGo();
      });
      abort.signal.throwIfAborted();
    });
    clearInterval(statsTimer);
    post({
      type: 'done',
      result: {
        thread: setup.thread,
        stats: executor.stats,
        partitions: Object.fromEntries(partitions),
        sinks: Object.fromEntries(sinks.counts),
      },
    });
  } catch (error) {
    if (!abort.signal.aborted) {
      const e = error as Error;
      post({ type: 'error', message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
    }
  } finally {
    if (statsTimer) clearInterval(statsTimer);
    await producer?.close().catch(() => {});
    post({ type: 'closed' });
    port.close();
  }
}
