import pino, { type Logger } from 'pino';

/**
 * The project logger: JSON lines on stderr (pino). LOG_LEVEL sets the level (default "info"; tests set
 * "warn" through vitest's env when they want quiet output).
 */
export const logger: Logger = pino(
  { name: 'lambda-streams', level: process.env.LOG_LEVEL ?? 'info' },
  pino.destination({ fd: 2, sync: true }),
);

export function childLogger(bindings: Record<string, unknown>): Logger {
  return logger.child(bindings);
}
