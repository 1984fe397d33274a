// sorted-btree is CommonJS with `exports.default = BTree`. Node's ESM interop makes the default import
// the whole exports object (class one level down); bundler-style interop (vitest) gives the class
// itself. Accept both.
import btreeModule from 'sorted-btree';

type BTreeClass = typeof btreeModule.default;
const loaded = btreeModule as unknown as { default?: BTreeClass } & BTreeClass;
export const BTree: BTreeClass = typeof loaded.default === 'function' ? loaded.default : loaded;
export type BTree<K, V> = InstanceType<typeof btreeModule.default<K, V>>;
