/**
 * Error handlers on the TopologyTestDriver (the same task the workers and batch runs use):
 * deserialization, processing (user code that throws) and sink serialization, each with CONTINUE and
 * FAIL, and the dead-letter topic with the input's bytes and where it came from in headers.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  Consumed,
  ContinueProductionExceptionHandler,
  DEAD_LETTER_HEADERS as H,
  LogAndContinueExceptionHandler,
  Produced,
  Serdes,
  StreamsBuilder,
  StreamsError,
  TopologyTestDriver,
  type ErrorHandlerContext,
  type ProcessingExceptionHandler,
  type Serde,
} from '../../../src/index.ts';

const S = Serdes.String();
const DLQ = 'dead-letters';
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

/** Parses JSON values; 'boom' values make a processor throw; out gets the doubled number, seen gets every parsed value. */
function topology(sinkSerde: Serde<number> = Serdes.JSON<number>()) {
  const builder = new StreamsBuilder();
  const input = builder.stream('in', Consumed.with(S, Serdes.JSON<{ n: number | string }>()));
  input
    .mapValues((v) => {
      if (v.n === 'boom') throw new Error(`cannot double ${JSON.stringify(v)}`);
      return Number(v.n) * 2;
    })
    .to('out', Produced.with(S, sinkSerde));
  input.mapValues((v) => String(v.n)).to('seen', Produced.with(S, S));
  return builder.build();
}

const headersOf = (h: Record<string, Buffer | string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v === undefined ? '' : v.toString()]));

describe('error handlers', () => {
  it('deserialization: CONTINUE drops the record, counts it and writes its bytes and origin to the dead-letter topic', async () => {
    driver = await TopologyTestDriver.create(topology(), {
      deserializationExceptionHandler: new LogAndContinueExceptionHandler(),
      deadLetterQueueTopic: DLQ,
    });
    const raw = driver.createInputTopic('in', S, S);
    raw.pipeInput('a', '{"n":1}', 10);
    raw.pipeInput('b', '{broken', 20);
    raw.pipeInput('c', '{"n":3}', 30);
    expect(driver.createOutputTopic('out', S, Serdes.JSON<number>()).readKeyValuesToList()).toEqual([
      { key: 'a', value: 2 },
      { key: 'c', value: 6 },
    ]);
    expect(driver.droppedRecords()).toEqual({ deserialization: 1 });
    const [dead, ...more] = driver.createOutputTopic(DLQ, S, S).readRecordsToList();
    expect(more).toEqual([]);
    expect(dead).toMatchObject({ key: 'b', value: '{broken', timestamp: 20 });
    const headers = headersOf(dead!.headers);
    expect(headers).toMatchObject({
      [H.exception]: 'DeserializationError',
      [H.topic]: 'in',
      [H.partition]: '0',
      [H.offset]: '1',
      [H.timestamp]: '20',
      [H.task]: '0_0',
    });
    expect(headers[H.message]).toMatch(/value of record at topic 'in' partition 0 offset 1/);
    expect(headers[H.processor]).toMatch(/SOURCE/);
  });

  it('deserialization: plain text read with the MsgPack serde goes to the handler, never becomes a wrong value', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', Consumed.with(S, Serdes.MsgPack<unknown>()))
      .to('out', Produced.with(S, Serdes.JSON<unknown>()));
    const seen: Array<{ context: ErrorHandlerContext; message: string }> = [];
    driver = await TopologyTestDriver.create(builder.build(), {
      deserializationExceptionHandler: {
        handle: (context, _record, error) => {
          seen.push({ context, message: error.message });
          return 'CONTINUE';
        },
      },
    });
    const raw = driver.createInputTopic('in', S, Serdes.ByteArray());
    raw.pipeInput('a', Serdes.MsgPack().serialize({ n: 1 }), 10);
    raw.pipeInput('b', Buffer.from('hello world'), 20); // 'h' alone would decode as the integer 104
    expect(driver.createOutputTopic('out', S, Serdes.JSON<unknown>()).readKeyValuesToList()).toEqual([
      { key: 'a', value: { n: 1 } },
    ]);
    expect(driver.droppedRecords()).toEqual({ deserialization: 1 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.context).toMatchObject({ topic: 'in', partition: 0, offset: 1 });
    expect(seen[0]!.message).toMatch(
      /Failed to deserialize value of record at topic 'in' partition 0 offset 1 with serde MsgPack: 11 bytes are not one MessagePack value/,
    );
  });

  it('deserialization: the default (LogAndFail) stops with the record named', async () => {
    driver = await TopologyTestDriver.create(topology());
    expect(() => driver!.createInputTopic('in', S, S).pipeInput('b', '{broken', 20)).toThrow(
      /value of record at topic 'in' partition 0 offset 0/,
    );
  });

  it('processing: CONTINUE drops the record at the node that threw; its sibling still gets it; the dead letter carries the input bytes', async () => {
    const seenContexts: ErrorHandlerContext[] = [];
    const handler: ProcessingExceptionHandler = {
      handle(context) {
        seenContexts.push(context);
        return 'CONTINUE';
      },
    };
    driver = await TopologyTestDriver.create(topology(), {
      processingExceptionHandler: handler,
      deadLetterQueueTopic: DLQ,
    });
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('a', '{"n":1}', 10);
    input.pipeInput('b', '{"n":"boom"}', 20);
    input.pipeInput('c', '{"n":3}', 30);
    expect(driver.createOutputTopic('out', S, Serdes.JSON<number>()).readValuesToList()).toEqual([2, 6]);
    expect(driver.createOutputTopic('seen', S, S).readValuesToList()).toEqual(['1', 'boom', '3']);
    expect(driver.droppedRecords()).toEqual({ 'processing-error': 1 });
    expect(seenContexts).toHaveLength(1);
    expect(seenContexts[0]).toMatchObject({
      topic: 'in',
      partition: 0,
      offset: 1,
      timestamp: 20,
      taskId: '0_0',
    });
    const dead = driver.createOutputTopic(DLQ, S, S).readRecordsToList();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ key: 'b', value: '{"n":"boom"}', timestamp: 20 });
    const headers = headersOf(dead[0]!.headers);
    expect(headers[H.processor]).toBe(seenContexts[0]!.processorNodeId);
    expect(headers[H.processor]).toMatch(/MAPVALUES/);
    expect(headers[H.message]).toBe('cannot double {"n":"boom"}');
    expect(headers[H.offset]).toBe('1');
  });

  it('processing: the default (LogAndFail) stops the task naming the processor and the record', async () => {
    driver = await TopologyTestDriver.create(topology());
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('a', '{"n":1}', 10);
    let error: unknown;
    try {
      input.pipeInput('b', '{"n":"boom"}', 20);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamsError);
    expect((error as Error).message).toMatch(
      /processor 'KSTREAM-MAPVALUES-\d+' of task 0_0 threw on the record at topic 'in' partition 0 offset 1: cannot double/,
    );
  });

  it('a handler that throws or answers something else fails the task', async () => {
    driver = await TopologyTestDriver.create(topology(), {
      processingExceptionHandler: { handle: () => 'RETRY' as never },
    });
    expect(() => driver!.createInputTopic('in', S, S).pipeInput('b', '{"n":"boom"}', 20)).toThrow(
      /cannot double/,
    );
    await driver.close();
    driver = await TopologyTestDriver.create(topology(), {
      processingExceptionHandler: {
        handle: () => {
          throw new Error('handler broke');
        },
      },
    });
    expect(() => driver!.createInputTopic('in', S, S).pipeInput('b', '{"n":"boom"}', 20)).toThrow(
      /cannot double/,
    );
  });

  it('production: a record the sink cannot serialize fails by default, or is dropped and dead-lettered with CONTINUE', async () => {
    const picky: Serde<number> = {
      serialize: (n: number) => {
        if (n > 100) throw new Error(`${n} is too large for this sink`);
        return Buffer.from(String(n));
      },
      deserialize: (b: Buffer) => Number(b.toString()),
    };
    driver = await TopologyTestDriver.create(topology(picky));
    expect(() => driver!.createInputTopic('in', S, S).pipeInput('z', '{"n":500}', 5)).toThrow(
      /Failed to serialize value of record for topic 'out'.*too large/,
    );
    await driver.close();

    driver = await TopologyTestDriver.create(topology(picky), {
      productionExceptionHandler: new ContinueProductionExceptionHandler(),
      deadLetterQueueTopic: DLQ,
    });
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('y', '{"n":5}', 4);
    input.pipeInput('z', '{"n":500}', 5);
    expect(driver.createOutputTopic('out', S, picky).readValuesToList()).toEqual([10]);
    expect(driver.createOutputTopic('seen', S, S).readValuesToList()).toEqual(['5', '500']);
    expect(driver.droppedRecords()).toEqual({ serialization: 1 });
    const dead = driver.createOutputTopic(DLQ, S, S).readRecordsToList();
    expect(dead.map((r) => [r.key, r.value, headersOf(r.headers)[H.exception]])).toEqual([
      ['z', '{"n":500}', 'SerializationError'],
    ]);
  });
});
