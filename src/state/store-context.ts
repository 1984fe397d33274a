import type { StateStoreContext } from './types.ts';

/**
 * The context a caching layer gives the layers below it: while the cache flushes, the timestamp of
 * the entry being written replaces the current record's, so changelog records carry the timestamp
 * of the write they stand for (Kafka Streams swaps the record context the same way).
 * Copies every field of StateStoreContext by name: a field added there must be added here.
 */
export function contextWithTimestamp(
  context: StateStoreContext,
  override: () => number | undefined,
  latestWriteOverride: () => number | undefined = override,
): StateStoreContext {
  const { logChange, storeCounters } = context;
  return {
    applicationId: context.applicationId,
    taskId: context.taskId,
    taskDir: context.taskDir,
    cacheBudget: context.cacheBudget,
    logChange:
      logChange &&
      ((storeName, key, value, timestamp, latestWrite) =>
        logChange.call(context, storeName, key, value, timestamp, latestWrite)),
    storeCounters: storeCounters && ((storeName) => storeCounters.call(context, storeName)),
    currentTimestamp: () => override() ?? context.currentTimestamp(),
    latestWriteTimestamp: () =>
      override() !== undefined ? latestWriteOverride() : context.latestWriteTimestamp?.(),
  };
}
