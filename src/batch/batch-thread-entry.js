// Entry of a batch run's worker thread (batch-threads.ts): registers the TypeScript loader, as
// bin/lambda-streams.js does for the CLI, then runs the thread's share of the run.
import { register } from 'tsx/esm/api';

register();
const { runBatchThread } = await import('./batch-threads.ts');
await runBatchThread();
