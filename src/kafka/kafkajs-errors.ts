/**
 * The kafkajs adapter's side of error classification (errors.ts): which kafkajs errors mean a
 * rebalance, a fenced producer, an unreachable broker or a transient failure. kafkajs wraps the
 * broker's error in `cause` or `originalError` (KafkaJSNumberOfRetriesExceeded), so the chain is
 * walked; `type` is the Kafka protocol's error name (PRODUCER_FENCED, ...).
 */
import type { KafkaErrorKind } from './errors.ts';

const REBALANCE_ERROR_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

const FENCED_ERROR_TYPES = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);
const FENCED_ERROR_MESSAGE = /fenced|INVALID_PRODUCER_EPOCH/i;

const CONNECTION_ERROR_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
]);
const CONNECTION_ERROR_MESSAGE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE|Connection error|Connection timeout|Closed connection/i;

const MAX_DEPTH = 6;

function someInChain(error: unknown, test: (e: Record<string, unknown>) => boolean): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < MAX_DEPTH; depth++) {
    const link = e as Record<string, unknown>;
    if (test(link)) return true;
    e = link.cause ?? link.originalError;
  }
  return false;
}

const isRebalance = (e: Record<string, unknown>): boolean =>
  typeof e.type === 'string' && REBALANCE_ERROR_TYPES.has(e.type);

const isFenced = (e: Record<string, unknown>): boolean =>
  (typeof e.type === 'string' && FENCED_ERROR_TYPES.has(e.type)) ||
  FENCED_ERROR_MESSAGE.test(String(e.message ?? ''));

const isConnection = (e: Record<string, unknown>): boolean =>
  (typeof e.name === 'string' && CONNECTION_ERROR_NAMES.has(e.name)) ||
  (typeof e.message === 'string' && CONNECTION_ERROR_MESSAGE.test(e.message));

/**
 * Classifies a kafkajs error (or an error wrapping one). Fencing comes first: under exactly-once a
 * fenced task is closed quietly, whatever else the error says.
 */
export function classifyKafkajsError(error: unknown): KafkaErrorKind {
  if (someInChain(error, isFenced)) return 'fenced';
  if (someInChain(error, isRebalance)) return 'rebalance';
  if (someInChain(error, isConnection)) return 'connection';
  if ((error as { retriable?: unknown } | null)?.retriable === true) return 'retriable';
  return 'fatal';
}
