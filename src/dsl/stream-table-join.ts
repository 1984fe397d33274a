import type { KStream } from './kstream.ts';
import type { KTable } from './ktable.ts';
import type { GlobalKTable } from './global-ktable.ts';
import type { Joined, Named, ValueJoiner } from './options.ts';

export function streamTableJoin<K, V, VT, VR>(
  _stream: KStream<K, V>,
  _table: KTable<K, VT>,
  _kind: 'inner' | 'left',
  _joiner: ValueJoiner<V, VT | null, VR, K>,
  _joined: Joined<K, V, VT> | undefined,
): KStream<K, VR> {
  throw new Error('stream-table joins are not implemented yet');
}

export function streamGlobalTableJoin<K, V, GK, GV, VR>(
  _stream: KStream<K, V>,
  _table: GlobalKTable<GK, GV>,
  _kind: 'inner' | 'left',
  _keySelector: (key: K, value: V) => GK,
  _joiner: ValueJoiner<V, GV | null, VR, K>,
  _named: Named | undefined,
): KStream<K, VR> {
  throw new Error('global table joins are not implemented yet');
}
