/** What every route module gets from createServingServer, and the small helpers they share. */
import type { Logger } from 'pino';

import type { Answer, KeyFormat, QueryService } from '../../query-service.ts';
import { badRequest } from '../errors.ts';

export interface RouteContext {
  service: QueryService;
  /** How long a forwarded or fanned-out request may take on the other worker (plus any freshness wait). */
  forwardTimeoutMs: number;
  log: Logger;
}

/** Query parameters of the key routes (each route's schema says which it takes). */
export interface KeyQuery {
  keyFormat?: KeyFormat;
  stale?: boolean;
  minOffsets?: string;
  maxLagMs?: number;
  waitMs?: number;
  from?: string;
  to?: string;
  asOf?: string;
}

/** The fields every data answer carries: which view, how far the speed layer had read, who answered. */
export function answerFields<T>(answer: Answer<T>) {
  return { view: answer.view, position: answer.position, servedBy: answer.servedBy, stale: answer.stale };
}

/** Epoch ms or ISO time (the schema checked the form) → epoch ms. */
export function parseTime(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const ms = /^[0-9]+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw badRequest(
      `${name} '${text}' is not a time: epoch milliseconds or ISO time, e.g. 2026-11-25T10:00:00Z`,
    );
  }
  return ms;
}
