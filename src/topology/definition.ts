import type { StreamsBuilder } from '../dsl/streams-builder.ts';

/**
 * What a topology file in topologies/ exports by default: the CLI (`lambda-streams worker|batch|describe
 * <file>`) loads it and builds the topology with `build(builder)`.
 */
export interface TopologyDefinition {
  /** Kafka Streams' application.id: consumer group, internal topic prefix, state directory name. */
  applicationId: string;
  /** Size of the Lambda merge buckets in ms (default one hour). */
  bucketMs?: number;
  /** Topics the demo and tests feed; documentation for users of the file. */
  inputTopics?: string[];
  outputTopics?: string[];
  /** Adds the streams and tables to the builder. */
  build(builder: StreamsBuilder): void;
}

/** Identity helper that gives topology files type checking. */
export function defineTopology(definition: TopologyDefinition): TopologyDefinition {
  if (!definition.applicationId || !/^[A-Za-z0-9._-]+$/.test(definition.applicationId)) {
    throw new Error(
      `applicationId '${definition.applicationId}' must be non-empty and use only letters, digits, '.', '_' and '-'`,
    );
  }
  if (
    definition.bucketMs !== undefined &&
    !(Number.isInteger(definition.bucketMs) && definition.bucketMs > 0)
  ) {
    throw new Error(`bucketMs must be a positive integer, got ${definition.bucketMs}`);
  }
  return definition;
}
