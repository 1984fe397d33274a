/**
 * Error handlers with Kafka Streams' shape: what a task does with a record it cannot deserialize
 * (DeserializationExceptionHandler), a record whose processing threw in user code
 * (ProcessingExceptionHandler, KIP-1033), and a record a sink cannot serialize
 * (ProductionExceptionHandler#handleSerializationException). Each answers CONTINUE (drop the record,
 * count it, go on) or FAIL (stop the task with the error). With a dead-letter topic configured
 * (Kafka Streams 4's `errors.dead.letter.queue.topic.name`, KIP-1034), every record a handler lets
 * pass is also written there: the input record's key and value bytes as consumed, with where it came
 * from and what went wrong in headers (`DEAD_LETTER_HEADERS`).
 */
import type { Logger } from 'pino';

export type HandlerResponse = 'CONTINUE' | 'FAIL';

/** Where the failing record came from and which node failed. */
export interface ErrorHandlerContext {
  /** The input record's topic, partition and offset (undefined in a punctuation). */
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly offset: number | undefined;
  /** The input record's timestamp (event time, as extracted; the record's own when extraction failed). */
  readonly timestamp: number;
  /** The processor (or source or sink) node that failed. */
  readonly processorNodeId: string;
  readonly taskId: string;
}

/** A consumed record, still in bytes. */
export interface FailedRawRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface DeserializationExceptionHandler {
  handle(context: ErrorHandlerContext, record: FailedRawRecord, error: Error): HandlerResponse;
}

export interface ProcessingExceptionHandler {
  /** `record`: the record the node was given (deserialized). */
  handle(
    context: ErrorHandlerContext,
    record: { key: unknown; value: unknown },
    error: Error,
  ): HandlerResponse;
}

export interface ProductionExceptionHandler {
  /** A sink could not serialize a record (Kafka Streams' handleSerializationException). */
  handleSerializationException(
    context: ErrorHandlerContext,
    record: { topic: string; key: unknown; value: unknown },
    error: Error,
  ): HandlerResponse;
}

/** Kafka Streams' LogAndFailExceptionHandler: the default for deserialization and processing. */
export class LogAndFailExceptionHandler
  implements DeserializationExceptionHandler, ProcessingExceptionHandler
{
  handle(): HandlerResponse {
    return 'FAIL';
  }
}

/** Kafka Streams' LogAndContinueExceptionHandler (and LogAndContinueProcessingExceptionHandler). */
export class LogAndContinueExceptionHandler
  implements DeserializationExceptionHandler, ProcessingExceptionHandler
{
  handle(): HandlerResponse {
    return 'CONTINUE';
  }
}

/** Kafka Streams' DefaultProductionExceptionHandler: a record a sink cannot serialize stops the task. */
export class DefaultProductionExceptionHandler implements ProductionExceptionHandler {
  handleSerializationException(): HandlerResponse {
    return 'FAIL';
  }
}

/** Continues past records a sink cannot serialize (they are counted, and dead-lettered if configured). */
export class ContinueProductionExceptionHandler implements ProductionExceptionHandler {
  handleSerializationException(): HandlerResponse {
    return 'CONTINUE';
  }
}

/** The error handling of one application, as the task applies it. */
export interface ErrorHandling {
  deserialization: DeserializationExceptionHandler;
  processing: ProcessingExceptionHandler;
  production: ProductionExceptionHandler;
  /** Records a handler lets pass are written here (undefined: nowhere). */
  deadLetterQueueTopic: string | undefined;
}

/** The options of a KafkaStreams config, the test driver and the CLI that set the handlers. */
export interface ErrorHandlingConfig {
  /** Default: LogAndFailExceptionHandler (Kafka Streams' default). */
  deserializationExceptionHandler?: DeserializationExceptionHandler;
  /** Default: LogAndFailExceptionHandler. */
  processingExceptionHandler?: ProcessingExceptionHandler;
  /** Default: DefaultProductionExceptionHandler (fail). */
  productionExceptionHandler?: ProductionExceptionHandler;
  /** A topic that receives every record a handler continues past; it must exist. */
  deadLetterQueueTopic?: string;
}

export function errorHandling(config: ErrorHandlingConfig = {}): ErrorHandling {
  return {
    deserialization: config.deserializationExceptionHandler ?? new LogAndFailExceptionHandler(),
    processing: config.processingExceptionHandler ?? new LogAndFailExceptionHandler(),
    production: config.productionExceptionHandler ?? new DefaultProductionExceptionHandler(),
    deadLetterQueueTopic: config.deadLetterQueueTopic,
  };
}

/** The handlers of a config: `badRecordHandling: 'skip'` stands for LogAndContinue on deserialization. */
export function errorHandlingOf(
  config: ErrorHandlingConfig & { badRecordHandling?: 'fail' | 'skip' | undefined },
): ErrorHandling {
  return errorHandling({
    ...config,
    ...(config.deserializationExceptionHandler === undefined && config.badRecordHandling === 'skip'
      ? { deserializationExceptionHandler: new LogAndContinueExceptionHandler() }
      : {}),
  });
}

/** Headers of a dead-letter record (Kafka Streams 4's names, KIP-1034, plus timestamp and node). */
export const DEAD_LETTER_HEADERS = {
  exception: '__streams.errors.exception',
  message: '__streams.errors.message',
  stacktrace: '__streams.errors.stacktrace',
  topic: '__streams.errors.topic',
  partition: '__streams.errors.partition',
  offset: '__streams.errors.offset',
  timestamp: '__streams.errors.timestamp',
  processor: '__streams.errors.processor',
  task: '__streams.errors.task',
} as const;

/** The headers that describe a failed record and its error. */
export function deadLetterHeaders(context: ErrorHandlerContext, error: Error): Record<string, string> {
  const h = DEAD_LETTER_HEADERS;
  return {
    [h.exception]: error.name,
    [h.message]: error.message,
    [h.stacktrace]: (error.stack ?? '').slice(0, 8_192),
    ...(context.topic !== undefined ? { [h.topic]: context.topic } : {}),
    ...(context.partition !== undefined ? { [h.partition]: String(context.partition) } : {}),
    ...(context.offset !== undefined ? { [h.offset]: String(context.offset) } : {}),
    [h.timestamp]: String(context.timestamp),
    [h.processor]: context.processorNodeId,
    [h.task]: context.taskId,
  };
}

/** Asks a handler, treating a handler that throws or answers nonsense as FAIL (logged). */
export function ask(log: Logger, kind: string, answer: () => HandlerResponse): HandlerResponse {
  let response: unknown;
  try {
    response = answer();
  } catch (error) {
    log.error({ err: error }, `the ${kind} exception handler threw; failing the task`);
    return 'FAIL';
  }
  if (response === 'CONTINUE' || response === 'FAIL') return response;
  log.error(
    `the ${kind} exception handler answered ${String(response)}, not CONTINUE or FAIL; failing the task`,
  );
  return 'FAIL';
}
