/**
 * Child processes of the benchmark: every system runs as its own process so that its peak RSS is its
 * own. Every child is tracked, and stopped on exit, on errors and on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TrackedChild {
  readonly pid: number;
  readonly name: string;
  readonly logFile: string;
  readonly exited: Promise<Exit>;
  readonly exit: Exit | undefined;
  /** Peak resident set size in bytes so far (VmHWM of /proc/<pid>/status), or undefined once gone. */
  peakRss(): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<Exit>;
}

const live = new Set<TrackedChild>();

/** VmHWM (peak RSS) of a live process in bytes. */
export function peakRssOf(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function spawnTracked(
  name: string,
  command: string,
  args: string[],
  /** stdout and stderr go to `logFile`, or stdout alone to `stdoutFile` when given. */
  options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string; stdoutFile?: string },
): TrackedChild {
  const err = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    const out = options.stdoutFile === undefined ? err : openSync(options.stdoutFile, 'w');
    try {
      child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', out, err],
      });
    } finally {
      if (out !== err) closeSync(out);
    }
  } finally {
    closeSync(err);
  }
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  let exit: Exit | undefined;
  let lastPeak: number | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(tracked);
      resolve(exit);
    });
    child.once('error', () => {
      exit ??= { code: -1, signal: null };
      live.delete(tracked);
      resolve(exit);
    });
  });
  const tracked: TrackedChild = {
    pid,
    name,
    logFile: options.logFile,
    exited,
    get exit() {
      return exit;
    },
    peakRss() {
      if (exit) return lastPeak;
      const peak = peakRssOf(pid);
      if (peak !== undefined) lastPeak = peak;
      return lastPeak;
    },
    async stop(graceMs = 30_000) {
      if (exit) return exit;
      tracked.peakRss();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  live.add(tracked);
  return tracked;
}

/** Stops every child still running (in parallel). */
export async function stopAllChildren(graceMs = 10_000): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(graceMs)));
}

/** Last resort on process exit: SIGKILL whatever is left (synchronous). */
export function killAllChildrenNow(): void {
  for (const c of live) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Runs a command to completion, output appended to a log file; resolves with its exit code. */
export async function runToEnd(
  name: string,
  command: string,
  args: string[],
  options: { cwd?: string; logFile: string; env?: NodeJS.ProcessEnv },
): Promise<number> {
  const child = spawnTracked(name, command, args, options);
  const exit = await child.exited;
  return exit.code ?? 1;
}
