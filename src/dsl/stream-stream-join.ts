import type { KStream } from './kstream.ts';
import type { JoinWindows } from './join-windows.ts';
import type { StreamJoined, ValueJoiner } from './options.ts';

export type StreamJoinKind = 'inner' | 'left' | 'outer';

/**
 * Windowed stream-stream join (Kafka Streams' KStreamImpl.doJoin): both sides are buffered in window
 * stores; see the implementation notes below.
 */
export function streamStreamJoin<K, V, VO, VR>(
  _left: KStream<K, V>,
  _right: KStream<K, VO>,
  _kind: StreamJoinKind,
  _joiner: ValueJoiner<V | null, VO | null, VR, K>,
  _windows: JoinWindows,
  _streamJoined: StreamJoined<K, V, VO> | undefined,
): KStream<K, VR> {
  throw new Error('stream-stream joins are not implemented yet');
}
