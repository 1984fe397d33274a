import type { StateStore } from './types.ts';

/**
 * Finishes a wrapper's init once its inner store is open: at once when the inner store opened
 * synchronously (in-memory, or LevelDB in a fresh directory), else when its init resolves. This keeps a
 * whole store stack usable right after `init()` is called whenever no disk read is needed, which is
 * what lets `new TopologyTestDriver(topology)` take input without an await.
 */
export function afterInnerInit(
  inner: StateStore,
  innerInit: Promise<void>,
  finish: () => void,
): Promise<void> {
  if (inner.isOpen()) {
    finish();
    return innerInit;
  }
  return innerInit.then(finish);
}
