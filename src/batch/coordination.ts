/**
 * How the processes of one batch run agree, through Kafka (`<applicationId>-batch-runs`, one
 * partition): instance 0 announces the run (snapshot, boundary, run id) and creates its topics; every
 * instance reports each finished stage (a barrier: the next stage reads repartition records complete)
 * and its results; instance 0 publishes the manifest and announces it. A failure of any instance is
 * announced too, and the others stop. A single-process run needs none of this.
 */
import type { Logger } from 'pino';

import type { KafkaAdmin, KafkaClient, KafkaProducer, PartitionReader } from '../kafka/client.ts';
import type { BatchStats } from './batch-executor.ts';
import type { BatchStage } from './batch-plan.ts';
import type { Snapshot } from './snapshot.ts';
import { runControlTopic, type ViewManifest, type ViewStorePartition } from './view-manifest.ts';

/** What instance 0 decided for everyone. */
export interface RunSpec {
  runId: string;
  createdAt: string;
  boundaryBucket: number;
  bucketMs: number;
  instances: number;
  /** Partition counts of the topics the topology reads and writes, at the snapshot. */
  partitionCounts: Record<string, number>;
  snapshot: Snapshot;
  warnings: string[];
}

export interface InstanceResult {
  instance: number;
  stats: BatchStats;
  /** Store → partitions this instance published. */
  partitions: Record<string, ViewStorePartition[]>;
}

export interface RunCoordination {
  /** Instance 0 passes its spec and announces it; the others wait for it. */
  start(spec: RunSpec | undefined): Promise<RunSpec>;
  /** Instance 0 announces its topics exist; the others wait for that. */
  topicsReady(): Promise<void>;
  /** Barrier after a stage. */
  afterStage(stage: BatchStage): Promise<void>;
  /** Instance 0: waits for every instance's result and returns all; others send theirs. */
  finish(result: InstanceResult): Promise<InstanceResult[]>;
  published(manifest: ViewManifest): Promise<void>;
  awaitPublished(): Promise<ViewManifest>;
  fail(error: Error): Promise<void>;
  close(): Promise<void>;
}

export interface CoordinationOptions {
  client: KafkaClient;
  admin: KafkaAdmin;
  producer: KafkaProducer;
  applicationId: string;
  instances: number;
  instanceId: number;
  log: Logger;
  /** Longest wait for another instance at any step. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function startCoordination(options: CoordinationOptions): Promise<RunCoordination> {
  if (options.instances === 1) return new SingleProcess();
  const coordination = new KafkaCoordination(options);
  await coordination.open();
  return coordination;
}

class SingleProcess implements RunCoordination {
  async start(spec: RunSpec | undefined): Promise<RunSpec> {
    return spec!;
  }
  async topicsReady(): Promise<void> {}
  async afterStage(): Promise<void> {}
  async finish(result: InstanceResult): Promise<InstanceResult[]> {
    return [result];
  }
  async published(): Promise<void> {}
  awaitPublished(): Promise<ViewManifest> {
    return Promise.reject(new Error('a single-process run publishes its view itself'));
  }
  async fail(): Promise<void> {}
  async close(): Promise<void> {}
}

type Message =
  | { type: 'start'; runId: string; spec: RunSpec }
  | { type: 'topics-ready'; runId: string }
  | { type: 'stage-done'; runId: string; stage: number; instance: number }
  | { type: 'result'; runId: string; result: InstanceResult }
  | { type: 'published'; runId: string; manifest: ViewManifest }
  | { type: 'failed'; runId: string; instance: number; error: string };

class KafkaCoordination implements RunCoordination {
  private readonly topic: string;
  private reader?: PartitionReader;
  private readonly messages: Array<Message & { offset: number }> = [];
  private waiters: Array<() => void> = [];
  private runId?: string;
  /** Control-topic end when this instance started: a run announced later is surely ours. */
  private startOffset = 0;

  constructor(private readonly options: CoordinationOptions) {
    this.topic = runControlTopic(options.applicationId);
  }

  async open(): Promise<void> {
    const { admin, client } = this.options;
    await admin.createTopics([
      {
        name: this.topic,
        partitions: 1,
        config: { 'cleanup.policy': 'delete', 'retention.ms': String(86_400_000) },
      },
    ]);
    const end = (await admin.endOffsets(this.topic))[0];
    this.startOffset = end?.high ?? 0;
    this.reader = client.reader({
      isolationLevel: 'read_committed',
      onBatch: async (batch) => {
        for (const r of batch.records) {
          if (!r.value) continue;
          try {
            this.messages.push({ ...(JSON.parse(r.value.toString('utf8')) as Message), offset: r.offset });
          } catch {
            // not ours
          }
        }
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      },
    });
    await this.reader.assign([{ topic: this.topic, partition: 0, offset: end?.low ?? 0 }]);
  }

  async start(spec: RunSpec | undefined): Promise<RunSpec> {
    if (this.options.instanceId === 0) {
      this.runId = spec!.runId;
      await this.send({ type: 'start', runId: spec!.runId, spec: spec! });
      return spec!;
    }
    const { instances, timeoutMs, log } = this.options;
    log.info(`waiting for instance 0 of a ${instances}-instance run to announce it on ${this.topic}`);
    const start = await this.waitFor('the start of the run by instance 0', () => {
      const concluded = new Set(
        this.messages.filter((m) => m.type === 'published' || m.type === 'failed').map((m) => m.runId),
      );
      const candidates = this.messages.filter(
        (m): m is Extract<Message, { type: 'start' }> & { offset: number } =>
          m.type === 'start' &&
          m.spec.instances === instances &&
          !concluded.has(m.runId) &&
          (m.offset >= this.startOffset || Date.now() - Date.parse(m.spec.createdAt) < timeoutMs),
      );
      return candidates.at(-1);
    });
    this.runId = start.runId;
    log.info({ runId: start.runId }, `joined batch run ${start.runId}`);
    return start.spec;
  }

  async topicsReady(): Promise<void> {
    if (this.options.instanceId === 0) await this.send({ type: 'topics-ready', runId: this.runId! });
    else await this.waitFor('instance 0 to create the run topics', () => this.mine('topics-ready')[0]);
  }

  async afterStage(stage: BatchStage): Promise<void> {
    await this.send({
      type: 'stage-done',
      runId: this.runId!,
      stage: stage.index,
      instance: this.options.instanceId,
    });
    this.options.log.info(
      { runId: this.runId, stage: stage.index },
      `stage ${stage.index + 1} done here; waiting for the other instances of run ${this.runId}`,
    );
    await this.waitForAll(
      `stage ${stage.index + 1}`,
      (m) => m.type === 'stage-done' && m.stage === stage.index,
    );
  }

  async finish(result: InstanceResult): Promise<InstanceResult[]> {
    await this.send({ type: 'result', runId: this.runId!, result });
    if (this.options.instanceId !== 0) return [result];
    const results = await this.waitForAll('their results', (m) => m.type === 'result');
    return results.map((m) => (m as Extract<Message, { type: 'result' }>).result);
  }

  async published(manifest: ViewManifest): Promise<void> {
    await this.send({ type: 'published', runId: this.runId!, manifest });
  }

  async awaitPublished(): Promise<ViewManifest> {
    const m = await this.waitFor('instance 0 to publish the view', () => this.mine('published')[0]);
    return (m as Extract<Message, { type: 'published' }>).manifest;
  }

  async fail(error: Error): Promise<void> {
    if (!this.runId) return;
    await this.send({
      type: 'failed',
      runId: this.runId,
      instance: this.options.instanceId,
      error: error.message,
    });
  }

  async close(): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    await this.reader?.close();
  }

  private mine(type: Message['type']): Message[] {
    return this.messages.filter((m) => m.runId === this.runId && m.type === type);
  }

  private async waitForAll(what: string, match: (m: Message) => boolean): Promise<Message[]> {
    const { instances } = this.options;
    return this.waitFor(
      `every instance to finish ${what}`,
      () => {
        const byInstance = new Map<number, Message>();
        for (const m of this.messages) {
          if (m.runId !== this.runId || !match(m)) continue;
          const instance = m.type === 'result' ? m.result.instance : (m as { instance: number }).instance;
          byInstance.set(instance, m);
        }
        return byInstance.size === instances ? [...byInstance.values()] : undefined;
      },
      () => {
        const done = new Set(
          this.messages
            .filter((m) => m.runId === this.runId && match(m))
            .map((m) => (m.type === 'result' ? m.result.instance : (m as { instance: number }).instance)),
        );
        return Array.from({ length: instances }, (_, i) => i).filter((i) => !done.has(i));
      },
    );
  }

  /** Waits until `found` returns something; fails on a failure message, abort or timeout. */
  private async waitFor<T>(what: string, found: () => T | undefined, missing?: () => number[]): Promise<T> {
    const { timeoutMs, signal } = this.options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      const failure = this.messages.find(
        (m) => m.type === 'failed' && m.runId === this.runId && this.runId !== undefined,
      );
      if (failure && failure.type === 'failed') {
        throw new Error(`batch run ${failure.runId}: instance ${failure.instance} failed: ${failure.error}`);
      }
      const value = found();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) {
        const who = missing?.();
        throw new Error(
          `batch run${this.runId ? ` ${this.runId}` : ''}: gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)} s` +
            (who && who.length > 0 ? ` (no word from instance ${who.join(', ')})` : ''),
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private async send(message: Message): Promise<void> {
    await this.options.producer.send([
      {
        topic: this.topic,
        partition: 0,
        key: Buffer.from(message.runId),
        value: Buffer.from(JSON.stringify(message)),
        timestamp: Date.now(),
      },
    ]);
  }
}
