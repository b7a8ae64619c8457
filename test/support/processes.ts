import { join } from "path";

/**
 * Node's `-r` arguments for a child process that runs the project's TypeScript as the test process does (ts-node
 * with swc, transpile-only: see register-swc.js). For children whose test is about the process (exit codes,
 * output, a fresh module graph), not about the transpiler: the plan test and the policy pack's host keep
 * ts-node's default, the toolchain `npm run plan` and the Pulumi CLI use.
 */
export const TEST_TRANSPILER = ["-r", join(__dirname, "register-swc.js")] as const;
