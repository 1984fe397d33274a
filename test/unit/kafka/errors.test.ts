import { describe, expect, it } from 'vitest';

import {
  BrokerConnectionError,
  ProducerFencedError,
  RebalanceInProgressError,
  classifyKafkaError,
} from '../../../src/kafka/errors.ts';
import { classifyKafkajsError } from '../../../src/kafka/kafkajs-errors.ts';

describe('classifyKafkaError', () => {
  it("knows the port's own errors, also wrapped in the runtime's context", () => {
    expect(classifyKafkaError(new RebalanceInProgressError('x'))).toBe('rebalance');
    expect(classifyKafkaError(new ProducerFencedError('x'))).toBe('fenced');
    const wrapped = new Error('Task 0_1: transaction failed', { cause: new ProducerFencedError('x') });
    expect(classifyKafkaError(wrapped)).toBe('fenced');
    expect(classifyKafkaError(new Error('x', { cause: new BrokerConnectionError('y') }))).toBe('connection');
    expect(classifyKafkaError(new Error('boom'))).toBe('fatal');
    expect(classifyKafkaError('not an error')).toBe('fatal');
  });

  it("asks the adapter's classifier about errors of its library", () => {
    const library = Object.assign(new Error('lib'), { code: 7 });
    const classifier = (e: unknown) =>
      (e as { code?: number }).code === 7 ? ('retriable' as const) : undefined;
    expect(classifyKafkaError(library, classifier)).toBe('retriable');
    expect(classifyKafkaError(new Error('ctx', { cause: library }), classifier)).toBe('retriable');
    expect(classifyKafkaError(new Error('other'), classifier)).toBe('fatal');
  });
});

describe('classifyKafkajsError', () => {
  it('reads the Kafka error name kafkajs puts in `type`, through `cause` and `originalError`', () => {
    expect(classifyKafkajsError({ name: 'KafkaJSProtocolError', type: 'REBALANCE_IN_PROGRESS' })).toBe(
      'rebalance',
    );
    expect(classifyKafkajsError({ type: 'ILLEGAL_GENERATION' })).toBe('rebalance');
    expect(classifyKafkajsError({ type: 'UNKNOWN_MEMBER_ID' })).toBe('rebalance');
    expect(classifyKafkajsError({ cause: { type: 'PRODUCER_FENCED' } })).toBe('fenced');
    expect(classifyKafkajsError({ type: 'INVALID_PRODUCER_EPOCH' })).toBe('fenced');
    expect(classifyKafkajsError(new Error('Task 0_0: transaction failed: producer was fenced'))).toBe(
      'fenced',
    );
    expect(
      classifyKafkajsError({
        name: 'KafkaJSNumberOfRetriesExceeded',
        originalError: { name: 'KafkaJSConnectionError', message: 'Connection error: connect ECONNREFUSED' },
      }),
    ).toBe('connection');
    expect(classifyKafkajsError(new Error('read ECONNRESET'))).toBe('connection');
    expect(classifyKafkajsError({ name: 'KafkaJSError', message: 'try again', retriable: true })).toBe(
      'retriable',
    );
    expect(classifyKafkajsError(new Error('Invalid record'))).toBe('fatal');
  });

  it('puts fencing first: a fenced task is closed quietly whatever else the error says', () => {
    expect(classifyKafkajsError({ type: 'PRODUCER_FENCED', cause: { name: 'KafkaJSConnectionError' } })).toBe(
      'fenced',
    );
  });
});
