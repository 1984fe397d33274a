import type { KTable } from './ktable.ts';

/** Table-table foreign-key join (Kafka Streams' KIP-213). */
export function foreignKeyJoin<K, V, KO, VO, VR>(
  _left: KTable<K, V>,
  _right: KTable<KO, VO>,
  _kind: 'inner' | 'left',
  _foreignKeyExtractor: (value: V) => KO,
  _joiner: (left: V, right: VO | null, key: K) => VR,
  _options: unknown,
): KTable<K, VR> {
  throw new Error('foreign-key joins are not implemented yet');
}
