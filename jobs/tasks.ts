import { TaskTable } from "./lib/workers";

/**
 * The per-image work the jobs hand to worker threads (jobs/lib/workers.ts), by task name. A worker loads a
 * task's module only when first asked for it.
 */
export const TASKS: TaskTable = {
    "preprocess.measure": async () => (await import("./preprocess/selection")).measureCandidateTask,
    "monitor.measure": async () => (await import("./monitor/window")).measureCapturedImageTask,
};
