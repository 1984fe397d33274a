/**
 * The @platformatic/kafka adapter's side of error classification (errors.ts). The library throws
 * `ProtocolError`s whose `apiId` is the Kafka protocol's error name (PRODUCER_FENCED, ...) and whose
 * `canRetry` says whether the protocol calls it retriable; it wraps them in `ResponseError` /
 * `MultipleErrors` (AggregateErrors: `errors`) and in `cause`, so the whole tree is walked. Connection
 * failures are `NetworkError` (code PLT_KFK_NETWORK) and `TimeoutError` (PLT_KFK_TIMEOUT).
 */
import type { KafkaErrorKind } from './errors.ts';

const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

const FENCED_ERRORS = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'TRANSACTIONAL_ID_NOT_FOUND',
]);

/** Never retried: the producer is fenced or the transaction is doomed (as retry.ts for kafkajs). */
const NOT_RETRIABLE_ERRORS = new Set([
  ...FENCED_ERRORS,
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_TXN_STATE',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);

const CONNECTION_CODES = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);
const AUTHENTICATION_CODE = 'PLT_KFK_AUTHENTICATION';
const CONNECTION_MESSAGE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE|Connection closed|Cannot connect/i;

const MAX_NODES = 64;

type Link = Record<string, unknown>;

/** Every error in the tree below `error` (itself, `errors` of aggregates, `cause`), breadth first. */
function errorTree(error: unknown): Link[] {
  const out: Link[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < MAX_NODES) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || out.includes(e as Link)) continue;
    const link = e as Link;
    out.push(link);
    if (Array.isArray(link.errors)) queue.push(...(link.errors as unknown[]));
    if (link.cause !== undefined) queue.push(link.cause);
  }
  return out;
}

/** The protocol error names (apiId) anywhere in an error's tree. */
export function protocolErrorIds(error: unknown): string[] {
  return errorTree(error)
    .map((e) => e.apiId)
    .filter((id): id is string => typeof id === 'string');
}

/**
 * Classifies a @platformatic/kafka error (or an error wrapping one). Fencing comes first: under
 * exactly-once a fenced task is closed quietly, whatever else the error says.
 */
export function classifyPlatformaticError(error: unknown): KafkaErrorKind {
  const tree = errorTree(error);
  // Refused credentials arrive as a failed connection; retrying them cannot help.
  if (tree.some((e) => e.code === AUTHENTICATION_CODE)) return 'fatal';
  const ids = new Set(tree.map((e) => e.apiId).filter((id): id is string => typeof id === 'string'));
  if ([...ids].some((id) => FENCED_ERRORS.has(id))) return 'fenced';
  if ([...ids].some((id) => REBALANCE_ERRORS.has(id))) return 'rebalance';
  const connection = tree.some(
    (e) =>
      (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) ||
      (typeof e.message === 'string' && CONNECTION_MESSAGE.test(e.message)),
  );
  if (connection) return 'connection';
  if (isRetriablePlatformaticError(error)) return 'retriable';
  return 'fatal';
}

/**
 * True when every protocol error in the tree may be retried (and there is at least one), or the
 * failure is a connection one: the adapter's own retry of transaction steps uses it.
 */
export function isRetriablePlatformaticError(error: unknown): boolean {
  const tree = errorTree(error);
  const protocol = tree.filter((e) => typeof e.apiId === 'string');
  if (protocol.some((e) => NOT_RETRIABLE_ERRORS.has(e.apiId as string))) return false;
  if (protocol.length > 0) return protocol.every((e) => e.canRetry === true);
  return tree.some((e) => typeof e.code === 'string' && CONNECTION_CODES.has(e.code));
}

/**
 * The library reports refused credentials deep inside retry aggregates ("metadata failed 9 times.");
 * this lifts them into an error whose message says so (never the credentials themselves).
 */
export function withAuthenticationFailure(error: unknown): unknown {
  const auth = errorTree(error).find((e) => e.code === AUTHENTICATION_CODE);
  if (!auth) return error;
  return new Error(`Kafka authentication failed (SASL): ${String(auth.message)}`, { cause: error });
}
