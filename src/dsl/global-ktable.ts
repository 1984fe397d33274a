import type { InternalStreamsBuilder } from './internal-builder.ts';

/**
 * A table fully replicated to every task (Kafka Streams' GlobalKTable): read from all partitions of its
 * topic, restored before processing starts, and used for lookups by any key.
 */
export class GlobalKTable<K, V> {
  /** @internal */
  constructor(
    readonly builder: InternalStreamsBuilder,
    /** Store holding the table. */
    readonly storeName: string,
    readonly topic: string,
  ) {}

  queryableStoreName(): string {
    return this.storeName;
  }

  /** @internal phantom fields so K and V take part in type checking. */
  declare readonly _types?: [K, V];
}
