import type { RestorableStateStore, SessionBytesStore, WindowBytesStore } from './types.ts';

/** An entry of a bytes-level window scan. */
export interface WindowBytesEntry {
  key: Buffer;
  windowStart: number;
  value: Buffer;
}

/**
 * What the layers of a segmented store stack (window and session) tell each other beyond the
 * public interfaces: the segment interval (a cache orders its keys like the segmented store) and
 * the stream time (expiry).
 */
export interface SegmentedLayer extends RestorableStateStore {
  readonly retentionPeriod: number;
  readonly segmentInterval: number;
  /** Largest time (window start, session end) put or restored so far; -Infinity before the first. */
  observedStreamTime(): number;
}

/**
 * The layers of a window store stack; the sequence number a put was stored under goes up the
 * stack because the changelog key carries it.
 */
export interface WindowStoreLayer extends WindowBytesStore, SegmentedLayer {
  /** put, returning the sequence number used (0 without duplicates), or -1 when nothing was stored. */
  putAndReturnSeq(key: Buffer, value: Buffer | null, windowStart: number): number;
}

/** The layers of a session store stack. */
export interface SessionStoreLayer extends SessionBytesStore, SegmentedLayer {
  /** put, returning false when the session was expired and nothing was stored. */
  putAndReport(key: Buffer, start: number, end: number, value: Buffer | null): boolean;
}

/**
 * The stream time of a segmented layer (window and session stores, and their caches): the largest
 * time seen (window start, session end), and what it leaves live. A time is expired once it is at
 * or before `observed - retentionPeriod` (Kafka Streams' rule); nothing stored lies after it.
 */
export class StreamTime {
  /** Largest time seen; -Infinity before any. */
  observed = -Infinity;

  constructor(readonly retentionPeriod: number) {}

  /** Moves the stream time to `time` if that is later; true when it moved. */
  advance(time: number): boolean {
    if (time <= this.observed) return false;
    this.observed = time;
    return true;
  }

  isExpired(time: number): boolean {
    return time <= this.observed - this.retentionPeriod;
  }

  /**
   * The live part of [timeFrom, timeTo] for a scan of keys [keyFrom, keyTo] (undefined: open);
   * undefined when nothing can match (no live time in the range, or keyFrom after keyTo).
   */
  liveRange(
    timeFrom: number,
    timeTo: number,
    keyFrom?: Buffer,
    keyTo?: Buffer,
  ): [number, number] | undefined {
    if (this.observed === -Infinity) return undefined;
    if (keyFrom !== undefined && keyTo !== undefined && Buffer.compare(keyFrom, keyTo) > 0) return undefined;
    const from = Math.max(timeFrom, this.observed - this.retentionPeriod + 1);
    const to = Math.min(timeTo, this.observed);
    return from <= to ? [from, to] : undefined;
  }
}

/** Segment ids from..to, ascending or descending. */
export function* segmentIds(from: number, to: number, backward: boolean): Generator<number> {
  if (backward) for (let id = to; id >= from; id--) yield id;
  else for (let id = from; id <= to; id++) yield id;
}
