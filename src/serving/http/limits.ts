/** The numbers the HTTP API enforces and its defaults, in one place (schemas, server options, CLI, docs). */

/** Longest path segment (store name, key, prefix) in characters, after URL decoding. */
export const MAX_PARAM_LENGTH = 4096;
/** The request line and headers together: larger is refused with 431 (as Node's default limit). */
export const HEADER_LIMIT_BYTES = 16 * 1024;
/**
 * Node's own limit, above ours: requests between the two reach the routes' hooks and are refused
 * through a normal response (no body on HEAD, the connection kept); only larger ones hit Node's
 * parser error, answered on the raw socket.
 */
export const PARSER_HEADER_LIMIT_BYTES = 64 * 1024;
/** The API takes GET requests; a body larger than this is refused with 413. */
export const BODY_LIMIT_BYTES = 16 * 1024;
/** Entries per page of a range or prefix scan. */
export const DEFAULT_SCAN_LIMIT = 100;
export const MAX_SCAN_LIMIT = 1000;
/** Freshness waits (?minOffsets=, ?maxLagMs=): default and largest ?waitMs=. */
export const DEFAULT_WAIT_MS = 5000;
export const MAX_WAIT_MS = 30_000;
/** Default time a forwarded or fanned-out request may take on the other worker. */
export const DEFAULT_FORWARD_TIMEOUT_MS = 5000;
/** The whole request (line, headers, body) must arrive within this (Node's requestTimeout). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Idle keep-alive connections are closed after this (fastify's default). */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** The port `lambda-streams query` asks when no --url is given (Kafka Streams' interactive-query examples use it too). */
export const DEFAULT_HTTP_PORT = 7070;
