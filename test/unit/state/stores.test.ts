import { describe, expect, it } from 'vitest';
import { CachingKeyValueBytesStore } from '../../../src/state/caching-key-value-store.ts';
import { CachingSessionBytesStore } from '../../../src/state/caching-session-store.ts';
import { CachingWindowBytesStore } from '../../../src/state/caching-window-store.ts';
import { ChangeLoggingSessionBytesStore } from '../../../src/state/change-logging-session-store.ts';
import { ChangeLoggingKeyValueBytesStore } from '../../../src/state/change-logging-key-value-store.ts';
import { ChangeLoggingWindowBytesStore } from '../../../src/state/change-logging-window-store.ts';
import { InMemoryKeyValueBytesStore } from '../../../src/state/in-memory-key-value-store.ts';
import { LevelDbKeyValueBytesStore } from '../../../src/state/leveldb-key-value-store.ts';
import { SegmentedSessionBytesStore } from '../../../src/state/segmented-session-store.ts';
import { SegmentedWindowBytesStore } from '../../../src/state/segmented-window-store.ts';
import { isRestorable } from '../../../src/state/counters.ts';
import { Stores } from '../../../src/state/stores.ts';
import { stringSerde, testContext, withTempDir } from './helpers.ts';

const layers = (store: unknown): string[] => {
  const out: string[] = [];
  for (let layer = store as { inner?: unknown } | undefined; layer; layer = layer.inner as typeof layer) {
    out.push((layer as object).constructor.name);
  }
  return out;
};

describe('Stores', () => {
  it('makes key-value builders with logging on and caching off by default', () => {
    const builder = Stores.keyValueStoreBuilder(
      Stores.persistentKeyValueStore('counts'),
      stringSerde,
      stringSerde,
    );
    expect(builder.name).toBe('counts');
    expect(builder.loggingEnabled).toBe(true);
    expect(builder.cachingEnabled).toBe(false);
    expect(builder.changelogConfig).toEqual({ 'cleanup.policy': 'compact' });
    expect(layers(builder.build())).toEqual([
      'MeteredKeyValueStore',
      ChangeLoggingKeyValueBytesStore.name,
      LevelDbKeyValueBytesStore.name,
    ]);
  });

  it('stacks caching above logging, and leaves out what is disabled', () => {
    const supplier = Stores.inMemoryKeyValueStore('counts');
    const base = Stores.keyValueStoreBuilder(supplier, stringSerde, stringSerde);
    expect(layers(base.withCachingEnabled().build())).toEqual([
      'MeteredKeyValueStore',
      CachingKeyValueBytesStore.name,
      ChangeLoggingKeyValueBytesStore.name,
      InMemoryKeyValueBytesStore.name,
    ]);
    expect(layers(base.withLoggingDisabled().build())).toEqual([
      'MeteredKeyValueStore',
      InMemoryKeyValueBytesStore.name,
    ]);
    expect(base.build().persistent).toBe(false);
  });

  it('returns modified copies, so a shared builder never changes under another task', () => {
    const base = Stores.keyValueStoreBuilder(
      Stores.inMemoryKeyValueStore('counts'),
      stringSerde,
      stringSerde,
    );
    const cached = base.withCachingEnabled();
    const unlogged = cached.withLoggingDisabled();
    expect([base.cachingEnabled, cached.cachingEnabled, unlogged.cachingEnabled]).toEqual([
      false,
      true,
      true,
    ]);
    expect([base.loggingEnabled, cached.loggingEnabled, unlogged.loggingEnabled]).toEqual([
      true,
      true,
      false,
    ]);
    expect(unlogged.withCachingDisabled().cachingEnabled).toBe(false);
    expect(cached.build()).not.toBe(cached.build());
  });

  it('merges user changelog configs over the defaults', () => {
    const builder = Stores.keyValueStoreBuilder(
      Stores.inMemoryKeyValueStore('counts'),
      stringSerde,
      stringSerde,
    );
    expect(builder.withLoggingEnabled({ 'min.insync.replicas': '2' }).changelogConfig).toEqual({
      'cleanup.policy': 'compact',
      'min.insync.replicas': '2',
    });
  });

  it('gives window changelogs compact,delete and retention plus one day', () => {
    const supplier = Stores.persistentWindowStore('windows', 3_600_000, 60_000, false);
    expect(supplier).toMatchObject({
      retentionPeriod: 3_600_000,
      windowSize: 60_000,
      segmentInterval: 1_800_000,
    });
    const builder = Stores.windowStoreBuilder(supplier, stringSerde, stringSerde);
    expect(builder.changelogConfig).toEqual({
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(3_600_000 + 86_400_000),
    });
    expect(builder.withLoggingEnabled({ 'retention.ms': '1' }).changelogConfig['retention.ms']).toBe('1');
    expect(layers(builder.withCachingEnabled().build())).toEqual([
      'MeteredWindowStore',
      CachingWindowBytesStore.name,
      ChangeLoggingWindowBytesStore.name,
      SegmentedWindowBytesStore.name,
      LevelDbKeyValueBytesStore.name,
    ]);
    expect(Stores.inMemoryWindowStore('w', 1000, 1000, false).segmentInterval).toBe(60_000);
  });

  it('stacks session stores like window stores: caching above logging above the segmented store', () => {
    const supplier = Stores.inMemorySessionStore('sessions', 120_000);
    expect(supplier).toMatchObject({ retentionPeriod: 120_000, segmentInterval: 60_000, persistent: false });
    const builder = Stores.sessionStoreBuilder(supplier, stringSerde, stringSerde);
    expect([builder.loggingEnabled, builder.cachingEnabled]).toEqual([true, false]);
    expect(builder.changelogConfig).toEqual({
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(120_000 + 86_400_000),
    });
    expect(layers(builder.build())).toEqual([
      'MeteredSessionStore',
      ChangeLoggingSessionBytesStore.name,
      SegmentedSessionBytesStore.name,
      InMemoryKeyValueBytesStore.name,
    ]);
    const cached = builder.withCachingEnabled();
    expect([builder.cachingEnabled, cached.cachingEnabled]).toEqual([false, true]);
    expect(layers(cached.build())).toEqual([
      'MeteredSessionStore',
      CachingSessionBytesStore.name,
      ChangeLoggingSessionBytesStore.name,
      SegmentedSessionBytesStore.name,
      InMemoryKeyValueBytesStore.name,
    ]);
    expect(layers(cached.withLoggingDisabled().build())).toEqual([
      'MeteredSessionStore',
      CachingSessionBytesStore.name,
      SegmentedSessionBytesStore.name,
      InMemoryKeyValueBytesStore.name,
    ]);
    expect(() => Stores.persistentSessionStore('s', -1)).toThrow(
      "store 's': retention period must be a non-negative integer (ms), got -1",
    );
  });

  it('ignores caching for window stores that retain duplicates', () => {
    const supplier = Stores.inMemoryWindowStore('join', 120_000, 60_000, true);
    const builder = Stores.windowStoreBuilder(supplier, stringSerde, stringSerde).withCachingEnabled();
    expect(builder.cachingEnabled).toBe(false);
    expect(layers(builder.build())).not.toContain(CachingWindowBytesStore.name);
  });

  it('builds timestamped stores over ValueAndTimestamp values', async () => {
    await withTempDir(async (dir) => {
      const store = Stores.timestampedKeyValueStoreBuilder(
        Stores.inMemoryKeyValueStore('t'),
        stringSerde,
        stringSerde,
      ).build();
      await store.init(testContext(dir));
      store.put('k', { value: 'v', timestamp: 42 });
      expect(store.get('k')).toEqual({ value: 'v', timestamp: 42 });
      await store.close();
    });
  });

  it('rejects bad names and window parameters, naming the store', () => {
    expect(() => Stores.persistentKeyValueStore('a/b')).toThrow(/invalid store name 'a\/b'/);
    expect(() => Stores.inMemoryKeyValueStore('')).toThrow(/invalid store name/);
    expect(() => Stores.inMemoryKeyValueStore('..')).toThrow(/invalid store name/);
    expect(() => Stores.persistentWindowStore('w', 1000, 2000, false)).toThrow(
      "store 'w': retention period (1000 ms) must be an integer no smaller than the window size (2000 ms)",
    );
    expect(() => Stores.persistentWindowStore('w', 1000, 0, false)).toThrow(
      /window size must be a positive integer/,
    );
  });

  it('makes restorable stores and names them in errors about bad input', async () => {
    await withTempDir(async (dir) => {
      for (const caching of [false, true]) {
        let builder = Stores.windowStoreBuilder(
          Stores.inMemoryWindowStore('w', 60_000, 60_000, false),
          stringSerde,
          stringSerde,
        );
        if (caching) builder = builder.withCachingEnabled();
        const store = builder.build();
        expect(isRestorable(store)).toBe(true);
        await store.init(testContext(dir));
        expect(() => store.put('k', 'v', 1.5)).toThrow("store 'w': window start must be an integer, got 1.5");
        expect(() => store.fetch('k', NaN)).toThrow("store 'w': window start must be an integer");
        expect(() => store.restoreBatch([{ key: Buffer.from([1]), value: null }])).toThrow(
          /^store 'w': cannot restore/,
        );
        await store.close();
      }
      expect(
        isRestorable(
          Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv'), stringSerde, stringSerde).build(),
        ),
      ).toBe(true);
    });
  });
});
