import type { RestorableStateStore, StateStoreContext } from './types.ts';
import { WrappedStateStore } from './wrapped-state-store.ts';

/**
 * Sends the writes that reach it, and that the layer below stored, to the store's changelog through
 * `context.logChange` (Kafka Streams' ChangeLogging* stores); a pass-through when the context has no
 * logChange (batch mode). Below a cache it sees, and logs, only the deduplicated writes of each
 * flush. A kind says which writes are changes and how its changelog key is laid out; restored
 * records come from the changelog and go down without being logged again.
 */
export abstract class ChangeLoggingStore<
  Inner extends RestorableStateStore,
> extends WrappedStateStore<Inner> {
  /** The context while logging is on; undefined when closed or when the run has no changelogs. */
  private context: StateStoreContext | undefined;

  override init(context: StateStoreContext): Promise<void> {
    this.context = context.logChange === undefined ? undefined : context;
    return this.inner.init(context);
  }

  override async close(): Promise<void> {
    this.context = undefined;
    await this.inner.close();
  }

  /** True when changes go to a changelog (check it before building a changelog key). */
  protected get logging(): boolean {
    return this.context !== undefined;
  }

  /** Logs a change stamped with the given timestamp (versioned stores: the version's own time). */
  protected logAt(changelogKey: Buffer, value: Buffer | null, timestamp: number): void {
    const context = this.context;
    if (context !== undefined) context.logChange!(this.name, changelogKey, value, timestamp);
  }

  /** Logs a change stamped with the timestamp of the write it stands for. */
  protected log(changelogKey: Buffer, value: Buffer | null): void {
    const context = this.context;
    if (context !== undefined)
      context.logChange!(
        this.name,
        changelogKey,
        value,
        context.currentTimestamp(),
        context.latestWriteTimestamp?.(),
      );
  }
}
