/**
 * Prometheus metrics of the serving layer, in the instance's registry (served on /metrics with the
 * speed layer's): the view in use, swaps and load failures, and the delta index.
 */
import client from 'prom-client';

import type { KafkaStreams } from '../runtime/kafka-streams.ts';
import type { LoadedView } from './view-loader.ts';

const PREFIX = 'lambda_streams_serving_';

export class ServingMetrics {
  readonly swaps: client.Counter;
  readonly loadFailures: client.Counter;
  readonly loadSeconds: client.Histogram;
  readonly lateRecords: client.Counter<'topic'>;

  constructor(streams: KafkaStreams, current: () => LoadedView | undefined) {
    const registers = [streams.metrics.registry];
    this.swaps = new client.Counter({
      name: `${PREFIX}view_swaps_total`,
      help: 'Batch views swapped in',
      registers,
    });
    this.loadFailures = new client.Counter({
      name: `${PREFIX}view_load_failures_total`,
      help: 'Batch views that failed to load (checksum mismatch, missing topic): not swapped in',
      registers,
    });
    this.loadSeconds = new client.Histogram({
      name: `${PREFIX}view_load_seconds`,
      help: 'Time to load the local partitions of a batch view before the swap',
      buckets: [0.05, 0.1, 0.5, 1, 5, 10, 30, 120],
      registers,
    });
    this.lateRecords = new client.Counter({
      name: `${PREFIX}late_records_total`,
      help:
        'Source records that arrived after the snapshot of the view in use, for a bucket it covers: ' +
        'invisible in mergeable answers until the next batch run, never merged twice',
      labelNames: ['topic'],
      registers,
    });
    new client.Gauge({
      name: `${PREFIX}view_boundary_bucket`,
      help: 'Boundary bucket of the batch view in use (the view covers buckets below it); -1 without a view',
      registers,
      collect() {
        this.set(current()?.manifest.boundaryBucket ?? -1);
      },
    });
    new client.Gauge({
      name: `${PREFIX}view_created_timestamp_seconds`,
      help: 'Creation time of the batch view in use (0 without a view)',
      registers,
      collect() {
        const view = current();
        const created = view ? Date.parse(view.manifest.createdAt) / 1000 : 0;
        this.set(created);
      },
    });
    new client.Gauge({
      name: `${PREFIX}below_boundary_updates`,
      help:
        'Speed-layer updates for buckets the view in use already covers, per store: records the view ' +
        'holds, or late records that wait for the next batch run (never merged twice)',
      labelNames: ['store'],
      registers,
      collect() {
        this.reset();
        const totals = new Map<string, number>();
        for (const task of streams.activeTasks())
          for (const delta of task.task.deltaIndexes.values())
            totals.set(delta.store, (totals.get(delta.store) ?? 0) + delta.belowBoundary);
        for (const [store, n] of totals) this.set({ store }, n);
      },
    });
    new client.Gauge({
      name: `${PREFIX}delta_buckets`,
      help: 'Buckets held in the delta index, per store (largest over local tasks)',
      labelNames: ['store'],
      registers,
      collect() {
        this.reset();
        const most = new Map<string, number>();
        for (const task of streams.activeTasks())
          for (const delta of task.task.deltaIndexes.values())
            most.set(delta.store, Math.max(most.get(delta.store) ?? 0, delta.buckets().length));
        for (const [store, n] of most) this.set({ store }, n);
      },
    });
  }

  swapped(_view: LoadedView, loadMs: number): void {
    this.swaps.inc();
    this.loadSeconds.observe(loadMs / 1000);
  }
}
