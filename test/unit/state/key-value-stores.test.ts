import { describe } from 'vitest';
import { Stores } from '../../../src/state/stores.ts';
import { keyValueStoreConformance, type KvVariant } from './key-value-conformance.ts';
import { bytesSerde, stringSerde } from './helpers.ts';

const variants: KvVariant[] = [];
for (const persistent of [false, true]) {
  for (const caching of [false, true]) {
    for (const logging of [false, true]) {
      const label = `${persistent ? 'LevelDB' : 'in-memory'}, caching ${caching ? 'on' : 'off'}, logging ${logging ? 'on' : 'off'}`;
      const builder = (name: string) => {
        const supplier = persistent
          ? Stores.persistentKeyValueStore(name)
          : Stores.inMemoryKeyValueStore(name);
        let b = Stores.keyValueStoreBuilder(supplier, bytesSerde, stringSerde);
        if (caching) b = b.withCachingEnabled();
        if (!logging) b = b.withLoggingDisabled();
        return b;
      };
      variants.push({ label, builder, persistent });
      // A tiny cache budget: every few writes evict and flush, exercising the spill path.
      if (caching && logging)
        variants.push({ label: `${label}, tiny cache`, builder, persistent, cacheMaxBytes: 600 });
    }
  }
}

describe('key-value store conformance', () => {
  for (const variant of variants) keyValueStoreConformance(variant);
});
