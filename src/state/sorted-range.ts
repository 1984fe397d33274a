import type { BTree } from './btree.ts';

/**
 * Walks a BTree keyed by latin1 strings between inclusive bounds, in chunks: each chunk is copied
 * out and the next one restarts after the last key seen. The walk is therefore safe while the
 * caller writes to the tree (a processor deleting what it iterates), and weakly consistent: writes
 * show up if they land beyond the current chunk.
 */
const CHUNK = 64;

export interface RangeBounds {
  from?: string | undefined;
  to?: string | undefined;
  /** Forward walks only: keys starting with this prefix (the walk starts at it, stops past it). */
  prefix?: string | undefined;
  reverse?: boolean | undefined;
}

export function* walkRange<V>(tree: BTree<string, V>, bounds: RangeBounds): Generator<[string, V]> {
  const { to, prefix, reverse = false } = bounds;
  const from = bounds.from ?? prefix;
  if (prefix !== undefined && reverse) throw new Error('walkRange: prefix walks are forward only');
  if (from !== undefined && to !== undefined && from > to) return;
  let cursor = reverse ? to : from;
  let skipCursor = false;
  for (;;) {
    const chunk: Array<[string, V]> = [];
    let exhausted = true;
    const entries = reverse ? tree.entriesReversed(cursor, undefined, skipCursor) : tree.entries(cursor);
    for (const [key, value] of entries) {
      if (!reverse && skipCursor && key === cursor) continue;
      if (reverse ? from !== undefined && key < from : to !== undefined && key > to) break;
      if (prefix !== undefined && !key.startsWith(prefix)) break;
      chunk.push([key, value]);
      if (chunk.length === CHUNK) {
        exhausted = false;
        break;
      }
    }
    yield* chunk;
    if (exhausted) return;
    cursor = chunk[CHUNK - 1]![0];
    skipCursor = true;
  }
}

/** Bounds of a walk over latin1-keyed trees for a bytes range (undefined: open). */
export function latin1Bounds(
  from: Buffer | undefined,
  to: Buffer | undefined,
  reverse: boolean,
): RangeBounds {
  return {
    from: from === undefined ? undefined : from.toString('latin1'),
    to: to === undefined ? undefined : to.toString('latin1'),
    reverse,
  };
}
