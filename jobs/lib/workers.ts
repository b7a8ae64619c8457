import { availableParallelism } from "os";
import { resolve } from "path";
import { MessagePort, Worker } from "worker_threads";
// sharp's documentation: on glibc Linux the main thread must load sharp before any worker thread that uses it
// starts, so that its shared libraries stay loaded until every thread is done with them.
import "sharp";
import { JobError } from "./errors";
import { configureSharpForJobs, ImageDecodeError } from "./image-properties";

/**
 * A piece of per-image work a job can hand to a worker thread: its name (what a worker looks up in the jobs'
 * task table, TASKS in jobs/main.ts) and its function. `ask` puts a question to the thread that ran the task
 * (a decision that depends on state kept there, such as which images a report could show) and resolves to its
 * answer, so what a task computes (a decoded image's pixels) can stay in the worker.
 */
export interface Task<I, O, Q = never, A = never> {
    readonly name: string;
    readonly run: (input: I, ask: (question: Q) => Promise<A>) => Promise<O>;
}

export interface RunOptions<Q, A> {
    /** Answers the task's questions, on the thread that called run. */
    readonly ask?: (question: Q) => A;
    /** Buffers of the input handed over to the worker instead of copied (see transferable); unusable here afterwards. */
    readonly transfer?: readonly ArrayBuffer[];
    /** What the task works on (a file, a capture record), for the message when its worker dies. */
    readonly label?: string;
}

/** Where a job runs its per-image tasks: a pool of worker threads (WorkerPool), or this thread (IN_PROCESS). */
export interface TaskRunner {
    run<I, O, Q, A>(task: Task<I, O, Q, A>, input: I, options?: RunOptions<Q, A>): Promise<O>;
    close(): Promise<void>;
}

/** Runs every task on the calling thread: the same functions, so the same outputs, without worker threads. */
export const IN_PROCESS: TaskRunner = {
    run: (task, input, options) =>
        task.run(input, async (question) => {
            if (!options?.ask) throw new Error(`task ${task.name} asked a question its caller does not answer`);
            return options.ask(question);
        }),
    close: async () => undefined,
};

/**
 * Worker threads the jobs start by default: none on 2 CPUs or fewer, one per CPU above. On 2 CPUs the main
 * thread and libvips' own threads already keep both busy: workers measured no faster (1.01x in the bench) for
 * about 20% more CPU and 60 MB more memory each. With more CPUs one main thread would hold the per-image
 * JavaScript to one of them.
 */
export const defaultWorkerCount = (cpus: number = availableParallelism()): number => (cpus <= 2 ? 0 : cpus);

/**
 * The buffer a message can hand over without copying it: a Buffer that is the whole of its ArrayBuffer. Small
 * Buffers share Node's pool (and sharp's outputs are external memory): those are copied, which is cheap for them.
 */
export function transferable(bytes: Buffer): ArrayBuffer[] {
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
        ? [bytes.buffer]
        : [];
}

/** The marker in workerData that tells the jobs' entry point (the bundle) to serve tasks instead of running a job. */
export const TASK_WORKER = "visionMlopsTaskWorker";

type Request = { id: number; task: string; input: unknown } | { id: number; answer: unknown } | { id: number; answerError: string };
type Reply = { id: number; value: unknown } | { id: number; error: SerializedError } | { id: number; question: unknown };
interface SerializedError {
    readonly name: string;
    readonly message: string;
    readonly stack?: string;
    readonly code?: string;
}

interface Pending {
    readonly task: string;
    readonly label?: string;
    readonly ask?: (question: unknown) => unknown;
    readonly resolve: (value: unknown) => void;
    readonly reject: (e: Error) => void;
}

interface Thread {
    readonly worker: Worker;
    readonly pending: Map<number, Pending>;
    /** What the worker threw outside any task (before it exited), for the message about its death. */
    lastError?: Error;
}

export interface WorkerPoolOptions {
    /** Worker threads. Defaults to defaultWorkerCount(). */
    readonly size?: number;
}

/**
 * Worker threads that run the jobs' per-image tasks, so that the JavaScript around each image (sharp's
 * per-call setup, the statistics loop, the hash) runs on every CPU instead of one. A task goes to the worker
 * with the fewest in hand; results come back to the caller's promise, so the order of anything written is the
 * caller's order whichever worker finishes first. An error a task throws is raised again here with its class
 * (JobError, ImageDecodeError) and message; a worker that dies fails every task it held and every later one
 * with a JobError that says so. Idle workers do not keep the process alive.
 */
export class WorkerPool implements TaskRunner {
    private readonly threads: Thread[];
    private nextId = 0;
    private closing = false;
    private failure?: JobError;

    constructor(options: WorkerPoolOptions = {}) {
        const size = options.size ?? defaultWorkerCount();
        if (!Number.isInteger(size) || size < 1) throw new JobError(`worker threads: expected a whole number of at least 1, got ${size}`);
        this.threads = Array.from({ length: size }, () => this.startThread());
    }

    /** The pool's threads (to watch them, or stop one: its tasks then fail as a death does). */
    get workers(): readonly Worker[] {
        return this.threads.map((t) => t.worker);
    }

    run<I, O, Q, A>(task: Task<I, O, Q, A>, input: I, options: RunOptions<Q, A> = {}): Promise<O> {
        if (this.failure) return Promise.reject(this.failure);
        if (this.closing) return Promise.reject(new Error(`task ${task.name} started after its worker pool was closed`));
        const thread = this.threads.reduce((best, t) => (t.pending.size < best.pending.size ? t : best));
        const id = this.nextId++;
        return new Promise<O>((resolve, reject) => {
            if (thread.pending.size === 0) thread.worker.ref();
            thread.pending.set(id, {
                task: task.name,
                label: options.label,
                ask: options.ask as ((q: unknown) => unknown) | undefined,
                resolve: resolve as (v: unknown) => void,
                reject,
            });
            thread.worker.postMessage({ id, task: task.name, input } satisfies Request, [...(options.transfer ?? [])]);
        });
    }

    async close(): Promise<void> {
        this.closing = true;
        await Promise.all(this.threads.map((t) => t.worker.terminate()));
    }

    private startThread(): Thread {
        const { file, eval: isCode } = workerEntry();
        const worker = new Worker(file, { eval: isCode, workerData: { [TASK_WORKER]: true } });
        const thread: Thread = { worker, pending: new Map() };
        worker.unref();
        worker.on("message", (reply: Reply) => this.onReply(thread, reply));
        worker.on("error", (e) => {
            thread.lastError = e;
        });
        worker.on("exit", (code) => {
            if (this.closing) return;
            const held = [...thread.pending.values()];
            const doing = held.length
                ? `while it had ${held[0].label ?? held[0].task}${held.length > 1 ? ` and ${held.length - 1} more` : ""} in hand`
                : "";
            this.failure ??= new JobError(
                `an image worker thread stopped (exit code ${code}${thread.lastError ? `: ${thread.lastError.message}` : ""})` +
                    `${doing ? ` ${doing}` : ""}; the job stops rather than go on without its images`,
            );
            thread.pending.clear();
            for (const p of held) p.reject(this.failure);
        });
        return thread;
    }

    private onReply(thread: Thread, reply: Reply): void {
        const pending = thread.pending.get(reply.id);
        if (!pending) return;
        if ("question" in reply) {
            let answer: Request;
            try {
                if (!pending.ask) throw new Error(`task ${pending.task} asked a question its caller does not answer`);
                answer = { id: reply.id, answer: pending.ask(reply.question) };
            } catch (e) {
                answer = { id: reply.id, answerError: (e as Error).message };
                pending.reject(e as Error);
            }
            thread.worker.postMessage(answer);
            return;
        }
        thread.pending.delete(reply.id);
        if (thread.pending.size === 0) thread.worker.unref();
        if ("error" in reply) pending.reject(revive(reply.error));
        else pending.resolve(reply.value);
    }
}

/** The error a task threw, as the same class with the same message (and the worker's stack). */
function revive(e: SerializedError): Error {
    const error =
        e.name === "JobError"
            ? new JobError(e.message)
            : e.name === "ImageDecodeError"
              ? new ImageDecodeError(e.message)
              : new Error(e.message);
    error.name = e.name;
    if (e.stack) error.stack = e.stack;
    if (e.code) (error as NodeJS.ErrnoException).code = e.code;
    return error;
}

/**
 * What a worker thread loads. In the jobs image every module is bundled into the entry point's one file
 * (jobs/main.ts), which is then this module's own file and serves tasks when it finds TASK_WORKER in its
 * workerData. From the TypeScript sources (tests, `npm run job`) the worker compiles them with esbuild's
 * transform (what ts-node's transpile-only mode does, without loading the TypeScript compiler into every
 * thread: a fifth of the CPU to start) and serves jobs/tasks.ts.
 */
function workerEntry(): { file: string; eval: boolean } {
    if (!__filename.endsWith(".ts")) return { file: __filename, eval: false };
    const code = `
        const { readFileSync } = require("fs");
        const { transformSync } = require("esbuild");
        require.extensions[".ts"] = (module, file) =>
            module._compile(transformSync(readFileSync(file, "utf8"), { loader: "ts", format: "cjs", sourcefile: file, supported: { "dynamic-import": false } }).code, file);
        const { serveTasks } = require(${JSON.stringify(__filename)});
        const { TASKS } = require(${JSON.stringify(resolve(__dirname, "..", "tasks.ts"))});
        serveTasks(require("worker_threads").parentPort, TASKS);`;
    return { file: code, eval: true };
}

/** Tasks by name, each loaded when first asked for (any Task fits: its input and question types are the task's own). */
export type TaskTable = Readonly<
    Record<string, () => Promise<{ readonly name: string; readonly run: (input: never, ask: never) => Promise<unknown> }>>
>;

/** The worker side: answers the pool's requests with the tasks of `table`. */
export function serveTasks(port: MessagePort, table: TaskTable): void {
    // Loading sharp turns libvips's operation cache back on, for the whole process: off again, as the jobs run it.
    configureSharpForJobs();
    const loaded = new Map<string, ReturnType<TaskTable[string]>>();
    const answers = new Map<number, { resolve: (a: unknown) => void; reject: (e: Error) => void }>();
    port.on("message", async (m: Request) => {
        if ("answer" in m || "answerError" in m) {
            const waiting = answers.get(m.id);
            answers.delete(m.id);
            if ("answer" in m) waiting?.resolve(m.answer);
            else waiting?.reject(new Error(m.answerError));
            return;
        }
        try {
            const load = table[m.task];
            if (!load) throw new Error(`no task named ${m.task} in the jobs' task table`);
            if (!loaded.has(m.task)) loaded.set(m.task, load());
            const task = await loaded.get(m.task)!;
            if (task.name !== m.task) throw new Error(`the jobs' task table names ${task.name} as ${m.task}`);
            const ask = (question: unknown) =>
                new Promise<unknown>((resolve, reject) => {
                    answers.set(m.id, { resolve, reject });
                    port.postMessage({ id: m.id, question } satisfies Reply);
                });
            port.postMessage({ id: m.id, value: await task.run(m.input as never, ask as never) } satisfies Reply);
        } catch (e) {
            const err = e as NodeJS.ErrnoException;
            port.postMessage({
                id: m.id,
                error: { name: err?.name ?? "Error", message: err?.message ?? String(e), stack: err?.stack, code: err?.code },
            } satisfies Reply);
        }
    });
}
