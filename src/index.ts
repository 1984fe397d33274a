// Public API of lambda-streams. Names follow Kafka Streams.
export { StreamsBuilder } from './dsl/streams-builder.ts';
export { KStream } from './dsl/kstream.ts';
export type {
  DeduplicateOptions,
  Predicate,
  KeyValueMapper,
  ValueMapper,
  ForeachAction,
} from './dsl/kstream.ts';
export { KTable } from './dsl/ktable.ts';
export { KGroupedStream, TimeWindowedKStream, type AggregateOptions } from './dsl/kgrouped-stream.ts';
export {
  Consumed,
  Produced,
  Grouped,
  Materialized,
  Named,
  KeyValue,
  Joined,
  StreamJoined,
  Repartitioned,
  type Merger,
  type StoreType,
  type ValueJoiner,
} from './dsl/options.ts';
export { GlobalKTable } from './dsl/global-ktable.ts';
export { KGroupedTable } from './dsl/kgrouped-table.ts';
export { EmitStrategy, type StrategyType } from './dsl/emit-strategy.ts';
export {
  CogroupedKStream,
  TimeWindowedCogroupedKStream,
  SessionWindowedCogroupedKStream,
} from './dsl/cogrouped-stream.ts';
export { Branched, BranchedKStream } from './dsl/branched.ts';
export { Suppressed, BufferConfig } from './dsl/suppressed.ts';
export { JoinWindows } from './dsl/join-windows.ts';
export { SessionWindows } from './dsl/session-windows.ts';
export { SlidingWindows } from './dsl/sliding-windows.ts';
export { SessionWindowedKStream } from './dsl/session-windowed-stream.ts';
export { SlidingWindowedKStream } from './dsl/sliding-windowed-stream.ts';
export { TimeWindows } from './dsl/windows.ts';
export type { Initializer, Aggregator, Reducer } from './dsl/processors/aggregate.ts';
export type { Change } from './dsl/processors/change.ts';

export { Topology, TopologyError, type SubTopology, type StoreMetadata } from './topology/topology.ts';
export type { TopologyDescription } from './topology/describe.ts';
export type { TimestampExtractor, TopicNameExtractor, StreamPartitioner } from './topology/nodes.ts';
export { defineTopology, type TopologyDefinition } from './topology/definition.ts';

export { Record, type Headers } from './processor/record.ts';
export {
  PunctuationType,
  type Processor,
  type ProcessorContext,
  type ProcessorSupplier,
  type FixedKeyProcessorSupplier,
  type Punctuator,
  type Cancellable,
  type RecordMetadata,
} from './processor/api.ts';
export { StreamsError } from './processor/internals/errors.ts';
export {
  ContinueProductionExceptionHandler,
  DEAD_LETTER_HEADERS,
  DefaultProductionExceptionHandler,
  LogAndContinueExceptionHandler,
  LogAndFailExceptionHandler,
  type DeserializationExceptionHandler,
  type ErrorHandlerContext,
  type ErrorHandlingConfig,
  type HandlerResponse,
  type ProcessingExceptionHandler,
  type ProductionExceptionHandler,
} from './processor/error-handlers.ts';

export * from './serde/index.ts';
export {
  StreamsConfigError,
  type StreamsConfig,
  type StreamsConfigInput,
  type StreamsConfigProperties,
} from './streams-config.ts';
export * from './state/index.ts';

// The test driver and its topics; also exported on their own as `lambda-streams/testing`.
export * from './testing/index.ts';

export {
  KafkaStreams,
  type KafkaStreamsConfig,
  type StreamsState,
  type ProcessingGuarantee,
  type StateListener,
} from './runtime/kafka-streams.ts';
export {
  StoreQueryParameters,
  QueryableStoreTypes,
  type QueryableStoreType,
} from './runtime/store-query-parameters.ts';
export { startServing, type Serving, type ServingOptions } from './serving/serving.ts';
export { runBatch, type BatchRunOptions, type BatchRunResult } from './batch/run-batch.ts';
