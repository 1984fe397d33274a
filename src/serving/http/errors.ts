/**
 * Every refusal of the HTTP API is a JSON body `{ error: <code>, message: <a sentence a person can act
 * on> }` with a 4xx or 503 status. This module maps the QueryService's errors, fastify's own errors
 * (schema validation, body limits, bad URLs) and socket-level client errors to that shape; anything
 * else is a bug: 500, with a log line.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

import { BadQueryError, NotLocalError, StoreNotReadyError, UnknownStoreError } from '../query-service.ts';
import { HEADER_LIMIT_BYTES, MAX_PARAM_LENGTH } from './limits.ts';

export interface ErrorBody {
  error: string;
  message: string;
}

/** An answer other than 200, with the code and message of its JSON body. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** 503s say when to try again (seconds). */
    readonly retryAfterSeconds?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return { error: this.code, message: this.message };
  }
}

/** 503 + Retry-After: the answer may exist a moment later (rebalance, restore, a worker away). */
export function unavailable(code: string, message: string, retryAfterSeconds = 1): HttpError {
  return new HttpError(503, code, message, retryAfterSeconds);
}

/** 400: the request itself is wrong. */
export function badRequest(message: string): HttpError {
  return new HttpError(400, 'bad_request', message);
}

interface SchemaIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

function describeIssue(issue: SchemaIssue, context: string | undefined): string {
  const where =
    { querystring: 'query parameter', params: 'path segment', headers: 'header' }[context ?? ''] ?? context;
  const name = issue.instancePath.replace(/^\//, '');
  if (issue.keyword === 'additionalProperties') {
    return `unknown ${where ?? 'parameter'} '${String(issue.params.additionalProperty)}'`;
  }
  if (issue.keyword === 'required') {
    return `missing ${where ?? 'parameter'} '${String(issue.params.missingProperty)}'`;
  }
  const subject = name ? `${where ?? 'parameter'} '${name}'` : (where ?? 'request');
  if (issue.keyword === 'enum') {
    const allowed = (issue.params.allowedValues as unknown[] | undefined)?.join(', ');
    return `${subject} must be one of: ${allowed}`;
  }
  if (issue.keyword === 'pattern' && name === 'minOffsets') {
    return `${subject} must be a list topic:partition:offset,... (for example orders:0:1200,orders:1:877)`;
  }
  if (issue.keyword === 'pattern' && name === 'cursor') {
    return `${subject} must be a cursor from a previous page's nextCursor (base64url)`;
  }
  if (issue.keyword === 'pattern' || issue.keyword === 'format') {
    return `${subject} has the wrong form (${issue.message ?? 'see /openapi.json'})`;
  }
  return `${subject} ${issue.message ?? 'is not valid'}`;
}

/** The HttpError a thrown value answers as (a non-HttpError that is not ours: 500). */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof UnknownStoreError) {
    return new HttpError(404, 'unknown_store', `${err.message}; GET /stores lists the stores`);
  }
  if (err instanceof BadQueryError) return badRequest(err.message);
  if (err instanceof StoreNotReadyError) {
    return unavailable('store_not_ready', err.message, Math.max(1, Math.ceil(err.retryAfterSeconds)));
  }
  if (err instanceof NotLocalError) {
    // Routes forward these; one that gets here was not forwardable.
    return unavailable('not_local', err.message);
  }
  const fastifyError = err as Partial<FastifyError> | undefined;
  if (fastifyError && Array.isArray(fastifyError.validation) && fastifyError.validation.length > 0) {
    const issues = fastifyError.validation as unknown as SchemaIssue[];
    const context = fastifyError.validationContext;
    return badRequest(`${issues.map((i) => describeIssue(i, context)).join('; ')}; see GET /openapi.json`);
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, codeOf(status), fastifyMessage(fastifyError));
  }
  return new HttpError(500, 'internal', 'internal error while answering; this is a bug, see the worker log');
}

function codeOf(status: number): string {
  return (STATUS_CODES[status] ?? 'client error').toLowerCase().replace(/[^a-z0-9]+/g, '_');
}

function fastifyMessage(err: Partial<FastifyError> | undefined): string {
  switch (err?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'the request body is too large; the API takes GET requests without a body';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported content type; the API takes GET requests without a body';
    case 'FST_ERR_BAD_URL':
      return 'the path is not valid URL encoding (a % must start a %XX escape); encode keys with encodeURIComponent';
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return `a path segment (store name, key or prefix) is longer than ${MAX_PARAM_LENGTH} characters`;
    default:
      return err?.message ? `${err.message}` : 'the request cannot be answered';
  }
}

export function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).type('application/json; charset=utf-8').send(error.body);
}

/** fastify's setErrorHandler: everything thrown in a hook, validation or a handler. */
export function errorHandler(log: Logger) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const error = toHttpError(err);
    if (error.status >= 500 && error.code === 'internal') {
      log.error({ err, method: request.method, url: request.url }, 'internal error while answering a query');
    } else {
      log.debug({ status: error.status, code: error.code, url: request.url }, error.message);
    }
    return sendError(reply, error);
  };
}

/** fastify's setNotFoundHandler: a path or method that is not a route. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  return sendError(
    reply,
    new HttpError(
      404,
      'not_found',
      `no route ${request.method} ${path.slice(0, 200)}; the API answers GET /stores, /stores/:store/keys/:key, ` +
        `/stores/:store/range, /stores/:store/prefix/:prefix, /metadata/stores/:store/keys/:key, /health, /metrics ` +
        `and /openapi.json`,
    ),
  );
}

/** fastify's frameworkErrors: malformed URL escapes and over-long path segments, before routing. */
export function frameworkErrorHandler(
  err: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  sendError(
    reply,
    new HttpError(status, status === 414 ? 'uri_too_long' : 'bad_request', fastifyMessage(err)),
  );
}

/**
 * Node's clientError (unparseable HTTP, headers over the size limit, request timeouts): the socket gets
 * a JSON answer of the same shape and is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
  let status = 400;
  let body: ErrorBody = { error: 'bad_request', message: 'the request is not valid HTTP/1.1' };
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    body = {
      error: 'headers_too_large',
      message: 'the request line and headers are too large; keep keys and query strings shorter',
    };
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    body = { error: 'request_timeout', message: 'the request did not arrive in time' };
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  answered.add(socket);
  const text = JSON.stringify(body);
  // An answer to HEAD has headers only: a client reads the body bytes as garbage after the answer.
  // (The chunk the parser failed on starts the request unless the request came in several chunks;
  // headers up to PARSER_HEADER_LIMIT_BYTES are refused by headerLimit, through a normal response.)
  const head = (err as { rawPacket?: Buffer }).rawPacket?.toString('latin1', 0, 5) === 'HEAD ';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${head ? '' : text}`,
  );
  // The rest of the request may still be on its way: closing at once would answer it with a TCP
  // reset, which the client can see before it reads the answer. Read and drop it for a moment.
  socket.resume();
  setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
}

const answered = new WeakSet<Socket>();
const CLIENT_ERROR_LINGER_MS = 2_000;

/**
 * An onRequest hook: the request line and headers over HEADER_LIMIT_BYTES get 431 with the API's
 * JSON refusal (Node's parser allows more, so the refusal goes through a normal response).
 */
export function headerLimit(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  let bytes = request.raw.method!.length + request.raw.url!.length + 12;
  const raw = request.raw.rawHeaders;
  for (let i = 0; i < raw.length; i++) bytes += raw[i]!.length + 2;
  // Callback style, not async: no promise per request on the query path. An answer sent here ends
  // the request (done is not called).
  if (bytes <= HEADER_LIMIT_BYTES) return done();
  sendError(
    reply,
    new HttpError(
      431,
      'headers_too_large',
      'the request line and headers are too large; keep keys and query strings shorter',
    ),
  );
}
