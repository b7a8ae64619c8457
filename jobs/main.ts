import { isMainThread, parentPort, workerData } from "worker_threads";
import { ConfigError } from "../infra/config";
import { CliError } from "./cli/common";
import { JobError } from "./lib/errors";
import { serveTasks, TASK_WORKER } from "./lib/workers";
import { TASKS } from "./tasks";

/**
 * The jobs image's entry point: `node dist/jobs/main.js <job> [flags]`. Each job reads SageMaker's processing
 * folders by default and local folders when given flags, so the same code runs in the pipeline and on a laptop.
 */
type JobMain = (argv: string[]) => Promise<void>;

/** Each job is loaded only when asked for, so a job starts without the others' modules. */
const JOBS: Record<string, () => Promise<JobMain>> = {
    preprocess: async () => (await import("./preprocess")).main,
    evaluate: async () => (await import("./evaluate")).main,
    monitor: async () => (await import("./monitor")).main,
    dataset: async () => (await import("./preprocess/dataset")).main,
};

export const USAGE = `usage: main.js <${Object.keys(JOBS).join("|")}> [flags]    (--help after a job name lists its flags)`;

/** Runs one job; resolves to the process exit code. */
export async function run(argv: string[]): Promise<number> {
    const [name, ...rest] = argv;
    const load = name !== undefined ? JOBS[name] : undefined;
    if (!load) {
        console.error(name === undefined || name === "--help" || name === "-h" ? USAGE : `unknown job "${name}"\n${USAGE}`);
        return 2;
    }
    try {
        await (
            await load()
        )(rest);
        return 0;
    } catch (e) {
        if (e instanceof JobError || e instanceof CliError || e instanceof ConfigError) {
            console.error(`${name}: error: ${e.message}`);
            return 1;
        }
        throw e;
    }
}

// The jobs image is this one file, so its worker threads start it too (see jobs/lib/workers.ts).
if (!isMainThread && (workerData as Record<string, unknown> | undefined)?.[TASK_WORKER]) {
    serveTasks(parentPort!, TASKS);
} else if (require.main === module) {
    run(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (e: unknown) => {
            console.error(e);
            process.exitCode = 1;
        },
    );
}
