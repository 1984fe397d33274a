/**
 * Freshness waits: `?minOffsets=topic:partition:offset,...` and `?maxLagMs=n` make a query wait
 * (at most `?waitMs=`) until the answering worker's speed layer has read that far, so a client can read
 * its own writes. Each worker waits only for the listed partitions it reads (a scan's workers each wait
 * for theirs); a partition it does not read is not its to wait for.
 */
import type { Position, QueryService } from '../query-service.ts';
import { badRequest, unavailable } from './errors.ts';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS } from './limits.ts';

export interface OffsetTarget {
  topic: string;
  partition: number;
  offset: number;
}

export interface Freshness {
  minOffsets: OffsetTarget[];
  maxLagMs?: number;
  waitMs: number;
}

export interface FreshnessQuery {
  minOffsets?: string;
  maxLagMs?: number;
  waitMs?: number;
}

const TARGET = /^([A-Za-z0-9._-]{1,249}):(\d{1,10}):(\d{1,16})$/;

/** `orders:0:1200,orders:1:877` → targets; throws a 400 naming the first malformed entry. */
export function parseMinOffsets(text: string): OffsetTarget[] {
  return text.split(',').map((part) => {
    const match = TARGET.exec(part.trim());
    const [, topic, partition, offset] = match ?? [];
    if (topic === undefined || partition === undefined || offset === undefined) {
      throw badRequest(
        `minOffsets entry '${part.slice(0, 80)}' is not topic:partition:offset (for example orders:0:1200)`,
      );
    }
    return { topic, partition: Number(partition), offset: Number(offset) };
  });
}

/** The freshness a request asks for, or undefined when it asks for none. */
export function freshnessOf(query: FreshnessQuery): Freshness | undefined {
  if (query.minOffsets === undefined && query.maxLagMs === undefined) return undefined;
  return {
    minOffsets: query.minOffsets === undefined ? [] : parseMinOffsets(query.minOffsets),
    ...(query.maxLagMs !== undefined ? { maxLagMs: query.maxLagMs } : {}),
    waitMs: Math.min(query.waitMs ?? DEFAULT_WAIT_MS, MAX_WAIT_MS),
  };
}

/** What the position does not reach yet, one phrase each (empty: fresh enough). */
export function unmet(position: Position & { lagMs: number | undefined }, wanted: Freshness): string[] {
  const missing: string[] = [];
  for (const { topic, partition, offset } of wanted.minOffsets) {
    const at = position.offsets[topic]?.[String(partition)];
    if (at !== undefined && at < offset)
      missing.push(`${topic}:${partition} is at offset ${at}, not ${offset}`);
  }
  if (wanted.maxLagMs !== undefined) {
    if (position.lagMs === undefined)
      missing.push(`the lag is not known yet (wanted at most ${wanted.maxLagMs} ms)`);
    else if (position.lagMs > wanted.maxLagMs) {
      missing.push(`the lag is ${position.lagMs} ms, not at most ${wanted.maxLagMs} ms`);
    }
  }
  return missing;
}

const POLL_MS = 20;

/**
 * Resolves once the service's position satisfies `wanted`; after `wanted.waitMs` throws a 503 with
 * Retry-After that says what was not reached.
 */
export async function waitForFreshness(service: QueryService, wanted: Freshness): Promise<void> {
  const deadline = Date.now() + wanted.waitMs;
  for (;;) {
    const missing = unmet(service.position(), wanted);
    if (missing.length === 0) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw unavailable(
        'freshness_not_reached',
        `not fresh enough after waiting ${wanted.waitMs} ms: ${missing.join('; ')}; ` +
          `retry later or wait longer with waitMs (at most ${MAX_WAIT_MS})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, left)));
  }
}
