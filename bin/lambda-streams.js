#!/usr/bin/env node
// Entry point: registers the TypeScript loader so the CLI and user topology files (.ts) run as they are.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
