import type { Serde } from '../serde/serde.ts';
import type { Headers } from '../processor/record.ts';

/** A record as a test reads it back from an output topic. */
export interface TestRecord<K, V> {
  key: K | null;
  value: V | null;
  timestamp: number;
  headers: Headers;
}

/** Raw output the driver captured for one topic. */
export interface CapturedRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Headers;
}

export interface InputTopicOptions {
  /** Timestamp of the first record piped without one (default: the driver's wall-clock time at creation). */
  startTimestamp?: number;
  /** How much the topic's clock advances after each record piped without a timestamp (default 0). */
  autoAdvanceMs?: number;
}

type Pipe = (
  topic: string,
  key: Buffer | null,
  value: Buffer | null,
  timestamp: number,
  headers: Headers,
) => void;

/** Feeds records into the driver (Kafka Streams' TestInputTopic). */
export class TestInputTopic<K, V> {
  private currentTime: number;

  /** @internal */
  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly pipe: Pipe,
    startTimestamp: number,
    private readonly autoAdvanceMs: number,
  ) {
    this.currentTime = startTimestamp;
  }

  /** Pipes one record; without a timestamp the topic's own clock stamps it (then auto-advances). */
  pipeInput(key: K | null, value: V | null, timestamp?: number, headers: Headers = {}): void {
    let ts: number;
    if (timestamp === undefined) {
      ts = this.currentTime;
      this.currentTime += this.autoAdvanceMs;
    } else {
      ts = timestamp;
    }
    const k = key === null || key === undefined ? null : this.keySerde.serialize(key, this.name);
    const v = value === null || value === undefined ? null : this.valueSerde.serialize(value, this.name);
    this.pipe(this.name, k, v, ts, headers);
  }

  /** Pipes a value with a null key. */
  pipeValue(value: V | null, timestamp?: number): void {
    this.pipeInput(null, value, timestamp);
  }

  pipeValueList(values: Iterable<V | null>): void {
    for (const v of values) this.pipeValue(v);
  }

  pipeKeyValueList(pairs: Iterable<{ key: K | null; value: V | null } | [K | null, V | null]>): void {
    for (const p of pairs) {
      if (Array.isArray(p)) this.pipeInput(p[0], p[1]);
      else this.pipeInput(p.key, p.value);
    }
  }

  pipeRecordList(
    records: Iterable<{ key?: K | null; value: V | null; timestamp?: number; headers?: Headers }>,
  ): void {
    for (const r of records) this.pipeInput(r.key ?? null, r.value, r.timestamp, r.headers ?? {});
  }

  /** Moves the topic's clock forward (for records piped without a timestamp). */
  advanceTime(ms: number): void {
    if (ms < 0) throw new RangeError('advanceTime() takes a non-negative duration');
    this.currentTime += ms;
  }
}

/** Reads what the topology wrote to a topic (Kafka Streams' TestOutputTopic). */
export class TestOutputTopic<K, V> {
  /** @internal */
  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly queue: () => CapturedRecord[],
  ) {}

  readRecord(): TestRecord<K, V> {
    const raw = this.queue().shift();
    if (!raw) throw new Error(`No more records in output topic '${this.name}'`);
    return {
      key: raw.key === null ? null : this.keySerde.deserialize(raw.key, this.name),
      value: raw.value === null ? null : this.valueSerde.deserialize(raw.value, this.name),
      timestamp: raw.timestamp,
      headers: raw.headers,
    };
  }

  readValue(): V | null {
    return this.readRecord().value;
  }

  readKeyValue(): { key: K | null; value: V | null } {
    const r = this.readRecord();
    return { key: r.key, value: r.value };
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const out: TestRecord<K, V>[] = [];
    while (!this.isEmpty()) out.push(this.readRecord());
    return out;
  }

  readValuesToList(): Array<V | null> {
    return this.readRecordsToList().map((r) => r.value);
  }

  readKeyValuesToList(): Array<{ key: K | null; value: V | null }> {
    return this.readRecordsToList().map((r) => ({ key: r.key, value: r.value }));
  }

  /** Latest value per key (a table view of the topic); null values delete the key. */
  readKeyValuesToMap(): Map<K, V> {
    const map = new Map<K, V>();
    for (const r of this.readRecordsToList()) {
      if (r.key === null)
        throw new Error(`readKeyValuesToMap(): topic '${this.name}' has a record with a null key`);
      if (r.value === null) map.delete(r.key);
      else map.set(r.key, r.value);
    }
    return map;
  }

  getQueueSize(): number {
    return this.queue().length;
  }

  isEmpty(): boolean {
    return this.queue().length === 0;
  }
}
