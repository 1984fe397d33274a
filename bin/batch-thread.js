// Entry of a batch run's worker threads (`batch --threads`, src/batch/batch-threads.ts). As
// bin/lambda-streams.js does for the CLI: registers the TypeScript loader (topology files are .ts),
// then loads the thread's code from src/ in a checkout of the repository, from the compiled dist/ in
// an installed package (which ships no src/), so a thread runs the same copy as the CLI that started it.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const source = new URL('../src/batch/batch-threads.ts', import.meta.url);
const { runBatchThread } = await import(existsSync(source) ? source.href : '../dist/batch/batch-threads.js');
await runBatchThread();
