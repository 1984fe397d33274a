import fc from 'fast-check';

// Property tests explore new inputs on every local run; CI uses a fixed seed so that a green main stays
// green. FC_SEED=<n> replays a reported failure (fast-check prints the seed of a counterexample).
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : process.env.CI ? 20261125 : undefined;
if (seed !== undefined) fc.configureGlobal({ seed });
