import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { createHash } from "crypto";
import { MONITORING_COMPLETION_FILE, MONITORING_METRICS, MONITORING_OUTPUT_FILES } from "../../../infra/job-contract";
import { MonitoringBaseline } from "../../../jobs/lib/baseline";
import { JobError } from "../../../jobs/lib/errors";
import { METRIC_FILE, runMonitor } from "../../../jobs/monitor/run";
import { MonitorSettings, MonitorThresholds } from "../../../jobs/monitor/settings";
import { buildBaseline, captureLine, CLASSES, defaultThresholds, rng, sample, Scenario, writeCapture, writeLines } from "./corpus";

const ENDPOINT = "vision-mlops-staging-signs";
const SCHEDULE = "vision-mlops-staging-signs-monitor";
const WINDOW = { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") };
const IN_WINDOW = new Date("2026-01-10T12:05:00Z");

describe("monitor job", function () {
    this.timeout(60_000);
    let work: string;
    let baseline: MonitoringBaseline;
    let baselineFile: string;
    let thresholds: MonitorThresholds;
    let n = 0;

    before(async () => {
        work = mkdtempSync(join(tmpdir(), "monitor-"));
        baseline = await buildBaseline(240);
        baselineFile = join(work, "monitoring_baseline.json");
        writeFileSync(baselineFile, JSON.stringify(baseline));
        thresholds = defaultThresholds();
    });
    after(() => rmSync(work, { recursive: true, force: true }));

    /** A fresh capture root and output folder; `fill` writes the capture files. */
    async function run(fill: (capture: string) => Promise<unknown>, extra: Partial<MonitorSettings> = {}) {
        const dir = join(work, `run-${++n}`);
        const capture = join(dir, "capture");
        mkdirSync(capture, { recursive: true });
        await fill(capture);
        const settings: MonitorSettings = {
            capture,
            baseline: baselineFile,
            output: join(dir, "out"),
            metricFiles: join(dir, "metrics"),
            window: WINDOW,
            endpoint: ENDPOINT,
            schedule: SCHEDULE,
            thresholds,
            ...extra,
        };
        const result = await runMonitor(settings);
        const read = (f: string) => readFileSync(join(settings.output, f), "utf8");
        return {
            result,
            settings,
            dir,
            statistics: JSON.parse(read(MONITORING_OUTPUT_FILES.statistics)),
            violations: JSON.parse(read(MONITORING_OUTPUT_FILES.violations)).violations as Array<Record<string, string>>,
            report: read(MONITORING_OUTPUT_FILES.report),
            completion: JSON.parse(read(MONITORING_COMPLETION_FILE)),
            metrics: readFileSync(join(settings.metricFiles!, METRIC_FILE), "utf8")
                .trim()
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l)),
        };
    }
    const window =
        (scenario: Scenario, count: number, seed: number, more: { mixOutputEncodings?: boolean } = {}) =>
        (capture: string) =>
            writeCapture(capture, count, scenario, { endpoint: ENDPOINT, start: IN_WINDOW, ...more }, seed);
    const features = (v: Array<Record<string, string>>) => v.map((x) => x.feature_name).sort();

    it("finds nothing in clean windows drawn from the baseline's distribution", async () => {
        for (const seed of [11, 12, 13, 14, 15]) {
            const { violations, result, metrics } = await run(window({}, 120, seed, { mixOutputEncodings: true }));
            expect(violations, `seed ${seed}: ${JSON.stringify(violations)}`).to.deep.equal([]);
            expect(result.judged).to.equal(true);
            expect(result.counts.records).to.equal(120);
            expect(result.counts.predictions, "JSON and BASE64 outputs are both read").to.equal(120);
            expect(metrics.find((m) => m.MetricName === MONITORING_METRICS.driftDetected).Value).to.equal(0);
        }
    });

    it("detects shifted brightness in the image properties, not in the predictions", async () => {
        const { violations, result, report } = await run(window({ brightnessShift: 70 }, 120, 21));
        expect(features(violations)).to.include("image_brightness");
        expect(features(violations)).to.not.include("predicted_class");
        expect(result.properties.brightness.summary.mean - baseline.properties.brightness.mean).to.be.above(50);
        expect(report).to.contain("image_brightness").and.to.contain('class="verdict bad"');
    });

    it("detects a new class mix with PSI and a small chi-square p-value", async () => {
        const { violations, result, statistics } = await run(window({ classMix: [0.8, 0.1, 0.1] }, 150, 31));
        const v = violations.find((x) => x.feature_name === "predicted_class")!;
        expect(v.constraint_check_type).to.equal("baseline_drift_check");
        expect(v.description).to.contain(CLASSES[0]);
        expect(result.predictedClasses.psi).to.be.above(thresholds.classPsi);
        expect(result.predictedClasses.chiSquare.pValue).to.be.below(1e-6);
        expect(statistics.image_monitoring.predicted_class.drifted).to.equal(true);
    });

    it("detects a new image size in width and height", async () => {
        const { violations } = await run(window({ width: 160, height: 96 }, 60, 41));
        expect(features(violations)).to.include.members(["image_aspect", "image_height", "image_width"]);
    });

    it("detects falling confidence and a high low-confidence rate", async () => {
        const { violations, result } = await run(window({ confidence: [0.4, 0.75] }, 80, 51));
        expect(features(violations)).to.include.members(["confidence", "low_confidence_rate"]);
        expect(result.confidence.lowConfidenceRate).to.equal(1);
    });

    it("reports image types never seen in training", async () => {
        const { violations } = await run(window({ format: "png" }, 40, 61));
        const v = violations.find((x) => x.feature_name === "content_type")!;
        expect(v.constraint_check_type).to.equal("categorical_values_check");
        expect(v.description).to.contain("image/png (40)");
    });

    it("counts corrupt payloads and malformed lines without failing, and still analyses the rest", async () => {
        const { result, violations, report } = await run(async (capture) => {
            const random = rng(71);
            const lines: string[] = [];
            for (let i = 0; i < 60; i++) {
                const s = await sample(random);
                lines.push(captureLine(s, IN_WINDOW, `ok-${i}`));
            }
            const s = await sample(random);
            for (let i = 0; i < 4; i++) lines.push(captureLine({ ...s, image: s.image.subarray(0, 200) }, IN_WINDOW, `truncated-${i}`));
            lines.push(captureLine({ ...s, image: Buffer.from("definitely not an image") }, IN_WINDOW, "garbage"));
            lines.push(captureLine({ ...s, probabilities: [0.5, 0.5] }, IN_WINDOW, "wrong-arity"));
            lines.push("{not json");
            lines.push(JSON.stringify({ captureData: {}, eventMetadata: {} }));
            writeLines(capture, ENDPOINT, "AllTraffic", IN_WINDOW, "mixed.jsonl", lines);
        });
        expect(result.counts).to.include({
            records: 68,
            images: 61,
            predictions: 65,
            inputDecodeErrors: 5,
            outputDecodeErrors: 1,
            malformedLines: 2,
            decodeErrors: 8,
        });
        const v = violations.find((x) => x.feature_name === "payload")!;
        expect(v.constraint_check_type).to.equal("completeness_check");
        expect(v.description).to.contain("8 of 68 records");
        expect(result.decodeErrorSamples.some((s) => s.includes("truncated-0"))).to.equal(true);
        expect(report).to.contain("Undecodable records");
    });

    it("reads only the window: other hours' folders and records time-stamped outside it are left out", async () => {
        const { result } = await run(async (capture) => {
            await writeCapture(capture, 40, {}, { endpoint: ENDPOINT, start: IN_WINDOW }, 81);
            await writeCapture(capture, 30, { brightnessShift: 90 }, { endpoint: ENDPOINT, start: new Date("2026-01-10T11:10:00Z") }, 82);
            await writeCapture(capture, 30, { brightnessShift: 90 }, { endpoint: ENDPOINT, start: new Date("2026-01-10T13:00:00Z") }, 83);
            await writeCapture(capture, 30, { brightnessShift: 90 }, { endpoint: "another-endpoint", start: IN_WINDOW }, 84);
            const random = rng(85);
            const late = await sample(random);
            writeLines(capture, ENDPOINT, "AllTraffic", IN_WINDOW, "late.jsonl", [
                captureLine(late, new Date("2026-01-10T13:00:00Z"), "late"),
            ]);
        });
        expect(result.counts.records).to.equal(40);
        expect(result.counts.outsideWindow).to.equal(1);
        expect(result.violations).to.deep.equal([]);
    });

    it("says a window without data is not judged, never clean: verdict, reason, metric and report", async () => {
        const { result, statistics, violations, report, metrics, completion } = await run(async () => undefined);
        expect(result.counts.records).to.equal(0);
        expect(statistics.dataset.item_count).to.equal(0);
        expect(violations).to.deep.equal([]);
        expect(completion.verdict).to.equal("not-judged");
        expect(completion.notJudgedReason).to.contain(`no capture records of ${ENDPOINT}`).and.to.contain("capture prefix");
        expect(statistics.image_monitoring.verdict).to.equal("not-judged");
        expect(report).to.contain("Not judged").and.to.contain("no capture records");
        expect(report).to.not.contain("No drift");
        expect(metrics.find((m) => m.MetricName === MONITORING_METRICS.notJudged).Value).to.equal(1);
        expect(metrics.map((m) => m.MetricName).sort()).to.deep.equal(
            [
                MONITORING_METRICS.records,
                MONITORING_METRICS.unseenContentTypes,
                MONITORING_METRICS.violations,
                MONITORING_METRICS.notJudged,
            ].sort(),
        );
    });

    it("gives no drift verdict below minRecords, and says so: not judged, with the counts", async () => {
        const { result, violations, statistics, metrics, completion } = await run(
            window({ brightnessShift: 90, classMix: [1, 0, 0] }, 12, 91),
        );
        expect(result.judged).to.equal(false);
        expect(violations).to.deep.equal([]);
        expect(completion).to.deep.include({ verdict: "not-judged", records: 12, minRecords: thresholds.minRecords });
        expect(completion.notJudgedReason).to.contain(`fewer than minRecords (${thresholds.minRecords})`);
        expect(statistics.image_monitoring.not_judged_reason).to.equal(completion.notJudgedReason);
        expect(metrics.map((m) => m.MetricName)).to.not.include(MONITORING_METRICS.driftDetected);
        expect(metrics.find((m) => m.MetricName === MONITORING_METRICS.notJudged).Value).to.equal(1);
    });

    it("writes the completion record last: verdict, counts, record times, and every file with its size and SHA-256", async () => {
        const { completion, settings, result, metrics } = await run(window({}, 60, 131));
        expect(completion).to.deep.include({
            schemaVersion: 1,
            endpoint: ENDPOINT,
            schedule: SCHEDULE,
            window: { start: WINDOW.start.toISOString(), end: WINDOW.end.toISOString() },
            verdict: "clean",
            records: 60,
            minRecords: thresholds.minRecords,
            violations: 0,
        });
        expect(completion.notJudgedReason).to.equal(undefined);
        expect(completion.firstRecordAt).to.equal(IN_WINDOW.toISOString());
        expect(Date.parse(completion.lastRecordAt)).to.be.above(IN_WINDOW.getTime()).and.below(WINDOW.end.getTime());
        expect(completion.runId).to.be.a("string").and.not.equal("");
        expect(completion.files.map((f: { name: string }) => f.name).sort()).to.deep.equal(Object.values(MONITORING_OUTPUT_FILES).sort());
        for (const f of completion.files) {
            const bytes = readFileSync(join(settings.output, f.name));
            expect(f.bytes, f.name).to.equal(bytes.length);
            expect(f.sha256, f.name).to.equal(createHash("sha256").update(bytes).digest("hex"));
        }
        expect(result.verdict).to.equal("clean");
        expect(metrics.find((m) => m.MetricName === MONITORING_METRICS.notJudged).Value).to.equal(0);
    });

    it("measures model quality against ground truth and reports an accuracy drop", async () => {
        let samples: Awaited<ReturnType<typeof writeCapture>> = [];
        const { result, violations, metrics } = await run(
            async (capture) => {
                samples = await writeCapture(capture, 100, { accuracy: 0.6 }, { endpoint: ENDPOINT, start: IN_WINDOW }, 101);
            },
            {
                groundTruth: await (async () => {
                    const dir = join(work, "gt-101");
                    mkdirSync(dir, { recursive: true });
                    // Labels come later than the capture, so write them from the same seeded corpus.
                    const random = rng(101);
                    const lines: string[] = [];
                    for (let i = 0; i < 100; i++) {
                        const s = await sample(random, { accuracy: 0.6 });
                        lines.push(
                            i % 2
                                ? JSON.stringify({ inferenceId: `inf-101-${i}`, label: CLASSES[s.trueClass] })
                                : JSON.stringify({
                                      groundTruthData: { data: String(s.trueClass), encoding: "CSV" },
                                      eventMetadata: { eventId: `e-101-${i}` },
                                      eventVersion: "0",
                                  }),
                        );
                    }
                    lines.push(JSON.stringify({ inferenceId: "inf-101-0", label: "no-such-class" }), "not json");
                    writeFileSync(join(dir, "labels.jsonl"), lines.join("\n"));
                    return dir;
                })(),
            },
        );
        const expected =
            samples.filter((s) => s.probabilities.indexOf(Math.max(...s.probabilities)) === s.trueClass).length / samples.length;
        expect(result.quality!.matched).to.equal(100);
        expect(result.quality!.rejectedLabels).to.equal(2);
        expect(result.quality!.rejectedLabelSamples[0]).to.contain('"no-such-class" is not one of the model\'s classes');
        expect(result.quality!.accuracy).to.be.closeTo(expected, 1e-12);
        expect(violations.map((v) => v.feature_name)).to.include("accuracy");
        expect(metrics.find((m) => m.MetricName === MONITORING_METRICS.accuracyDrop).Value).to.be.closeTo(
            baseline.quality.accuracy - expected,
            1e-12,
        );
    });

    it("writes Model Monitor's documented shapes and CloudWatch records with Endpoint and MonitoringSchedule", async () => {
        const { statistics, violations, metrics } = await run(window({ brightnessShift: 70 }, 60, 111));
        expect(statistics.version).to.equal(0);
        expect(statistics.dataset).to.deep.equal({ item_count: 60 });
        for (const f of statistics.features) {
            expect(f).to.have.keys(
                f.inferred_type === "String"
                    ? ["name", "inferred_type", "string_statistics"]
                    : ["name", "inferred_type", "numerical_statistics"],
            );
            expect(["Integral", "Fractional", "String"]).to.include(f.inferred_type);
            const stats = f.numerical_statistics ?? f.string_statistics;
            expect(stats.common).to.have.keys(["num_present", "num_missing"]);
            if (f.numerical_statistics)
                for (const bucket of stats.distribution.kll.buckets) expect(bucket).to.have.keys(["lower_bound", "upper_bound", "count"]);
            else for (const bucket of stats.distribution.categorical.buckets) expect(bucket).to.have.keys(["value", "count"]);
        }
        const brightness = statistics.features.find((f: any) => f.name === "image_brightness");
        expect(brightness.numerical_statistics.common.num_present).to.equal(60);
        expect(brightness.numerical_statistics.distribution.kll.buckets.reduce((a: number, b: any) => a + b.count, 0)).to.equal(60);
        for (const v of violations) expect(v).to.have.keys(["feature_name", "constraint_check_type", "description"]);
        for (const m of metrics) {
            expect(m).to.have.keys(["MetricName", "Timestamp", "Dimensions", "Value", "Unit"]);
            expect(m.Timestamp).to.equal("2026-01-10T13:00:00.000Z");
            expect(m.Dimensions).to.deep.equal([
                { Name: "Endpoint", Value: ENDPOINT },
                { Name: "MonitoringSchedule", Value: SCHEDULE },
            ]);
        }
        expect(metrics.find((m) => m.MetricName === MONITORING_METRICS.violations).Value).to.equal(violations.length);
    });

    it("never overwrites the outputs of an earlier, complete run", async () => {
        const first = await run(window({}, 5, 121));
        const before = readFileSync(join(first.settings.output, MONITORING_OUTPUT_FILES.statistics));
        let error: unknown;
        try {
            await runMonitor(first.settings);
        } catch (e) {
            error = e;
        }
        expect(error).to.be.instanceOf(JobError);
        expect((error as Error).message).to.contain("is complete");
        expect(readFileSync(join(first.settings.output, MONITORING_OUTPUT_FILES.statistics)).equals(before)).to.equal(true);
        expect(existsSync(join(first.settings.output, MONITORING_OUTPUT_FILES.report))).to.equal(true);
    });

    it("refuses a missing or malformed baseline with a message that says what to do", async () => {
        const bad = join(work, "bad-baseline.json");
        writeFileSync(bad, JSON.stringify({ ...baseline, confidence: { edges: [], counts: [] } }));
        for (const [path, text] of [
            [join(work, "absent.json"), "is missing"],
            [bad, "confidence.counts"],
        ]) {
            let error: unknown;
            try {
                await run(async () => undefined, { baseline: path });
            } catch (e) {
                error = e;
            }
            expect(error).to.be.instanceOf(JobError);
            expect((error as Error).message).to.contain(text);
        }
    });

    it("refuses a baseline whose image properties were measured by another version", async () => {
        // Version 1 measured a 64 px thumbnail; its contrast of the same images is not comparable with today's.
        const { imageShape: _, ...older } = baseline;
        for (const [name, doc] of [
            ["v1.json", { ...older, version: 1 }],
            ["unversioned.json", { ...older, version: undefined }],
        ] as const) {
            writeFileSync(join(work, name), JSON.stringify(doc));
            let error: unknown;
            try {
                await run(async () => undefined, { baseline: join(work, name) });
            } catch (e) {
                error = e;
            }
            expect(error, name).to.be.instanceOf(JobError);
            expect((error as Error).message, name).to.match(
                /measured by version (1|undefined) of the measurement; this monitor measures version 2/,
            );
            expect((error as Error).message, name).to.contain("run the training pipeline again");
        }
    });
});
