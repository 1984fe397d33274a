/**
 * The configuration of an application, in Kafka Streams' shape (StreamsConfig): one object that
 * `new KafkaStreams(topology, config)`, `new TopologyTestDriver(topology, config)`, a topology file's
 * `config` and the CLI's flags all use. Options carry Kafka Streams' names in camelCase
 * (`statestore.cache.max.bytes` is `statestoreCacheMaxBytes`); the dotted names are accepted too.
 * docs/configuration.md lists every option with its Kafka Streams name and default.
 */
import type { ErrorHandlingConfig } from './processor/error-handlers.ts';
import type { BadRecordHandling } from './processor/internals/task.ts';
import type { Serde } from './serde/serde.ts';
import { DEFAULT_CACHE_MAX_BYTES } from './state/write-back-cache.ts';
import type { TimestampExtractor } from './topology/nodes.ts';

/** Kafka Streams' processing.guarantee; `exactly_once_v2` is accepted as `exactly_once`. */
export type ProcessingGuarantee = 'at_least_once' | 'exactly_once';

/** Kafka Streams' default for statestore.cache.max.bytes (10 MiB). */
export const DEFAULT_STATESTORE_CACHE_MAX_BYTES = DEFAULT_CACHE_MAX_BYTES;

export interface StreamsConfig extends ErrorHandlingConfig {
  /** application.id: consumer group, internal topic prefix, state directory name. */
  applicationId?: string;
  /** bootstrap.servers: `host:port` list (an array or comma-separated). */
  bootstrapServers?: string | string[];
  /** client.id: prefix of the Kafka clients' ids (default: the application id). */
  clientId?: string;
  /** state.dir: root of local state, `<stateDir>/<applicationId>/<taskId>/`. */
  stateDir?: string;
  /** default.key.serde: the key serde where a source, sink, grouping or store names none. Default MsgPack. */
  defaultKeySerde?: Serde<any>;
  /** default.value.serde: the value serde where none is named. Default MsgPack. */
  defaultValueSerde?: Serde<any>;
  /** default.timestamp.extractor: event time of a consumed record (default: the record's timestamp). */
  defaultTimestampExtractor?: TimestampExtractor;
  /**
   * statestore.cache.max.bytes: bytes for the write-back caches of the whole instance, split evenly
   * among its stream threads and shared by all the caching stores of a thread's tasks; 0 turns
   * caching off everywhere, so every update is forwarded. Default 10 MiB.
   */
  statestoreCacheMaxBytes?: number;
  /** commit.interval.ms: default 100 under exactly_once, 30 000 under at_least_once. */
  commitIntervalMs?: number;
  /** processing.guarantee: default at_least_once. */
  processingGuarantee?: ProcessingGuarantee | 'exactly_once_v2';
  /** num.standby.replicas: warm copies of each stateful task on other instances. Default 0. */
  numStandbyReplicas?: number;
  /** application.server: `host:port` of this instance's HTTP API, shared with the group. */
  applicationServer?: string;
  /** Consumer session.timeout.ms. Default 10 000. */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat.interval.ms. Default 1 000. */
  heartbeatIntervalMs?: number;
  /**
   * metadata.max.age.ms: how often pattern sources look for new matching topics (and start reading
   * them without a restart). Default 300 000, as Kafka's.
   */
  metadataMaxAgeMs?: number;
  /**
   * Shorthand for the deserialization handler ('skip': LogAndContinueExceptionHandler, 'fail':
   * LogAndFailExceptionHandler); `deserializationExceptionHandler` takes precedence. Default 'fail'.
   */
  badRecordHandling?: BadRecordHandling;
}

/** Kafka Streams' dotted option names and the camelCase names they stand for. */
export const STREAMS_CONFIG_KEYS = {
  'application.id': 'applicationId',
  'bootstrap.servers': 'bootstrapServers',
  'client.id': 'clientId',
  'state.dir': 'stateDir',
  'default.key.serde': 'defaultKeySerde',
  'default.value.serde': 'defaultValueSerde',
  'default.timestamp.extractor': 'defaultTimestampExtractor',
  'statestore.cache.max.bytes': 'statestoreCacheMaxBytes',
  'commit.interval.ms': 'commitIntervalMs',
  'processing.guarantee': 'processingGuarantee',
  'num.standby.replicas': 'numStandbyReplicas',
  'application.server': 'applicationServer',
  'session.timeout.ms': 'sessionTimeoutMs',
  'heartbeat.interval.ms': 'heartbeatIntervalMs',
  'metadata.max.age.ms': 'metadataMaxAgeMs',
  'deserialization.exception.handler': 'deserializationExceptionHandler',
  'default.deserialization.exception.handler': 'deserializationExceptionHandler',
  'processing.exception.handler': 'processingExceptionHandler',
  'production.exception.handler': 'productionExceptionHandler',
  'default.production.exception.handler': 'productionExceptionHandler',
  'errors.dead.letter.queue.topic.name': 'deadLetterQueueTopic',
} as const satisfies Record<string, keyof StreamsConfig>;

type DottedKey = keyof typeof STREAMS_CONFIG_KEYS;

/** The same options under Kafka Streams' dotted names (`{ 'application.id': 'counts' }`). */
export type StreamsConfigProperties = {
  [K in DottedKey]?: StreamsConfig[(typeof STREAMS_CONFIG_KEYS)[K]];
};

/** A configuration as users write it: camelCase names, dotted names, or both (each option once). */
export type StreamsConfigInput = StreamsConfig & StreamsConfigProperties;

/** A configuration with dotted names turned into camelCase ones, checked; defaults are not filled in. */
export interface ResolvedStreamsConfig extends Omit<
  StreamsConfig,
  'processingGuarantee' | 'bootstrapServers'
> {
  processingGuarantee?: ProcessingGuarantee;
  bootstrapServers?: string[];
}

export class StreamsConfigError extends Error {
  override readonly name = 'StreamsConfigError';
}

/**
 * Resolves dotted names to camelCase ones and checks the values. Throws a StreamsConfigError naming
 * the option for an unknown dotted name, an option given twice under both names, or a bad value.
 * Options this module does not know (the runtime's own, e.g. `client`) pass through unchanged.
 */
export function resolveStreamsConfig<C extends StreamsConfigInput>(
  config: C,
): Omit<C, DottedKey | 'processingGuarantee' | 'bootstrapServers'> & ResolvedStreamsConfig {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!key.includes('.')) {
      if (value !== undefined) out[key] = value;
      continue;
    }
    const camel = (STREAMS_CONFIG_KEYS as Record<string, string>)[key];
    if (!camel)
      throw new StreamsConfigError(
        `unknown configuration '${key}'; known: ${Object.keys(STREAMS_CONFIG_KEYS).join(', ')}`,
      );
    if (value === undefined) continue;
    if (out[camel] !== undefined || (config as Record<string, unknown>)[camel] !== undefined)
      throw new StreamsConfigError(`configuration '${key}' is given twice (also as '${camel}')`);
    out[camel] = value;
  }
  const c = out as ResolvedStreamsConfig & { processingGuarantee?: string; bootstrapServers?: unknown };
  if (c.processingGuarantee !== undefined) {
    const guarantee: string = c.processingGuarantee;
    if (guarantee === 'exactly_once_v2') c.processingGuarantee = 'exactly_once';
    else if (guarantee !== 'at_least_once' && guarantee !== 'exactly_once')
      throw new StreamsConfigError(
        `processingGuarantee (processing.guarantee) must be at_least_once, exactly_once or exactly_once_v2, not '${String(c.processingGuarantee)}'`,
      );
  }
  if (typeof c.bootstrapServers === 'string') c.bootstrapServers = splitList(c.bootstrapServers);
  if (c.bootstrapServers !== undefined && !Array.isArray(c.bootstrapServers))
    throw new StreamsConfigError(
      'bootstrapServers (bootstrap.servers) must be a string or an array of host:port',
    );
  nonNegativeInteger(c.statestoreCacheMaxBytes, 'statestoreCacheMaxBytes', 'statestore.cache.max.bytes');
  nonNegativeInteger(c.commitIntervalMs, 'commitIntervalMs', 'commit.interval.ms');
  nonNegativeInteger(c.numStandbyReplicas, 'numStandbyReplicas', 'num.standby.replicas');
  nonNegativeInteger(c.sessionTimeoutMs, 'sessionTimeoutMs', 'session.timeout.ms');
  nonNegativeInteger(c.heartbeatIntervalMs, 'heartbeatIntervalMs', 'heartbeat.interval.ms');
  nonNegativeInteger(c.metadataMaxAgeMs, 'metadataMaxAgeMs', 'metadata.max.age.ms');
  for (const key of ['defaultKeySerde', 'defaultValueSerde'] as const) {
    const serde = c[key] as Partial<Serde<unknown>> | undefined;
    if (
      serde !== undefined &&
      (typeof serde.serialize !== 'function' || typeof serde.deserialize !== 'function')
    )
      throw new StreamsConfigError(
        `${key} must be a serde (an object with serialize and deserialize), e.g. Serdes.String()`,
      );
  }
  if (c.badRecordHandling !== undefined && c.badRecordHandling !== 'fail' && c.badRecordHandling !== 'skip')
    throw new StreamsConfigError(
      `badRecordHandling must be 'fail' or 'skip', not '${String(c.badRecordHandling)}'`,
    );
  return c as never;
}

/** Whether caching is on under this config (statestore.cache.max.bytes > 0). */
export function cachingEnabled(config: { statestoreCacheMaxBytes?: number | undefined }): boolean {
  return config.statestoreCacheMaxBytes !== 0;
}

/** Later configs override earlier ones option by option (the CLI: file config, then flags). */
export function mergeStreamsConfigs(
  ...configs: Array<StreamsConfigInput | undefined>
): ResolvedStreamsConfig {
  const merged: Record<string, unknown> = {};
  for (const config of configs) {
    if (!config) continue;
    for (const [key, value] of Object.entries(resolveStreamsConfig(config)))
      if (value !== undefined) merged[key] = value;
  }
  return merged as ResolvedStreamsConfig;
}

function splitList(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function nonNegativeInteger(value: unknown, name: string, dotted: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new StreamsConfigError(`${name} (${dotted}) must be a non-negative integer, not ${String(value)}`);
}
