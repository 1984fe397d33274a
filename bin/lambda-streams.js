#!/usr/bin/env node
// Entry point. Registers the TypeScript loader (tsx), which user topology files (.ts) need, then runs
// the CLI: from src/ in a checkout of the repository (the source is the truth there, so a stale dist/
// never runs), from the compiled dist/ in an installed package (which ships no src/). One copy only:
// a topology file and the CLI must share the same classes (the DSL checks `instanceof`).
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const source = new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(existsSync(source) ? source.href : '../dist/cli/main.js');
await main(process.argv);
