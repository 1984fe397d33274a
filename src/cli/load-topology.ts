import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StreamsBuilder } from '../dsl/streams-builder.ts';
import type { TopologyDefinition } from '../topology/definition.ts';
import type { Topology } from '../topology/topology.ts';
import {
  resolveStreamsConfig,
  type ResolvedStreamsConfig,
  type StreamsConfigInput,
} from '../streams-config.ts';

export interface LoadedTopology {
  file: string;
  definition: TopologyDefinition;
  topology: Topology;
  bucketMs: number;
  /** The file's `config`, resolved (dotted names as camelCase); its default serdes are already set on the topology. */
  config: ResolvedStreamsConfig;
}

/** Loads a topology file (default export: a TopologyDefinition) and builds its topology. */
export async function loadTopologyFile(file: string): Promise<LoadedTopology> {
  const absolute = path.resolve(file);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(absolute)) {
      throw new Error(`Topology file not found: ${absolute}`);
    }
    throw new Error(`Could not load topology file ${absolute}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const definition = module.default as Partial<TopologyDefinition> | undefined;
  if (
    !definition ||
    typeof definition !== 'object' ||
    typeof definition.build !== 'function' ||
    !definition.applicationId
  ) {
    throw new Error(
      `${absolute} must export default a topology definition: export default defineTopology({ applicationId, bucketMs, build(builder) { ... } })`,
    );
  }
  let config: ResolvedStreamsConfig;
  try {
    config = resolveStreamsConfig((definition.config ?? {}) as StreamsConfigInput);
  } catch (error) {
    throw new Error(`${absolute}: config: ${(error as Error).message}`, { cause: error });
  }
  const builder = new StreamsBuilder();
  definition.build(builder);
  const topology = builder.build();
  // Every command (worker, batch, describe, reset) reads and writes with the file's default serdes.
  topology.configureDefaultSerdes(config);
  const bucketMs = definition.bucketMs ?? 60 * 60 * 1000;
  topology.bucketMs = bucketMs;
  return { file: absolute, definition: definition as TopologyDefinition, topology, bucketMs, config };
}
