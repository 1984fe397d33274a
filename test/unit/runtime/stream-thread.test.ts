/**
 * The stream thread on the in-memory Kafka: the poll → process → commit loop, commits before a
 * re-join (two members, at-least-once, no double counts), ticks, and brokers going away.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { BrokerConnectionError } from '../../../src/kafka/errors.ts';
import { BrokersUnreachableError } from '../../../src/runtime/stream-thread.ts';
import { addCounts, sorted } from '../../integration/runtime-support.ts';
import {
  ThreadHarness,
  committedInput,
  fakeWordCount,
  inputEnds,
  makeLines,
  outputCounts,
  produceLines,
  tempStateDir,
} from './fake-support.ts';

const open: ThreadHarness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function startThread(...args: Parameters<typeof ThreadHarness.start>): Promise<ThreadHarness> {
  const h = await ThreadHarness.start(...args);
  open.push(h);
  return h;
}

describe('StreamThread on an in-memory Kafka', () => {
  it('processes fetched batches and commits on ticks once the commit interval passed', async () => {
    const setup = fakeWordCount(2);
    const { lines, counts } = makeLines(200, 7);
    produceLines(setup, lines);
    const h = await startThread(setup, await tempStateDir(), { commitIntervalMs: 30 });
    await vi.waitFor(() => expect(sorted(outputCounts(setup))).toEqual(sorted(counts)), { timeout: 10_000 });
    expect(committedInput(setup)).toEqual(inputEnds(setup));
    expect(h.states).toEqual(['RUNNING']);

    // Idle: nothing new is fetched, yet the tick commits what the last batches left in the buffers.
    const more = makeLines(20, 8);
    produceLines(setup, more.lines, 200);
    await vi.waitFor(
      () => expect(sorted(outputCounts(setup))).toEqual(sorted(addCounts(counts, more.counts))),
      { timeout: 10_000 },
    );
    expect(h.failures).toEqual([]);
  });

  it('commits every task before re-joining when a member joins: no record counted twice (at_least_once)', async () => {
    const setup = fakeWordCount(2);
    const first = makeLines(300, 11);
    produceLines(setup, first.lines);
    // No periodic commits: only the re-join's commit can save what A processed.
    const a = await startThread(setup, await tempStateDir());
    const memberA = setup.fake.consumers[0]!;
    await vi.waitFor(() => expect(memberA.caughtUp()).toBe(true), { timeout: 10_000 });
    expect(committedInput(setup)).not.toEqual(inputEnds(setup));

    const b = await startThread(setup, await tempStateDir());
    const events = setup.fake.events;
    const secondGeneration = events.findIndex((e) => e.type === 'generation' && e.generation === 2);
    expect(secondGeneration).toBeGreaterThan(0);
    // A's commit of generation 1 precedes generation 2 and covers everything it consumed.
    const before = events.slice(0, secondGeneration);
    const committedByA = new Map<string, number>();
    for (const e of before)
      if (e.type === 'commit' && e.memberId === memberA.memberId && e.generation === 1)
        for (const o of e.offsets) committedByA.set(`${o.topic}:${o.partition}`, o.offset);
    for (const [key, end] of inputEnds(setup)) expect(committedByA.get(key)).toBe(end);

    await vi.waitFor(
      () => {
        expect(a.states).toEqual(['RUNNING', 'REBALANCING', 'RUNNING']);
        expect(a.thread.tasks.tasks.size).toBeGreaterThan(0);
        expect(b.thread.tasks.tasks.size).toBeGreaterThan(0);
        expect(a.thread.tasks.tasks.size + b.thread.tasks.tasks.size).toBe(4);
      },
      { timeout: 10_000 },
    );
    const second = makeLines(100, 12);
    produceLines(setup, second.lines, 300);
    await vi.waitFor(
      () => {
        expect(setup.fake.consumers[0]!.caughtUp()).toBe(true);
        expect(setup.fake.consumers[1]!.caughtUp()).toBe(true);
      },
      { timeout: 10_000 },
    );
    await Promise.all(open.splice(0).map((h) => h.close()));
    // What reached the output after both left is exactly the counts: nothing was processed twice.
    const again = await startThread(setup, await tempStateDir(), { commitIntervalMs: 20 });
    await vi.waitFor(
      () => expect(sorted(outputCounts(setup))).toEqual(sorted(addCounts(first.counts, second.counts))),
      { timeout: 10_000 },
    );
    expect(again.failures).toEqual([]);
  });

  it('stops with BrokersUnreachableError once no broker answered for brokerUnreachableTimeoutMs', async () => {
    const setup = fakeWordCount(1);
    const h = await startThread(setup, await tempStateDir(), { brokerUnreachableTimeoutMs: 150 });
    await vi.waitFor(() => expect(h.states).toEqual(['RUNNING']), { timeout: 10_000 });
    const consumer = setup.fake.consumers[0]!;
    // kafkajs restarts a consumer that crashed for want of a broker: the thread waits...
    consumer.crash(new BrokerConnectionError('connect ECONNREFUSED 127.0.0.1:1'), true);
    expect(h.failures).toEqual([]);
    // ...and gives up after the timeout, on its tick.
    await vi.waitFor(() => expect(h.failures).toHaveLength(1), { timeout: 10_000 });
    const [error] = h.failures;
    expect(error).toBeInstanceOf(BrokersUnreachableError);
    expect(error!.message).toMatch(
      /^lost the connection to Kafka brokers fake-kafka:9092 \(connect ECONNREFUSED 127\.0\.0\.1:1; unreachable for \d+ s\)/,
    );
  });

  it('forgets an unreachable broker once a batch arrives, and fails at once on a crash without restart', async () => {
    const setup = fakeWordCount(1);
    const h = await startThread(setup, await tempStateDir(), { brokerUnreachableTimeoutMs: 200 });
    await vi.waitFor(() => expect(h.states).toEqual(['RUNNING']), { timeout: 10_000 });
    const consumer = setup.fake.consumers[0]!;
    consumer.crash(new BrokerConnectionError('connect ECONNREFUSED 127.0.0.1:1'), true);
    produceLines(setup, ['alpha']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(h.failures).toEqual([]);

    const fatal = new Error('unsupported protocol');
    consumer.crash(fatal, false);
    expect(h.failures).toEqual([fatal]);
  });
});
