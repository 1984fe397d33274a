import { Writable } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { childLogger, createLogger, levelFromEnv, logger } from '../../src/logger.ts';

/** A stream that keeps what is written; `isTTY` as a terminal's stderr has it. */
function capture(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { isTTY, text: () => chunks.join('') });
}

const savedLevel = process.env.LOG_LEVEL;
afterEach(() => {
  if (savedLevel === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = savedLevel;
});

describe('logger', () => {
  it('writes JSON lines when the stream is not a terminal', () => {
    const stream = capture(false);
    createLogger({ stream, level: 'info' }).child({ task: '0_1' }).warn({ offset: 7 }, 'late record');
    const line = JSON.parse(stream.text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 40,
      name: 'lambda-streams',
      task: '0_1',
      offset: 7,
      msg: 'late record',
    });
  });

  it('writes readable lines (pino-pretty) on a terminal', async () => {
    const stream = capture(true);
    createLogger({ stream, level: 'info' }).child({ task: '0_1' }).warn({ offset: 7 }, 'late record');
    await new Promise((resolve) => setImmediate(resolve));
    const text = stream.text();
    expect(() => JSON.parse(text.trim())).toThrow();
    // e.g. "[12:00:00.000] WARN (lambda-streams): late record\n    task: "0_1"\n    offset: 7"
    const plain = text.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
    expect(plain).toMatch(/WARN \(lambda-streams\): late record/);
    expect(plain).toContain('task: "0_1"');
    expect(plain).toContain('offset: 7');
  });

  it('reads LOG_LEVEL when a logger is created, not when the module loaded', () => {
    process.env.LOG_LEVEL = 'debug';
    const verbose = childLogger({ component: 'a' });
    process.env.LOG_LEVEL = 'warn';
    const quiet = childLogger({ component: 'b' });
    expect(verbose.isLevelEnabled('debug')).toBe(true);
    expect(quiet.isLevelEnabled('info')).toBe(false);
    expect(quiet.isLevelEnabled('warn')).toBe(true);
    expect(createLogger({ stream: capture(false) }).level).toBe('warn');
    delete process.env.LOG_LEVEL;
    expect(levelFromEnv()).toBe('info');
    // The shared logger works through its lazy wrapper, reads and writes alike.
    const before = logger.level;
    logger.level = 'trace';
    expect(logger.isLevelEnabled('trace')).toBe(true);
    logger.level = before;
    expect(logger.level).toBe(before);
  });

  it('rejects an unknown LOG_LEVEL with a clear message', () => {
    process.env.LOG_LEVEL = 'verbose';
    expect(() => childLogger({ component: 'c' })).toThrow(
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent; not "verbose"',
    );
  });
});
