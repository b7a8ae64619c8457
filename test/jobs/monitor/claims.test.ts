import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { createHash } from "crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { hostname, tmpdir } from "os";
import { join } from "path";
import { MONITORING_COMPLETION_FILE, MONITORING_OUTPUT_FILES, MonitoringCompletion } from "../../../infra/job-contract";
import { JobError } from "../../../jobs/lib/errors";
import { CLAIM_FILE, ClaimRecord } from "../../../jobs/monitor/claim";
import { runMonitor, uploadPrefix } from "../../../jobs/monitor/run";
import { MonitorSettings } from "../../../jobs/monitor/settings";
import { MotoServer, startMoto } from "../../support/moto";
import { buildBaseline, defaultThresholds, writeCapture } from "./corpus";

const ENDPOINT = "vision-mlops-staging-signs";
const WINDOW = { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") };

async function failure(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (e) {
        return e as Error;
    }
    throw new Error("expected the run to fail");
}

function claim(runId: string, over: Partial<ClaimRecord> = {}): ClaimRecord {
    return {
        runId,
        host: hostname(),
        pid: process.pid,
        claimedAt: new Date().toISOString(),
        leaseUntil: new Date(Date.now() + 3600_000).toISOString(),
        ...over,
    };
}

/** A process id that is not running here (the largest pid Linux hands out is below 2^22). */
const GONE_PID = 4_194_304 + 17;

/** Runs of one window: exactly one wins, an incomplete run is replaced cleanly, a retry never wedges on its own output. */
describe("monitor window claims", function () {
    this.timeout(120_000);
    let work: string;
    let capture: string;
    let baselineFile: string;
    let n = 0;

    before(async () => {
        work = mkdtempSync(join(tmpdir(), "monitor-claims-"));
        capture = join(work, "capture");
        await writeCapture(capture, 40, {}, { endpoint: ENDPOINT, start: new Date("2026-01-10T12:05:00Z") }, 5);
        baselineFile = join(work, "monitoring_baseline.json");
        writeFileSync(baselineFile, JSON.stringify(await buildBaseline(120)));
    });
    after(() => rmSync(work, { recursive: true, force: true }));

    const settings = (over: Partial<MonitorSettings> = {}): MonitorSettings => ({
        capture,
        baseline: baselineFile,
        output: join(work, `out-${++n}`),
        window: WINDOW,
        endpoint: ENDPOINT,
        schedule: "sch",
        thresholds: defaultThresholds(),
        ...over,
    });
    const completionIn = (folder: string) =>
        JSON.parse(readFileSync(join(folder, MONITORING_COMPLETION_FILE), "utf8")) as MonitoringCompletion;

    describe("in a local output folder", () => {
        it("lets exactly one of two concurrent runs write the folder, and the folder holds the winner's results", async () => {
            for (let round = 0; round < 3; round++) {
                const s = settings();
                const outcomes = await Promise.allSettled([runMonitor({ ...s, runId: "run-a" }), runMonitor({ ...s, runId: "run-b" })]);
                const won = outcomes.filter((o) => o.status === "fulfilled");
                const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
                expect(won, `round ${round}`).to.have.length(1);
                expect(lost[0].reason).to.be.instanceOf(JobError);
                expect(lost[0].reason.message).to.match(/claimed by run run-[ab]/);
                const winner = outcomes[0].status === "fulfilled" ? "run-a" : "run-b";
                expect(completionIn(s.output).runId).to.equal(winner);
                expect(JSON.parse(readFileSync(join(s.output, CLAIM_FILE), "utf8")).runId).to.equal(winner);
            }
        });

        it("replaces an incomplete run (claimed, never completed) whose process is gone", async () => {
            const s = settings();
            mkdirSync(s.output, { recursive: true });
            writeFileSync(join(s.output, CLAIM_FILE), JSON.stringify(claim("killed-run", { pid: GONE_PID })));
            writeFileSync(join(s.output, MONITORING_OUTPUT_FILES.statistics), "{half a file");
            const r = await runMonitor({ ...s, runId: "rerun" });
            expect(r.verdict).to.equal("clean");
            const completion = completionIn(s.output);
            expect(completion.runId).to.equal("rerun");
            const stats = readFileSync(join(s.output, MONITORING_OUTPUT_FILES.statistics));
            expect(completion.files.find((f) => f.name === MONITORING_OUTPUT_FILES.statistics)!.sha256).to.equal(
                createHash("sha256").update(stats).digest("hex"),
            );
        });

        it("lets a retry of the same run take its own claim over, and refuses a live claim of another run", async () => {
            const s = settings();
            mkdirSync(s.output, { recursive: true });
            writeFileSync(join(s.output, CLAIM_FILE), JSON.stringify(claim("execution-1")));
            const refused = await failure(runMonitor({ ...s, runId: "execution-2" }));
            expect(refused.message).to.contain("claimed by run execution-1");
            expect(existsSync(join(s.output, MONITORING_OUTPUT_FILES.statistics))).to.equal(false);
            await runMonitor({ ...s, runId: "execution-1" });
            expect(completionIn(s.output).runId).to.equal("execution-1");
        });

        it("keeps the files of a run that never claimed the folder (from before claims) as they are", async () => {
            const s = settings();
            mkdirSync(s.output, { recursive: true });
            writeFileSync(join(s.output, MONITORING_OUTPUT_FILES.statistics), "{}");
            const refused = await failure(runMonitor(s));
            expect(refused.message).to.contain("never claimed it");
            expect(readFileSync(join(s.output, MONITORING_OUTPUT_FILES.statistics), "utf8")).to.equal("{}");
        });

        it("takes over an expired or released claim", async () => {
            for (const held of [
                claim("slow-run", { leaseUntil: new Date(Date.now() - 1000).toISOString() }),
                claim("failed-run", { released: "failed: S3 said 503" }),
            ]) {
                const s = settings();
                mkdirSync(s.output, { recursive: true });
                writeFileSync(join(s.output, CLAIM_FILE), JSON.stringify(held));
                await runMonitor({ ...s, runId: "next" });
                expect(completionIn(s.output).runId).to.equal("next");
            }
        });
    });

    describe("in S3 (moto)", () => {
        let moto: MotoServer;
        let s3: S3Client;
        const bucket = "claims-bucket";
        const upload = `s3://${bucket}/signs/monitoring/${ENDPOINT}/sch/`;
        const { prefix } = uploadPrefix(upload, WINDOW);

        before(async () => {
            moto = await startMoto();
            s3 = new S3Client(moto.clientConfig);
            await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        });
        after(async () => moto?.stop());

        const text = async (key: string) =>
            (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString("utf8").catch(() => "");
        const exists = async (key: string) => {
            try {
                await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
                return true;
            } catch {
                return false;
            }
        };
        let day = 0;
        /** A fresh window (a day later each time) with its own capture, so tests do not share a run folder. */
        const nextWindow = async () => {
            day++;
            const start = new Date(WINDOW.start.getTime() + day * 24 * 3600_000);
            const win = { start, end: new Date(start.getTime() + 3600_000) };
            await writeCapture(capture, 40, {}, { endpoint: ENDPOINT, start: new Date(start.getTime() + 300_000) }, 100 + day);
            return { window: win, prefix: uploadPrefix(upload, win).prefix };
        };

        it("lets exactly one of two concurrent uploading runs win, with separate local folders: the loser writes nothing", async () => {
            const { window, prefix: runPrefix } = await nextWindow();
            const a = settings({ upload, window, runId: "run-a" });
            const b = settings({ upload, window, runId: "run-b" });
            // Nothing but a claim is written before one of the runs has ended, so the loser always meets the winner's
            // claim still held, however the machine schedules the runs. (Left to chance, the first could be done before
            // the second starts; holding back only until both had tried to claim still let a loaded machine finish and
            // release the winner's claim before the loser read it, and the loser then met a complete folder.)
            let oneEnded!: () => void;
            const ended = new Promise<void>((resolve) => (oneEnded = resolve));
            const lined = {
                send: async (command: Parameters<S3Client["send"]>[0]) => {
                    if (!(command instanceof PutObjectCommand)) return s3.send(command as never);
                    if (!(command.input.Key!.endsWith(CLAIM_FILE) && command.input.IfNoneMatch === "*")) await ended;
                    return s3.send(command);
                },
            } as unknown as S3Client;
            const runs = [runMonitor(a, { s3: lined }), runMonitor(b, { s3: lined })];
            for (const run of runs) run.then(oneEnded, oneEnded);
            const outcomes = await Promise.allSettled(runs);
            expect(outcomes.filter((o) => o.status === "fulfilled")).to.have.length(1);
            const [winner, loser] = outcomes[0].status === "fulfilled" ? [a, b] : [b, a];
            const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected")!;
            expect(lost.reason.message).to.contain(`claimed by run ${winner.runId}`);
            const completion = JSON.parse(await text(`${runPrefix}${MONITORING_COMPLETION_FILE}`)) as MonitoringCompletion;
            expect(completion.runId).to.equal(winner.runId);
            expect(existsSync(join(loser.output, MONITORING_OUTPUT_FILES.statistics)), "the loser's folder holds no results").to.equal(
                false,
            );
            // The S3 files are the winner's, byte for byte.
            for (const f of completion.files)
                expect(
                    createHash("sha256")
                        .update(await text(`${runPrefix}${f.name}`))
                        .digest("hex"),
                    f.name,
                ).to.equal(f.sha256);
        });

        it("after an upload that failed part-way, a re-run replaces the incomplete window instead of meeting 412", async () => {
            const { window, prefix: runPrefix } = await nextWindow();
            // Every PUT of report.html fails, as a persistent 5XX would after the SDK's retries.
            const failing = {
                send: (command: unknown) => {
                    if (command instanceof PutObjectCommand && command.input.Key!.endsWith(MONITORING_OUTPUT_FILES.report))
                        return Promise.reject(Object.assign(new Error("We encountered an internal error"), { name: "InternalError" }));
                    return s3.send(command as never);
                },
            } as unknown as S3Client;
            const first = await failure(runMonitor(settings({ upload, window, runId: "first" }), { s3: failing }));
            expect(first.message).to.contain("internal error");
            expect(await exists(`${runPrefix}${MONITORING_OUTPUT_FILES.statistics}`), "the first file was uploaded").to.equal(true);
            expect(await exists(`${runPrefix}${MONITORING_COMPLETION_FILE}`), "but the run is not complete").to.equal(false);
            expect(JSON.parse(await text(`${runPrefix}${CLAIM_FILE}`)).released).to.contain("internal error");

            const r = await runMonitor(settings({ upload, window, runId: "second" }), { s3 });
            expect(r.verdict).to.equal("clean");
            const completion = JSON.parse(await text(`${runPrefix}${MONITORING_COMPLETION_FILE}`)) as MonitoringCompletion;
            expect(completion.runId).to.equal("second");
            for (const f of completion.files)
                expect(
                    createHash("sha256")
                        .update(await text(`${runPrefix}${f.name}`))
                        .digest("hex"),
                    f.name,
                ).to.equal(f.sha256);
        });

        it("a retried step (same run id) resumes over its own partial output; another run's live claim is refused", async () => {
            const { window, prefix: runPrefix } = await nextWindow();
            // A killed attempt: claim and one file, no release, lease still running.
            await s3.send(
                new PutObjectCommand({
                    Bucket: bucket,
                    Key: `${runPrefix}${CLAIM_FILE}`,
                    Body: JSON.stringify(claim("execution-7")),
                    IfNoneMatch: "*",
                }),
            );
            await s3.send(
                new PutObjectCommand({ Bucket: bucket, Key: `${runPrefix}${MONITORING_OUTPUT_FILES.statistics}`, Body: "{partial" }),
            );
            const refused = await failure(runMonitor(settings({ upload, window, runId: "execution-8" }), { s3 }));
            expect(refused.message).to.contain("claimed by run execution-7");
            await runMonitor(settings({ upload, window, runId: "execution-7" }), { s3 });
            const completion = JSON.parse(await text(`${runPrefix}${MONITORING_COMPLETION_FILE}`)) as MonitoringCompletion;
            expect(completion.runId).to.equal("execution-7");
            // And a complete window is never claimed again.
            const again = await failure(runMonitor(settings({ upload, window, runId: "execution-7" }), { s3 }));
            expect(again.message).to.contain("is complete");
        });

        it("keeps the outputs of a run from before claims (files, no claim) as they are", async () => {
            const { window, prefix: runPrefix } = await nextWindow();
            await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${runPrefix}${MONITORING_OUTPUT_FILES.statistics}`, Body: "{}" }));
            const refused = await failure(runMonitor(settings({ upload, window }), { s3 }));
            expect(refused.message).to.contain("before window claims");
            expect(await text(`${runPrefix}${MONITORING_OUTPUT_FILES.statistics}`)).to.equal("{}");
        });

        it("names the window's folder as the pipeline and the gate expect", () => {
            expect(prefix).to.equal(`signs/monitoring/${ENDPOINT}/sch/2026/01/10/13/`);
        });
    });
});
