import type { Headers, Record } from './record.ts';
import type { StateStore } from '../state/types.ts';

/** Kafka Streams' PunctuationType: by stream time (advanced by record timestamps) or wall-clock time. */
export enum PunctuationType {
  STREAM_TIME = 'STREAM_TIME',
  WALL_CLOCK_TIME = 'WALL_CLOCK_TIME',
}

export type Punctuator = (timestamp: number) => void;

export interface Cancellable {
  cancel(): void;
}

/** Metadata of the input record being processed; absent for records produced by a punctuation. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly applicationId: string;
  readonly taskId: string;
  /** Metadata of the current input record (undefined inside a punctuation). */
  recordMetadata(): RecordMetadata | undefined;
  /** Largest record timestamp this task has seen. */
  currentStreamTimeMs(): number;
  /** Wall-clock time as the task sees it (mockable in the TopologyTestDriver). */
  currentSystemTimeMs(): number;
  /** Forwards to all children, or to the named child only. */
  forward<K extends KOut, V extends VOut>(record: Record<K, V>, childName?: string): void;
  getStateStore<S extends StateStore>(name: string): S;
  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable;
  /** Requests a commit as soon as the current batch ends. */
  commit(): void;
}

/** Kafka Streams' api.Processor: init, process one record at a time, close. All synchronous. */
export interface Processor<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: Record<KIn, VIn>): void;
  close?(): void;
}

/** Makes a fresh Processor per task. */
export type ProcessorSupplier<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> = () => Processor<
  KIn,
  VIn,
  KOut,
  VOut
>;

/** Processor whose output keeps the input key (processValues): forwarding a changed key is an error. */
export type FixedKeyProcessorSupplier<K = unknown, VIn = unknown, VOut = unknown> = () => Processor<
  K,
  VIn,
  K,
  VOut
>;

export type { Headers };
