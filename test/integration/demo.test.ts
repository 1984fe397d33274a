/**
 * The README's first command (`npm start` = `lambda-streams demo`) as a newcomer runs it: a worker,
 * a batch view and merged answers on the test broker. Its human output is on stdout, its logs on
 * stderr, and no line of one is broken by the other.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { brokers } from './helpers.ts';

const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(root, 'bin/lambda-streams.js'), 'demo', '--timeout', '100'],
      {
        cwd: root,
        env: { ...process.env, KAFKA_BROKERS: brokers().join(','), LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('lambda-streams demo', () => {
  it('answers the merged counts before and after the batch view, with output on stdout and logs on stderr', async () => {
    const { code, stdout, stderr } = await runDemo();
    expect(code, `stderr:\n${stderr.slice(-2000)}`).toBe(0);
    expect(stdout).toContain('1. The speed layer alone');
    expect(stdout).toContain('2. A batch run over the same topic');
    expect(stdout).toMatch(/OK: every answer equals the counts of all sentences/);
    // No log line on stdout.
    for (const line of stdout.split('\n')) expect(line.trimStart().startsWith('{'), line).toBe(false);
    // stderr (not a terminal): the demo's own lines and whole JSON log lines, nothing cut in two.
    const lines = stderr.split('\n').filter((l) => l.length > 0);
    expect(lines.some((l) => l.startsWith('[demo] worker started'))).toBe(true);
    expect(lines.some((l) => l.startsWith('{'))).toBe(true);
    for (const line of lines) {
      if (line.startsWith('[')) continue;
      expect(() => JSON.parse(line), line).not.toThrow();
      expect(JSON.parse(line) as object, line).toHaveProperty('level');
    }
  }, 180_000);
});
