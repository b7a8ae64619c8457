/**
 * `npm run bench`: throughput and peak memory of the data jobs on generated corpora, next to the floor (a plain
 * byte copy of the same files), the ceiling (sharp decoding every file to raw pixels in-process, at its fastest
 * concurrency) and the command-line peers (vipsthumbnail, ImageMagick's mogrify) on equal cores: one process per
 * CPU over a share of the files.
 *
 * Two corpora of BENCH_IMAGES JPEGs each (default 5000, 10 classes) are generated once under .bench/ and reused:
 * "mixed" (96 to 640 px, what the resize rows scale to the 224 px model) and "sized" (shorter side already 224 px,
 * which preprocess passes through untouched). Every job runs as a child process so its peak RSS is its own.
 * Timings are reported, never asserted; the goals are ratios of rows of the same run, printed under the table.
 * Rows: preprocess images/s, monitor records/s (scripts/bench-monitor.ts); `plan` wall time per stack;
 * `npm test` wall time (BENCH_SKIP_TESTS=1 leaves it out).
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "fs";
import { cpus, loadavg } from "os";
import { join, resolve } from "path";
import sharp from "sharp";
import { readFile } from "fs/promises";
import { configureSharpForJobs, measureImage } from "../jobs/lib/image-properties";
import { REENCODE_QUALITY, trainingJpegOf } from "../jobs/preprocess/training-image";
import { mapOrdered } from "../jobs/lib/pool";
import { defaultWorkerCount } from "../jobs/lib/workers";
import { MONITOR_BENCHES } from "./bench-monitor";
import { formatThread, summariseProfiles } from "./cpu-profile";

export interface BenchContext {
    readonly root: string;
    /** Folder-per-class corpus of `count` JPEGs. */
    readonly corpus: string;
    /**
     * `count` JPEGs whose shorter side is already the 224 px model's (four aspects): what preprocess passes through
     * untouched, the no-resize rows' input.
     */
    readonly sized: string;
    /** The first quarter of `sized` (hard links), to show whether memory grows with the number of images. */
    readonly quarter: string;
    readonly count: number;
    /** The jobs bundle, built like the image builds it. */
    readonly bundle: string;
    /** A fresh, empty output folder for one row. */
    output(name: string): string;
}

export interface BenchRow {
    readonly name: string;
    readonly items: number;
    readonly unit: string;
    readonly seconds: number;
    /** User and system CPU time of the process that did the work (a shared machine's load moves it less than wall time). */
    readonly cpuSeconds?: number;
    readonly peakRssMb?: number;
    readonly note?: string;
}

export interface SkippedRow {
    readonly name: string;
    readonly skipped: string;
}

/** How a row runs its job when it is run again to see where the time goes. */
export interface RunOptions {
    /** Flags for the node process that runs the job (e.g. --cpu-prof), before its script. */
    readonly nodeFlags?: readonly string[];
}

/** One row of the table: its name and how to measure it (or say why it cannot be measured here). */
export interface Bench {
    readonly name: string;
    /** Rows that run a job in a node process of its own take `opts`, so the job can be profiled. */
    run(ctx: BenchContext, opts?: RunOptions): Promise<BenchRow | SkippedRow>;
    /** Whether the row honours `opts.nodeFlags`. */
    readonly profilable?: boolean;
    /** More lines for "where the time goes" when the row's goal is not met: what a profile of its threads cannot show. */
    explain?(ctx: BenchContext): Promise<string[]>;
}

const ROOT = resolve(__dirname, "..");
const CLASSES = Array.from({ length: 10 }, (_, i) => `class-${i}`);
const SIZES: Array<[number, number]> = [
    [96, 72],
    [160, 120],
    [200, 200],
    [320, 240],
    [480, 360],
    [640, 480],
];
/** The side of the model the resize rows train; the sized corpus has it as every image's shorter side. */
const MODEL_SIDE = 224;
const SIZED: Array<[number, number]> = [
    [224, 224],
    [299, 224],
    [224, 299],
    [336, 224],
];

/** Bundles the jobs the way jobs/Dockerfile does (sharp stays outside), for measuring the shipped code. */
export function buildJobsBundle(outfile: string): string {
    require("esbuild").buildSync({
        entryPoints: [join(ROOT, "jobs", "main.ts")],
        bundle: true,
        platform: "node",
        target: "node20",
        external: ["sharp"],
        outfile,
        logLevel: "error",
    });
    return outfile;
}

/** Where the jobs image preloads jemalloc from, as Debian's libjemalloc2 installs it on this architecture. */
const JEMALLOC = `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/libjemalloc.so.2`;

/**
 * The environment the jobs run with, as jobs/Dockerfile runs them: jemalloc preloaded (Debian's libjemalloc2,
 * installed for the bench when missing; without it, glibc's malloc and a note says so), and sharp found outside
 * the bundle. `malloc: "glibc"` leaves jemalloc out, for the comparison row.
 */
export function jobsEnv(malloc: "jemalloc" | "glibc" = "jemalloc"): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: join(ROOT, "node_modules") };
    delete env.LD_PRELOAD;
    if (malloc === "jemalloc" && ensureTool(() => existsSync(JEMALLOC), "libjemalloc2")) env.LD_PRELOAD = JEMALLOC;
    return env;
}

/** The allocator a row's jobs ran with, for its note. */
export const mallocOf = (env: NodeJS.ProcessEnv) => (env.LD_PRELOAD ? "jemalloc" : "glibc malloc");

/** Runs a command under /usr/bin/time -v (when present) and returns wall time and peak RSS. */
export function measure(
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
): { seconds: number; cpuSeconds?: number; peakRssMb?: number; result: SpawnSyncReturns<string> } {
    const timed = existsSync("/usr/bin/time");
    const start = process.hrtime.bigint();
    const result = spawnSync(timed ? "/usr/bin/time" : command, timed ? ["-v", command, ...args] : args, {
        encoding: "utf8",
        env,
        maxBuffer: 64 << 20,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr ?? "");
    const user = /User time \(seconds\): ([\d.]+)/.exec(result.stderr ?? "");
    const system = /System time \(seconds\): ([\d.]+)/.exec(result.stderr ?? "");
    if (result.status !== 0) {
        const output = (result.stderr ?? "")
            .split("\n")
            .filter((l) => !/^\s|^Command (exited|being timed)/.test(l))
            .slice(0, 3)
            .join(" / ");
        throw new Error(`${command} failed with status ${result.status}: ${output}`);
    }
    return {
        seconds,
        cpuSeconds: user && system ? Number(user[1]) + Number(system[1]) : undefined,
        peakRssMb: rss ? Number(rss[1]) / 1024 : undefined,
        result,
    };
}

async function generateCorpus(corpus: string, count: number, sizes: ReadonlyArray<[number, number]>): Promise<void> {
    const marker = join(corpus, `.complete-${count}`);
    if (existsSync(marker)) return;
    rmSync(corpus, { recursive: true, force: true });
    for (const c of CLASSES) mkdirSync(join(corpus, c), { recursive: true });
    console.error(`generating ${count} JPEGs under ${corpus} (once)...`);
    const concurrency = cpus().length;
    let next = 0;
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            for (let i = next++; i < count; i = next++) {
                const [w, h] = sizes[i % sizes.length];
                const shade = (i * 37) % 200;
                // A soft gradient with light noise compresses like a photo, unlike pure noise.
                const image = sharp({
                    create: {
                        width: w,
                        height: h,
                        channels: 3,
                        background: { r: shade, g: 255 - shade, b: (i * 11) % 255 },
                        noise: { type: "gaussian", mean: 128, sigma: 12 },
                    },
                });
                const gradient = Buffer.from(
                    `<svg width="${w}" height="${h}"><defs><linearGradient id="g"><stop offset="0" stop-color="#${(shade * 65793).toString(16).padStart(6, "0")}"/><stop offset="1" stop-color="#204080"/></linearGradient></defs><rect width="${w}" height="${h}" fill="url(#g)" opacity="0.8"/></svg>`,
                );
                await image
                    .composite([{ input: gradient }])
                    .jpeg({ quality: 85 })
                    .toFile(join(corpus, CLASSES[i % CLASSES.length], `img-${String(i).padStart(6, "0")}.jpg`));
            }
        }),
    );
    writeFileSync(marker, "");
}

function linkQuarter(corpus: string, quarter: string, count: number): void {
    const marker = join(quarter, `.complete-${count}`);
    if (existsSync(marker)) return;
    rmSync(quarter, { recursive: true, force: true });
    for (const c of CLASSES) {
        mkdirSync(join(quarter, c), { recursive: true });
        const files = readdirSync(join(corpus, c))
            .filter((f) => f.endsWith(".jpg"))
            .sort();
        for (const f of files.slice(0, Math.ceil(files.length / 4))) spawnSync("ln", [join(corpus, c, f), join(quarter, c, f)]);
    }
    writeFileSync(marker, "");
}

function imagesUnder(dir: string): string[] {
    return CLASSES.flatMap((c) =>
        readdirSync(join(dir, c))
            .filter((f) => f.endsWith(".jpg"))
            .map((f) => join(dir, c, f)),
    );
}

function modelConfig(root: string, side: number): string {
    const path = join(root, `model-${side}.json`);
    writeFileSync(
        path,
        JSON.stringify({
            model: "bench",
            classes: CLASSES,
            imageShape: [3, side, side],
            split: { validation: 0.1, test: 0.1 },
            seed: 42,
            minAccuracy: 0.5,
            maxRegression: 0.01,
            confidenceThreshold: 0.8,
            drift: {},
        }),
    );
    return path;
}

const byteCopy: Bench = {
    name: "byte copy (cp -r), the floor",
    async run(ctx) {
        const out = ctx.output("byte-copy");
        const m = measure("cp", ["-r", ctx.corpus, out]);
        return { name: this.name, items: ctx.count, unit: "images", ...m };
    },
};

const preprocessRow = (
    name: string,
    side: number,
    which: "corpus" | "sized" | "quarter",
    malloc: "jemalloc" | "glibc" = "jemalloc",
    flags: readonly string[] = [],
): Bench => ({
    name,
    profilable: true,
    run: async (ctx, opts = {}) => {
        const out = ctx.output(
            `preprocess-${side}-${which}-${malloc}${flags.join("").replace(/\W/g, "")}${opts.nodeFlags ? "-profiled" : ""}`,
        );
        const input = ctx[which];
        const items = imagesUnder(input).length;
        const env = jobsEnv(malloc);
        const m = measure(
            process.execPath,
            [
                ...(opts.nodeFlags ?? []),
                ctx.bundle,
                "preprocess",
                "--input",
                input,
                "--output",
                out,
                "--config",
                modelConfig(ctx.root, side),
                ...flags,
            ],
            env,
        );
        const report = JSON.parse(require("fs").readFileSync(join(out, "metadata", "report.json"), "utf8"));
        return {
            name,
            items,
            unit: "images",
            ...m,
            note: `${mallocOf(env)}, ${workersNote(flags)}; as-is ${report.treatment["as-is"]}, resized ${report.treatment.resized}, upscaled ${report.treatment.upscaled}`,
        };
    },
});

/** Concurrency levels the decode-limit rows try, as multiples of the number of CPUs. */
const DECODE_LIMIT_LEVELS = [1, 2, 4, 8];

/** The fastest of DECODE_LIMIT_LEVELS at decoding every item to raw pixels through sharp, in this process. */
export async function fastestDecode<T>(
    items: readonly T[],
    encoded: (item: T) => Promise<Buffer> | Buffer,
): Promise<{ seconds: number; cpuSeconds: number; note: string }> {
    configureSharpForJobs();
    const tried: Array<{ concurrency: number; seconds: number; cpuSeconds: number }> = [];
    for (const level of DECODE_LIMIT_LEVELS) {
        const concurrency = level * cpus().length;
        const start = process.hrtime.bigint();
        const cpuStart = process.cpuUsage();
        for await (const _ of mapOrdered(items, concurrency, async (item) =>
            sharp(await encoded(item))
                .raw()
                .toBuffer(),
        )) {
            /* drain */
        }
        const cpu = process.cpuUsage(cpuStart);
        tried.push({ concurrency, seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    }
    const best = tried.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    return {
        seconds: best.seconds,
        cpuSeconds: best.cpuSeconds,
        note: `${mallocOf(process.env)}, ${best.concurrency} in flight (tried ${tried.map((t) => `${t.concurrency}: ${(items.length / t.seconds).toFixed(0)}/s`).join(", ")})`,
    };
}

/**
 * The ceiling: every file of a corpus read and decoded to raw pixels through sharp, in this process, at the
 * concurrency (of DECODE_LIMIT_LEVELS) that is fastest on the machine now. Each level decodes the whole corpus
 * once; the row reports the fastest, the note the others.
 */
const decodeLimit = (which: "corpus" | "sized"): Bench => ({
    name: `decode limit: sharp to raw pixels, in-process (${which === "corpus" ? "mixed corpus" : "sized corpus"})`,
    async run(ctx) {
        const files = imagesUnder(which === "corpus" ? ctx.corpus : ctx.sized);
        return { name: this.name, items: files.length, unit: "images", ...(await fastestDecode(files, (f) => readFile(f))) };
    },
});

function haveTool(command: string, args: string[], expect: RegExp): boolean {
    const r = spawnSync(command, args, { encoding: "utf8" });
    return r.status === 0 && expect.test(`${r.stdout}${r.stderr}`);
}

/** Installs a Debian package when the tool is missing; returns whether it is usable afterwards. */
function ensureTool(check: () => boolean, pkg: string): boolean {
    if (check()) return true;
    console.error(`installing ${pkg} with apt-get for the comparison row...`);
    const install = () =>
        spawnSync("apt-get", ["install", "-y", "--no-install-recommends", pkg], {
            encoding: "utf8",
            env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        });
    if (install().status !== 0) {
        spawnSync("apt-get", ["update"], { encoding: "utf8" });
        install();
    }
    return check();
}

/** Splits `files` into `parts` shares of about equal size (round robin, so every share has every size). */
function shares<T>(files: readonly T[], parts: number): T[][] {
    const out: T[][] = Array.from({ length: parts }, () => []);
    files.forEach((f, i) => out[i % parts].push(f));
    return out.filter((s) => s.length > 0);
}

/**
 * Runs one process per CPU at once, each over its share of the files (`argsFor(share, i)`), the way a batch
 * tool is given equal cores. Wall time is the last one's end; peak RSS is the sum of the processes' peaks.
 */
async function onEqualCores(command: string, files: readonly string[], argsFor: (share: string[], i: number) => string[]) {
    const { spawn } = require("child_process") as typeof import("child_process");
    const timed = existsSync("/usr/bin/time");
    const start = process.hrtime.bigint();
    const runs = shares(files, cpus().length).map(
        (share, i) =>
            new Promise<{ peakRssMb?: number; cpuSeconds?: number }>((done, fail) => {
                const args = argsFor(share, i);
                const child = spawn(timed ? "/usr/bin/time" : command, timed ? ["-v", command, ...args] : args, {
                    stdio: ["ignore", "ignore", "pipe"],
                });
                let stderr = "";
                child.stderr.on("data", (d) => (stderr += d));
                child.on("error", fail);
                child.on("close", (status) => {
                    if (status !== 0)
                        return fail(new Error(`${command} failed with status ${status}: ${stderr.split("\n").slice(0, 3).join(" / ")}`));
                    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
                    const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
                    const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
                    done({
                        peakRssMb: rss ? Number(rss[1]) / 1024 : undefined,
                        cpuSeconds: user && system ? Number(user[1]) + Number(system[1]) : undefined,
                    });
                });
            }),
    );
    const ends = await Promise.all(runs);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const sum = (key: "peakRssMb" | "cpuSeconds") =>
        ends.every((e) => e[key] !== undefined) ? ends.reduce((a, e) => a + e[key]!, 0) : undefined;
    return { seconds, peakRssMb: sum("peakRssMb"), cpuSeconds: sum("cpuSeconds") };
}

/** vipsthumbnail scaling (up or down) until both sides reach `side`, as preprocess scales, at its re-encoding quality; then cropping to it, which costs next to nothing. */
const vipsArgs = (side: number, out: string, files: readonly string[]) => [
    "--size",
    `${side}x${side}`,
    "--smartcrop",
    "centre",
    "-o",
    `${out}/%s.jpg[Q=${REENCODE_QUALITY}]`,
    ...files,
];

/** mogrify scaling until the shorter side is `side`, at preprocess's re-encoding quality. */
const magickArgs = (side: number, out: string, files: readonly string[]) => [
    "-path",
    out,
    "-resize",
    `${side}x${side}^`,
    "-quality",
    String(REENCODE_QUALITY),
    ...files,
];

const vipsResize = (side: number, name = `vipsthumbnail fill ${side}, one process per CPU`): Bench => ({
    name,
    run: async (ctx) => {
        if (!ensureTool(() => haveTool("vipsthumbnail", ["--vips-version"], /libvips/), "libvips-tools"))
            return { name, skipped: "vipsthumbnail is not installed and apt-get could not install libvips-tools" };
        const out = ctx.output(`vips-${side}`);
        mkdirSync(out, { recursive: true });
        const files = imagesUnder(ctx.corpus);
        const m = await onEqualCores("vipsthumbnail", files, (share) => vipsArgs(side, out, share));
        return { name, items: files.length, unit: "images", ...m, note: `${cpus().length} processes, shorter side to ${side}, cropped` };
    },
});

const magickResize = (side: number, name = `ImageMagick mogrify fill ${side}, one process per CPU`): Bench => ({
    name,
    run: async (ctx) => {
        if (!ensureTool(() => haveTool("mogrify", ["-version"], /ImageMagick/), "imagemagick"))
            return { name, skipped: "mogrify (ImageMagick) is not installed and apt-get could not install imagemagick" };
        const out = ctx.output(`magick-${side}`);
        mkdirSync(out, { recursive: true });
        const files = imagesUnder(ctx.corpus);
        const m = await onEqualCores("mogrify", files, (share) => magickArgs(side, out, share));
        return { name, items: files.length, unit: "images", ...m, note: `${cpus().length} processes, shorter side to ${side}` };
    },
});

/** Wall time of a project command (the offline plan, the test suite), as a newcomer runs it. */
const projectCommand = (name: string, command: string, args: string[]): Bench => ({
    name,
    async run() {
        const m = measure(command, args);
        if (m.result.status !== 0)
            throw new Error(
                `${command} ${args.join(" ")} exited ${m.result.status}: ${(m.result.stderr || "").split("\n").slice(-3).join(" ")}`,
            );
        return { name, items: 1, unit: "run", seconds: m.seconds, peakRssMb: m.peakRssMb };
    },
});

const sizedLimit = decodeLimit("sized");
const mixedLimit = decodeLimit("corpus");
const noResize = preprocessRow(`preprocess, no resize (sized corpus, ${MODEL_SIDE} px model)`, MODEL_SIDE, "sized");
const noResizeWorkers = preprocessRow(
    `preprocess, no resize (sized corpus, ${MODEL_SIDE} px model), on ${cpus().length} worker threads (--workers ${cpus().length})`,
    MODEL_SIDE,
    "sized",
    "jemalloc",
    ["--workers", String(cpus().length)],
);
const noResizeQuarter = preprocessRow("preprocess, no resize, quarter of the sized corpus", MODEL_SIDE, "quarter");
const withResize: Bench = {
    ...preprocessRow(`preprocess, resize to ${MODEL_SIDE} (mixed corpus)`, MODEL_SIDE, "corpus"),
    explain: stageCosts,
};
const withResizeGlibc = preprocessRow(`preprocess, resize to ${MODEL_SIDE} (mixed corpus), glibc malloc`, MODEL_SIDE, "corpus", "glibc");
const vips = vipsResize(MODEL_SIDE);
const magick = magickResize(MODEL_SIDE);
const monitorEveryImage = MONITOR_BENCHES.find((b) => /every image decoded \(/.test(b.name))!;
const monitorEveryImageWorkers = MONITOR_BENCHES.find((b) => /every image decoded, on \d+ worker threads/.test(b.name))!;
const monitorDecodeLimit = MONITOR_BENCHES.find((b) => /^decode limit/.test(b.name))!;

/** What a job run with these flags runs its per-image work on. */
export function workersNote(flags: readonly string[]): string {
    const i = flags.indexOf("--workers");
    const n = i >= 0 ? Number(flags[i + 1]) : defaultWorkerCount();
    return n === 0 ? "main thread only" : `${n} worker threads`;
}

/** The rows, in table order. */
export const BENCHES: Bench[] = [
    byteCopy,
    sizedLimit,
    noResize,
    noResizeWorkers,
    noResizeQuarter,
    mixedLimit,
    withResize,
    withResizeGlibc,
    vips,
    magick,
    ...MONITOR_BENCHES,
    ...["staging", "prod"].map((stack) =>
        projectCommand(`npm run plan -- ${stack}`, "npm", [
            "run",
            "--silent",
            "plan",
            "--",
            stack,
            "--out",
            join(ROOT, ".bench", "plan", stack),
        ]),
    ),
    ...(process.env.BENCH_SKIP_TESTS ? [] : [projectCommand("npm test (mocha)", "npm", ["test", "--silent"])]),
];

/** The speed goals, as ratios of rows measured in the same run (a shared machine's load moves both sides). */
const GOALS: Array<{ readonly goal: string; readonly of: Bench; readonly to?: Bench; readonly min: number; readonly unit?: string }> = [
    { goal: "preprocess without resizing / decode limit (sized corpus)", of: noResize, to: sizedLimit, min: 0.7 },
    { goal: "preprocess with resizing / vipsthumbnail on equal cores", of: withResize, to: vips, min: 1.0 },
    { goal: "preprocess with resizing / ImageMagick on equal cores", of: withResize, to: magick, min: 1.5 },
    { goal: "monitor, every image decoded", of: monitorEveryImage, min: 2000, unit: "records/s" },
];

/** Prints each goal's value and verdict (and the ratios that explain them); returns the goals not met. */
function printGoals(results: ReadonlyMap<Bench, BenchRow | SkippedRow>): Array<(typeof GOALS)[number]> {
    const rate = (b: Bench) => {
        const r = results.get(b);
        return r && !("skipped" in r) ? r.items / r.seconds : undefined;
    };
    const notMet: Array<(typeof GOALS)[number]> = [];
    console.log("");
    for (const g of GOALS) {
        const value = g.to ? (rate(g.of) ?? NaN) / (rate(g.to) ?? NaN) : (rate(g.of) ?? NaN);
        // One more decimal where rounding would reach the goal (0.697x is not 0.70x).
        const usual = g.to ? 2 : 0;
        const digits = value < g.min && value.toFixed(usual) === g.min.toFixed(usual) ? usual + 1 : usual;
        const shown = g.to ? `${value.toFixed(digits)}x` : `${value.toFixed(digits)} ${g.unit}`;
        const verdict = Number.isNaN(value) ? "not measured" : value >= g.min ? "met" : "NOT met";
        if (verdict === "NOT met") notMet.push(g);
        console.log(`${g.goal}: ${shown} (goal >= ${g.to ? `${g.min}x` : `${g.min} ${g.unit}`}): ${verdict}`);
    }
    // Not goals: what worker threads would change, each row against the job's default on this machine; and how far
    // the monitor is from decoding its images and nothing else.
    for (const [what, row, against] of [
        [`preprocess, no resize, ${cpus().length} worker threads / the default (${workersNote([])})`, noResizeWorkers, noResize],
        [
            `monitor, every image decoded, ${cpus().length} worker threads / the default (${workersNote([])})`,
            monitorEveryImageWorkers,
            monitorEveryImage,
        ],
        ["monitor, every image decoded / decode limit of its captured images", monitorEveryImage, monitorDecodeLimit],
    ] as const) {
        const ratio = (rate(row) ?? NaN) / (rate(against) ?? NaN);
        if (!Number.isNaN(ratio)) console.log(`${what}: ${ratio.toFixed(2)}x`);
    }
    const full = results.get(noResize);
    const quarter = results.get(noResizeQuarter);
    if (full && quarter && !("skipped" in full) && !("skipped" in quarter) && full.peakRssMb && quarter.peakRssMb) {
        const growth = full.peakRssMb / quarter.peakRssMb - 1;
        console.log(
            `peak RSS, full sized corpus vs a quarter: ${full.peakRssMb.toFixed(0)} vs ${quarter.peakRssMb.toFixed(0)} MB ` +
                `(${(growth * 100).toFixed(1)}%, goal within 10%): ${Math.abs(growth) <= 0.1 ? "met" : "NOT met"}`,
        );
    }
    return notMet;
}

/**
 * Runs each row whose goal is not met once more under `node --cpu-prof` and prints where its time goes: the
 * process's CPU time per item, how much of it the JavaScript threads account for (the rest is libvips's and the
 * runtime's own threads, which the profiler does not sample), and each thread's largest entries.
 */
async function printWhereTheTimeGoes(rows: readonly Bench[], ctx: BenchContext): Promise<void> {
    const unique = [...new Set(rows)].filter((b) => b.profilable);
    if (unique.length === 0) return;
    console.log(
        "\nWhere the time goes in the rows whose goal is not met (each job run once more under node --cpu-prof; " +
            "shares are of each thread's samples, self time):",
    );
    for (const [i, bench] of unique.entries()) {
        const dir = ctx.output(`cpu-profile-${i}`);
        mkdirSync(dir, { recursive: true });
        let row: BenchRow | SkippedRow;
        try {
            row = await bench.run(ctx, { nodeFlags: ["--cpu-prof", "--cpu-prof-dir", dir] });
        } catch (e) {
            row = { name: bench.name, skipped: (e as Error).message.split("\n")[0] };
        }
        if ("skipped" in row) {
            console.log(`- ${bench.name}: not profiled: ${row.skipped}`);
            continue;
        }
        const threads = summariseProfiles(dir, ROOT);
        const busy = threads.reduce((a, t) => a + t.seconds * t.busyShare, 0);
        const unit = row.unit.replace(/s$/, "");
        const cpu =
            row.cpuSeconds === undefined
                ? "CPU time not measured"
                : `${row.cpuSeconds.toFixed(1)} s CPU, libvips's threads included (${((row.cpuSeconds * 1000) / row.items).toFixed(2)} ms per ${unit})`;
        // The profiler samples by the clock: a thread waiting for a core on a loaded machine still counts as busy.
        console.log(
            `- ${bench.name}: ${row.items} ${row.unit} in ${row.seconds.toFixed(1)} s profiled; ${cpu}; ` +
                `the JavaScript threads busy ${busy.toFixed(1)} s of the clock`,
        );
        for (const t of threads) console.log(`  - ${formatThread(t)}`);
        for (const line of (await bench.explain?.(ctx)) ?? []) console.log(`  ${line}`);
    }
}

/** Images of each size the stage table measures. */
const STAGE_SAMPLE = 100;

/**
 * CPU time an image of each stage of preprocess's work on the mixed corpus, by image size, next to the peers'
 * on the same files: one image at a time, preprocess's stages in this process (the code the job runs), each peer
 * as one process over the size's files. libvips does its work on threads of its own, which a CPU profile of the
 * JavaScript threads does not sample; this says which of its operations the time goes to.
 */
async function stageCosts(ctx: BenchContext): Promise<string[]> {
    configureSharpForJobs();
    const bySize = new Map<string, string[]>();
    for (const f of imagesUnder(ctx.corpus)) {
        const { width, height } = await sharp(f).metadata();
        const key = `${width}x${height}`;
        const files = bySize.get(key) ?? [];
        if (files.length < STAGE_SAMPLE) bySize.set(key, [...files, f]);
    }
    const cpuMs = () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
    };
    const shape = [3, MODEL_SIDE, MODEL_SIDE] as const;
    const rows: string[][] = [];
    for (const [size, files] of [...bySize].sort(([a], [b]) => Number(a.split("x")[0]) - Number(b.split("x")[0]))) {
        const bytes = await Promise.all(files.map((f) => readFile(f)));
        let decode = 0,
            measured = 0,
            copy = 0;
        let plan = "";
        for (const b of bytes) {
            let t = cpuMs();
            await sharp(b).raw().toBuffer();
            decode += cpuMs() - t;
            t = cpuMs();
            const m = await measureImage(b, shape);
            measured += cpuMs() - t;
            t = cpuMs();
            if (m.plan.treatment !== "as-is") await trainingJpegOf(m);
            copy += cpuMs() - t;
            plan = `${m.plan.treatment} to ${m.plan.width}x${m.plan.height}`;
        }
        const peer = (command: string, args: string[]) => {
            const m = measure(command, args);
            return m.cpuSeconds === undefined ? "n/a" : ((m.cpuSeconds * 1000) / files.length).toFixed(2);
        };
        const out = ctx.output(`stages-${size}`);
        mkdirSync(out, { recursive: true });
        const vipsCpu = haveTool("vipsthumbnail", ["--vips-version"], /libvips/)
            ? peer("vipsthumbnail", vipsArgs(MODEL_SIDE, out, files))
            : "n/a";
        const magickCpu = haveTool("mogrify", ["-version"], /ImageMagick/) ? peer("mogrify", magickArgs(MODEL_SIDE, out, files)) : "n/a";
        const n = files.length;
        rows.push([
            size,
            plan,
            (decode / n).toFixed(2),
            (measured / n).toFixed(2),
            (copy / n).toFixed(2),
            ((measured + copy) / n).toFixed(2),
            vipsCpu,
            magickCpu,
        ]);
    }
    const header = [
        "size",
        "preprocess plan",
        "decode only",
        "measure (decode, shrink, statistics)",
        "training JPEG (enlarge, encode)",
        "preprocess",
        "vipsthumbnail",
        "mogrify",
    ];
    return [
        `CPU ms an image by size (${STAGE_SAMPLE} of each, one at a time; preprocess's stages in-process, each peer as one process over the same files):`,
        ...markdownTable(header, rows),
    ];
}

/** A Markdown table with its columns padded to their widest cell. */
function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
    return [fmt(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(fmt)];
}

function printTable(rows: Array<BenchRow | SkippedRow>): void {
    const header = ["", "items", "seconds", "items/s", "CPU ms/item", "peak RSS MB", "note"];
    const lines = rows.map((r) =>
        "skipped" in r
            ? [r.name, "-", "-", "-", "-", "-", `skipped: ${r.skipped}`]
            : [
                  r.name,
                  `${r.items} ${r.unit}`,
                  r.seconds.toFixed(2),
                  r.unit === "run" ? "-" : (r.items / r.seconds).toFixed(0),
                  r.cpuSeconds === undefined || r.unit === "run" ? "n/a" : ((r.cpuSeconds * 1000) / r.items).toFixed(2),
                  r.peakRssMb?.toFixed(0) ?? "n/a",
                  r.note ?? "",
              ],
    );
    for (const line of markdownTable(header, lines)) console.log(line);
}

async function main(): Promise<void> {
    // The whole run with jemalloc preloaded, as the jobs image runs: the in-process decode limit, the jobs and the
    // command-line peers alike (the glibc row takes it out for itself).
    if (!process.env.LD_PRELOAD) {
        const env = jobsEnv();
        if (env.LD_PRELOAD) {
            const child = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", __filename], { stdio: "inherit", env });
            process.exitCode = child.status ?? 1;
            return;
        }
    }
    const count = Number(process.env.BENCH_IMAGES ?? 5000);
    if (!Number.isInteger(count) || count < 100)
        throw new Error(`BENCH_IMAGES must be a whole number >= 100, got ${process.env.BENCH_IMAGES}`);
    const root = join(ROOT, ".bench");
    const corpus = join(root, `corpus-${count}`);
    const sized = join(root, `sized-${count}`);
    const quarter = join(root, `sized-quarter-${count}`);
    await generateCorpus(corpus, count, SIZES);
    await generateCorpus(sized, count, SIZED);
    linkQuarter(sized, quarter, count);
    const bundle = buildJobsBundle(join(root, "dist", "main.js"));
    const outputs = join(root, "out");
    rmSync(outputs, { recursive: true, force: true });
    const ctx: BenchContext = {
        root,
        corpus,
        sized,
        quarter,
        count,
        bundle,
        output: (name) => join(outputs, name),
    };
    mkdirSync(outputs, { recursive: true });
    const results = new Map<Bench, BenchRow | SkippedRow>();
    const loadBefore = loadavg();
    for (const bench of BENCHES) {
        try {
            results.set(bench, await bench.run(ctx));
        } catch (e) {
            results.set(bench, { name: bench.name, skipped: (e as Error).message.split("\n")[0] });
        }
    }
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
    console.log(
        `\n${count} JPEGs mixed (${SIZES.map(([w, h]) => `${w}x${h}`).join(", ")}) and ${count} sized ` +
            `(${SIZED.map(([w, h]) => `${w}x${h}`).join(", ")}); ${cpus().length} CPUs, node ${process.version}, sharp ` +
            `${sharp.versions.sharp} (libvips ${sharp.versions.vips}), ${mallocOf(process.env)}; load average ${load(loadBefore)} before, ${load(loadavg())} after\n`,
    );
    printTable([...results.values()]);
    const notMet = printGoals(results);
    await printWhereTheTimeGoes(
        notMet.map((g) => g.of),
        ctx,
    );
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e);
        process.exitCode = 1;
    });
}
