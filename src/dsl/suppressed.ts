import { Named } from './options.ts';

/** Bounds of a suppression buffer and what to do when they are reached (Kafka Streams' BufferConfig). */
export class BufferConfig {
  private constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
    /** 'emit-early': emit the oldest entries when full; 'shut-down': fail the task. */
    readonly whenFull: 'emit-early' | 'shut-down',
  ) {}

  /** No bound: never full (memory grows with the number of keys awaiting emission). */
  static unbounded(): BufferConfig {
    return new BufferConfig(Infinity, Infinity, 'shut-down');
  }

  static maxRecords(n: number): BufferConfig {
    return new BufferConfig(n, Infinity, 'emit-early');
  }

  static maxBytes(n: number): BufferConfig {
    return new BufferConfig(Infinity, n, 'emit-early');
  }

  withMaxRecords(n: number): BufferConfig {
    return new BufferConfig(n, this.maxBytes, this.whenFull);
  }

  withMaxBytes(n: number): BufferConfig {
    return new BufferConfig(this.maxRecords, n, this.whenFull);
  }

  withNoBound(): BufferConfig {
    return new BufferConfig(Infinity, Infinity, this.whenFull);
  }

  emitEarlyWhenFull(): BufferConfig {
    return new BufferConfig(this.maxRecords, this.maxBytes, 'emit-early');
  }

  shutDownWhenFull(): BufferConfig {
    return new BufferConfig(this.maxRecords, this.maxBytes, 'shut-down');
  }
}

/** How a KTable's updates are held back (Kafka Streams' Suppressed). */
export class Suppressed<K> {
  private constructor(
    readonly mode: 'window-close' | 'time-limit',
    readonly timeToWaitMs: number,
    readonly buffer: BufferConfig,
    readonly name: string | undefined,
  ) {}

  /**
   * Emits only the final result of each window, once stream time passes window end + grace. The buffer
   * must not emit early (that would emit non-final results): use unbounded() or shutDownWhenFull().
   */
  static untilWindowCloses<K>(buffer: BufferConfig): Suppressed<K> {
    if (buffer.whenFull === 'emit-early') {
      throw new Error(
        'untilWindowCloses needs a strict buffer: BufferConfig.unbounded() or .shutDownWhenFull()',
      );
    }
    return new Suppressed<K>('window-close', 0, buffer, undefined);
  }

  /** Emits the latest value of a key once `timeToWaitMs` of stream time passed since it was first buffered. */
  static untilTimeLimit<K>(timeToWaitMs: number, buffer: BufferConfig): Suppressed<K> {
    if (!Number.isInteger(timeToWaitMs) || timeToWaitMs < 0)
      throw new RangeError(`Time limit must be a non-negative integer of ms, got ${timeToWaitMs}`);
    return new Suppressed<K>('time-limit', timeToWaitMs, buffer, undefined);
  }

  withName(name: string): Suppressed<K> {
    return new Suppressed<K>(this.mode, this.timeToWaitMs, this.buffer, Named.as(name).name);
  }
}
