import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UserError,
} from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';

import { classifyKafkaError } from '../../../src/kafka/errors.ts';
import {
  classifyPlatformaticError,
  isRetriablePlatformaticError,
  protocolErrorIds,
  withAuthenticationFailure,
} from '../../../src/kafka/platformatic-errors.ts';

// The library's own error classes, built the way its request functions build them.
const API_PRODUCE = 0;
const API_END_TXN = 26;
const response = (apiKey: number, code: number): ResponseError =>
  new ResponseError(apiKey, 3, { '/': [code, null] }, {});
const retried = (error: Error): MultipleErrors =>
  new MultipleErrors('operation failed 3 times.', [error, error]);

describe('classifyPlatformaticError', () => {
  it('finds fencing inside the response and retry aggregates', () => {
    expect(classifyPlatformaticError(response(API_END_TXN, 90))).toBe('fenced'); // PRODUCER_FENCED
    expect(classifyPlatformaticError(retried(response(API_PRODUCE, 47)))).toBe('fenced'); // INVALID_PRODUCER_EPOCH
    expect(classifyPlatformaticError(new Error('ctx', { cause: response(API_END_TXN, 49) }))).toBe('fenced');
  });

  it('reports a group that rebalances or moved on as a rebalance', () => {
    expect(classifyPlatformaticError(response(8, 27))).toBe('rebalance'); // REBALANCE_IN_PROGRESS
    expect(classifyPlatformaticError(response(8, 22))).toBe('rebalance'); // ILLEGAL_GENERATION
    expect(classifyPlatformaticError(retried(response(8, 25)))).toBe('rebalance'); // UNKNOWN_MEMBER_ID
  });

  it('tells unreachable brokers, transient protocol errors and the rest apart', () => {
    expect(classifyPlatformaticError(retried(new NetworkError('Connection to 127.0.0.1:9 failed.')))).toBe(
      'connection',
    );
    expect(classifyPlatformaticError(new TimeoutError('Request timed out.'))).toBe('connection');
    expect(classifyPlatformaticError(response(API_PRODUCE, 6))).toBe('retriable'); // NOT_LEADER_OR_FOLLOWER
    expect(classifyPlatformaticError(response(API_END_TXN, 51))).toBe('retriable'); // CONCURRENT_TRANSACTIONS
    expect(classifyPlatformaticError(response(API_PRODUCE, 10))).toBe('fatal'); // MESSAGE_TOO_LARGE
    expect(classifyPlatformaticError(new UserError('bad options'))).toBe('fatal');
    expect(classifyPlatformaticError(new Error('boom'))).toBe('fatal');
  });

  it('plugs into the port: the runtime sees the kind through its own wrapping', () => {
    const wrapped = new Error('Task 0_1: transaction failed', { cause: retried(response(API_END_TXN, 90)) });
    expect(classifyKafkaError(wrapped, classifyPlatformaticError)).toBe('fenced');
  });
});

describe('isRetriablePlatformaticError', () => {
  it('retries coordinator and leader moves and lost connections, never a fenced producer', () => {
    expect(isRetriablePlatformaticError(response(API_END_TXN, 16))).toBe(true); // NOT_COORDINATOR
    expect(isRetriablePlatformaticError(response(API_END_TXN, 51))).toBe(true);
    expect(isRetriablePlatformaticError(new NetworkError('Connection closed'))).toBe(true);
    expect(isRetriablePlatformaticError(response(API_END_TXN, 90))).toBe(false);
    expect(isRetriablePlatformaticError(response(API_END_TXN, 48))).toBe(false); // INVALID_TXN_STATE
    expect(isRetriablePlatformaticError(new Error('boom'))).toBe(false);
  });

  it('names the protocol errors of a tree', () => {
    expect(protocolErrorIds(retried(response(API_END_TXN, 90)))).toContain('PRODUCER_FENCED');
    expect(protocolErrorIds(new ProtocolError('MEMBER_ID_REQUIRED'))).toEqual(['MEMBER_ID_REQUIRED']);
  });
});

describe('refused credentials', () => {
  it('are fatal and named, though the library reports them as a failed connection', () => {
    const refused = new MultipleErrors('metadata failed 9 times.', [
      new NetworkError('Connection to 127.0.0.1:9092 failed.', {
        cause: new AuthenticationError('SASL authentication failed.'),
      }),
    ]);
    expect(classifyPlatformaticError(refused)).toBe('fatal');
    const surfaced = withAuthenticationFailure(refused) as Error;
    expect(surfaced.message).toBe('Kafka authentication failed (SASL): SASL authentication failed.');
    expect(surfaced.cause).toBe(refused);
    const other = new NetworkError('Connection closed');
    expect(withAuthenticationFailure(other)).toBe(other);
  });
});
