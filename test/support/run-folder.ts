import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

/** The test run's folder, in which its processes (mocha's parallel workers) share what is too costly to make in each. */
export const RUN_FOLDER_ENV = "VISION_MLOPS_TEST_RUN";

/** Mocha global fixtures (.mocharc.json `require`): once, in the main process, before any worker starts. */
export function mochaGlobalSetup(): void {
    process.env[RUN_FOLDER_ENV] = mkdtempSync(join(tmpdir(), "vision-mlops-test-run-"));
}

export function mochaGlobalTeardown(): void {
    const folder = process.env[RUN_FOLDER_ENV];
    if (folder) rmSync(folder, { recursive: true, force: true });
}
