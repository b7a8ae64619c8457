import { expect } from "chai";
import { availableParallelism } from "os";
import { MessageChannel, MessagePort } from "worker_threads";
import { JobError } from "../../jobs/lib/errors";
import { defaultWorkerCount, IN_PROCESS, serveTasks, Task, TaskTable, transferable, WorkerPool } from "../../jobs/lib/workers";
import { measureCapturedImageTask } from "../../jobs/monitor/window";
import { failureOf } from "./support/failure";
import { noiseImage } from "./support/images";

/**
 * The worker pool's parts one at a time: the main-thread runner, the default thread count, which buffers are handed
 * over, the worker side's protocol (served here on a MessageChannel, no thread), and one small pool for what only a
 * real thread shows: questions, errors and a thread's death.
 */
const double: Task<number, number> = { name: "t.double", run: async (n) => n * 2 };
const asking: Task<string, string, string, string> = { name: "t.ask", run: async (x, ask) => `${x} ${await ask(`${x}?`)}` };

describe("worker pool parts (jobs/lib/workers.ts)", () => {
    it("runs a task on this thread, answering its questions with the caller's ask", async () => {
        expect(await IN_PROCESS.run(double, 21)).to.equal(42);
        expect(await IN_PROCESS.run(asking, "q", { ask: (question) => `answer to ${question}` })).to.equal("q answer to q?");
        const e = await failureOf(IN_PROCESS.run(asking, "q"));
        expect(e.message).to.equal("task t.ask asked a question its caller does not answer");
        expect(await IN_PROCESS.close()).to.equal(undefined);
    });

    it("starts no worker threads on 2 CPUs or fewer and one per CPU from 3 on, by default this machine's count", () => {
        expect([0, 1, 2, 3].map((cpus) => defaultWorkerCount(cpus))).to.deep.equal([0, 0, 0, 3]);
        const cpus = availableParallelism();
        expect(defaultWorkerCount()).to.equal(cpus <= 2 ? 0 : cpus);
    });

    it("hands over only a buffer that is the whole of its own ArrayBuffer", () => {
        const own = Buffer.alloc(64);
        expect(transferable(own)).to.deep.equal([own.buffer]);
        expect(transferable(own.subarray(8))).to.deep.equal([]);
        expect(transferable(own.subarray(0, 8))).to.deep.equal([]);
        expect(transferable(Buffer.from(new SharedArrayBuffer(16)))).to.deep.equal([]);
    });

    it("refuses a pool of no threads or a fraction of one, naming the number", () => {
        for (const size of [0, -1, 1.5, Number.NaN]) {
            const e = (() => {
                try {
                    new WorkerPool({ size });
                } catch (error) {
                    return error as Error;
                }
                throw new Error("expected a refusal");
            })();
            expect(e).to.be.instanceOf(JobError);
            expect(e.message).to.equal(`worker threads: expected a whole number of at least 1, got ${size}`);
        }
    });
});

describe("worker side of the pool (serveTasks on a message channel)", () => {
    let ports: MessageChannel;
    let loads: Record<string, number>;
    const replies: unknown[] = [];
    let waiting: (() => void) | undefined;

    const errno = Object.assign(new Error("no such file"), { code: "ENOENT" });
    const table: TaskTable = {
        "t.double": async () => (loads["t.double"]++, double),
        "t.ask": async () => asking,
        "t.fail": async () => ({ name: "t.fail", run: async () => Promise.reject(new JobError("the image is too large")) }),
        "t.errno": async () => ({ name: "t.errno", run: async () => Promise.reject(errno) }),
        "t.string": async () => ({ name: "t.string", run: async () => Promise.reject("a bare string") }),
        "t.misnamed": async () => ({ name: "t.other", run: async () => 1 }),
    };
    /** The next reply the worker side posts. */
    const next = () =>
        new Promise<Record<string, unknown>>((resolve) => {
            const take = () => resolve(replies.shift() as Record<string, unknown>);
            if (replies.length) take();
            else waiting = take;
        });

    beforeEach(() => {
        loads = { "t.double": 0 };
        ports = new MessageChannel();
        serveTasks(ports.port1 as MessagePort, table);
        ports.port2.on("message", (m) => {
            replies.push(m);
            const w = waiting;
            waiting = undefined;
            w?.();
        });
    });
    afterEach(() => {
        ports.port1.close();
        ports.port2.close();
        replies.length = 0;
    });

    it("answers each request with its task's value, loading a task's module once", async () => {
        ports.port2.postMessage({ id: 1, task: "t.double", input: 4 });
        expect(await next()).to.deep.equal({ id: 1, value: 8 });
        ports.port2.postMessage({ id: 2, task: "t.double", input: 5 });
        expect(await next()).to.deep.equal({ id: 2, value: 10 });
        expect(loads["t.double"]).to.equal(1);
    });

    it("puts a task's question to the pool and goes on with its answer, or fails with the pool's error", async () => {
        ports.port2.postMessage({ id: 7, task: "t.ask", input: "q" });
        expect(await next()).to.deep.equal({ id: 7, question: "q?" });
        ports.port2.postMessage({ id: 7, answer: "yes" });
        expect(await next()).to.deep.equal({ id: 7, value: "q yes" });
        ports.port2.postMessage({ id: 8, task: "t.ask", input: "r" });
        expect(await next()).to.deep.equal({ id: 8, question: "r?" });
        ports.port2.postMessage({ id: 8, answerError: "no answer here" });
        const refused = (await next()) as { id: number; error: Record<string, unknown> };
        expect([refused.id, refused.error.name, refused.error.message]).to.deep.equal([8, "Error", "no answer here"]);
    });

    it("sends a task's error back by name, message, stack and code", async () => {
        ports.port2.postMessage({ id: 3, task: "t.fail", input: null });
        const fail = (await next()) as { id: number; error: Record<string, unknown> };
        expect(fail.id).to.equal(3);
        expect(fail.error).to.deep.include({ name: "JobError", message: "the image is too large", code: undefined });
        expect(fail.error.stack).to.match(/^JobError: the image is too large\n/);
        ports.port2.postMessage({ id: 4, task: "t.errno", input: null });
        expect(((await next()) as { error: unknown }).error).to.deep.include({ name: "Error", message: "no such file", code: "ENOENT" });
        ports.port2.postMessage({ id: 5, task: "t.string", input: null });
        expect(await next()).to.deep.equal({
            id: 5,
            error: { name: "Error", message: "a bare string", stack: undefined, code: undefined },
        });
    });

    it("refuses a task the table does not have, or has under another name", async () => {
        ports.port2.postMessage({ id: 1, task: "t.none", input: null });
        expect(((await next()) as { error: { message: string } }).error.message).to.equal("no task named t.none in the jobs' task table");
        ports.port2.postMessage({ id: 2, task: "t.misnamed", input: null });
        expect(((await next()) as { error: { message: string } }).error.message).to.equal(
            "the jobs' task table names t.other as t.misnamed",
        );
        // An answer to no question in hand is ignored.
        ports.port2.postMessage({ id: 99, answer: "stray" });
        ports.port2.postMessage({ id: 3, task: "t.double", input: 1 });
        expect(await next()).to.deep.equal({ id: 3, value: 2 });
    });
});

describe("worker pool on one real thread", function () {
    this.timeout(60_000);
    let pool: WorkerPool;
    before(() => {
        pool = new WorkerPool({ size: 1 });
    });
    after(() => pool.close());

    it("raises a task's error here with its message, and answers a task's question with the caller's ask", async () => {
        const e = await failureOf(pool.run({ name: "no.such.task", run: async () => 0 }, 0));
        expect(e).to.not.be.instanceOf(JobError);
        expect([e.name, e.message]).to.deep.equal(["Error", "no task named no.such.task in the jobs' task table"]);
        const png = await noiseImage(8, 8, "png");
        const questions: unknown[] = [];
        const measured = await pool.run(
            measureCapturedImageTask,
            { bytes: png, imageShape: [3, 8, 8] },
            { ask: (q) => (questions.push(q), false) },
        );
        expect(measured).to.have.keys("properties");
        expect(questions).to.have.length(1);
        expect(questions[0]).to.deep.include({ format: "png", width: 8, height: 8 });
        const unanswered = await failureOf(pool.run(measureCapturedImageTask, { bytes: png, imageShape: [3, 8, 8] }));
        expect(unanswered.message).to.equal("task monitor.measure asked a question its caller does not answer");
        // The pool still works afterwards.
        expect(
            await pool.run(measureCapturedImageTask, { bytes: Buffer.from("not an image"), imageShape: [3, 8, 8] }, { ask: () => false }),
        ).to.have.keys("error");
    });

    it("fails every task a dying thread held, and every later one, with one JobError naming the first", async () => {
        const doomed = new WorkerPool({ size: 1 });
        try {
            // Stopped before it has even started serving: both tasks are still in hand.
            const held = [doomed.run(double, 1, { label: "a.png" }), doomed.run(double, 2, { label: "b.png" })];
            await doomed.workers[0].terminate();
            const [first, second] = await Promise.all(held.map((p) => failureOf(p)));
            expect(first).to.be.instanceOf(JobError);
            // Its exit code is the thread's (0 or 1, depending on how far it had started).
            expect(first.message.replace(/\(exit code \d\)/, "(exit code N)")).to.equal(
                "an image worker thread stopped (exit code N) while it had a.png and 1 more in hand; the job stops rather than go on without its images",
            );
            expect(second).to.equal(first);
            expect(await failureOf(doomed.run(double, 1))).to.equal(first);
        } finally {
            await doomed.close();
        }
    });

    it("refuses work once closed", async () => {
        const closing = new WorkerPool({ size: 1 });
        await closing.close();
        expect((await failureOf(closing.run(double, 1))).message).to.equal("task t.double started after its worker pool was closed");
    });
});
