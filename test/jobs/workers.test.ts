import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { JobModelConfig, MONITORING_OUTPUT_FILES } from "../../infra/job-contract";
import { JobError } from "../../jobs/lib/errors";
import { defaultWorkerCount, IN_PROCESS, TaskRunner, WorkerPool } from "../../jobs/lib/workers";
import { runMonitor } from "../../jobs/monitor/run";
import { MonitorSettings } from "../../jobs/monitor/settings";
import { runPreprocess } from "../../jobs/preprocess";
import { selectImages } from "../../jobs/preprocess/selection";
import { buildBaseline, defaultThresholds, writeCapture } from "./monitor/corpus";
import { noiseImage, tempDir, writeAt } from "./support/images";
import { outputsIn } from "./support/preprocess-outputs";

const config: JobModelConfig = {
    model: "pets",
    classes: ["cat", "dog", "bird"],
    imageShape: [3, 64, 64],
    split: { validation: 0.2, test: 0.2 },
    seed: 7,
    minAccuracy: 0.5,
    maxRegression: 0.01,
    confidenceThreshold: 0.8,
    drift: {} as JobModelConfig["drift"],
};

/** Every file under a folder with its bytes, by path relative to it. */
function contents(dir: string, prefix = ""): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const rel = `${prefix}${e.name}`;
        if (e.isDirectory()) Object.assign(out, contents(join(dir, e.name), `${rel}/`));
        else out[rel] = readFileSync(join(dir, e.name)).toString("base64");
    }
    return out;
}

/**
 * Every kind of image preprocess treats differently, in sizes that take very different times to decode (so two
 * workers finish them out of input order): as-is, shrunk, enlarged and re-encoded images, copies of a content that
 * is staged (two of them next to each other, so both workers may measure it at once), a label conflict, and
 * broken files.
 */
async function corpus(): Promise<string> {
    const input = tempDir("workers-in");
    for (let i = 0; i < 8; i++) {
        writeAt(input, `cat/${i}.jpg`, await noiseImage(64, 64 + 8 * i, "jpeg", 60));
        writeAt(input, `dog/${i}.png`, i % 2 ? await noiseImage(40 + 4 * i, 48, "png", 128) : await noiseImage(64, 64, "png", 128));
        writeAt(input, `bird/${i}.jpg`, await noiseImage(i % 3 === 0 ? 800 : 90, i % 3 === 0 ? 600 : 70, "jpeg", 200));
    }
    const staged = await noiseImage(300, 200, "jpeg", 90);
    writeAt(input, "bird/copy-a.jpg", staged);
    writeAt(input, "bird/copy-b.jpg", staged);
    writeAt(input, "bird/copy-c.jpg", staged);
    const conflict = await noiseImage(70, 70, "webp");
    writeAt(input, "cat/either.webp", conflict);
    writeAt(input, "dog/either.webp", conflict);
    writeAt(input, "cat/empty.jpg", Buffer.alloc(0));
    writeAt(input, "dog/notes.txt", "not an image");
    const whole = await noiseImage(200, 150, "jpeg");
    writeAt(input, "bird/truncated.jpg", whole.subarray(0, Math.floor(whole.length * 0.6)));
    return input;
}

describe("image worker threads (jobs/lib/workers.ts)", function () {
    this.timeout(120_000);
    let pool: WorkerPool;
    let input: string;

    before(async () => {
        pool = new WorkerPool({ size: 2 });
        input = await corpus();
    });
    after(() => pool.close());

    it("preprocess writes byte for byte the same splits, test images and metadata on 2 worker threads as on the main thread", async () => {
        const run = async (workers: TaskRunner) => {
            const out = tempDir("workers-out");
            const outputs = outputsIn(out);
            const report = await runPreprocess({ input, outputs, config, concurrency: 8, workers });
            return { report, files: contents(out) };
        };
        const inProcess = await run(IN_PROCESS);
        const threaded = await run(pool);
        expect(inProcess.report.treatment).to.deep.equal({ "as-is": 8, resized: 9, upscaled: 4, "re-encoded": 4 });
        expect(inProcess.report.duplicates.count).to.equal(2);
        expect(inProcess.report.label_conflicts.count).to.equal(1);
        expect(inProcess.report.dropped.count).to.equal(3);
        expect(Object.keys(threaded.files)).to.include.members([
            "train/train.rec",
            "train/train.idx",
            "train/train.lst",
            "validation/validation.rec",
            "test/labels.jsonl",
            "metadata/baseline.json",
            "metadata/report.json",
            "metadata/dataset.json",
            "metadata/class_map.json",
        ]);
        expect(threaded.files).to.deep.equal(inProcess.files);
    });

    it("the monitor writes byte for byte the same statistics.json, constraint_violations.json and report.html on 2 worker threads", async () => {
        const work = mkdtempSync(join(tmpdir(), "monitor-workers-"));
        try {
            const capture = join(work, "capture");
            const endpoint = "vision-mlops-staging-signs";
            await writeCapture(capture, 60, {}, { endpoint, start: new Date("2026-01-10T12:01:00Z"), file: "a.jsonl" }, 1);
            await writeCapture(
                capture,
                60,
                { brightnessShift: 80 },
                { endpoint, start: new Date("2026-01-10T12:20:00Z"), file: "b.jsonl" },
                2,
            );
            const baseline = join(work, "monitoring_baseline.json");
            writeFileSync(baseline, JSON.stringify(await buildBaseline(120)));
            const settings = (output: string): MonitorSettings => ({
                capture,
                baseline,
                output: join(work, output),
                window: { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") },
                endpoint,
                schedule: "sch",
                thresholds: defaultThresholds(),
                // Every image decoded, so the thumbnail rule is asked about each of them.
                imageSampleSize: 1000,
                runId: "same-run",
            });
            const single = await runMonitor(settings("in-process"));
            const threaded = await runMonitor(settings("threaded"), {}, pool);
            expect(threaded.counts.images).to.equal(single.counts.images).and.to.be.above(100);
            expect(threaded.decodes).to.equal(single.decodes);
            expect(single.violations.length).to.be.above(0);
            for (const file of Object.values(MONITORING_OUTPUT_FILES))
                expect(readFileSync(join(work, "threaded", file), "utf8"), file).to.equal(
                    readFileSync(join(work, "in-process", file), "utf8"),
                );
        } finally {
            rmSync(work, { recursive: true, force: true });
        }
    });

    it("starts no worker threads on 2 CPUs or fewer (the monitor's ml.m5.large), one per CPU above (preprocess's ml.m5.xlarge)", () => {
        expect([1, 2, 4, 8].map((cpus) => defaultWorkerCount(cpus))).to.deep.equal([0, 0, 4, 8]);
    });

    it("raises an error a task throws in a worker as the same JobError, with the same message, as on the main thread", async () => {
        const candidates = [{ file: "bird/copy-a.jpg", label: "bird" }];
        const missingStaging = join(tempDir("workers-staging"), "gone");
        const failure = async (workers: TaskRunner) => {
            try {
                await selectImages(input, candidates, config, 2, missingStaging, workers);
            } catch (e) {
                return e as Error;
            }
            throw new Error("expected the selection to fail");
        };
        const here = await failure(IN_PROCESS);
        const there = await failure(pool);
        expect(here).to.be.instanceOf(JobError);
        expect(here.message).to.match(/^cannot stage the training copy of bird\/copy-a\.jpg in .*gone: ENOENT \(open\)$/);
        expect(there).to.be.instanceOf(JobError);
        expect(there.message).to.equal(here.message);
        // The pool is still usable after a task's error: only a dead worker stops it.
        const ok = await selectImages(input, candidates, config, 2, tempDir("workers-staging"), pool);
        expect(ok.treatment.resized).to.equal(1);
    });

    it("fails the job with a JobError naming the image, instead of hanging, when a worker thread dies", async () => {
        const doomed = new WorkerPool({ size: 2 });
        // The third image goes to the first worker (the one with fewer in hand), which is then stopped with two in hand.
        let calls = 0;
        const dying: TaskRunner = {
            run(task, taskInput, options) {
                const result = doomed.run(task, taskInput, options);
                if (++calls === 3) void doomed.workers[0].terminate();
                return result;
            },
            close: () => doomed.close(),
        };
        try {
            const out = tempDir("workers-dead");
            const outputs = outputsIn(out);
            let error: Error | undefined;
            await runPreprocess({ input, outputs, config, concurrency: 4, workers: dying }).catch((e) => (error = e));
            expect(error).to.be.instanceOf(JobError);
            expect(error!.message, error!.message).to.match(
                /^an image worker thread stopped \(exit code \d+\) while it had bird\/\S+ and 1 more in hand; the job stops rather than go on/,
            );
            // Nothing half-written is left under the final names, and later work is refused with the same error.
            expect(readdirSync(outputs.train)).to.deep.equal([]);
            const again = await selectImages(input, [{ file: "cat/0.jpg", label: "cat" }], config, 1, out, doomed).catch((e) => e);
            expect(again).to.equal(error);
        } finally {
            await dying.close();
        }
    });
});
