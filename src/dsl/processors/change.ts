/**
 * A table update as KTable processors forward it: the new value and (when requested) the old one.
 * `isLatest: false` marks an out-of-order update of a versioned table, one that is not the key's
 * latest version (Kafka Streams' Change.isLatest); absent means latest.
 */
export interface Change<V> {
  newValue: V | null;
  oldValue: V | null;
  isLatest?: false;
}

export function change<V>(newValue: V | null, oldValue: V | null, isLatest = true): Change<V> {
  return isLatest ? { newValue, oldValue } : { newValue, oldValue, isLatest: false };
}

/** True unless the update is an out-of-order version of a versioned table. */
export function isLatest(update: Change<unknown>): boolean {
  return update.isLatest !== false;
}
