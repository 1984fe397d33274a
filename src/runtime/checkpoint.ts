/**
 * A task's checkpoint file (Kafka Streams' `.checkpoint`): changelog offsets up to which the local
 * stores are known to be flushed, as `{"<topic>:<partition>": nextOffset}`. Restoration resumes from
 * there. Written atomically (temp file + rename).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const CHECKPOINT_FILE = '.checkpoint';

export type Checkpoint = Map<string, number>;

export function checkpointPath(taskDir: string): string {
  return path.join(taskDir, CHECKPOINT_FILE);
}

export async function readCheckpoint(taskDir: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(checkpointPath(taskDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as { offsets?: Record<string, number> };
    return new Map(Object.entries(parsed.offsets ?? {}).filter(([, v]) => Number.isInteger(v) && v >= 0));
  } catch {
    return undefined; // a torn or foreign file counts as no checkpoint
  }
}

export async function writeCheckpoint(taskDir: string, offsets: Checkpoint): Promise<void> {
  await mkdir(taskDir, { recursive: true });
  const file = checkpointPath(taskDir);
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify({ version: 1, offsets: Object.fromEntries(offsets) }));
  await rename(tmp, file);
}

export async function deleteCheckpoint(taskDir: string): Promise<void> {
  await rm(checkpointPath(taskDir), { force: true });
}
