/**
 * Repartition exchanges between the stages of a batch run (see batch-executor.ts). In one process
 * the records stay in memory, compactly (exchange-partition.ts); a multi-process run writes them to
 * per-run topics (KafkaExchange in kafka-io.ts).
 */
import type { Headers } from '../processor/record.ts';
import type { BatchStage } from './batch-plan.ts';
import type { ExchangeWriter, RecordOrigin, RepartitionExchange } from './batch-executor.ts';
import { ExchangePartition, type ExchangeCursor, type ExchangeRun } from './exchange-partition.ts';

interface Target {
  partition: ExchangePartition;
  run: ExchangeRun;
}

/** One process: records wait in memory, per partition, until the stage that reads them. */
export class InMemoryExchange implements RepartitionExchange {
  /** Topic → partition → its records. */
  private readonly partitions = new Map<string, ExchangePartition[]>();

  writer(origin: RecordOrigin): ExchangeWriter {
    // Topic → partition → where this origin appends (no lookup by a per-record string).
    const targets = new Map<string, Target[]>();
    let seq = 0;
    return {
      write: (
        topic: string,
        partition: number,
        key: Buffer | null,
        value: Buffer | null,
        timestamp: number,
        headers: Headers,
      ) => {
        let byPartition = targets.get(topic);
        if (!byPartition) targets.set(topic, (byPartition = []));
        let target = byPartition[partition];
        if (!target) {
          const exchanged = this.partitionOf(topic, partition);
          target = { partition: exchanged, run: exchanged.runOf(origin.subtopology, origin.partition) };
          byPartition[partition] = target;
        }
        target.partition.append(target.run, seq++, key, value, timestamp, headers);
      },
    };
  }

  stageWritten(_stage: BatchStage): Promise<void> {
    return Promise.resolve();
  }

  /** Hands the records over (and forgets them): each partition is read by exactly one task. */
  read(topic: string, partition: number): Promise<ExchangeCursor> {
    const byPartition = this.partitions.get(topic);
    const exchanged = byPartition?.[partition];
    if (byPartition) byPartition[partition] = undefined as unknown as ExchangePartition;
    return Promise.resolve((exchanged ?? new ExchangePartition(topic, partition)).cursor());
  }

  /** Partitions written and not read yet. */
  *partitionsWritten(): Iterable<ExchangePartition> {
    for (const byPartition of this.partitions.values())
      for (const exchanged of byPartition) if (exchanged && exchanged.size > 0) yield exchanged;
  }

  /** Forgets a partition (its records went elsewhere); writers that still hold it must not write. */
  remove(topic: string, partition: number): void {
    const byPartition = this.partitions.get(topic);
    if (byPartition) byPartition[partition] = undefined as unknown as ExchangePartition;
  }

  /** The partition's records here (created when missing). */
  partitionOf(topic: string, partition: number): ExchangePartition {
    let byPartition = this.partitions.get(topic);
    if (!byPartition) this.partitions.set(topic, (byPartition = []));
    let exchanged = byPartition[partition];
    if (!exchanged) byPartition[partition] = exchanged = new ExchangePartition(topic, partition);
    return exchanged;
  }
}
