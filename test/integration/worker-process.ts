/** A `lambda-streams worker` child process, as an operator starts one, and the URL of its HTTP API. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { brokers, eventually } from './helpers.ts';

const root = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

export interface WorkerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> once the worker printed it (a port of 0 is chosen at start). */
  url(): Promise<string>;
  stop(): void;
}

export function startWorkerProcess(file: string, stateDir: string, args: string[] = []): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin/lambda-streams.js'),
      'worker',
      file,
      '--state-dir',
      stateDir,
      '--commit-interval',
      '200',
      '--http-port',
      '0',
      ...args,
    ],
    {
      cwd: root,
      env: { ...process.env, KAFKA_BROKERS: brokers().join(','), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    child,
    url: () =>
      eventually(
        () => {
          const match = /HTTP API on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (!match) throw new Error(`no HTTP API line yet: ${stderr.slice(-500)}`);
          return match[1]!;
        },
        { timeoutMs: 60_000 },
      ),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
