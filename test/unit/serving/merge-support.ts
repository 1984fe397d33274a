/**
 * Tasks for the merge tests: a speed task (a worker's: changelogged, caches on, delta index) and a
 * batch task (the batch layer's: no caches, records combined, only those before the boundary
 * bucket), each on a state directory of its own, closed and removed by `closeMergeTasks`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { StreamTask } from '../../../src/processor/internals/task.ts';
import type { Topology } from '../../../src/topology/topology.ts';

export const BUCKET = 10_000;
export const BOUNDARY = 4; // the view covers records before 40 s

const dirs: string[] = [];
const closing: Array<{ close(): Promise<void> }> = [];

/** Closes what the tests opened and removes their directories (call in `afterEach`). */
export async function closeMergeTasks(): Promise<void> {
  for (const c of closing.splice(0)) await c.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Something to close after the test. */
export function closeAfterTest(c: { close(): Promise<void> }): void {
  closing.push(c);
}

export function tempDir(kind: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `merge-${kind}-`));
  dirs.push(dir);
  return dir;
}

/** `truth`: a task with default settings (every record, caches on), the reference. */
export async function newTask(kind: 'speed' | 'batch' | 'truth', built: Topology): Promise<StreamTask> {
  const task = new StreamTask({
    applicationId: 'merge',
    taskId: '0_0',
    stateDir: tempDir(kind),
    topology: built,
    nodes: new Set(built.nodes().map((n) => n.name)),
    collector: { send: () => {}, partitionsFor: () => 1 },
    resolveTopic: (topic) => topic,
    wallClock: () => 0,
    defaultKeySerde: built.defaultKeySerde,
    defaultValueSerde: built.defaultValueSerde,
    badRecordHandling: 'fail',
    ...(kind === 'speed'
      ? { deltaIndexEnabled: true, logChange: () => {} }
      : kind === 'batch'
        ? {
            cachingDisabled: true,
            combiningEnabled: true,
            acceptTimestamp: (ts: number) => Math.floor(ts / BUCKET) < BOUNDARY,
          }
        : {}),
  });
  await task.init();
  closing.push(task);
  return task;
}
