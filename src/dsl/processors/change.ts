/** A table update as KTable processors forward it: the new value and (when requested) the old one. */
export interface Change<V> {
  newValue: V | null;
  oldValue: V | null;
}

export function change<V>(newValue: V | null, oldValue: V | null): Change<V> {
  return { newValue, oldValue };
}
