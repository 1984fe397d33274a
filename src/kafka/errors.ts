/**
 * How the runtime tells Kafka errors apart, whatever client sits behind the port. Java's client
 * throws typed exceptions (RetriableException, RebalanceInProgressException, ProducerFencedException,
 * ...); here an adapter either throws the port's own error classes below or classifies the errors of
 * its library (`KafkaClient.classifyError`), so the runtime never looks at a library's error names.
 */

/**
 * - `rebalance`: the group is rebalancing or moved to a newer generation; the member re-joins.
 * - `fenced`: a newer transactional producer with the same id exists (the task moved elsewhere).
 * - `connection`: no broker could be reached (refused, reset or timed-out connections).
 * - `retriable`: a transient error the client may retry on its own.
 * - `fatal`: anything else.
 */
export type KafkaErrorKind = 'rebalance' | 'fenced' | 'connection' | 'retriable' | 'fatal';

/** An adapter's classification of its library's errors; undefined when it does not know the error. */
export type KafkaErrorClassifier = (error: unknown) => KafkaErrorKind | undefined;

/** Base of the port's own errors: the kind travels with the error. */
export abstract class KafkaPortError extends Error {
  abstract readonly kind: KafkaErrorKind;
}

/**
 * An offset commit was rejected because the group is rebalancing or moved to a newer generation
 * (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID): not fatal, the offsets were not
 * committed and the member re-joins.
 */
export class RebalanceInProgressError extends KafkaPortError {
  override name = 'RebalanceInProgressError';
  readonly kind = 'rebalance';
}

/** The transactional producer was fenced by a newer one with the same transactional id. */
export class ProducerFencedError extends KafkaPortError {
  override name = 'ProducerFencedError';
  readonly kind = 'fenced';
}

/** No broker could be reached. */
export class BrokerConnectionError extends KafkaPortError {
  override name = 'BrokerConnectionError';
  readonly kind = 'connection';
}

/** How deep a chain of wrapped errors (`cause`) is followed. */
const MAX_CAUSE_DEPTH = 6;

/**
 * The kind of an error or of the first error it wraps (through `cause`) that the port's classes or the
 * adapter's classifier recognise; `fatal` when none does. The runtime wraps client errors with
 * context (`new Error('Task 0_1: transaction failed', { cause })`), hence the walk.
 */
export function classifyKafkaError(error: unknown, classifier?: KafkaErrorClassifier): KafkaErrorKind {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < MAX_CAUSE_DEPTH; depth++) {
    if (e instanceof KafkaPortError) return e.kind;
    const kind = classifier?.(e);
    if (kind !== undefined && kind !== 'fatal') return kind;
    e = (e as { cause?: unknown }).cause;
  }
  return 'fatal';
}
