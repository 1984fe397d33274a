/**
 * Decides when a system is done: a read_committed consumer of its output topic keeps the last value
 * per key. Every count only grows, so the sum of the last counts reaches the known input total exactly
 * when every key's count reflects all of the input — the last result is committed and visible. A sum
 * above the total means something was counted twice: wrong, and reported at once.
 */
import { randomBytes } from 'node:crypto';

import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

export interface WatchResult {
  /** ms since `since` when the sum first equalled the expected total. */
  doneAt?: number;
  /** ms since `since` of the first output record. */
  firstOutputAt?: number;
  outputRecords: number;
  sum: number;
}

export class OutputWatcher {
  readonly last = new Map<string, number>();
  private sum = 0;
  private outputRecords = 0;
  private firstOutputAt?: number;
  private lastRecordAt = Date.now();
  private since = Date.now();
  private readonly consumer: Consumer;
  private resolveDone!: (at: number) => void;
  private rejectDone!: (error: Error) => void;
  /** Resolves with the time (ms after `start`) at which the output reflected all input. */
  readonly done: Promise<number>;
  private settled = false;
  badKeys = 0;

  constructor(
    brokers: string[],
    private readonly topic: string,
    private readonly expectedTotal: number,
    /** Maps an output key to its canonical form (undefined: malformed). */
    private readonly canonicalKey: (key: string) => string | undefined = (key) => key,
  ) {
    const kafka = new Kafka({ brokers, clientId: 'bench-watcher', logLevel: logLevel.ERROR });
    this.consumer = kafka.consumer({
      groupId: `bench-watch-${randomBytes(6).toString('hex')}`,
      readUncommitted: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 50,
      allowAutoTopicCreation: false,
    });
    this.done = new Promise<number>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {});
  }

  /** Joins the group and starts reading from the beginning; resolves once partitions are assigned. */
  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    const joined = new Promise<void>((resolve) => {
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve());
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        this.lastRecordAt = now;
        for (const message of batch.messages) {
          this.outputRecords++;
          this.firstOutputAt ??= now - this.since;
          const raw = message.key?.toString('utf8');
          const key = raw === undefined ? undefined : this.canonicalKey(raw);
          if (key === undefined || !message.value || message.value.length !== 8) {
            this.badKeys++;
            continue;
          }
          const value = Number(message.value.readBigInt64BE(0));
          this.sum += value - (this.last.get(key) ?? 0);
          this.last.set(key, value);
        }
        if (this.settled) return;
        if (this.sum === this.expectedTotal) {
          this.settled = true;
          this.resolveDone(now - this.since);
        } else if (this.sum > this.expectedTotal) {
          this.settled = true;
          this.rejectDone(
            new Error(`output counts add up to ${this.sum}, more than the ${this.expectedTotal} inputs`),
          );
        }
      },
    });
    await joined;
  }

  /** Starts the clock of `done` and `firstOutputAt`. */
  markStart(): void {
    this.since = Date.now();
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectDone(error);
  }

  /** Waits until no output arrived for `quietMs` (at most `maxMs`): the output after a clean stop. */
  async drain(quietMs = 1_500, maxMs = 15_000): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline && Date.now() - this.lastRecordAt < quietMs) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  result(): WatchResult {
    return {
      outputRecords: this.outputRecords,
      sum: this.sum,
      ...(this.firstOutputAt !== undefined ? { firstOutputAt: this.firstOutputAt } : {}),
    };
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => {});
  }
}

/** Compares the last value per key with the expected counts; returns the problems (empty: correct). */
export function verifyCounts(
  actual: Map<string, number>,
  expected: Map<string, number>,
  limit = 5,
): string[] {
  const problems: string[] = [];
  let wrong = 0;
  for (const [key, count] of expected) {
    const got = actual.get(key);
    if (got !== count) {
      wrong++;
      if (problems.length < limit) problems.push(`${key}: expected ${count}, got ${got ?? 'nothing'}`);
    }
  }
  for (const key of actual.keys()) {
    if (!expected.has(key)) {
      wrong++;
      if (problems.length < limit) problems.push(`${key}: unexpected key (count ${actual.get(key)})`);
    }
  }
  if (wrong > problems.length) problems.push(`… ${wrong - problems.length} more`);
  return problems;
}
