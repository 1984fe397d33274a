import type { Serde } from '../serde/serde.ts';
import type { StreamPartitioner } from '../topology/nodes.ts';
import { KStream } from './kstream.ts';
import { repartitionTopicConfig } from './grouped-base.ts';
import { dropNullKeys } from './processors/basic.ts';

/**
 * Writes a stream to an internal repartition topic (`<name>` gets the application-id prefix at run time)
 * and reads it back: records land in the partition of their key, so the next stateful step sees all
 * records of a key in one task. Null keys are dropped first (they have no partition to go to).
 */
export function repartitionStream<K, V>(
  stream: KStream<K, V>,
  topic: string,
  keySerde: Serde<K> | undefined,
  valueSerde: Serde<V> | undefined,
  options: { numPartitions?: number; partitioner?: StreamPartitioner<K, V>; nodePrefix?: string } = {},
): KStream<K, V> {
  const builder = stream.builder;
  const topology = builder.topology;
  const prefix = options.nodePrefix;
  const filterName = prefix ? `${prefix}-repartition-filter` : builder.newName('KSTREAM-FILTER-');
  const sinkName = prefix ? `${prefix}-repartition-sink` : builder.newName('KSTREAM-SINK-');
  const sourceName = prefix ? `${prefix}-repartition-source` : builder.newName('KSTREAM-SOURCE-');
  topology.addInternalTopic({
    name: topic,
    kind: 'repartition',
    config: repartitionTopicConfig(),
    ...(options.numPartitions !== undefined ? { numPartitions: options.numPartitions } : {}),
  });
  topology.addProcessor(filterName, dropNullKeys, stream.nodeName);
  const serdes = { ...(keySerde ? { keySerde } : {}), ...(valueSerde ? { valueSerde } : {}) };
  topology.addSink(
    sinkName,
    topic,
    {
      ...serdes,
      ...(options.partitioner ? { partitioner: options.partitioner as StreamPartitioner<any, any> } : {}),
    },
    filterName,
  );
  topology.addSource(sourceName, topic, serdes);
  return new KStream<K, V>(builder, sourceName, keySerde, valueSerde, false);
}
