import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Serdes } from '../../../src/serde/index.ts';
import {
  InMemoryKeyValueBytesStore,
  PUT_RETURN_CODE_NOT_PUT,
  PUT_RETURN_CODE_VALID_TO_UNDEFINED,
  Stores,
  VersionedKeyValueBytesStore,
  type VersionedRecord,
} from '../../../src/state/index.ts';
import { testContext, withTempDir } from './helpers.ts';

/**
 * What Kafka Streams' RocksDBVersionedStore answers, written as plainly as possible: every version
 * of a key in timestamp order, the history retention doubling as grace period, and reads older
 * than the retention answered only by the latest version.
 */
class ReferenceVersionedStore {
  private readonly versions = new Map<string, Array<{ ts: number; value: string | null }>>();
  private streamTime = -Infinity;

  constructor(private readonly retention: number) {}

  put(key: string, value: string | null, ts: number): number {
    if (ts < this.streamTime - this.retention) return PUT_RETURN_CODE_NOT_PUT;
    this.streamTime = Math.max(this.streamTime, ts);
    const list = this.versions.get(key) ?? [];
    this.versions.set(key, list);
    const same = list.find((v) => v.ts === ts);
    if (same) same.value = value;
    else {
      list.push({ ts, value });
      list.sort((a, b) => a.ts - b.ts);
    }
    const next = list.find((v) => v.ts > ts);
    return next ? next.ts : PUT_RETURN_CODE_VALID_TO_UNDEFINED;
  }

  delete(key: string, ts: number): VersionedRecord<string> | undefined {
    if (ts < this.streamTime - this.retention) return undefined;
    const existing = this.get(key, ts);
    this.put(key, null, ts);
    return existing;
  }

  get(key: string, asOf?: number): VersionedRecord<string> | undefined {
    const list = this.versions.get(key) ?? [];
    const latest = list.at(-1);
    if (asOf === undefined)
      return latest?.value == null ? undefined : { value: latest.value, timestamp: latest.ts };
    if (latest && latest.value !== null && latest.ts <= asOf)
      return { value: latest.value, timestamp: latest.ts };
    if (asOf < this.streamTime - this.retention) return undefined;
    const index = list.findLastIndex((v) => v.ts <= asOf);
    if (index < 0 || list[index]!.value === null) return undefined;
    const found = list[index]!;
    const next = list[index + 1];
    return next
      ? { value: found.value!, timestamp: found.ts, validTo: next.ts }
      : { value: found.value!, timestamp: found.ts };
  }
}

type Op =
  | { op: 'put'; key: string; value: string | null; ts: number }
  | { op: 'delete'; key: string; ts: number }
  | { op: 'get'; key: string; asOf?: number };

const keys = fc.constantFrom('a', 'b', 'c');
const ts = fc.integer({ min: 0, max: 80 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('put' as const),
      key: keys,
      value: fc.option(fc.string({ maxLength: 3 }), { freq: 5 }),
      ts,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keys, ts }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('get' as const),
      key: keys,
      asOf: fc.option(ts, { nil: undefined }),
    }),
  },
);

const str = (b: Buffer | undefined): string | undefined => b?.toString('utf8');
const typed = (r: VersionedRecord<Buffer> | undefined): VersionedRecord<string> | undefined =>
  r === undefined ? undefined : { ...r, value: r.value.toString('utf8') };

async function openInMemory(
  retention: number,
  logged: Array<{ key: Buffer; value: Buffer | null; timestamp: number }>,
) {
  const store = new VersionedKeyValueBytesStore(new InMemoryKeyValueBytesStore('v'), retention);
  await store.init(testContext('/nonexistent'));
  return {
    store,
    put: (key: string, value: string | null, t: number) => {
      logged.push({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: t });
      return store.put(Buffer.from(key), value === null ? null : Buffer.from(value), t);
    },
  };
}

describe('versioned key-value bytes store', () => {
  it('answers every put, delete and read as Kafka Streams does, and a restore from its changelog answers the same', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 25 }),
        fc.array(opArb, { maxLength: 60 }),
        async (retention, ops) => {
          const reference = new ReferenceVersionedStore(retention);
          const changelog: Array<{ key: Buffer; value: Buffer | null; timestamp: number }> = [];
          const { store, put } = await openInMemory(retention, changelog);
          for (const o of ops) {
            if (o.op === 'put') {
              expect(put(o.key, o.value, o.ts), `put ${JSON.stringify(o)}`).toBe(
                reference.put(o.key, o.value, o.ts),
              );
            } else if (o.op === 'delete') {
              changelog.push({ key: Buffer.from(o.key), value: null, timestamp: o.ts });
              expect(typed(store.delete(Buffer.from(o.key), o.ts)), `delete ${JSON.stringify(o)}`).toEqual(
                reference.delete(o.key, o.ts),
              );
            } else {
              const got =
                o.asOf === undefined
                  ? store.get(Buffer.from(o.key))
                  : store.getAsOf(Buffer.from(o.key), o.asOf);
              expect(typed(got), `get ${JSON.stringify(o)}`).toEqual(reference.get(o.key, o.asOf));
            }
          }
          // Restored from the changelog (each record at its timestamp), every read agrees.
          const restored = (await openInMemory(retention, [])).store;
          restored.restoreBatch(changelog);
          expect(restored.observedStreamTime()).toBe(store.observedStreamTime());
          for (const key of ['a', 'b', 'c']) {
            expect(typed(restored.get(Buffer.from(key)))).toEqual(reference.get(key));
            for (let asOf = 0; asOf <= 80; asOf++) {
              expect(typed(restored.getAsOf(Buffer.from(key), asOf)), `restored ${key}@${asOf}`).toEqual(
                reference.get(key, asOf),
              );
            }
          }
          const latest = [...store.latestRecords()].map(({ key, record }) => [
            str(key),
            record.value.toString(),
            record.timestamp,
          ]);
          const expected = ['a', 'b', 'c'].flatMap((k) => {
            const r = reference.get(k);
            return r ? [[k, r.value, r.timestamp]] : [];
          });
          expect(latest).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('drops history past the retention but never the latest version', async () => {
    const { store, put } = await openInMemory(10, []);
    expect(put('k', 'v1', 1)).toBe(PUT_RETURN_CODE_VALID_TO_UNDEFINED);
    expect(put('k', 'v2', 5)).toBe(PUT_RETURN_CODE_VALID_TO_UNDEFINED);
    expect(put('k', 'v0', 0)).toBe(1); // out of order: valid until the next version
    expect(typed(store.getAsOf(Buffer.from('k'), 3))).toEqual({ value: 'v1', timestamp: 1, validTo: 5 });
    expect(put('other', 'x', 100)).toBe(PUT_RETURN_CODE_VALID_TO_UNDEFINED); // stream time 100
    expect(store.getAsOf(Buffer.from('k'), 3)).toBeUndefined();
    expect(typed(store.getAsOf(Buffer.from('k'), 50))).toEqual({ value: 'v2', timestamp: 5 });
    expect(put('k', 'late', 89)).toBe(PUT_RETURN_CODE_NOT_PUT);
    expect(typed(store.get(Buffer.from('k')))).toEqual({ value: 'v2', timestamp: 5 });
  });

  it('keeps versions and stream time on LevelDB across a reopen, and logs every put at its own timestamp', async () => {
    await withTempDir(async (dir) => {
      const builder = Stores.versionedKeyValueStoreBuilder(
        Stores.persistentVersionedKeyValueStore('prices', 60_000),
        Serdes.String(),
        Serdes.Long(),
      );
      expect(builder.changelogConfig).toEqual({
        'cleanup.policy': 'compact',
        'min.compaction.lag.ms': String(60_000 + 86_400_000),
      });
      expect(() => builder.withCachingEnabled()).toThrow(/versioned stores do not support caching/);
      const context = testContext(dir);
      const store = builder.build();
      await store.init(context);
      context.timestamp = 999; // the current record's time is not what the changelog carries
      store.put('apple', 10, 1_000);
      store.put('apple', 12, 2_000);
      store.put('apple', 11, 1_500);
      expect(store.delete('pear', 1_200)).toBeUndefined();
      expect(context.changelog.map((c) => c.timestamp)).toEqual([1_000, 2_000, 1_500, 1_200]);
      expect(context.changelog.at(-1)!.value).toBeNull();
      await store.flush();
      await store.close();

      const reopened = builder.build();
      await reopened.init(testContext(dir));
      expect(reopened.get('apple')).toEqual({ value: 12, timestamp: 2_000 });
      expect(reopened.get('apple', 1_600)).toEqual({ value: 11, timestamp: 1_500, validTo: 2_000 });
      expect(reopened.get('apple', 1_499)).toEqual({ value: 10, timestamp: 1_000, validTo: 1_500 });
      expect(reopened.get('apple', 999)).toBeUndefined();
      expect(reopened.observedStreamTime()).toBe(2_000);
      // Still refuses what the store refused before the reopen.
      expect(reopened.put('apple', 1, 2_000 - 60_001)).toBe(PUT_RETURN_CODE_NOT_PUT);
      await reopened.close();
    });
  });

  it('refuses bad arguments with the store named', () => {
    expect(() => Stores.persistentVersionedKeyValueStore('s', -1)).toThrow(/store 's'.*historyRetention/);
    expect(() => Stores.persistentVersionedKeyValueStore('s', 10, 0)).toThrow(/store 's'.*segmentInterval/);
    expect(Stores.persistentVersionedKeyValueStore('s', 3_600_000).segmentIntervalMs).toBe(300_000);
  });
});
