import pino, { type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

/**
 * The project's loggers (pino), on stderr: human-readable lines (pino-pretty) when stderr is a terminal,
 * JSON lines otherwise (a pipe, a file, a log collector). LOG_LEVEL sets the level (trace, debug, info,
 * warn, error, fatal, silent; default info) and is read each time a logger is created, not when this
 * module loads, so a program may set it after importing lambda-streams.
 */

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The level LOG_LEVEL names now ('info' when unset or blank); throws on an unknown level. */
export function levelFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const level = env.LOG_LEVEL?.trim().toLowerCase() || 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(', ')}; not "${env.LOG_LEVEL}"`);
  }
  return level;
}

export interface LoggerOptions {
  /** Default: LOG_LEVEL, read now. */
  level?: string;
  /** Where lines go; default stderr. Pretty when it is a terminal (`isTTY`), JSON lines otherwise. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A new root logger named lambda-streams (see the top of this file). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const level = options.level ?? levelFromEnv();
  let destination: DestinationStream;
  if (stream.isTTY) {
    destination = pinoPretty({ destination: stream, sync: true, ignore: 'pid,hostname' });
  } else if (stream === process.stderr) {
    destination = pino.destination({ fd: 2, sync: true }); // written at once, also right before an exit
  } else {
    destination = stream;
  }
  return pino({ name: 'lambda-streams', level }, destination);
}

let root: Logger | undefined;

/** The shared root logger, created on first use. */
function rootLogger(): Logger {
  root ??= createLogger();
  return root;
}

/** A logger for one component, task or application; its level is LOG_LEVEL as of this call. */
export function childLogger(bindings: Record<string, unknown>): Logger {
  return rootLogger().child(bindings, { level: levelFromEnv() });
}

/** The shared root logger; created (and LOG_LEVEL read) when first used rather than on import. */
export const logger: Logger = new Proxy({} as Logger, {
  get(_target, property) {
    const target = rootLogger();
    const value: unknown = Reflect.get(target, property, target);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  },
  set(_target, property, value) {
    const target = rootLogger();
    return Reflect.set(target, property, value, target); // e.g. `logger.level = 'debug'`
  },
});
