/**
 * The batch executor's inputs and outputs on Kafka, through the port (src/kafka/client.ts): source
 * ranges read up to the snapshot, view partitions produced with their checksums, sink records
 * dropped or redirected, and the repartition exchange of a multi-process run.
 */
import type { KafkaAdmin, KafkaClient, KafkaProducer, OutgoingRecord } from '../kafka/client.ts';
import type { StoreRecord } from '../state/store-export.ts';
import type { BatchStage, PublishedStore } from './batch-plan.ts';
import {
  type ExchangeWriter,
  type RecordOrigin,
  type RepartitionExchange,
  type SinkWriter,
  type SourceHandlers,
  type SourceRange,
  type SourceReader,
  type ViewWriter,
} from './batch-executor.ts';
import { ExchangePartition, type ExchangeCursor } from './exchange-partition.ts';
import { StoreChecksum, type ViewStorePartition } from './view-manifest.ts';

/** Records per produce call: large enough to pipeline, small enough to bound memory. */
const SEND_CHUNK = 20_000;
/**
 * Bytes per partition and fetch of a source range. A fetch's records are all decoded at once (tens
 * of thousands of records per partition at 2 MiB), so larger fetches only raise the peak memory:
 * measured on the bench inputs, 8 MiB cost ~120 MiB more RSS at 300k page views, for no CPU gain.
 */
const FETCH_BYTES_PER_PARTITION = 2 * 1024 * 1024;

/** Reads the snapshot ranges (read_committed: aborted transactions are not part of the dataset). */
export class KafkaSourceReader implements SourceReader {
  constructor(private readonly client: KafkaClient) {}

  read(ranges: SourceRange[], handlers: SourceHandlers): Promise<void> {
    return this.client.fetchRanges(ranges, {
      isolationLevel: 'read_committed',
      onBatch: (records, range, control) => handlers.onBatch(records, range, control),
      onRangeDone: (range, control) => handlers.onRangeDone(range, control),
      idleTimeoutMs: 120_000,
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
    });
  }
}

/** Produces each store partition to the view's data topic of that store, computing its checksum. */
export class KafkaViewWriter implements ViewWriter {
  constructor(
    private readonly producer: KafkaProducer,
    private readonly topicOf: (store: string) => string,
    /** Record timestamp of view data (the view's creation): retention never sees it as old. */
    private readonly timestamp: number,
  ) {}

  async write(
    store: PublishedStore,
    partition: number,
    records: Iterable<StoreRecord>,
  ): Promise<ViewStorePartition> {
    const topic = this.topicOf(store.name);
    const checksum = new StoreChecksum();
    let chunk: OutgoingRecord[] = [];
    let inFlight: Promise<unknown> = Promise.resolve();
    for (const record of records) {
      checksum.add(record);
      chunk.push({ topic, partition, key: record.key, value: record.value, timestamp: this.timestamp });
      if (chunk.length >= SEND_CHUNK) {
        // One send in flight while the next chunk is read out of the store.
        await inFlight;
        inFlight = this.producer.send(chunk);
        chunk = [];
      }
    }
    await inFlight;
    if (chunk.length > 0) await this.producer.send(chunk);
    return { partition, records: checksum.records, checksum: checksum.digest() };
  }
}

/**
 * Sink records are not written (the live topics hold the speed layer's output); counted per topic,
 * without being serialized.
 */
export class DroppingSinks implements SinkWriter {
  readonly counts = new Map<string, number>();

  send(record: OutgoingRecord): void {
    this.discard(record.topic);
  }

  /** Every sink record is dropped: counted before its sink would serialize it. */
  discard(topic: string): boolean {
    this.counts.set(topic, (this.counts.get(topic) ?? 0) + 1);
    return true;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}

/** `--sinks redirect`: sink records go to `<topic>-batch-<viewId>` instead, in large sends. */
export class RedirectingSinks implements SinkWriter {
  readonly counts = new Map<string, number>();
  private buffer: OutgoingRecord[] = [];
  private inFlight: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    private readonly producer: KafkaProducer,
    private readonly redirect: (topic: string) => string,
  ) {}

  send(record: OutgoingRecord): void {
    if (this.failure) throw this.failure;
    const topic = this.redirect(record.topic);
    this.counts.set(topic, (this.counts.get(topic) ?? 0) + 1);
    this.buffer.push({ ...record, topic });
    if (this.buffer.length >= SEND_CHUNK) this.sendBuffered();
  }

  async flush(): Promise<void> {
    this.sendBuffered();
    await this.inFlight;
    if (this.failure) throw this.failure;
  }

  private sendBuffered(): void {
    if (this.buffer.length === 0) return;
    const records = this.buffer;
    this.buffer = [];
    this.inFlight = this.inFlight
      .then(() => this.producer.send(records))
      .catch((error: unknown) => {
        this.failure ??= new Error(
          `batch: writing redirected sink records failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      });
  }
}

/** Header that carries a repartition record's origin through a per-run topic. */
export const ORIGIN_HEADER = 'lambda-streams-batch-origin';

/**
 * A multi-process run's exchange: repartition records go to per-run topics (same partition count as
 * the speed layer's repartition topics), each tagged with its origin; after a stage's barrier the
 * reading task fetches its partition complete into an ExchangePartition, which orders it as the
 * in-memory exchange does, so every process count yields one order.
 */
export class KafkaExchange implements RepartitionExchange {
  private buffer: OutgoingRecord[] = [];
  private inFlight: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    private readonly client: KafkaClient,
    private readonly admin: KafkaAdmin,
    private readonly producer: KafkaProducer,
    /** Speed-layer repartition topic → this run's topic. */
    private readonly runTopic: (topic: string) => string,
  ) {}

  writer(origin: RecordOrigin): ExchangeWriter {
    const prefix = `${origin.subtopology}:${origin.partition}:`;
    let seq = 0;
    return {
      write: (topic, partition, key, value, timestamp, headers) => {
        if (this.failure) throw this.failure;
        this.buffer.push({
          topic: this.runTopic(topic),
          partition,
          key,
          value,
          timestamp,
          headers: { ...headers, [ORIGIN_HEADER]: `${prefix}${seq++}` },
        });
        if (this.buffer.length >= SEND_CHUNK) this.sendBuffered();
      },
    };
  }

  async stageWritten(_stage: BatchStage): Promise<void> {
    this.sendBuffered();
    await this.inFlight;
    if (this.failure) throw this.failure;
  }

  async read(topic: string, partition: number): Promise<ExchangeCursor> {
    const source = this.runTopic(topic);
    const end = (await this.admin.endOffsets(source)).find((o) => o.partition === partition);
    const exchanged = new ExchangePartition(topic, partition);
    if (!end || end.high <= end.low) return exchanged.cursor();
    await this.client.fetchRanges([{ topic: source, partition, fromOffset: end.low, toOffset: end.high }], {
      isolationLevel: 'read_committed',
      onBatch: (batch) => {
        for (const r of batch) {
          const { [ORIGIN_HEADER]: origin, ...headers } = r.headers;
          const [sub, part, seq] = String(origin ?? '')
            .split(':')
            .map(Number);
          if (sub === undefined || part === undefined || seq === undefined || Number.isNaN(seq)) {
            throw new Error(
              `batch exchange: record at ${source}[${partition}]@${r.offset} has no origin header`,
            );
          }
          exchanged.append(exchanged.runOf(sub, part), seq, r.key, r.value, r.timestamp, headers);
        }
      },
    });
    return exchanged.cursor();
  }

  private sendBuffered(): void {
    if (this.buffer.length === 0) return;
    const records = this.buffer;
    this.buffer = [];
    this.inFlight = this.inFlight
      .then(() => this.producer.send(records))
      .catch((error: unknown) => {
        this.failure ??= new Error(`batch: writing repartition records failed: ${(error as Error).message}`, {
          cause: error,
        });
      });
  }
}
