import type { StreamsBuilder } from '../dsl/streams-builder.ts';
import { resolveStreamsConfig, type StreamsConfigInput } from '../streams-config.ts';

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
  /**
   * The application's configuration (StreamsConfig: default serdes, cache size, commit interval,
   * processing guarantee, ...; see docs/configuration.md). The CLI's flags override it option by
   * option. The application id is the one above.
   */
  config?: Omit<StreamsConfigInput, 'applicationId' | 'application.id'>;
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
  if (definition.config !== undefined) {
    const config = resolveStreamsConfig(definition.config as StreamsConfigInput);
    if (config.applicationId !== undefined)
      throw new Error(
        `config.applicationId: set the application id once, as the definition's applicationId ('${definition.applicationId}')`,
      );
  }
  return definition;
}
