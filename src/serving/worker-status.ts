/**
 * What one worker says about itself on `GET /status` (and the `/ui` page shows): state, its tasks with
 * their positions and lag, standbys, restoration progress, the batch view in use and the group's
 * task map. A small ring of samples (every 5 s, the last 10 minutes) gives lag and throughput over
 * time without a Prometheus: the ring lives in memory and starts empty with the worker.
 */
import type { KafkaStreams, RestorationProgress } from '../runtime/kafka-streams.ts';
import type { LocalQueryService } from './local-query-service.ts';
import type { Position } from './query-service.ts';
import type { ViewLoader } from './view-loader.ts';

export interface StatusSample {
  /** Epoch ms of the sample. */
  t: number;
  lagRecords: number;
  /** Rates over the interval before the sample (records or commits per second). */
  consumedPerSec: number;
  processedPerSec: number;
  producedPerSec: number;
  commitsPerSec: number;
}

export interface WorkerStatusDocument {
  /** application.server of this worker (null: none configured, e.g. without HTTP). */
  endpoint: string | null;
  applicationId: string;
  state: string;
  /** When the document was made, and when this worker started (ISO time). */
  time: string;
  startedAt: string;
  tasks: Array<{
    id: string;
    subtopology: number;
    partition: number;
    restoring: boolean;
    position: Position;
  }>;
  standbyTasks: string[];
  restoration: { restoring: RestorationProgress[]; restoredRecords: number };
  view: {
    id: string;
    boundaryBucket: number;
    boundaryTime: string;
    createdAt: string;
    /** Milliseconds since the view was created (its run finished). */
    ageMs: number;
  } | null;
  lag: { records: number; ms: number | null };
  totals: { consumed: number; processed: number; produced: number; commits: number; rebalances: number };
  /** endpoint → task ids of the whole group, as this worker last read them. */
  group: { active: Record<string, string[]>; standby: Record<string, string[]> };
  history: { intervalMs: number; samples: StatusSample[] };
}

export interface WorkerStatusOptions {
  streams: KafkaStreams;
  queries: LocalQueryService;
  views: ViewLoader;
  endpoint?: string;
  /** Sampling interval (default 5 000 ms) and how many samples to keep (default 120: 10 minutes). */
  intervalMs?: number;
  keep?: number;
}

export class WorkerStatus {
  readonly intervalMs: number;
  private readonly keep: number;
  private readonly startedAt = Date.now();
  private readonly samples: StatusSample[] = [];
  private last: { t: number; consumed: number; processed: number; produced: number; commits: number };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkerStatusOptions) {
    this.intervalMs = options.intervalMs ?? 5_000;
    this.keep = options.keep ?? 120;
    this.last = { t: this.startedAt, ...this.counters() };
  }

  /** Starts sampling (the timer does not keep the process alive). */
  start(): this {
    this.timer ??= setInterval(() => this.sample(), this.intervalMs).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now (the timer calls it; tests may too). */
  sample(): StatusSample {
    const now = Date.now();
    const counters = this.counters();
    const seconds = Math.max(0.001, (now - this.last.t) / 1000);
    const rate = (k: keyof typeof counters): number =>
      Math.round(((counters[k] - this.last[k]) / seconds) * 100) / 100;
    const sample: StatusSample = {
      t: now,
      lagRecords: this.options.queries.position().lagRecords,
      consumedPerSec: rate('consumed'),
      processedPerSec: rate('processed'),
      producedPerSec: rate('produced'),
      commitsPerSec: rate('commits'),
    };
    this.last = { t: now, ...counters };
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.splice(0, this.samples.length - this.keep);
    return sample;
  }

  document(): WorkerStatusDocument {
    const { streams, queries, views, endpoint } = this.options;
    const position = queries.position();
    const view = views.current;
    const totals = streams.metrics.totals;
    return {
      endpoint: endpoint ?? null,
      applicationId: streams.applicationId,
      state: streams.state,
      time: new Date().toISOString(),
      startedAt: new Date(this.startedAt).toISOString(),
      tasks: queries.taskPositions(),
      standbyTasks: streams.standbyTasks(),
      restoration: { restoring: streams.restoration(), restoredRecords: totals.restored },
      view: view
        ? {
            ...view.ref,
            createdAt: view.manifest.createdAt,
            ageMs: Math.max(0, Date.now() - Date.parse(view.manifest.createdAt)),
          }
        : null,
      lag: { records: position.lagRecords, ms: position.lagMs ?? null },
      totals: {
        consumed: totals.consumed,
        processed: totals.processed,
        produced: totals.produced,
        commits: totals.commits,
        rebalances: totals.rebalances,
      },
      group: queries.groupHosts(),
      history: { intervalMs: this.intervalMs, samples: [...this.samples] },
    };
  }

  private counters(): { consumed: number; processed: number; produced: number; commits: number } {
    const { consumed, processed, produced, commits } = this.options.streams.metrics.totals;
    return { consumed, processed, produced, commits };
  }
}
