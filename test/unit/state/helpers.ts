import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Serde } from '../../../src/serde/serde.ts';
import { createStoreCounters } from '../../../src/state/counters.ts';
import { afterEach, beforeEach } from 'vitest';
import type {
  KeyValueBytesStore,
  StateStore,
  StateStoreContext,
  StoreBuilder,
  StoreCounters,
} from '../../../src/state/types.ts';
import type { CacheBudget } from '../../../src/state/write-back-cache.ts';

export interface LoggedChange {
  store: string;
  key: Buffer;
  value: Buffer | null;
  timestamp: number;
}

/** A context as a task would give it, recording changelog records, with a settable record timestamp. */
export interface TestContext extends StateStoreContext {
  timestamp: number;
  readonly changelog: LoggedChange[];
  readonly counters: Map<string, StoreCounters>;
}

export function testContext(
  taskDir: string,
  options: { logging?: boolean; cacheBudget?: CacheBudget | number } = {},
): TestContext {
  const changelog: LoggedChange[] = [];
  const counters = new Map<string, StoreCounters>();
  const context: TestContext = {
    applicationId: 'app',
    taskId: '0_0',
    taskDir,
    timestamp: 0,
    changelog,
    counters,
    cacheBudget: options.cacheBudget,
    currentTimestamp: () => context.timestamp,
    storeCounters: (name) => {
      let c = counters.get(name);
      if (!c) counters.set(name, (c = createStoreCounters()));
      return c;
    },
    logChange:
      options.logging === false
        ? undefined
        : (store, key, value, timestamp) =>
            changelog.push({ store, key: Buffer.from(key), value, timestamp }),
  };
  return context;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-streams-state-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'lambda-streams-state-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export const bytesSerde: Serde<Buffer> = {
  name: 'bytes',
  serialize: (data) => data,
  deserialize: (data) => Buffer.from(data),
};

export const stringSerde: Serde<string> = {
  name: 'string',
  serialize: (data) => Buffer.from(data, 'utf8'),
  deserialize: (data) => data.toString('utf8'),
};

export const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
export const s = (text: string): Buffer => Buffer.from(text, 'latin1');
export const hex = (buf: Buffer): string => buf.toString('hex');

/** The key-value bytes store at the bottom of a store stack. */
export function innermost(store: unknown): KeyValueBytesStore {
  let layer = store;
  while ((layer as { inner?: unknown }).inner !== undefined) layer = (layer as { inner: unknown }).inner;
  return layer as KeyValueBytesStore;
}

/** A store stack under test: how to build it, and what the suites need to know of it. */
export interface StoreVariant<S extends StateStore> {
  label: string;
  /** A fresh builder for a store of this variant. */
  builder: (name: string) => StoreBuilder<S>;
  persistent: boolean;
  /** A tiny cache budget, to exercise the spill path. */
  cacheMaxBytes?: number;
}

/** One store of a variant, opened in a fresh directory for each test. */
export interface StoreHarness<S extends StateStore> {
  dir: string;
  store: S;
  context: TestContext;
  builder: StoreBuilder<S>;
  /** Closes the store and opens a fresh instance over the same directory and context. */
  reopen(): Promise<void>;
}

/**
 * Opens a store named `name` of the variant before each test of the calling describe block (in a
 * fresh temporary directory, with a recording context) and closes and removes it after.
 */
export function useStoreHarness<S extends StateStore>(
  variant: StoreVariant<S>,
  name: string,
): StoreHarness<S> {
  const h = {
    async reopen() {
      await h.store.close();
      h.store = h.builder.build();
      await h.store.init(h.context);
    },
  } as StoreHarness<S>;
  beforeEach(async () => {
    h.dir = await makeTempDir();
    h.builder = variant.builder(name);
    h.context = testContext(h.dir, { cacheBudget: variant.cacheMaxBytes });
    h.store = h.builder.build();
    await h.store.init(h.context);
  });
  afterEach(async () => {
    if (h.store.isOpen()) await h.store.close();
    await removeDir(h.dir);
  });
  return h;
}
