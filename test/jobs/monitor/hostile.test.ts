import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Readable } from "stream";
import { MONITORING_OUTPUT_FILES } from "../../../infra/job-contract";
import { MonitoringBaseline } from "../../../jobs/lib/baseline";
import { JobError } from "../../../jobs/lib/errors";
import { readBoundedLines } from "../../../jobs/monitor/capture";
import { runMonitor } from "../../../jobs/monitor/run";
import { MonitorSettings } from "../../../jobs/monitor/settings";
import { buildBaseline, captureLine, defaultThresholds, hourDir, rng, sample } from "./corpus";

const ENDPOINT = "vision-mlops-staging-signs";
const WINDOW = { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") };
const IN_WINDOW = new Date("2026-01-10T12:05:00Z");

/** Capture files an attacker, a buggy client or a broken disk could leave: none of them may stop a window. */
describe("monitor job on hostile capture files", function () {
    this.timeout(60_000);
    let work: string;
    let baseline: MonitoringBaseline;
    let n = 0;

    before(async () => {
        work = mkdtempSync(join(tmpdir(), "monitor-hostile-"));
        baseline = await buildBaseline(120);
        writeFileSync(join(work, "monitoring_baseline.json"), JSON.stringify(baseline));
    });
    after(() => rmSync(work, { recursive: true, force: true }));

    function settings(capture: string, extra: Partial<MonitorSettings> = {}): MonitorSettings {
        return {
            capture,
            baseline: join(work, "monitoring_baseline.json"),
            output: join(work, `out-${++n}`),
            window: WINDOW,
            endpoint: ENDPOINT,
            schedule: "sch",
            thresholds: defaultThresholds(),
            ...extra,
        };
    }

    async function goodLines(count: number, seed: number): Promise<string[]> {
        const random = rng(seed);
        const lines: string[] = [];
        for (let i = 0; i < count; i++) lines.push(captureLine(await sample(random), IN_WINDOW, `ok-${seed}-${i}`));
        return lines;
    }

    function writeFile(capture: string, name: string, content: string | Buffer): void {
        const dir = hourDir(capture, ENDPOINT, "AllTraffic", IN_WINDOW);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, name), content);
    }

    it("counts records whose fields have the wrong types by kind, and analyses the others", async () => {
        const capture = join(work, "types");
        const good = await goodLines(40, 1);
        const record = JSON.parse(good[0]);
        const variant = (edit: (r: any) => void, id: string) => {
            const r = JSON.parse(JSON.stringify(record));
            r.eventMetadata.eventId = id;
            edit(r);
            return JSON.stringify(r);
        };
        const bad = [
            variant((r) => (r.captureData.endpointInput.observedContentType = 42), "type-number"),
            variant((r) => (r.captureData.endpointInput.encoding = 7), "encoding-number"),
            variant((r) => (r.captureData.endpointOutput.encoding = { x: 1 }), "output-encoding-object"),
            variant((r) => (r.captureData.endpointOutput.observedContentType = ["application/json"]), "output-type-array"),
            variant((r) => (r.captureData.endpointInput.data = 12345), "data-number"),
            variant((r) => (r.eventMetadata.inferenceTime = 1736510700000), "time-number"),
            variant((r) => (r.captureData = "nope"), "capture-string"),
            "null",
            "[1, 2, 3]",
        ];
        writeFile(capture, "mixed.jsonl", [...good, ...bad].join("\n") + "\n");
        const r = await runMonitor(settings(capture));
        expect(r.counts.predictions, "every good record is analysed").to.be.at.least(40);
        expect(r.counts.images).to.be.at.least(40);
        expect(r.malformed).to.deep.include({ "not a capture record": 4 });
        expect(r.malformed["input field of the wrong type"]).to.equal(3);
        expect(r.malformed["output field of the wrong type"]).to.equal(2);
        expect(r.violations.map((v) => v.feature_name)).to.include("payload");
    });

    it("counts and skips a line over the size bound without holding it, and reads the lines after it", async () => {
        const capture = join(work, "huge");
        const good = await goodLines(35, 2);
        const huge = `{"captureData": {"endpointInput": {"data": "${"A".repeat(3 * 1024 * 1024)}"}}}`;
        writeFile(capture, "huge.jsonl", [good.slice(0, 20).join("\n"), huge, good.slice(20).join("\n")].join("\n") + "\n");
        const r = await runMonitor(settings(capture, { maxLineBytes: 1024 * 1024 }));
        expect(r.counts.predictions).to.equal(35);
        expect(r.malformed).to.deep.include({ "line over 1 MiB": 1 });
        expect(r.counts.records).to.equal(36);
    });

    it("splits lines with bounded memory: an oversized line is dropped as it streams", async () => {
        const chunk = Buffer.alloc(64 * 1024, "x");
        const chunks = function* () {
            yield Buffer.from('{"a":1}\n');
            for (let i = 0; i < 512; i++) yield chunk; // 32 MiB without a newline
            yield Buffer.from('\n{"b":2}\r\n\n{"c":3}');
        };
        const reader = readBoundedLines(Readable.from(chunks()), 1024 * 1024);
        const seen: unknown[] = [];
        for await (const item of reader) seen.push(item);
        expect(seen).to.deep.equal([{ line: '{"a":1}' }, { oversized: 32 * 1024 * 1024 }, { line: '{"b":2}' }, { line: '{"c":3}' }]);
        expect(reader.peakBufferedBytes, "never buffers more than the bound plus one chunk").to.be.at.most(1024 * 1024 + chunk.length);
    });

    it("keeps the content-type tables bounded: the top values and one 'other' count", async () => {
        const capture = join(work, "types-flood");
        const good = await goodLines(30, 3);
        const template = JSON.parse(good[0]);
        const lines = [...good];
        for (let i = 0; i < 5000; i++) {
            template.eventMetadata.eventId = `flood-${i}`;
            template.captureData.endpointInput.observedContentType = `image/x-flood-${i}`;
            template.captureData.endpointInput.data = "";
            lines.push(JSON.stringify(template));
        }
        writeFile(capture, "flood.jsonl", lines.join("\n") + "\n");
        const s = settings(capture);
        const r = await runMonitor(s);
        const observed = r.contentTypes.observed;
        expect(Object.values(observed).reduce((a, b) => a + b, 0)).to.equal(5030);
        // image/jpeg (the 30 good lines) and the first 19 flood values are tracked; the other 4,981 are counted together.
        expect(Object.keys(observed)).to.have.length(21);
        expect(observed.other).to.equal(5000 - 19);
        const report = readFileSync(join(s.output, MONITORING_OUTPUT_FILES.report), "utf8");
        const statistics = readFileSync(join(s.output, MONITORING_OUTPUT_FILES.statistics), "utf8");
        expect(report.length + statistics.length, "outputs stay small").to.be.below(120_000);
    });

    it("refuses a baseline with negative, non-finite or string counts, naming the field", async () => {
        const capture = join(work, "none");
        mkdirSync(capture, { recursive: true });
        const cases: Array<[(b: any) => void, string]> = [
            [(b) => (b.properties.brightness.counts[3] = -2), "properties.brightness.counts[3]"],
            [(b) => (b.confidence.counts[9] = "12"), "confidence.counts[9]"],
            [(b) => (b.properties.width.counts[0] = null), "properties.width.counts[0]"],
            [(b) => (b.predictedClassDistribution[b.classes[0]] = "half"), `predictedClassDistribution.${baseline.classes[0]}`],
            [(b) => (b.lowConfidenceRate = 7), "lowConfidenceRate"],
            [(b) => (b.contentTypes["image/jpeg"] = -1), "contentTypes.image/jpeg"],
        ];
        for (const [edit, field] of cases) {
            const b = JSON.parse(JSON.stringify(baseline));
            edit(b);
            const path = join(work, `bad-baseline-${field.replace(/\W/g, "_")}.json`);
            writeFileSync(path, JSON.stringify(b));
            let error: unknown;
            try {
                await runMonitor(settings(capture, { baseline: path }));
            } catch (e) {
                error = e;
            }
            expect(error, field).to.be.instanceOf(JobError);
            expect((error as Error).message).to.contain(field);
        }
    });
});
