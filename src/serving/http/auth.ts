/**
 * Bearer-token authentication: with a token configured, every route but GET /health needs
 * `Authorization: Bearer <token>`. Tokens are compared in constant time (SHA-256 digests of equal
 * length through timingSafeEqual) and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyReply, FastifyRequest } from 'fastify';

import { HttpError, sendError } from './errors.ts';

/** Routes anyone may call (load balancers and orchestrators probe them without credentials). */
const OPEN_ROUTES = new Set(['/health']);

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

/** Whether `presented` equals the expected token, in time that does not depend on where they differ. */
export function tokenMatches(expected: Buffer, presented: string | undefined): boolean {
  // Digest even a missing token, so a request without one takes the same time as a wrong one.
  return timingSafeEqual(digest(presented ?? ''), expected) && presented !== undefined;
}

/**
 * An onRequest hook that refuses requests without the token with 401 (undefined: no token, no hook).
 * `open` adds routes that hold no data (the /ui page's static files).
 */
export function bearerAuth(token: string | undefined, open: Iterable<string> = []) {
  if (token === undefined || token === '') return undefined;
  const expected = digest(token);
  const openRoutes = new Set([...OPEN_ROUTES, ...open]);
  // Callback style (an answer sent here ends the request; done is not called).
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const route = request.routeOptions.url;
    if (route !== undefined && openRoutes.has(route)) return done();
    const header = request.headers.authorization;
    if (tokenMatches(expected, bearerToken(header))) return done();
    const message =
      header === undefined
        ? 'this worker needs a bearer token: send Authorization: Bearer <token>'
        : 'the bearer token is not valid for this worker';
    sendError(
      reply,
      new HttpError(401, 'unauthorized', message, undefined, {
        'www-authenticate': 'Bearer realm="lambda-streams"',
      }),
    );
  };
}
