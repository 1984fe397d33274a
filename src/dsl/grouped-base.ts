import type { ProcessorContext } from '../processor/api.ts';
import type { Record } from '../processor/record.ts';
import type { Serde } from '../serde/serde.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';

/** Shared by grouped and windowed-grouped streams: where records come from and whether to repartition. */
export abstract class GroupedBase<K, V> {
  constructor(
    protected readonly builder: InternalStreamsBuilder,
    protected readonly nodeName: string,
    protected readonly keySerde: Serde<K> | undefined,
    protected readonly valueSerde: Serde<V> | undefined,
    protected readonly repartitionRequired: boolean,
    protected readonly repartitionName: string | undefined,
  ) {}

  /**
   * Adds the aggregation node, after a repartition topic when the key changed upstream: null keys are
   * filtered out, records written to `<name>-repartition` and read back in a new sub-topology.
   */
  protected addAggregation(
    processorName: string,
    storeName: string,
    supplier: () => any,
    storeUserNamed: boolean,
  ): void {
    const topology = this.builder.topology;
    let parent = this.nodeName;
    if (this.repartitionRequired) {
      const prefix = this.repartitionName ?? storeName;
      const named = this.repartitionName !== undefined || storeUserNamed;
      const nodeName = (suffix: string, generatedPrefix: string): string => {
        const generated = this.builder.newName(generatedPrefix);
        return named ? `${prefix}-repartition-${suffix}` : generated;
      };
      const filterName = nodeName('filter', 'KSTREAM-FILTER-');
      const sinkName = nodeName('sink', 'KSTREAM-SINK-');
      const sourceName = nodeName('source', 'KSTREAM-SOURCE-');
      const topic = `${prefix}-repartition`;
      topology.addInternalTopic({ name: topic, kind: 'repartition', config: repartitionTopicConfig() });
      topology.addProcessor(filterName, dropNullKeys, parent);
      const serdes = {
        ...(this.keySerde ? { keySerde: this.keySerde } : {}),
        ...(this.valueSerde ? { valueSerde: this.valueSerde } : {}),
      };
      topology.addSink(sinkName, topic, serdes, filterName);
      topology.addSource(sourceName, topic, serdes);
      parent = sourceName;
    }
    topology.addProcessor(processorName, supplier, parent);
    topology.connectProcessorAndStateStores(processorName, storeName);
  }
}

/** Repartition topics are consumed once and purged by the application: delete policy, long retention. */
export function repartitionTopicConfig(): globalThis.Record<string, string> {
  return { 'cleanup.policy': 'delete', 'segment.bytes': '52428800', 'retention.ms': '-1' };
}

const dropNullKeys = () => {
  let context: ProcessorContext;
  return {
    init(ctx: ProcessorContext) {
      context = ctx;
    },
    process(record: Record<unknown, unknown>) {
      if (record.key !== null && record.key !== undefined) context.forward(record);
    },
  };
};
