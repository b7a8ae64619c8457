import { PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { createHash } from "crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { hostname } from "os";
import { join } from "path";
import { JobError } from "../../../jobs/lib/errors";
import { completionRecord, readPartials, runMonitor } from "../../../jobs/monitor/run";
import { MonitorSettings } from "../../../jobs/monitor/settings";
import { failureOf } from "../support/failure";
import { tempDir, writeAt } from "../support/images";
import { defaultThresholds } from "./corpus";
import { prediction } from "./capture-line";
import { FakeS3 } from "./fake-s3";
import { handBaseline } from "./hand-baseline";
import { handResult } from "./hand-result";

/**
 * One monitoring run in this process, on capture records that carry predictions and no images (nothing to decode),
 * against the hand-written baseline: the files it writes, the completion record, the upload and its claim, a sharded
 * run's partial state and merge, and each refusal, word for word.
 */
const WINDOW = { start: new Date("2026-01-10T12:00:00.000Z"), end: new Date("2026-01-10T13:00:00.000Z") };
const CAPTURE_FILE = "ep/AllTraffic/2026/01/10/12/c.jsonl";

const LINES = [prediction("e1", 5, [0.9, 0.1]), "not json", prediction("e3", 6, [0.3, 0.7])];

function setup(over: Partial<MonitorSettings> = {}, lines: readonly string[] = LINES) {
    const dir = tempDir("monitor-run");
    writeAt(dir, `capture/${CAPTURE_FILE}`, `${lines.join("\n")}\n`);
    const settings: MonitorSettings = {
        capture: join(dir, "capture"),
        baseline: writeAt(dir, "monitoring_baseline.json", JSON.stringify(handBaseline())),
        output: join(dir, "out"),
        metricFiles: join(dir, "metrics"),
        window: WINDOW,
        endpoint: "ep",
        schedule: "sch",
        thresholds: { ...defaultThresholds(), minRecords: 2 },
        runId: "run-7",
        ...over,
    };
    const read = (f: string) => readFileSync(join(settings.output, f), "utf8");
    return { dir, settings, read };
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const KEY = "arn:aws:kms:eu-west-1:123456789012:key/k";

describe("monitor run, in process", () => {
    it("writes the three outputs, the metric file and last the completion record naming each file's size and SHA-256", async () => {
        const { settings, read } = setup();
        const before = Date.now();
        const result = await runMonitor(settings);
        const after = Date.now();
        expect(result.counts).to.deep.include({ records: 3, predictions: 2, malformedLines: 1, files: 1 });
        // Records are named relative to the capture root, by line number.
        expect(result.decodeErrorSamples).to.have.length(1);
        expect(result.decodeErrorSamples[0]).to.match(/^ep\/AllTraffic\/2026\/01\/10\/12\/c\.jsonl:2: /);
        expect(readdirSync(settings.output).sort()).to.deep.equal([
            "_claim.json",
            "_complete.json",
            "constraint_violations.json",
            "report.html",
            "statistics.json",
        ]);
        for (const f of ["statistics.json", "constraint_violations.json"]) {
            expect(read(f)).to.equal(`${JSON.stringify(JSON.parse(read(f)), null, 2)}\n`);
        }
        expect(read("report.html")).to.match(/^<!doctype html>/);
        const metricLines = readFileSync(join(settings.metricFiles!, "metrics.jsonl"), "utf8").trim().split("\n");
        expect(metricLines.length).to.be.greaterThan(3);

        const text = read("_complete.json");
        const completion = JSON.parse(text);
        expect(text).to.equal(`${JSON.stringify(completion, null, 2)}\n`);
        expect(Date.parse(completion.completedAt)).to.be.within(before, after);
        const file = (name: string) => ({ name, bytes: Buffer.byteLength(read(name)), sha256: sha256(read(name)) });
        expect({ ...completion, completedAt: "T" }).to.deep.equal({
            schemaVersion: 1,
            endpoint: "ep",
            schedule: "sch",
            window: { start: "2026-01-10T12:00:00.000Z", end: "2026-01-10T13:00:00.000Z" },
            verdict: result.verdict,
            records: 3,
            minRecords: 2,
            violations: result.violations.length,
            firstRecordAt: "2026-01-10T12:05:00.000Z",
            lastRecordAt: "2026-01-10T12:06:00.000Z",
            files: [file("statistics.json"), file("constraint_violations.json"), file("report.html")],
            runId: "run-7",
            completedAt: "T",
        });
        expect(result.verdict).to.not.equal("not-judged");
    });

    it("builds the completion record from the result: the not-judged reason and record times only when there are some", () => {
        const files = { statistics: "abc", violations: "", report: "é" };
        const judged = completionRecord(
            handResult({ firstRecordAt: "2026-01-10T12:01:00.000Z", lastRecordAt: "2026-01-10T12:59:00.000Z" }),
            "r",
            files,
        );
        expect({ ...judged, completedAt: "T" }).to.deep.equal({
            schemaVersion: 1,
            endpoint: "vision-mlops-staging-signs",
            schedule: "signs-hourly",
            window: { start: "2026-01-10T12:00:00.000Z", end: "2026-01-10T13:00:00.000Z" },
            verdict: "violations",
            records: 4,
            minRecords: 2,
            violations: 1,
            firstRecordAt: "2026-01-10T12:01:00.000Z",
            lastRecordAt: "2026-01-10T12:59:00.000Z",
            files: [
                { name: "statistics.json", bytes: 3, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                {
                    name: "constraint_violations.json",
                    bytes: 0,
                    sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                },
                // "é" is two bytes in UTF-8.
                { name: "report.html", bytes: 2, sha256: sha256("é") },
            ],
            runId: "r",
            completedAt: "T",
        });
        const quiet = completionRecord(handResult({ verdict: "not-judged", notJudgedReason: "only 1 record" }), "r", files);
        expect(quiet.notJudgedReason).to.equal("only 1 record");
        expect(quiet).to.not.have.any.keys("firstRecordAt", "lastRecordAt");
        expect(judged).to.not.have.any.keys("notJudgedReason");
    });

    it("names the run after this host and process when neither the settings nor SageMaker name it", async () => {
        const { settings, read } = setup({ runId: undefined });
        const before = Date.now();
        await runMonitor(settings);
        const runId: string = JSON.parse(read("_complete.json")).runId;
        const prefix = `${hostname()}-${process.pid}-`;
        expect(runId.startsWith(prefix), runId).to.equal(true);
        expect(Number(runId.slice(prefix.length))).to.be.within(before, Date.now());
    });

    it("uploads the outputs under the window's hour, encrypted with the upload key, then creates the completion record only if absent", async () => {
        const s3 = new FakeS3();
        const { settings, read } = setup({ upload: "s3://bkt/mon/ep", uploadKmsKeyId: KEY });
        await runMonitor(settings, { s3 });
        const prefix = "mon/ep/2026/01/10/13/";
        const sse = { ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY };
        expect(s3.puts.map((p) => p.Key)).to.deep.equal([
            `${prefix}_claim.json`,
            `${prefix}statistics.json`,
            `${prefix}constraint_violations.json`,
            `${prefix}report.html`,
            `${prefix}_complete.json`,
        ]);
        const [, stats, violations, report, complete] = s3.puts;
        expect(stats).to.deep.equal({
            Bucket: "bkt",
            Key: `${prefix}statistics.json`,
            Body: read("statistics.json"),
            ContentType: "application/json",
            ...sse,
        });
        expect(violations).to.deep.include({ Body: read("constraint_violations.json"), ContentType: "application/json", ...sse });
        expect(report).to.deep.include({ Body: read("report.html"), ContentType: "text/html; charset=utf-8", ...sse });
        expect(stats).to.not.have.any.keys("IfNoneMatch");
        expect(complete).to.deep.equal({
            Bucket: "bkt",
            Key: `${prefix}_complete.json`,
            Body: read("_complete.json"),
            ContentType: "application/json",
            IfNoneMatch: "*",
            ...sse,
        });

        const plain = new FakeS3();
        await runMonitor(setup({ upload: "s3://bkt/mon/ep/" }).settings, { s3: plain });
        for (const put of plain.puts) expect(put).to.not.have.any.keys("ServerSideEncryption", "SSEKMSKeyId");
        expect(plain.puts[4].Key).to.equal(`${prefix}_complete.json`);
    });

    it("refuses a completion record that appeared while it held the claim, and releases both claims saying why", async () => {
        const s3 = new FakeS3();
        const prefix = "mon/ep/2026/01/10/13/";
        s3.beforePut = (input) => {
            if (input.Key === `${prefix}_complete.json` && !s3.objects.has(input.Key)) s3.put(input.Key, "{}");
        };
        const { settings } = setup({ upload: "s3://bkt/mon/ep" });
        const e = await failureOf(runMonitor(settings, { s3 }));
        const message = `s3://bkt/${prefix}_complete.json appeared while this run held the claim; its evidence is kept`;
        expect(e).to.be.instanceOf(JobError);
        expect(e.message).to.equal(message);
        expect(JSON.parse(s3.objects.get(`${prefix}_claim.json`)!.body).released).to.equal(`failed: ${message}`);
        expect(JSON.parse(readFileSync(join(settings.output, "_claim.json"), "utf8")).released).to.equal(`failed: ${message}`);
        expect(existsSync(join(settings.output, "_complete.json"))).to.equal(false);
    });

    it("passes any other upload error on as it is, and cuts the released reason to 500 characters", async () => {
        const denied = Object.assign(new Error(`Access Denied ${"x".repeat(600)}`), {
            name: "AccessDenied",
            $metadata: { httpStatusCode: 403 },
        });
        const s3 = new FakeS3();
        const send = s3.send.bind(s3);
        s3.send = async (command: unknown) => {
            if (command instanceof PutObjectCommand && String(command.input.Key).endsWith("report.html")) throw denied;
            return send(command);
        };
        const { settings } = setup({ upload: "s3://bkt/mon/ep" });
        expect(await failureOf(runMonitor(settings, { s3 }))).to.equal(denied);
        const released: string = JSON.parse(readFileSync(join(settings.output, "_claim.json"), "utf8")).released;
        expect(released).to.equal(`failed: ${denied.message}`.slice(0, 500));
        expect(released).to.have.length(500);

        const conflict = Object.assign(new Error("conflict"), { name: "Conflict", $metadata: { httpStatusCode: 409 } });
        const other = new FakeS3();
        const otherSend = other.send.bind(other);
        other.send = async (command: unknown) => {
            if (command instanceof PutObjectCommand && String(command.input.Key).endsWith("_complete.json")) throw conflict;
            return otherSend(command);
        };
        expect(await failureOf(runMonitor(setup({ upload: "s3://bkt/mon/ep" }).settings, { s3: other }))).to.equal(conflict);
        const byStatus = new FakeS3();
        const statusSend = byStatus.send.bind(byStatus);
        byStatus.send = async (command: unknown) => {
            if (command instanceof PutObjectCommand && String(command.input.Key).endsWith("_complete.json"))
                throw Object.assign(new Error("precondition"), { name: "Unknown", $metadata: { httpStatusCode: 412 } });
            return statusSend(command);
        };
        expect((await failureOf(runMonitor(setup({ upload: "s3://bkt/mon/ep" }).settings, { s3: byStatus }))).message).to.equal(
            "s3://bkt/mon/ep/2026/01/10/13/_complete.json appeared while this run held the claim; its evidence is kept",
        );
        const byName = new FakeS3();
        const nameSend = byName.send.bind(byName);
        byName.send = async (command: unknown) => {
            if (command instanceof PutObjectCommand && String(command.input.Key).endsWith("_complete.json"))
                throw Object.assign(new Error("precondition"), { name: "PreconditionFailed" });
            return nameSend(command);
        };
        expect((await failureOf(runMonitor(setup({ upload: "s3://bkt/mon/ep" }).settings, { s3: byName }))).message).to.equal(
            "s3://bkt/mon/ep/2026/01/10/13/_complete.json appeared while this run held the claim; its evidence is kept",
        );
    });

    it("keeps the outputs of a run that never claimed the folder, locally and in S3", async () => {
        const local = setup();
        mkdirSync(local.settings.output, { recursive: true });
        writeFileSync(join(local.settings.output, "statistics.json"), "old");
        writeFileSync(join(local.settings.output, "report.html"), "old");
        const e = await failureOf(runMonitor(local.settings));
        expect(e).to.be.instanceOf(JobError);
        expect(e.message).to.equal(
            `${local.settings.output} already holds statistics.json, report.html of a run that never claimed it; ` +
                "they are kept as they are: choose an empty output folder or move them away first",
        );
        expect(local.read("statistics.json")).to.equal("old");

        const s3 = new FakeS3();
        s3.put("mon/ep/2026/01/10/13/statistics.json", "old");
        const remote = setup({ upload: "s3://bkt/mon/ep" });
        const r = await failureOf(runMonitor(remote.settings, { s3 }));
        expect(r).to.be.instanceOf(JobError);
        expect(r.message).to.equal(
            "s3://bkt/mon/ep/2026/01/10/13/ already holds monitoring outputs of a run from before window claims; " +
                "they are kept as they are (move them away to re-run this window)",
        );
        expect(s3.objects.get("mon/ep/2026/01/10/13/statistics.json")!.body).to.equal("old");
        expect(JSON.parse(s3.objects.get("mon/ep/2026/01/10/13/_claim.json")!.body).released).to.equal(`failed: ${r.message}`);
    });

    it("sends the metrics to CloudWatch under the namespace it is given", async () => {
        const calls: PutMetricDataCommand[] = [];
        const cloudwatch = { send: async (c: unknown) => void calls.push(c as PutMetricDataCommand) } as never;
        await runMonitor(setup({ putMetricsNamespace: "VisionMlops/Monitoring" }).settings, { cloudwatch });
        expect(calls).to.have.length(1);
        expect(calls[0].input.Namespace).to.equal("VisionMlops/Monitoring");
        expect(calls[0].input.MetricData!.length).to.be.greaterThan(3);
    });

    it("writes a sharded instance's state as partial-<host>.json only, and the merge step judges the sum of them", async () => {
        const { dir } = setup();
        const partials = join(dir, "partials");
        const one = setup({ partialOutput: partials, host: "ip-10-0-0-1/x y" });
        const two = setup({ partialOutput: partials, host: "ip-10-0-0-2" }, [prediction("e9", 30, [0.8, 0.2])]);
        expect((await runMonitor(one.settings)).counts.records).to.equal(3);
        await runMonitor(two.settings);
        writeFileSync(join(partials, "notes.json"), "not a partial");
        writeFileSync(join(partials, "partial-x.txt"), "not a partial");
        expect(readdirSync(partials).sort()).to.deep.equal([
            "notes.json",
            "partial-ip-10-0-0-1_x_y.json",
            "partial-ip-10-0-0-2.json",
            "partial-x.txt",
        ]);
        expect(existsSync(one.settings.output)).to.equal(false);
        expect(JSON.parse(readFileSync(join(partials, "partial-ip-10-0-0-2.json"), "utf8")).counts.records).to.equal(1);

        expect(readPartials(partials).counts).to.deep.include({ records: 4, predictions: 3, files: 2, malformedLines: 1 });
        const merge = setup({ mergeFrom: partials });
        const merged = await runMonitor(merge.settings);
        expect(merged.counts).to.deep.include({ records: 4, predictions: 3, files: 2 });
        expect(JSON.parse(merge.read("_complete.json")).records).to.equal(4);

        const later = setup({
            mergeFrom: partials,
            window: { start: new Date("2026-01-10T13:00:00Z"), end: new Date("2026-01-10T14:00:00Z") },
        });
        const e = await failureOf(runMonitor(later.settings));
        expect(e).to.be.instanceOf(JobError);
        expect(e.message).to.equal(
            "the partial statistics are of 2026-01-10T12:00:00.000Z..2026-01-10T13:00:00.000Z, not of this run's window",
        );
        const shorter = setup({ mergeFrom: partials, window: { start: WINDOW.start, end: new Date("2026-01-10T12:30:00Z") } });
        expect((await failureOf(runMonitor(shorter.settings))).message).to.equal(
            "the partial statistics are of 2026-01-10T12:00:00.000Z..2026-01-10T13:00:00.000Z, not of this run's window",
        );
    });

    it("refuses to merge a folder with no partial statistics", async () => {
        const { dir } = setup();
        for (const folder of [join(dir, "missing"), join(dir, "capture")]) {
            const e = await failureOf(() => readPartials(folder));
            expect(e).to.be.instanceOf(JobError);
            expect(e.message).to.equal(`no partial statistics (partial-*.json) in ${folder}: the sharded monitor step wrote none`);
        }
    });

    it("skips lines over the line limit it is given, samples as many images as it is told, and writes no metric file unless asked", async () => {
        const { settings } = setup({ maxLineBytes: 150, imageSampleSize: 7, metricFiles: undefined });
        const r = await runMonitor(settings);
        // Each prediction line is longer than 150 bytes.
        expect(r.malformed).to.deep.equal({ "line over 150 bytes": 2, "not JSON": 1 });
        expect(r.sampleSize).to.equal(7);
        expect(readdirSync(settings.output)).to.include("_complete.json");
    });
});
