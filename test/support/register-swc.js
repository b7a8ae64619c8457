/* global require */
// Mocha `require`: TypeScript through ts-node with swc as its transpiler (transpile-only, as before). The
// TypeScript compiler costs several seconds of CPU in every test process that loads the platform, and more again
// in each parallel worker; swc does the same per-file transpile natively. Types are still checked by
// `npm run check`; the commands users run (`npm run plan`, the CLIs, the Pulumi program) keep TypeScript's own
// transpiler, and the plan test's child process runs through it.
require("ts-node").register({ transpileOnly: true, swc: true });
