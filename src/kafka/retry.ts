/**
 * Retry of retriable Kafka errors with exponential backoff.
 * (`withTimeout` bounds a call that may wait for a broker that is gone.)
 *
 * kafkajs retries most requests itself, but not every step inside a transaction: `sendOffsets` sends
 * AddOffsetsToTxn to the transaction coordinator without a retry, so NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS or CONCURRENT_TRANSACTIONS (common right after a broker starts or a
 * previous transaction ends) reach the caller. Both requests are idempotent for the same transaction,
 * so the caller retries them, as the Java client does internally.
 */

/** Protocol error types that mean "try again soon" for coordinator and transaction requests. */
export const RETRIABLE_KAFKA_ERROR_TYPES: ReadonlySet<string> = new Set([
  'NOT_COORDINATOR',
  'NOT_COORDINATOR_FOR_GROUP',
  'COORDINATOR_NOT_AVAILABLE',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'GROUP_LOAD_IN_PROGRESS',
  'CONCURRENT_TRANSACTIONS',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
]);

/** Error types that must never be retried: the producer is fenced or the transaction is doomed. */
const FATAL_KAFKA_ERROR_TYPES: ReadonlySet<string> = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_TXN_STATE',
  'INVALID_PRODUCER_ID_MAPPING',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);

interface KafkaLikeError {
  type?: unknown;
  retriable?: unknown;
  name?: unknown;
  cause?: unknown;
}

/** True when `err` (or the error it wraps) is a retriable Kafka protocol or connection error. */
export function isRetriableKafkaError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const k = e as KafkaLikeError;
    if (typeof k.type === 'string') {
      if (FATAL_KAFKA_ERROR_TYPES.has(k.type)) return false;
      if (RETRIABLE_KAFKA_ERROR_TYPES.has(k.type)) return true;
    }
    if (k.name === 'KafkaJSConnectionError' || k.name === 'KafkaJSRequestTimeoutError') return true;
    // Other protocol errors that kafkajs itself marks retriable.
    if (typeof k.type === 'string' && k.retriable === true) return true;
    // KafkaJSNumberOfRetriesExceeded and friends wrap the last error.
    e = k.cause;
  }
  return false;
}

export interface RetryOptions {
  /** Attempts in total (first call included). Default 10. */
  attempts?: number;
  /** First backoff in ms, doubled per attempt up to maxBackoffMs. Default 100. */
  initialBackoffMs?: number;
  /** Default 2000. */
  maxBackoffMs?: number;
  /** Which errors to retry; default isRetriableKafkaError. */
  isRetriable?: (err: unknown) => boolean;
  /** Called before each retry (for logging). */
  onRetry?: (err: unknown, attempt: number, backoffMs: number) => void;
}

/** Runs `fn`, retrying retriable Kafka errors with exponential backoff and jitter. */
export async function retryKafka<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 10;
  const maxBackoff = options.maxBackoffMs ?? 2000;
  const isRetriable = options.isRetriable ?? isRetriableKafkaError;
  let backoff = options.initialBackoffMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetriable(err)) throw err;
      const wait = Math.min(maxBackoff, backoff) * (0.8 + Math.random() * 0.4);
      options.onRetry?.(err, attempt, wait);
      await new Promise((resolve) => setTimeout(resolve, wait));
      backoff *= 2;
    }
  }
}

/** Resolves or rejects as `promise` does, or rejects after `ms` with "<what> did not finish within <ms> ms". */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
