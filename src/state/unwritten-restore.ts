/**
 * Restored changelog records a LevelDB store has not written yet: the batch operations themselves,
 * on the records' own buffers, plus their latin1 keys. Restoration appends a few hundred thousand of
 * them between flushes and nothing reads them; the first read builds a key → value map, which later
 * appends keep up to date.
 */
export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export class UnwrittenRestore {
  readonly ops: BatchOp[] = [];
  private readonly keys: string[] = [];
  private byKey: Map<string, Buffer | null> | undefined;

  get size(): number {
    return this.ops.length;
  }

  /** A restored record (`value` null: a deletion); `latin1Key` is `key` as a latin1 string. */
  add(latin1Key: string, key: Buffer, value: Buffer | null): void {
    this.ops.push(value === null ? { type: 'del', key } : { type: 'put', key, value });
    this.keys.push(latin1Key);
    this.byKey?.set(latin1Key, value);
  }

  /** The newest restored value of a key: a buffer, null when deleted, undefined when not restored. */
  lookup(latin1Key: string): Buffer | null | undefined {
    if (this.ops.length === 0) return undefined;
    this.byKey ??= new Map(this.entries());
    return this.byKey.get(latin1Key);
  }

  /** The records of `older`, then those of `newer`. */
  static concat(older: UnwrittenRestore, newer: UnwrittenRestore): UnwrittenRestore {
    const out = new UnwrittenRestore();
    for (const part of [older, newer])
      for (let i = 0; i < part.ops.length; i++) {
        const op = part.ops[i]!;
        out.add(part.keys[i]!, op.key, op.type === 'put' ? op.value : null);
      }
    return out;
  }

  /** Every restored key with its value, oldest first (a later entry of a key wins in a Map). */
  *entries(): Generator<[string, Buffer | null]> {
    for (let i = 0; i < this.ops.length; i++) {
      const op = this.ops[i]!;
      yield [this.keys[i]!, op.type === 'put' ? op.value : null];
    }
  }
}
