import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join, relative } from "path";
import { MONITORING_OUTPUT_FILES } from "../../../infra/job-contract";
import { chiSquarePValue } from "../../../jobs/monitor/chi-square";
import { runMonitor } from "../../../jobs/monitor/run";
import { samplePriority } from "../../../jobs/monitor/sample";
import { MonitorSettings } from "../../../jobs/monitor/settings";
import { commonFolder } from "../../../jobs/monitor/shards";
import { buildBaseline, captureLine, CLASSES, defaultThresholds, rng, sample, writeCapture, writeLines } from "./corpus";

const ENDPOINT = "vision-mlops-staging-signs";
const WINDOW = { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T14:00:00Z") };

function walk(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Image statistics on a bounded uniform sample; a sharded run's merged statistics equal one run's on the same data. */
describe("monitor image sample and sharded runs", function () {
    this.timeout(120_000);
    let work: string;
    let capture: string;
    let base: Omit<MonitorSettings, "output">;

    before(async () => {
        work = mkdtempSync(join(tmpdir(), "monitor-shards-"));
        capture = join(work, "capture");
        // Two variants, two hours, several files, a drifted share, undecodable images and malformed lines.
        await writeCapture(capture, 70, {}, { endpoint: ENDPOINT, start: new Date("2026-01-10T12:01:00Z"), file: "a.jsonl" }, 1);
        await writeCapture(
            capture,
            60,
            { brightnessShift: 80 },
            { endpoint: ENDPOINT, start: new Date("2026-01-10T12:30:00Z"), file: "b.jsonl" },
            2,
        );
        await writeCapture(
            capture,
            50,
            { classMix: [0.7, 0.2, 0.1] },
            { endpoint: ENDPOINT, variant: "Canary", start: new Date("2026-01-10T13:02:00Z"), file: "c.jsonl" },
            3,
        );
        const random = rng(4);
        const lines: string[] = [];
        for (let i = 0; i < 20; i++) {
            const s = await sample(random);
            lines.push(
                captureLine(i % 4 === 0 ? { ...s, image: s.image.subarray(0, 100) } : s, new Date("2026-01-10T13:20:00Z"), `d-${i}`),
            );
        }
        lines.push(
            "{broken",
            JSON.stringify({
                captureData: { endpointInput: { data: 5 } },
                eventMetadata: { eventId: "x", inferenceTime: "2026-01-10T13:21:00Z" },
            }),
        );
        writeLines(capture, ENDPOINT, "AllTraffic", new Date("2026-01-10T13:20:00Z"), "d.jsonl", lines);
        const labels = join(work, "labels");
        mkdirSync(labels);
        writeFileSync(
            join(labels, "l.jsonl"),
            [
                ...[0, 1, 2, 3].map((i) => JSON.stringify({ inferenceId: `inf-1-${i}`, label: CLASSES[i % 3] })),
                '{"inferenceId": "x", "label": "nope"}',
            ].join("\n"),
        );
        const baselineFile = join(work, "monitoring_baseline.json");
        writeFileSync(baselineFile, JSON.stringify(await buildBaseline(150)));
        base = {
            capture,
            baseline: baselineFile,
            groundTruth: labels,
            window: WINDOW,
            endpoint: ENDPOINT,
            schedule: "sch",
            thresholds: defaultThresholds(),
            imageSampleSize: 40,
        };
    });
    after(() => process.env.KEEP_WORK || rmSync(work, { recursive: true, force: true }));

    it("reads predictions from every record but decodes a bounded sample of images", async () => {
        const r = await runMonitor({ ...base, output: join(work, "single-sampled") });
        expect(r.counts.records).to.equal(202);
        expect(r.counts.predictions).to.be.at.least(199);
        expect(r.counts.sampled).to.equal(40);
        expect(r.counts.images).to.be.at.most(40);
        expect(r.counts.inputs).to.equal(200);
        // The sample's 40 images, decoded once at the end, plus the lowest-confidence strip's candidates (8 (1 + ln(200 / 8)) = 34).
        expect(r.decodes).to.be.within(40, 80);
        const stats = JSON.parse(readFileSync(join(work, "single-sampled", MONITORING_OUTPUT_FILES.statistics), "utf8"));
        const brightness = stats.features.find((f: { name: string }) => f.name === "image_brightness");
        expect(brightness.numerical_statistics.common.num_present).to.equal(r.counts.images);
        expect(stats.image_monitoring.image_sample).to.deep.include({ size: 40, sampled: 40, of_inputs: 200 });
        expect(stats.image_monitoring.image_sample.note).to.contain("uniform sample of 40 of 200 images");
        const report = readFileSync(join(work, "single-sampled", MONITORING_OUTPUT_FILES.report), "utf8");
        expect(report).to.contain("uniform sample of 40 of 200");
    });

    it("draws the sample uniformly: event-id priorities are uniform on [0, 1)", () => {
        const bins = new Array(20).fill(0);
        const n = 20_000;
        for (let i = 0; i < n; i++) bins[Math.floor(samplePriority(`event-${i}`) * 20)]++;
        const statistic = bins.reduce((a, c) => a + (c - n / 20) ** 2 / (n / 20), 0);
        expect(chiSquarePValue(statistic, 19)).to.be.above(0.001);
    });

    /** Runs the monitor over three shares of the capture files (as ShardedByS3Key hands them out), then the merge step. */
    async function runSharded(name: string, extra: Partial<MonitorSettings> = {}) {
        const files = walk(capture).sort();
        const partials = join(work, name, "partials");
        for (let shard = 0; shard < 3; shard++) {
            const root = join(work, name, `shard-${shard}`, "capture");
            for (const [i, file] of files.entries())
                if (i % 3 === shard) {
                    const target = join(root, relative(capture, file));
                    mkdirSync(dirname(target), { recursive: true });
                    copyFileSync(file, target);
                }
            mkdirSync(root, { recursive: true });
            await runMonitor({
                ...base,
                ...extra,
                capture: root,
                output: join(work, name, `shard-${shard}`, "out"),
                partialOutput: partials,
                host: `algo-${shard + 1}`,
            });
        }
        expect(readdirSync(partials).sort()).to.deep.equal(["partial-algo-1.json", "partial-algo-2.json", "partial-algo-3.json"]);
        const merged = join(work, name, "merged");
        const result = await runMonitor({ ...base, ...extra, capture: "(merged)", output: merged, mergeFrom: partials });
        expect(result.counts.files).to.equal(files.length);
        return { result, merged };
    }

    function expectSameOutputs(single: string, merged: string) {
        for (const file of Object.values(MONITORING_OUTPUT_FILES)) {
            const a = readFileSync(join(single, file), "utf8");
            const b = readFileSync(join(merged, file), "utf8");
            if (file.endsWith(".json")) expect(JSON.parse(b), file).to.deep.equal(JSON.parse(a));
            else expect(b === a, `${file} differs`).to.equal(true);
        }
    }

    it("merges a sharded run's partial statistics into exactly the single run's statistics, violations and report", async () => {
        const single = join(work, "single");
        await runMonitor({ ...base, output: single });
        const { result: r, merged } = await runSharded("sharded");
        expectSameOutputs(single, merged);
        expect(r.violations.map((v) => v.feature_name)).to.include("image_brightness");
        expect(r.quality).to.deep.include({ matched: 4, rejectedLabels: 1 });
    });

    it("makes thumbnails only of the images a report could show, single or sharded, and shows every one it picks", async () => {
        // Every image decoded: most are neither among a class's first images nor among any property's outliers.
        const extra = { imageSampleSize: 1000 };
        const single = join(work, "single-all");
        const r = await runMonitor({ ...base, ...extra, output: single });
        expect(r.counts.images).to.equal(195);
        expect(r.thumbnails).to.be.below(r.decodes * 0.8);
        const shown = [...Object.values(r.shots.byClass).flat(), ...r.shots.lowestConfidence, ...Object.values(r.shots.outliers).flat()];
        expect(shown.length).to.be.greaterThan(24);
        for (const s of shown) expect(s!.thumbnail, s!.where).to.be.a("string").and.not.equal("");
        const { result: m, merged } = await runSharded("sharded-all", extra);
        expectSameOutputs(single, merged);
        expect(Object.keys(m.shots.outliers)).to.include("brightness");
    });

    it("lays a shard's capture files out under one manifest prefix shared with the run folder", () => {
        expect(commonFolder("signs/capture/", "signs/monitoring/ep/sch/2026/01/10/13/")).to.equal("signs/");
        expect(commonFolder("a/b/", "c/")).to.equal("");
    });
});
