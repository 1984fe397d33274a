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
 * Times (window starts, session ends) that can still hold live data, given the stream time: a
 * time is expired once it is at or before `observedStreamTime - retentionPeriod` (Kafka Streams'
 * rule), and nothing stored lies after the stream time. Undefined when the range is empty.
 */
export function liveTimeRange(
  observedStreamTime: number,
  retentionPeriod: number,
  timeFrom: number,
  timeTo: number,
): [number, number] | undefined {
  if (observedStreamTime === -Infinity) return undefined;
  const from = Math.max(timeFrom, observedStreamTime - retentionPeriod + 1);
  const to = Math.min(timeTo, observedStreamTime);
  return from <= to ? [from, to] : undefined;
}

export function isExpired(time: number, observedStreamTime: number, retentionPeriod: number): boolean {
  return time <= observedStreamTime - retentionPeriod;
}

/** Segment ids from..to, ascending or descending. */
export function* segmentIds(from: number, to: number, backward: boolean): Generator<number> {
  if (backward) for (let id = to; id >= from; id--) yield id;
  else for (let id = from; id <= to; id++) yield id;
}
