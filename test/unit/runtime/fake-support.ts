/**
 * Word count on the in-memory Kafka (fake-kafka.ts): topics, input, the output's latest counts, and
 * the runtime's pieces (facade, stream thread, task manager) wired to the fake.
 */
import { errorHandling } from '../../../src/processor/error-handlers.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { childLogger } from '../../../src/logger.ts';
import type { ConsumerBatch, TopicPartitionOffset } from '../../../src/kafka/client.ts';
import { classifyKafkaError } from '../../../src/kafka/errors.ts';
import { StreamsMetrics } from '../../../src/metrics/metrics.ts';
import { Serdes, type Topology } from '../../../src/index.ts';
import { InternalTopicManager } from '../../../src/runtime/internal-topic-manager.ts';
import { KafkaStreams, type KafkaStreamsConfig } from '../../../src/runtime/kafka-streams.ts';
import { RecordCollector, type ProcessingGuarantee } from '../../../src/runtime/record-collector.ts';
import {
  StreamThread,
  type StreamsState,
  type StreamThreadConfig,
} from '../../../src/runtime/stream-thread.ts';
import { TaskManager, type TopicPartitions } from '../../../src/runtime/task-manager.ts';
import type { TopicPlan } from '../../../src/runtime/topic-plan.ts';
import { CacheBudget, DEFAULT_CACHE_MAX_BYTES } from '../../../src/state/write-back-cache.ts';
import { makeLines, wordCountTopology } from '../../integration/runtime-support.ts';
import { FakeKafka } from './fake-kafka.ts';

export { makeLines };

let apps = 0;

export interface FakeWordCount {
  fake: FakeKafka;
  applicationId: string;
  input: string;
  output: string;
  topology: () => Topology;
}

export function fakeWordCount(partitions = 2): FakeWordCount {
  const fake = new FakeKafka();
  const n = ++apps;
  const input = `lines-${n}`;
  const output = `counts-${n}`;
  fake.createTopic(input, partitions);
  fake.createTopic(output, partitions);
  return {
    fake,
    applicationId: `wc-${n}`,
    input,
    output,
    topology: () => wordCountTopology(input, output),
  };
}

export function produceLines(setup: FakeWordCount, lines: string[], offset = 0): void {
  setup.fake.produce(
    setup.input,
    lines.map((line, i) => ({
      key: Buffer.from(`line-${offset + i}`),
      value: Buffer.from(line),
      timestamp: 1_000 + offset + i,
    })),
  );
}

/** Latest count per word in the output topic. */
export function outputCounts(setup: FakeWordCount): Map<string, number> {
  const long = Serdes.Long();
  const out = new Map<string, number>();
  for (const r of setup.fake.records(setup.output)) {
    out.set(r.key!.toString(), long.deserialize(r.value!, setup.output) as number);
  }
  return out;
}

/** The input's end offsets: what a caught-up group has committed. */
export function inputEnds(setup: FakeWordCount): Map<string, number> {
  const ends = new Map<string, number>();
  for (let p = 0; p < setup.fake.topics.get(setup.input)!.length; p++)
    ends.set(`${setup.input}:${p}`, setup.fake.endOffset(setup.input, p));
  return ends;
}

export function committedInput(setup: FakeWordCount): Map<string, number> {
  const committed = setup.fake.group(setup.applicationId).committed;
  return new Map([...committed].filter(([key]) => key.startsWith(`${setup.input}:`)));
}

export async function tempStateDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'lambda-streams-unit-'));
}

export function newStreams(
  setup: FakeWordCount,
  stateDir: string,
  config: Partial<KafkaStreamsConfig> = {},
): KafkaStreams {
  return new KafkaStreams(setup.topology(), {
    applicationId: setup.applicationId,
    client: setup.fake.client(),
    stateDir,
    commitIntervalMs: 60_000,
    pollIntervalMs: 10,
    ...config,
  });
}

export async function planOf(setup: FakeWordCount): Promise<TopicPlan> {
  const log = childLogger({ component: 'test' });
  const admin = await setup.fake.client().admin();
  return new InternalTopicManager(setup.applicationId, setup.topology(), admin, log).prepare();
}

/** A stream thread on the fake, with a minimal state machine standing in for the facade. */
export class ThreadHarness {
  readonly states: StreamsState[] = [];
  readonly failures: Error[] = [];
  state: StreamsState = 'REBALANCING';
  closing = false;
  thread!: StreamThread;

  static async start(
    setup: FakeWordCount,
    stateDir: string,
    config: Partial<StreamThreadConfig> = {},
  ): Promise<ThreadHarness> {
    const h = new ThreadHarness();
    const client = setup.fake.client();
    const plan = await planOf(setup);
    const admin = await client.admin();
    h.thread = new StreamThread({
      applicationId: setup.applicationId,
      stateDir,
      topology: setup.topology(),
      plan,
      client,
      admin: async () => admin,
      metrics: new StreamsMetrics({ application: setup.applicationId }),
      log: childLogger({ component: 'test' }),
      guarantee: 'at_least_once',
      commitIntervalMs: 60_000,
      pollIntervalMs: 10,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      numStandbyReplicas: 0,
      errorHandling: errorHandling(),
      cachingDisabled: false,
      restoreLogIntervalMs: 2_000,
      brokerUnreachableTimeoutMs: 30_000,
      classify: (error) => classifyKafkaError(error),
      brokerList: () => client.brokers.join(','),
      state: () => h.state,
      setState: (next) => {
        h.state = next;
        h.states.push(next);
      },
      fail: (error) => h.failures.push(error),
      closing: () => h.closing,
      failed: () => h.failures.length > 0,
      ...config,
    });
    await h.thread.start();
    return h;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.thread.shutdown(this.failures.length > 0);
  }
}

/** A task manager on the fake, driven by hand (no consumer): assignments, batches, commits. */
export class TaskManagerHarness {
  readonly commits: TopicPartitionOffset[][] = [];
  readonly paused: TopicPartitions[] = [];
  readonly resumed: TopicPartitions[] = [];
  readonly failures: Error[] = [];
  /** Consumer rewinds asked for by the task manager (a corrupted task created again). */
  readonly seeks: Array<{ topic: string; partition: number; offset: number }> = [];
  restoredCalls = 0;
  manager!: TaskManager;
  /** The budget the caches of all the manager's tasks share, as a stream thread's. */
  cacheBudget!: CacheBudget;
  plan!: TopicPlan;
  /** A task's state directory. */
  stateDirOf!: (taskId: string) => string;
  private chain: Promise<void> = Promise.resolve();

  static async create(
    setup: FakeWordCount,
    stateDir: string,
    guarantee: ProcessingGuarantee = 'at_least_once',
    cacheMaxBytes = DEFAULT_CACHE_MAX_BYTES,
  ): Promise<TaskManagerHarness> {
    const h = new TaskManagerHarness();
    h.cacheBudget = new CacheBudget(cacheMaxBytes);
    h.stateDirOf = (taskId) => path.join(stateDir, setup.applicationId, taskId);
    const client = setup.fake.client();
    const admin = await client.admin();
    const log = childLogger({ component: 'test' });
    const metrics = new StreamsMetrics({ application: setup.applicationId });
    h.plan = await planOf(setup);
    const collector = new RecordCollector({
      applicationId: setup.applicationId,
      guarantee,
      client,
      admin: async () => admin,
      metrics,
      log,
      classify: (error) => classifyKafkaError(error),
      commitOffsets: async (offsets) => {
        h.commits.push(offsets);
        // As the group coordinator would keep them (a revived task reads them back).
        const group = setup.fake.group(setup.applicationId);
        for (const o of offsets) group.committed.set(`${o.topic}:${o.partition}`, o.offset);
      },
      groupMetadata: () => undefined,
      stateDir,
    });
    await collector.start();
    h.manager = new TaskManager({
      applicationId: setup.applicationId,
      stateDir,
      topology: setup.topology(),
      plan: h.plan,
      client,
      collector,
      admin: async () => admin,
      metrics,
      log,
      errorHandling: errorHandling(),
      cachingDisabled: false,
      cacheBudget: h.cacheBudget,
      numStandbyReplicas: 0,
      restoreLogIntervalMs: 2_000,
      run: (fn) => (h.chain = h.chain.then(fn).catch((error: Error) => void h.failures.push(error))),
      onError: (error) => h.failures.push(error),
      pause: (partitions) => h.paused.push(partitions),
      resume: (partitions) => h.resumed.push(partitions),
      seek: (topic, partition, offset) => h.seeks.push({ topic, partition, offset }),
      canSeek: () => true,
      onRestored: () => h.restoredCalls++,
    });
    return h;
  }

  /** Assigns these partitions of every source topic (input and repartition topic). */
  async assign(partitions: number[]): Promise<void> {
    const topics = [...new Set(this.plan.subTopologies.flatMap((s) => s.sourceTopics))];
    const assignment = new Map(topics.map((t) => [t, partitions]));
    this.manager.setAssignedPartitions(assignment);
    await this.inChain(() => this.manager.handleAssignment(assignment, { memberId: 'm', isLeader: true }));
  }

  commit(): Promise<void> {
    return this.inChain(() => this.manager.commitAll());
  }

  /** The stream thread's tick: tasks closed by a failed commit are created again. */
  revive(): Promise<void> {
    return this.inChain(() => this.manager.reviveCorrupted());
  }

  closeAll(clean: boolean): Promise<void> {
    return this.inChain(() => this.manager.closeAll(clean));
  }

  /** Runs in the processing chain, like everything the stream thread does with tasks; rethrows. */
  private inChain(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch((error: Error) => void this.failures.push(error));
    return next;
  }

  /**
   * Runs everything the fake holds for the assigned partitions through the tasks, as the thread would
   * (from each task's position, or from `fromOffset`).
   */
  pump(fake: FakeKafka, fromOffset?: number): void {
    for (const t of this.manager.tasks.values()) {
      for (const topic of t.sub.sourceTopics) {
        // `fromOffset`: a consumer that starts below the task's position (a stale offset fetch).
        const from = fromOffset ?? Math.max(0, t.task.consumedOffset(topic, t.partition));
        const records = fake.partition(topic, t.partition).slice(from);
        if (records.length === 0) continue;
        const nextOffset = from + records.length;
        const batch: ConsumerBatch = {
          topic,
          partition: t.partition,
          records,
          highWatermark: nextOffset,
          nextOffset,
          committableOffset: nextOffset,
        };
        if (this.manager.taskFor(topic, t.partition) === t) this.manager.process(t, batch);
      }
    }
  }

  /** Waits for what the task manager queued in its chain (restore completion). */
  settled(): Promise<void> {
    return this.chain;
  }
}
