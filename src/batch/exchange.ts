/**
 * Repartition exchanges between the stages of a batch run (see batch-executor.ts). In one process
 * the records stay in memory; a multi-process run writes them to per-run topics (kafka-exchange.ts).
 */
import type { BatchStage } from './batch-plan.ts';
import { compareExchangeRecords, type ExchangeRecord, type RepartitionExchange } from './batch-executor.ts';

/** One process: records wait in memory, per partition, until the stage that reads them. */
export class InMemoryExchange implements RepartitionExchange {
  private readonly partitions = new Map<string, ExchangeRecord[]>();

  write(record: ExchangeRecord): void {
    const key = `${record.topic}:${record.partition}`;
    let list = this.partitions.get(key);
    if (!list) this.partitions.set(key, (list = []));
    list.push(record);
  }

  stageWritten(_stage: BatchStage): Promise<void> {
    return Promise.resolve();
  }

  /** Hands the records over (and forgets them): each partition is read by exactly one task. */
  readSorted(topic: string, partition: number): Promise<ExchangeRecord[]> {
    const key = `${topic}:${partition}`;
    const list = this.partitions.get(key) ?? [];
    this.partitions.delete(key);
    return Promise.resolve(list.sort(compareExchangeRecords));
  }
}
