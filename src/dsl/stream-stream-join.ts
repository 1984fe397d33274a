import type { Serde } from '../serde/serde.ts';
import { Stores } from '../state/index.ts';
import type { StoreBuilder } from '../state/types.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import { KStream } from './kstream.ts';
import type { JoinWindows } from './join-windows.ts';
import type { StreamJoined, ValueJoiner } from './options.ts';
import { repartitionTopicConfig } from './grouped-base.ts';
import {
  joinWindowProcessor,
  JoinTimeTrackers,
  leftOrRightValueListSerde,
  streamStreamJoinProcessor,
  timestampedKeyAndJoinSideSerde,
} from './processors/stream-stream-join.ts';
import { dropNullKeys, passThrough } from './processors/basic.ts';

export type StreamJoinKind = 'inner' | 'left' | 'outer';

const GENERATED_NAME = /^KSTREAM.*-[0-9]{10}$/;

/**
 * Windowed stream-stream join (Kafka Streams' KStreamImpl.doJoin + KStreamImplJoin): repartitions a
 * side whose key changed, buffers both sides in window stores that retain duplicates (size before +
 * after, retention size + grace), and runs one join processor per side; their outputs merge. Left and
 * outer joins share an outer-join store of not-yet-matched records keyed by time (KIP-633).
 * Node, store and topic names follow Kafka Streams, including StreamJoined's name and store name.
 */
export function streamStreamJoin<K, V, VO, VR>(
  left: KStream<K, V>,
  right: KStream<K, VO>,
  kind: StreamJoinKind,
  joiner: ValueJoiner<V | null, VO | null, VR, K>,
  windows: JoinWindows,
  streamJoined: StreamJoined<K, V, VO> | undefined,
): KStream<K, VR> {
  if (typeof joiner !== 'function') throw new TypeError('A stream-stream join needs a joiner function');
  const builder = left.builder;
  const topology = builder.topology;
  const name = streamJoined?.name;
  const leftOuter = kind !== 'inner';
  const rightOuter = kind === 'outer';

  const keySerde = (streamJoined?.keySerde ??
    left.keySerde ??
    right.keySerde ??
    builder.defaultKeySerde()) as Serde<K>;
  const valueSerde = (streamJoined?.valueSerde ?? left.valueSerde ?? builder.defaultValueSerde()) as Serde<V>;
  const otherValueSerde = (streamJoined?.otherValueSerde ??
    right.valueSerde ??
    builder.defaultValueSerde()) as Serde<VO>;

  // Left and outer joins accept null keys on the outer side, so their repartition topics keep them.
  let leftNode = left.nodeName;
  let rightNode = right.nodeName;
  if (left.repartitionRequired) {
    leftNode = repartitionForJoin(
      builder,
      leftNode,
      name ? `${name}-left` : leftNode,
      keySerde,
      valueSerde,
      leftOuter,
    );
  }
  if (right.repartitionRequired) {
    rightNode = repartitionForJoin(
      builder,
      rightNode,
      name ? `${name}-right` : rightNode,
      keySerde,
      otherValueSerde,
      leftOuter,
    );
  }
  topology.copartitionGroups.push([
    ...new Set([...topology.upstreamSourceTopics(leftNode), ...topology.upstreamSourceTopics(rightNode)]),
  ]);

  const joinThisSuffix = rightOuter ? '-outer-this-join' : '-this-join';
  const joinOtherSuffix = leftOuter ? '-outer-other-join' : '-other-join';
  const thisWindowedName = suffixedOrGenerated(builder, name, '-this-windowed', 'KSTREAM-WINDOWED-');
  const otherWindowedName = suffixedOrGenerated(builder, name, '-other-windowed', 'KSTREAM-WINDOWED-');
  const thisPrefix = rightOuter ? 'KSTREAM-OUTERTHIS-' : 'KSTREAM-JOINTHIS-';
  const joinThisGenerated = builder.newName(thisPrefix);
  const joinOtherGenerated = builder.newName(leftOuter ? 'KSTREAM-OUTEROTHER-' : 'KSTREAM-JOINOTHER-');
  const joinThisName = name ? `${name}${joinThisSuffix}` : joinThisGenerated;
  const joinOtherName = name ? `${name}${joinOtherSuffix}` : joinOtherGenerated;
  const mergeName = suffixedOrGenerated(builder, name, '-merge', 'KSTREAM-MERGE-');

  const baseStoreName = streamJoined?.storeName;
  const thisStoreName = `${baseStoreName ? baseStoreName + joinThisSuffix : joinThisGenerated}-store`;
  const otherStoreName = `${baseStoreName ? baseStoreName + joinOtherSuffix : joinOtherGenerated}-store`;
  const outerStoreName = leftOuter
    ? `${
        baseStoreName
          ? baseStoreName + (rightOuter ? '-outer-shared-join' : '-left-shared-join')
          : `KSTREAM-OUTERSHARED-${joinThisGenerated.slice(thisPrefix.length)}`
      }-store`
    : undefined;

  const inMemory = streamJoined?.storeType === 'in-memory';
  const loggingEnabled = streamJoined?.loggingEnabled !== false;
  // A zero-size window store is not supported below; one millisecond keeps the same join bounds.
  const size = Math.max(windows.size(), 1);
  const retention = Math.max(windows.size() + windows.gracePeriodMs(), size);
  const joinWindowStore = (storeName: string, serde: Serde<any>): StoreBuilder => {
    const supplier = inMemory
      ? Stores.inMemoryWindowStore(storeName, retention, size, true)
      : Stores.persistentWindowStore(storeName, retention, size, true);
    const storeBuilder = Stores.windowStoreBuilder(supplier, keySerde, serde).withCachingDisabled();
    // Duplicates must not be compacted away: delete policy only, as Kafka Streams configures it.
    return loggingEnabled
      ? storeBuilder.withLoggingEnabled({ 'cleanup.policy': 'delete' })
      : storeBuilder.withLoggingDisabled();
  };

  const trackers = new JoinTimeTrackers();
  const common = {
    outerStoreName,
    beforeMs: windows.beforeMs,
    afterMs: windows.afterMs,
    graceMs: windows.gracePeriodMs(),
    joiner: joiner as (l: V | null, r: VO | null, k: K) => VR,
    trackers,
  };
  topology.addProcessor(thisWindowedName, joinWindowProcessor(thisStoreName), leftNode);
  topology.addProcessor(otherWindowedName, joinWindowProcessor(otherStoreName), rightNode);
  topology.addProcessor(
    joinThisName,
    streamStreamJoinProcessor<K, V, VO, VR>({
      ...common,
      leftSide: true,
      otherStoreName,
      outer: leftOuter,
    }),
    thisWindowedName,
  );
  topology.addProcessor(
    joinOtherName,
    streamStreamJoinProcessor<K, V, VO, VR>({
      ...common,
      leftSide: false,
      otherStoreName: thisStoreName,
      outer: rightOuter,
    }),
    otherWindowedName,
  );
  topology.addProcessor(mergeName, passThrough, joinThisName, joinOtherName);
  topology.addStateStore(joinWindowStore(thisStoreName, valueSerde), thisWindowedName, joinOtherName);
  topology.addStateStore(joinWindowStore(otherStoreName, otherValueSerde), otherWindowedName, joinThisName);
  if (outerStoreName !== undefined) {
    const supplier = inMemory
      ? Stores.inMemoryKeyValueStore(outerStoreName)
      : Stores.persistentKeyValueStore(outerStoreName);
    const outerStore = Stores.keyValueStoreBuilder(
      supplier,
      timestampedKeyAndJoinSideSerde(keySerde),
      leftOrRightValueListSerde(valueSerde, otherValueSerde),
    ).withCachingDisabled();
    topology.addStateStore(
      loggingEnabled ? outerStore.withLoggingEnabled() : outerStore.withLoggingDisabled(),
      joinThisName,
      joinOtherName,
    );
  }
  // Kafka Streams keeps the StreamJoined key serde (if any) and no value serde for the result.
  return new KStream<K, VR>(builder, mergeName, streamJoined?.keySerde, undefined, false);
}

/** Kafka Streams' NamedInternal.suffixWithOrElseGet: burns an index even when a name is given. */
function suffixedOrGenerated(
  builder: InternalStreamsBuilder,
  name: string | undefined,
  suffix: string,
  prefix: string,
): string {
  const generated = builder.newName(prefix);
  return name ? `${name}${suffix}` : generated;
}

/**
 * Writes a side to `<prefix>-repartition` and reads it back (Kafka Streams' repartitionForJoin /
 * createRepartitionedSource): sink, filter and source names are generated unless the prefix is a
 * user-given name. Null keys are kept when the join accepts them (left/outer joins, KIP-962).
 */
function repartitionForJoin(
  builder: InternalStreamsBuilder,
  parent: string,
  prefix: string,
  keySerde: Serde<any>,
  valueSerde: Serde<any>,
  keepNullKeys: boolean,
): string {
  const topology = builder.topology;
  const topic = prefix.endsWith('-repartition') ? prefix : `${prefix}-repartition`;
  const genSink = builder.newName('KSTREAM-SINK-');
  const genFilter = builder.newName('KSTREAM-FILTER-');
  const genSource = builder.newName('KSTREAM-SOURCE-');
  const generated = GENERATED_NAME.test(prefix);
  const sinkName = generated ? genSink : `${topic}-sink`;
  const filterName = generated ? genFilter : `${topic}-filter`;
  const sourceName = generated ? genSource : `${topic}-source`;
  topology.addInternalTopic({ name: topic, kind: 'repartition', config: repartitionTopicConfig() });
  topology.addProcessor(filterName, keepNullKeys ? passThrough : dropNullKeys, parent);
  topology.addSink(sinkName, topic, { keySerde, valueSerde }, filterName);
  topology.addSource(sourceName, topic, { keySerde, valueSerde });
  return sourceName;
}
