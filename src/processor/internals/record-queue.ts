import type { Headers } from '../record.ts';
import type { PartitionState } from './task.ts';

/** A consumed record after deserialization and timestamp extraction, waiting to be processed. */
export interface StampedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: unknown;
  value: unknown;
  timestamp: number;
  headers: Headers;
  /** Name of the source node that reads this topic. */
  source: string;
  /** The task's state of the partition the record came from. */
  state: PartitionState;
  /** The key and value bytes as consumed (what a dead-letter record carries). */
  rawKey: Buffer | null;
  rawValue: Buffer | null;
}

/** How many records wait in one input partition (what a batch scheduler checks per record). */
export interface InputQueue {
  readonly size: number;
}

/** FIFO of one topic-partition (array plus head index: no per-record shift). */
export class RecordQueue implements InputQueue {
  private items: StampedRecord[] = [];
  private head = 0;

  push(record: StampedRecord): void {
    this.items.push(record);
  }

  peek(): StampedRecord | undefined {
    return this.items[this.head];
  }

  poll(): StampedRecord | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head] = undefined as unknown as StampedRecord; // processed: let it go
    this.head++;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  get size(): number {
    return this.items.length - this.head;
  }
}

/**
 * The task's input queues (Kafka Streams' PartitionGroup): always hands out the queued record with the
 * smallest timestamp across partitions, so co-partitioned inputs are processed in time order.
 */
export class PartitionGroup {
  private readonly queues = new Map<string, RecordQueue>();
  /** The queues in creation order (ties between equal timestamps go to the first). */
  private readonly list: RecordQueue[] = [];
  private total = 0;

  add(record: StampedRecord): void {
    // The partition's state keeps its queue: no lookup by a per-record string.
    const state = record.state;
    let queue = state.queue;
    if (queue === undefined) state.queue = queue = this.queueOf(record.topic, record.partition);
    queue.push(record);
    this.total++;
  }

  /**
   * The queue of one input partition, created when missing. Queues are compared in creation order,
   * so a host that needs a deterministic tie-break between equal timestamps (the batch layer)
   * creates them up front in a fixed order.
   */
  queueOf(topic: string, partition: number): RecordQueue {
    const id = `${topic}\u0000${partition}`;
    let queue = this.queues.get(id);
    if (!queue) {
      this.queues.set(id, (queue = new RecordQueue()));
      this.list.push(queue);
    }
    return queue;
  }

  /** Timestamp of the record next() would hand out; undefined when nothing is queued. */
  peekTimestamp(): number | undefined {
    if (this.total === 0) return undefined;
    const { list } = this;
    let bestTs = Infinity;
    for (let i = 0; i < list.length; i++) {
      const head = list[i]!.peek();
      if (head !== undefined && head.timestamp < bestTs) bestTs = head.timestamp;
    }
    return bestTs;
  }

  next(): StampedRecord | undefined {
    if (this.total === 0) return undefined;
    const { list } = this;
    let best: RecordQueue | undefined;
    if (list.length === 1) best = list[0];
    else {
      let bestTs = Infinity;
      for (let i = 0; i < list.length; i++) {
        const queue = list[i]!;
        const head = queue.peek();
        if (head !== undefined && head.timestamp < bestTs) {
          best = queue;
          bestTs = head.timestamp;
        }
      }
    }
    if (!best) return undefined;
    this.total--;
    return best.poll();
  }

  get size(): number {
    return this.total;
  }

  /** Records queued for one topic-partition (used to pause fetching a partition that runs ahead). */
  sizeOf(topic: string, partition: number): number {
    return this.queues.get(`${topic}\u0000${partition}`)?.size ?? 0;
  }
}
