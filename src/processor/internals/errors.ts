/** Raised when processing cannot continue; names the task, node and record involved. */
export class StreamsError extends Error {
  override name = 'StreamsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Where a record came from, for error messages a person can act on. */
export function describeOrigin(
  meta: { topic: string; partition: number; offset: number } | undefined,
): string {
  return meta
    ? `topic '${meta.topic}' partition ${meta.partition} offset ${meta.offset}`
    : 'a punctuation (no input record)';
}
