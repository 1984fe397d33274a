import type { Serde } from './serde.ts';
import { serdeName } from './serde.ts';

/** Which half of a record a serde failed on. */
export type RecordPart = 'key' | 'value';

/** Where the failing record was (topic always; partition and offset when the record came from Kafka). */
export interface SerdeErrorContext {
  readonly topic: string;
  readonly partition?: number | undefined;
  readonly offset?: number | string | bigint | undefined;
  readonly part: RecordPart;
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

function location(ctx: SerdeErrorContext, preposition: string): string {
  let s = `${preposition} topic '${ctx.topic}'`;
  if (ctx.partition !== undefined) s += ` partition ${ctx.partition}`;
  if (ctx.offset !== undefined) s += ` offset ${String(ctx.offset)}`;
  return s;
}

abstract class SerdeError extends Error implements SerdeErrorContext {
  readonly topic: string;
  readonly partition: number | undefined;
  readonly offset: number | string | bigint | undefined;
  readonly part: RecordPart;
  /** Name of the serde that failed (see `serdeName`). */
  readonly serde: string;

  protected constructor(message: string, ctx: SerdeErrorContext, serde: string, cause: unknown) {
    super(message, { cause });
    this.topic = ctx.topic;
    this.partition = ctx.partition;
    this.offset = ctx.offset;
    this.part = ctx.part;
    this.serde = serde;
  }
}

/**
 * A key or value could not be turned into bytes on its way to a topic (sink, repartition or changelog).
 * Message: `Failed to serialize value of record for topic 'counts' with serde Long: ...`.
 */
export class SerializationError extends SerdeError {
  override readonly name = 'SerializationError';

  constructor(ctx: SerdeErrorContext, serde: string, cause: unknown) {
    super(
      `Failed to serialize ${ctx.part} of record ${location(ctx, 'for')} with serde ${serde}: ${describeCause(cause)}`,
      ctx,
      serde,
      cause,
    );
  }
}

/**
 * A record read from a topic could not be decoded. Message:
 * `Failed to deserialize value of record at topic 'pageviews' partition 2 offset 1234 with serde JSON: ...`.
 * The raw bytes are kept in `data` for exception handlers (dead-letter queues); they are not logged.
 */
export class DeserializationError extends SerdeError {
  override readonly name = 'DeserializationError';
  readonly data: Buffer | undefined;

  constructor(ctx: SerdeErrorContext, serde: string, cause: unknown, data?: Buffer) {
    super(
      `Failed to deserialize ${ctx.part} of record ${location(ctx, 'at')} with serde ${serde}: ${describeCause(cause)}`,
      ctx,
      serde,
      cause,
    );
    this.data = data;
  }
}

/** Serializes `data`, wrapping any failure in a SerializationError that says where. */
export function serializeOrThrow<T>(serde: Serde<T>, data: T, ctx: SerdeErrorContext): Buffer {
  try {
    return serde.serialize(data, ctx.topic);
  } catch (err) {
    throw new SerializationError(ctx, serdeName(serde as Serde<unknown>), err);
  }
}

/** Deserializes `data`, wrapping any failure in a DeserializationError that says where. */
export function deserializeOrThrow<T>(serde: Serde<T>, data: Buffer, ctx: SerdeErrorContext): T {
  try {
    return serde.deserialize(data, ctx.topic);
  } catch (err) {
    throw new DeserializationError(ctx, serdeName(serde as Serde<unknown>), err, data);
  }
}
