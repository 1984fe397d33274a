import { describe } from 'vitest';
import { Stores } from '../../../src/state/stores.ts';
import { RETENTION, WINDOW, windowStoreConformance, type WindowVariant } from './window-conformance.ts';
import { stringSerde } from './helpers.ts';

const variants: WindowVariant[] = [];
for (const persistent of [false, true]) {
  for (const retainDuplicates of [false, true]) {
    for (const caching of retainDuplicates ? [true] : [false, true]) {
      for (const logging of [false, true]) {
        const label =
          `${persistent ? 'LevelDB' : 'in-memory'}, ` +
          (retainDuplicates
            ? 'duplicates (caching requested, ignored)'
            : `caching ${caching ? 'on' : 'off'}`) +
          `, logging ${logging ? 'on' : 'off'}`;
        const builder = (name: string) => {
          const supplier = persistent
            ? Stores.persistentWindowStore(name, RETENTION, WINDOW, retainDuplicates)
            : Stores.inMemoryWindowStore(name, RETENTION, WINDOW, retainDuplicates);
          let b = Stores.windowStoreBuilder(supplier, stringSerde, stringSerde);
          if (caching) b = b.withCachingEnabled();
          if (!logging) b = b.withLoggingDisabled();
          return b;
        };
        variants.push({ label, builder, persistent, retainDuplicates });
        // A tiny cache budget: writes keep spilling down through eviction.
        if (caching && logging && !retainDuplicates) {
          variants.push({
            label: `${label}, tiny cache`,
            builder,
            persistent,
            retainDuplicates,
            cacheMaxBytes: 700,
          });
        }
      }
    }
  }
}

describe('window store conformance', () => {
  for (const variant of variants) windowStoreConformance(variant);
});
