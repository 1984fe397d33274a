/**
 * The KafkaStreams facade on the in-memory Kafka: lifecycle and state machine, the client factory,
 * shutdown (final commit, checkpoints, NOT_RUNNING) and how a failure is reported.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { BrokerConnectionError } from '../../../src/kafka/errors.ts';
import { readCheckpoint } from '../../../src/runtime/checkpoint.ts';
import {
  BrokersUnreachableError,
  type KafkaStreams,
  type StreamsState,
} from '../../../src/runtime/kafka-streams.ts';
import { cacheSizePerThread } from '../../../src/runtime/stream-thread.ts';
import { sorted } from '../../integration/runtime-support.ts';
import {
  committedInput,
  fakeWordCount,
  inputEnds,
  makeLines,
  newStreams,
  outputCounts,
  produceLines,
  tempStateDir,
} from './fake-support.ts';

const running: KafkaStreams[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

describe('KafkaStreams on an in-memory Kafka', () => {
  it('runs CREATED → REBALANCING → RUNNING and, at close, commits, checkpoints and ends NOT_RUNNING', async () => {
    const setup = fakeWordCount(2);
    const { lines, counts } = makeLines(300, 5);
    produceLines(setup, lines);
    const stateDir = await tempStateDir();
    // A commit interval longer than the test: only the assignment's commit and close() commit.
    const streams = newStreams(setup, stateDir);
    running.push(streams);
    const states: Array<[StreamsState, StreamsState]> = [];
    streams.onStateChange((next, previous) => states.push([previous, next]));
    expect(streams.state).toBe('CREATED');

    await streams.start();
    await vi.waitFor(() => expect(streams.state).toBe('RUNNING'), { timeout: 10_000 });
    expect(
      streams
        .localTasks()
        .map((t) => t.id)
        .sort(),
    ).toEqual(['0_0', '0_1', '1_0', '1_1']);
    await vi.waitFor(() => expect(setup.fake.consumers[0]!.caughtUp()).toBe(true), { timeout: 10_000 });
    // Everything is processed, nothing committed since the assignment: the records wait in buffers.
    const repartition = setup.fake.records(`${setup.applicationId}-word-counts-repartition`);
    expect(repartition).toHaveLength(0);
    expect(committedInput(setup)).not.toEqual(inputEnds(setup));

    await streams.close();
    expect(streams.state).toBe('NOT_RUNNING');
    expect(states).toEqual([
      ['CREATED', 'REBALANCING'],
      ['REBALANCING', 'RUNNING'],
      ['RUNNING', 'PENDING_SHUTDOWN'],
      ['PENDING_SHUTDOWN', 'NOT_RUNNING'],
    ]);
    expect(streams.error).toBeUndefined();
    // The final commit produced what was processed and committed the input offsets, and the
    // instance left the group.
    expect(setup.fake.records(`${setup.applicationId}-word-counts-repartition`).length).toBeGreaterThan(0);
    expect(committedInput(setup)).toEqual(inputEnds(setup));
    expect(setup.fake.group(setup.applicationId).members).toHaveLength(0);
    expect(streams.localTasks()).toEqual([]);

    // A restart counts what the first run left in the repartition topic; its close checkpoints
    // every stateful task at its changelog's end.
    const again = newStreams(setup, stateDir, { commitIntervalMs: 20 });
    running.push(again);
    await again.start();
    await vi.waitFor(() => expect(sorted(outputCounts(setup))).toEqual(sorted(counts)), { timeout: 10_000 });
    await again.close();
    const changelog = `${setup.applicationId}-word-counts-changelog`;
    for (const p of [0, 1]) {
      const checkpoint = await readCheckpoint(path.join(stateDir, setup.applicationId, `1_${p}`));
      expect(setup.fake.endOffset(changelog, p)).toBeGreaterThan(0);
      expect(checkpoint?.get(`${changelog}:${p}`)).toBe(setup.fake.endOffset(changelog, p));
    }
  });

  it('creates its client through clientFactory, and prefers a given client', async () => {
    const setup = fakeWordCount(1);
    const factory = vi.fn(() => setup.fake.client());
    const streams = newStreams(setup, await tempStateDir(), {
      client: undefined,
      clientFactory: factory,
      bootstrapServers: ['broker-a:9092'],
      clientId: 'wc-client',
    });
    running.push(streams);
    await streams.start();
    expect(factory).toHaveBeenCalledWith({ brokers: ['broker-a:9092'], clientId: 'wc-client' });
    await vi.waitFor(() => expect(streams.state).toBe('RUNNING'), { timeout: 10_000 });

    const unused = vi.fn(() => setup.fake.client());
    const other = newStreams(setup, await tempStateDir(), {
      clientFactory: unused,
      bootstrapServers: ['x:1'],
    });
    running.push(other);
    await other.start();
    expect(unused).not.toHaveBeenCalled();
  });

  it('fails to start without brokers or client: ERROR, then NOT_RUNNING', async () => {
    const setup = fakeWordCount(1);
    const streams = newStreams(setup, await tempStateDir(), { client: undefined });
    const states: StreamsState[] = [];
    streams.onStateChange((next) => states.push(next));
    const errors: Error[] = [];
    streams.onError((e) => errors.push(e));
    await expect(streams.start()).rejects.toThrow('no brokers configured');
    expect(states).toEqual(['REBALANCING', 'ERROR', 'PENDING_SHUTDOWN', 'NOT_RUNNING']);
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('no brokers configured')]);
  });

  it('fails to start when a source topic is missing, naming it', async () => {
    const setup = fakeWordCount(1);
    setup.fake.topics.delete(setup.input);
    const streams = newStreams(setup, await tempStateDir());
    await expect(streams.start()).rejects.toThrow(setup.input);
    expect(streams.state).toBe('NOT_RUNNING');
  });

  it('names the brokers when a commit cannot reach them, and closes without a final commit', async () => {
    const setup = fakeWordCount(1);
    const stateDir = await tempStateDir();
    const streams = newStreams(setup, stateDir, { commitIntervalMs: 20 });
    running.push(streams);
    await streams.start();
    await vi.waitFor(() => expect(streams.state).toBe('RUNNING'), { timeout: 10_000 });
    setup.fake.failNextSend = new BrokerConnectionError('connect ECONNREFUSED 127.0.0.1:9092');
    produceLines(setup, ['alpha beta']);
    await vi.waitFor(() => expect(streams.state).toBe('ERROR'), { timeout: 10_000 });
    expect(streams.error).toBeInstanceOf(BrokersUnreachableError);
    expect(streams.error!.message).toMatch(
      /^lost the connection to Kafka brokers fake-kafka:9092 \(connect ECONNREFUSED 127\.0\.0\.1:9092\); the instance stops/,
    );
    const committedBefore = committedInput(setup);
    await streams.close();
    expect(streams.state).toBe('NOT_RUNNING');
    expect(committedInput(setup)).toEqual(committedBefore);
    expect(outputCounts(setup).size).toBe(0);
    expect(existsSync(path.join(stateDir, setup.applicationId))).toBe(true);
  });

  it("statestore.cache.max.bytes is the instance's: its stream thread's budget, shared by all its tasks", async () => {
    const setup = fakeWordCount(2);
    const { lines, counts } = makeLines(300, 7);
    produceLines(setup, lines);
    const streams = newStreams(setup, await tempStateDir(), {
      'statestore.cache.max.bytes': 600,
      commitIntervalMs: 20,
    });
    running.push(streams);
    await streams.start();
    await vi.waitFor(() => expect(streams.state).toBe('RUNNING'), { timeout: 10_000 });
    const budgets = new Set(streams.activeTasks().map((t) => t.task.cacheBudget));
    expect(budgets.size).toBe(1);
    const [budget] = budgets;
    expect(budget?.maxBytes).toBe(cacheSizePerThread(600, 1)); // one stream thread: all of it
    await vi.waitFor(() => expect(sorted(outputCounts(setup))).toEqual(sorted(counts)), { timeout: 10_000 });
    expect(budget!.bytes).toBeGreaterThan(0);
    expect(budget!.bytes).toBeLessThanOrEqual(600);
    await streams.close();
    expect(budget!.bytes).toBe(0);
  });

  it('splits statestore.cache.max.bytes evenly among stream threads, as Kafka Streams', () => {
    expect(cacheSizePerThread(10 * 1024 * 1024, 1)).toBe(10 * 1024 * 1024);
    expect(cacheSizePerThread(1_000, 3)).toBe(333);
    expect(cacheSizePerThread(1_000, 0)).toBe(1_000);
  });
});
