/** Kafka Streams' InvalidStateStoreException: the store is closed, not yet open, or misused. */
export class InvalidStateStoreError extends Error {
  constructor(
    readonly storeName: string,
    message: string,
  ) {
    super(`store '${storeName}' ${message}`);
    this.name = 'InvalidStateStoreError';
  }
}

/** Any other failure inside a store, prefixed with the store name. */
export class StateStoreError extends Error {
  constructor(
    readonly storeName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`store '${storeName}': ${message}`, options);
    this.name = 'StateStoreError';
  }
}

export function notOpen(storeName: string): InvalidStateStoreError {
  return new InvalidStateStoreError(storeName, 'is not open');
}
