import type { ProcessorSupplier } from '../processor/api.ts';
import type { Serde } from '../serde/serde.ts';

/** Picks the event time of a consumed record (Kafka Streams' TimestampExtractor). */
export type TimestampExtractor = (
  record: {
    key: unknown;
    value: unknown;
    timestamp: number;
    topic: string;
    partition: number;
    offset: number;
  },
  partitionTime: number,
) => number;

/** Chooses the output topic per record (Kafka Streams' TopicNameExtractor). */
export type TopicNameExtractor<K = unknown, V = unknown> = (
  key: K,
  value: V,
  context: { topic?: string; partition?: number; offset?: number; timestamp: number },
) => string;

/** Chooses the output partition; undefined falls back to the default (murmur2 of the key bytes). */
export type StreamPartitioner<K = unknown, V = unknown> = (
  topic: string,
  key: K,
  value: V,
  numPartitions: number,
) => number | undefined;

export interface SourceNodeDef {
  kind: 'source';
  name: string;
  topics: string[];
  pattern?: RegExp;
  keySerde?: Serde<any>;
  valueSerde?: Serde<any>;
  timestampExtractor?: TimestampExtractor;
  offsetReset?: 'earliest' | 'latest';
}

export interface ProcessorNodeDef {
  kind: 'processor';
  name: string;
  supplier: ProcessorSupplier<any, any, any, any>;
  parents: string[];
  stores: string[];
}

export interface SinkNodeDef {
  kind: 'sink';
  name: string;
  topic: string | TopicNameExtractor<any, any>;
  keySerde?: Serde<any>;
  valueSerde?: Serde<any>;
  partitioner?: StreamPartitioner<any, any>;
  parents: string[];
}

export type NodeDef = SourceNodeDef | ProcessorNodeDef | SinkNodeDef;

/** An internal topic the application creates and owns (prefixed with the application id). */
export interface InternalTopicDef {
  /** Name without the application-id prefix, e.g. "counts-repartition". */
  name: string;
  kind: 'repartition' | 'changelog';
  /** Fixed partition count (repartition(numberOfPartitions)); otherwise derived from the source topics. */
  numPartitions?: number;
  config: Record<string, string>;
}
