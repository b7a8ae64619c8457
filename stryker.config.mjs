// @ts-check
/* global process */
// Mutation testing (`npm run mutation`): how many small, meaningful changes to the code the suite notices.
// Slow (every mutant reruns the tests that cover it), so it is not part of `npm test` or CI.
//
//   npm run mutation                        the four folders whose logic the suite must pin
//   MUTATE=infra/naming.ts npm run mutation one file or glob (comma-separated), e.g. while killing survivors
//   MUTATION_SPEC=test/infra/naming.test.ts ...  only these test files (comma-separated): quicker, lower score
//   MUTATION_REPORT=infra ...              reports/mutation/infra.{html,json}, so runs over different folders are kept
//   npm run mutation -- --ignoreStatic     leaves out mutants in module-level code (schemas, constant tables): each reruns
//                                           every test of the spec, so measure those per file with a narrow MUTATION_SPEC
//   npm run mutation -- --incremental      retests only mutants whose code or covering tests changed since that report's last run
//   npm run mutation:summary               mutants, killed, survived, no coverage, timeout and score per file and folder
//
// Tests that run the code in a child process (the plan and CLI end-to-end tests) cannot see a mutant, so a
// mutant only they would catch is reported as survived: kill it with an in-process test.

const report = process.env.MUTATION_REPORT ?? "index";

const folders = ["infra/**/*.ts", "components/**/*.ts", "jobs/lib/**/*.ts", "jobs/monitor/**/*.ts"];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
    testRunner: "mocha",
    mutate: process.env.MUTATE ? process.env.MUTATE.split(",") : folders,
    mochaOptions: {
        config: ".mocharc.json",
        spec: process.env.MUTATION_SPEC ? process.env.MUTATION_SPEC.split(",") : ["test/**/*.test.ts"],
    },
    // Each mutant reruns only the tests that ran its code in the first, unmutated run.
    coverageAnalysis: "perTest",
    concurrency: 2,
    timeoutMS: 30_000,
    reporters: ["clear-text", "progress", "html", "json"],
    htmlReporter: { fileName: `reports/mutation/${report}.html` },
    jsonReporter: { fileName: `reports/mutation/${report === "index" ? "mutation" : report}.json` },
    incrementalFile: `reports/stryker-incremental-${report}.json`,
    tempDirName: ".stryker-tmp",
    ignorePatterns: [".plan", ".bench", ".scratch", ".monitoring", "reports", ".test-output", "web/dist"],
    thresholds: { high: 90, low: 85, break: null },
};
