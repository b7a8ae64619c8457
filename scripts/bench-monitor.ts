/**
 * Monitor rows for `npm run bench`: records/s and peak RSS of the monitor job on generated capture windows of
 * 2,000 and 20,000 records with the default image sample (2,000 images decoded at most, so the cost per
 * window stays flat beyond reading the records), the 20,000-record window with every image decoded (no
 * sample), the merge step of a sharded run, and a plain byte copy of the same capture files (the floor).
 *
 * `benchMonitor(opts)` measures one run and returns a row; `MONITOR_BENCHES` are the rows in the shape
 * scripts/bench.ts tabulates.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { cpus } from "os";
import { join, resolve } from "path";
import sharp from "sharp";
import { MonitoringBaseline, PropertyAccumulator } from "../jobs/lib/baseline";
import { addToHistogram, CONFIDENCE_BINS, emptyHistogram } from "../jobs/lib/histogram";
import { contentTypeOf, imageProperties, MEASUREMENT_VERSION } from "../jobs/lib/image-properties";
import type { Bench, BenchRow } from "./bench";

const ROOT = resolve(__dirname, "..");
const CLASSES = Array.from({ length: 10 }, (_, i) => `class-${i}`);
const ENDPOINT = "bench-endpoint";
const SCHEDULE = "bench-schedule";
const WINDOW_START = new Date("2026-01-10T00:00:00Z");
/** Capture files cover whole hours; the window spans as many as the records need at this rate per file. */
const RECORDS_PER_FILE = 1000;
/** The model the window is for (its images are measured for this shape, as its baseline's were). */
const IMAGE_SHAPE = [3, 224, 224] as const;
/** Distinct images the records cycle through; decoding cost does not depend on repeats. */
const POOL = 200;

export interface BenchMonitorOptions {
    /** Work folder; the corpus is generated once under it and reused. */
    readonly root: string;
    /** Records in the window. Defaults to 5000. */
    readonly records?: number;
    /** The jobs bundle (esbuild of jobs/main.ts); built under `root` when absent. */
    readonly bundle?: string;
    /** Row name. Defaults to "monitor, N records". */
    readonly name?: string;
    /** More flags for the job (e.g. --image-sample N). */
    readonly flags?: readonly string[];
    /** Flags for the node process that runs the job (e.g. --cpu-prof), before its script. */
    readonly nodeFlags?: readonly string[];
}

export interface MonitorBenchRow {
    readonly name: string;
    readonly items: number;
    readonly seconds: number;
    readonly itemsPerSecond: number;
    readonly cpuSeconds?: number;
    readonly peakRssMb?: number;
}

/** Runs the monitor job (as a child process, so its peak RSS is its own) on a generated window of `records` captures. */
export async function benchMonitor(opts: BenchMonitorOptions): Promise<MonitorBenchRow> {
    const records = opts.records ?? 5000;
    const corpus = await monitorCorpus(opts.root, records);
    const bundle = opts.bundle ?? buildBundle(opts.root);
    const output = join(
        opts.root,
        "out",
        `monitor-${records}-${process.pid}-${(opts.flags ?? []).join("").replace(/\W/g, "")}${opts.nodeFlags ? "-profiled" : ""}`,
    );
    rmSync(output, { recursive: true, force: true });
    const { jobsEnv, measure } = require("./bench") as typeof import("./bench");
    const m = measure(
        process.execPath,
        [
            ...(opts.nodeFlags ?? []),
            bundle,
            "monitor",
            ...(opts.flags ?? []),
            "--capture",
            corpus.capture,
            "--baseline",
            corpus.baseline,
            "--config",
            corpus.config,
            "--output",
            output,
            "--endpoint",
            ENDPOINT,
            "--schedule",
            SCHEDULE,
            "--start-time",
            WINDOW_START.toISOString(),
            "--end-time",
            corpus.windowEnd.toISOString(),
        ],
        jobsEnv(),
    );
    if (!(opts.flags ?? []).includes("--partial-output")) {
        const stats = JSON.parse(readFileSync(join(output, "statistics.json"), "utf8"));
        if (stats.dataset.item_count !== records && !(opts.flags ?? []).includes("--merge-from"))
            throw new Error(`monitor analysed ${stats.dataset.item_count} records, expected ${records}`);
    }
    return {
        name: opts.name ?? `monitor, ${records} records`,
        items: records,
        seconds: m.seconds,
        itemsPerSecond: records / m.seconds,
        cpuSeconds: m.cpuSeconds,
        peakRssMb: m.peakRssMb,
    };
}

interface MonitorCorpus {
    readonly capture: string;
    readonly baseline: string;
    readonly config: string;
    readonly windowEnd: Date;
}

async function monitorCorpus(root: string, records: number): Promise<MonitorCorpus> {
    const dir = join(root, `monitor-corpus-${records}`);
    const hours = Math.ceil(records / RECORDS_PER_FILE);
    const result = {
        capture: join(dir, "capture"),
        baseline: join(dir, "monitoring_baseline.json"),
        config: join(dir, "model.json"),
        windowEnd: new Date(WINDOW_START.getTime() + hours * 3600_000),
    };
    // The marker names the measurement version: a corpus whose baseline was measured another way is made again.
    const marker = join(dir, `.complete-v${MEASUREMENT_VERSION}`);
    if (existsSync(marker)) return result;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const pool: Array<{ image: Buffer; probabilities: number[] }> = [];
    const props = new PropertyAccumulator();
    const confidence = emptyHistogram(CONFIDENCE_BINS);
    const predicted = new Array(CLASSES.length).fill(0);
    const types: Record<string, number> = {};
    for (let i = 0; i < POOL; i++) {
        const cls = i % CLASSES.length;
        const [w, h] = [
            [96, 96],
            [160, 120],
            [224, 224],
            [320, 240],
        ][i % 4];
        const image = await sharp({
            create: {
                width: w,
                height: h,
                channels: 3,
                background: { r: (cls * 25) % 255, g: 120, b: 255 - cls * 20 },
                noise: { type: "gaussian", mean: 128, sigma: 20 },
            },
        })
            .jpeg({ quality: 85 })
            .toBuffer();
        const top = 0.81 + (0.18 * ((i * 7919) % 100)) / 100;
        const probabilities = CLASSES.map((_, k) => (k === cls ? top : (1 - top) / (CLASSES.length - 1)));
        pool.push({ image, probabilities });
        const p = await imageProperties(image, IMAGE_SHAPE);
        props.add(p);
        types[contentTypeOf(p.format)] = (types[contentTypeOf(p.format)] ?? 0) + 1;
        addToHistogram(confidence, top);
        predicted[cls]++;
    }
    const share = (xs: number[]) => Object.fromEntries(CLASSES.map((c, i) => [c, xs[i] / POOL]));
    const baseline: MonitoringBaseline = {
        version: MEASUREMENT_VERSION,
        imageShape: IMAGE_SHAPE,
        classes: CLASSES,
        imageCount: POOL,
        classCounts: Object.fromEntries(CLASSES.map((c, i) => [c, predicted[i]])),
        classDistribution: share(predicted),
        contentTypes: types,
        properties: props.summary(),
        confidence,
        lowConfidenceRate: 0,
        confidenceThreshold: 0.8,
        predictedClassDistribution: share(predicted),
        quality: { accuracy: 0.9, macroF1: 0.9 },
    };
    writeFileSync(result.baseline, JSON.stringify(baseline));
    writeFileSync(
        result.config,
        JSON.stringify({
            model: "bench",
            classes: CLASSES,
            imageShape: IMAGE_SHAPE,
            split: { validation: 0.1, test: 0.1 },
            seed: 42,
            minAccuracy: 0.5,
            maxRegression: 0.01,
            confidenceThreshold: 0.8,
            drift: {
                classPsi: 0.2,
                chiSquarePValue: 0.01,
                confidencePsi: 0.2,
                imagePropertyPsi: 0.25,
                lowConfidenceRate: 0.2,
                decodeErrorRate: 0.01,
                accuracyDrop: 0.05,
                minRecords: 30,
            },
        }),
    );
    for (let h = 0; h < hours; h++) {
        const hourStart = new Date(WINDOW_START.getTime() + h * 3600_000);
        const p = (n: number) => String(n).padStart(2, "0");
        const folder = join(
            result.capture,
            ENDPOINT,
            "AllTraffic",
            String(hourStart.getUTCFullYear()),
            p(hourStart.getUTCMonth() + 1),
            p(hourStart.getUTCDate()),
            p(hourStart.getUTCHours()),
        );
        mkdirSync(folder, { recursive: true });
        const lines: string[] = [];
        for (let i = h * RECORDS_PER_FILE; i < Math.min(records, (h + 1) * RECORDS_PER_FILE); i++) {
            const s = pool[i % POOL];
            lines.push(
                JSON.stringify({
                    captureData: {
                        endpointInput: {
                            observedContentType: "image/jpeg",
                            mode: "INPUT",
                            data: s.image.toString("base64"),
                            encoding: "BASE64",
                        },
                        endpointOutput: {
                            observedContentType: "application/json",
                            mode: "OUTPUT",
                            data: JSON.stringify(s.probabilities),
                            encoding: "JSON",
                        },
                    },
                    eventMetadata: {
                        eventId: `e-${i}`,
                        inferenceTime: new Date(hourStart.getTime() + (i % RECORDS_PER_FILE) * 3000).toISOString(),
                    },
                    eventVersion: "0",
                }),
            );
        }
        writeFileSync(join(folder, "capture.jsonl"), lines.join("\n") + "\n");
    }
    writeFileSync(marker, "");
    return result;
}

function buildBundle(root: string): string {
    const { buildJobsBundle } = require("./bench") as typeof import("./bench");
    return buildJobsBundle(join(root, "dist", "main.js"));
}

const monitorRow = (name: string, records: number, flags: readonly string[] = []): Bench => ({
    name,
    profilable: true,
    async run(ctx, opts = {}): Promise<BenchRow> {
        const row = await benchMonitor({ root: ctx.root, records, bundle: ctx.bundle, name, flags, nodeFlags: opts.nodeFlags });
        return { name, items: row.items, unit: "records", seconds: row.seconds, cpuSeconds: row.cpuSeconds, peakRssMb: row.peakRssMb };
    },
});

/** The encoded image of every record of a window's capture files, in record order (records of one image share a Buffer). */
function capturedImages(capture: string): Buffer[] {
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            if (e.isDirectory()) walk(join(dir, e.name));
            else if (e.name.endsWith(".jsonl")) files.push(join(dir, e.name));
        }
    };
    walk(capture);
    const decoded = new Map<string, Buffer>();
    const images: Buffer[] = [];
    for (const file of files)
        for (const line of readFileSync(file, "utf8").split("\n")) {
            if (!line) continue;
            const data: string = JSON.parse(line).captureData.endpointInput.data;
            let image = decoded.get(data);
            if (!image) decoded.set(data, (image = Buffer.from(data, "base64")));
            images.push(image);
        }
    return images;
}

/** Windows the rows measure: the image sample (2,000) makes the larger one cost little more per record than reading it. */
const SMALL = 2000;
const LARGE = 20_000;
const SHARDS = 4;

/**
 * Rows for scripts/bench.ts: the byte-copy floor of the large window's files, the job on 2,000 and 20,000
 * records with the default sample and on 20,000 with every image decoded, and the merge step of a sharded run.
 */
export const MONITOR_BENCHES: Bench[] = [
    {
        name: `byte copy of ${LARGE} records' capture files (cp -r), monitor floor`,
        async run(ctx) {
            const corpus = await monitorCorpus(ctx.root, LARGE);
            const { measure } = require("./bench") as typeof import("./bench");
            const m = measure("cp", ["-r", corpus.capture, ctx.output("monitor-byte-copy")]);
            return { name: this.name, items: LARGE, unit: "records", seconds: m.seconds, peakRssMb: m.peakRssMb };
        },
    },
    monitorRow(`monitor, ${SMALL} records, image sample ${SMALL} (default)`, SMALL),
    monitorRow(`monitor, ${LARGE} records, image sample ${SMALL} (default)`, LARGE),
    {
        name: `decode limit: sharp to raw pixels, in-process (the ${LARGE} records' captured images)`,
        async run(ctx): Promise<BenchRow> {
            const images = capturedImages((await monitorCorpus(ctx.root, LARGE)).capture);
            const { fastestDecode } = require("./bench") as typeof import("./bench");
            return { name: this.name, items: images.length, unit: "records", ...(await fastestDecode(images, (b) => b)) };
        },
    },
    monitorRow(`monitor, ${LARGE} records, every image decoded (--image-sample ${LARGE})`, LARGE, ["--image-sample", String(LARGE)]),
    monitorRow(`monitor, ${LARGE} records, every image decoded, on ${cpus().length} worker threads (--workers ${cpus().length})`, LARGE, [
        "--image-sample",
        String(LARGE),
        "--workers",
        String(cpus().length),
    ]),
    {
        name: `merge step: ${SHARDS} instances' partial statistics of ${LARGE}-record windows`,
        async run(ctx): Promise<BenchRow> {
            const partials = ctx.output("monitor-partials");
            // Each instance's state has the size of a full window's (same sample, same tables): the merge's worst case.
            for (let i = 1; i <= SHARDS; i++)
                await benchMonitor({
                    root: ctx.root,
                    records: LARGE,
                    bundle: ctx.bundle,
                    flags: ["--partial-output", partials, "--host", `algo-${i}`],
                    name: "partial",
                });
            const row = await benchMonitor({
                root: ctx.root,
                records: LARGE,
                bundle: ctx.bundle,
                name: this.name,
                flags: ["--merge-from", partials],
            });
            return { name: this.name, items: SHARDS * LARGE, unit: "records", seconds: row.seconds, peakRssMb: row.peakRssMb };
        },
    },
];

if (require.main === module) {
    const records = Number(process.env.BENCH_RECORDS ?? 2000);
    benchMonitor({ root: join(ROOT, ".bench"), records })
        .then((row) => console.log(JSON.stringify(row)))
        .catch((e) => {
            console.error(e);
            process.exitCode = 1;
        });
}
