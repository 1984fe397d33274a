/**
 * Prometheus metrics of a streams instance (prom-client). Each KafkaStreams instance has its own
 * registry, so several instances can live in one process (tests); the worker serves it on /metrics.
 */
import client from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { DropReason, TaskMetrics } from '../processor/internals/task.ts';

const PREFIX = 'lambda_streams_';

export class StreamsMetrics implements TaskMetrics {
  readonly registry: Registry;
  readonly recordsConsumed: Counter<'topic'>;
  readonly recordsProcessed: Counter<'task'>;
  readonly recordsProduced: Counter<'topic'>;
  readonly processLatency: Histogram;
  readonly commitLatency: Histogram;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly restoreRecords: Counter<'store'>;
  readonly restoreRemaining: Gauge<'store' | 'task'>;
  readonly restoreEta: Gauge<'task'>;
  readonly rebalances: Counter;
  readonly droppedRecords: Counter<'reason' | 'task' | 'node'>;
  readonly storeEntries: Gauge<'store' | 'task'>;
  readonly commits: Counter;
  readonly assignedTasks: Gauge;
  readonly standbyTasks: Gauge;
  readonly standbyRecords: Counter<'store'>;

  /** Totals kept as plain numbers too (tests and logs read them without scraping). */
  readonly totals = {
    consumed: 0,
    processed: 0,
    produced: 0,
    restored: 0,
    standby: 0,
    dropped: 0,
    commits: 0,
    rebalances: 0,
  };

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry = new client.Registry();
    this.registry.setDefaultLabels(defaultLabels);
    const registers = [this.registry];
    this.recordsConsumed = new client.Counter({
      name: `${PREFIX}records_consumed_total`,
      help: 'Records fetched from source topics',
      labelNames: ['topic'],
      registers,
    });
    this.recordsProcessed = new client.Counter({
      name: `${PREFIX}records_processed_total`,
      help: 'Records processed by tasks',
      labelNames: ['task'],
      registers,
    });
    this.recordsProduced = new client.Counter({
      name: `${PREFIX}records_produced_total`,
      help: 'Records produced (sinks, repartition and changelog topics)',
      labelNames: ['topic'],
      registers,
    });
    this.processLatency = new client.Histogram({
      name: `${PREFIX}process_latency_seconds`,
      help: 'Time to run one fetched batch through its task',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.commitLatency = new client.Histogram({
      name: `${PREFIX}commit_latency_seconds`,
      help: 'Time of one commit (flush caches, produce, flush stores, checkpoint, commit offsets)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.consumerLag = new client.Gauge({
      name: `${PREFIX}consumer_lag`,
      help: 'High watermark minus next offset to process, per source partition',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.restoreRecords = new client.Counter({
      name: `${PREFIX}restore_records_total`,
      help: 'Changelog records applied while restoring stores',
      labelNames: ['store'],
      registers,
    });
    this.restoreRemaining = new client.Gauge({
      name: `${PREFIX}restore_remaining`,
      help: 'Changelog records still to restore',
      labelNames: ['store', 'task'],
      registers,
    });
    this.restoreEta = new client.Gauge({
      name: `${PREFIX}restore_eta_seconds`,
      help: 'Estimated seconds until a restoring task has read its changelogs (0 once restored)',
      labelNames: ['task'],
      registers,
    });
    this.rebalances = new client.Counter({
      name: `${PREFIX}rebalances_total`,
      help: 'Consumer group rebalances this instance went through',
      registers,
    });
    this.droppedRecords = new client.Counter({
      name: `${PREFIX}dropped_records_total`,
      help: 'Records dropped (late, deserialization errors, null keys, ...)',
      labelNames: ['reason', 'task', 'node'],
      registers,
    });
    this.storeEntries = new client.Gauge({
      name: `${PREFIX}store_entries`,
      help: 'Approximate number of entries per store and task',
      labelNames: ['store', 'task'],
      registers,
    });
    this.commits = new client.Counter({ name: `${PREFIX}commits_total`, help: 'Commits', registers });
    this.assignedTasks = new client.Gauge({
      name: `${PREFIX}assigned_tasks`,
      help: 'Tasks assigned to this instance',
      registers,
    });
    this.standbyTasks = new client.Gauge({
      name: `${PREFIX}standby_tasks`,
      help: 'Standby replicas kept by this instance',
      registers,
    });
    this.standbyRecords = new client.Counter({
      name: `${PREFIX}standby_records_total`,
      help: 'Changelog records applied to standby replicas',
      labelNames: ['store'],
      registers,
    });
  }

  recordDropped(reason: DropReason, taskId: string, node: string): void {
    this.totals.dropped++;
    this.droppedRecords.inc({ reason, task: taskId, node });
  }

  recordProcessed(taskId: string, count: number): void {
    this.totals.processed += count;
    this.recordsProcessed.inc({ task: taskId }, count);
  }

  consumed(topic: string, count: number): void {
    this.totals.consumed += count;
    this.recordsConsumed.inc({ topic }, count);
  }

  produced(topic: string, count: number): void {
    this.totals.produced += count;
    this.recordsProduced.inc({ topic }, count);
  }

  restored(store: string, count: number): void {
    this.totals.restored += count;
    this.restoreRecords.inc({ store }, count);
  }

  standbyUpdated(store: string, count: number): void {
    this.totals.standby += count;
    this.standbyRecords.inc({ store }, count);
  }

  rebalanced(): void {
    this.totals.rebalances++;
    this.rebalances.inc();
  }

  committed(seconds: number): void {
    this.totals.commits++;
    this.commits.inc();
    this.commitLatency.observe(seconds);
  }

  /** Prometheus text exposition. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
