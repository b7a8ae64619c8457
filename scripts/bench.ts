/**
 * `npm run bench`: throughput and peak memory of the data jobs on a generated corpus, next to the floor (a plain
 * byte copy of the same files) and a command-line image tool doing the same decode/resize.
 *
 * The corpus (BENCH_IMAGES JPEGs, default 5000, mixed sizes, 10 classes) is generated once under .bench/ and
 * reused. Every measured command runs as a child process so its peak RSS is its own. Timings are reported,
 * never asserted. Rows: preprocess images/s, monitor records/s (scripts/bench-monitor.ts), each next to its
 * floor; `plan` wall time per stack; `npm test` wall time (BENCH_SKIP_TESTS=1 leaves it out).
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "fs";
import { cpus } from "os";
import { join, resolve } from "path";
import sharp from "sharp";
import { readFile } from "fs/promises";
import { imageProperties } from "../jobs/lib/image-properties";
import { mapOrdered } from "../jobs/lib/pool";
import { MONITOR_BENCHES } from "./bench-monitor";

export interface BenchContext {
    readonly root: string;
    /** Folder-per-class corpus of `count` JPEGs. */
    readonly corpus: string;
    /** The first quarter of the corpus (hard links), to show whether memory grows with the number of images. */
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
    readonly peakRssMb?: number;
    readonly note?: string;
}

export interface SkippedRow {
    readonly name: string;
    readonly skipped: string;
}

/** One row of the table: its name and how to measure it (or say why it cannot be measured here). */
export interface Bench {
    readonly name: string;
    run(ctx: BenchContext): Promise<BenchRow | SkippedRow>;
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

/** Runs a command under /usr/bin/time -v (when present) and returns wall time and peak RSS. */
export function measure(
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
): { seconds: number; peakRssMb?: number; result: SpawnSyncReturns<string> } {
    const timed = existsSync("/usr/bin/time");
    const start = process.hrtime.bigint();
    const result = spawnSync(timed ? "/usr/bin/time" : command, timed ? ["-v", command, ...args] : args, {
        encoding: "utf8",
        env,
        maxBuffer: 64 << 20,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr ?? "");
    if (result.status !== 0) {
        const output = (result.stderr ?? "")
            .split("\n")
            .filter((l) => !/^\s|^Command (exited|being timed)/.test(l))
            .slice(0, 3)
            .join(" / ");
        throw new Error(`${command} failed with status ${result.status}: ${output}`);
    }
    return { seconds, peakRssMb: rss ? Number(rss[1]) / 1024 : undefined, result };
}

async function generateCorpus(corpus: string, count: number): Promise<void> {
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
                const [w, h] = SIZES[i % SIZES.length];
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

const preprocessRow = (name: string, side: number, which: "corpus" | "quarter"): Bench => ({
    name,
    run: async (ctx) => {
        const out = ctx.output(`preprocess-${side}-${which}`);
        const input = which === "corpus" ? ctx.corpus : ctx.quarter;
        const items = which === "corpus" ? ctx.count : imagesUnder(ctx.quarter).length;
        const m = measure(
            process.execPath,
            [ctx.bundle, "preprocess", "--input", input, "--output", out, "--config", modelConfig(ctx.root, side)],
            { ...process.env, NODE_PATH: join(ROOT, "node_modules") },
        );
        const report = JSON.parse(require("fs").readFileSync(join(out, "metadata", "report.json"), "utf8"));
        return { name, items, unit: "images", ...m, note: `as-is ${report.treatment["as-is"]}, resized ${report.treatment.resized}` };
    },
});

/** The decode every image must go through (the shared measuring function), without any of preprocess' I/O. */
const decodeOnly: Bench = {
    name: "decode + measure only (imageProperties, in-process)",
    async run(ctx) {
        const files = imagesUnder(ctx.corpus);
        sharp.cache(false);
        const start = process.hrtime.bigint();
        for await (const _ of mapOrdered(files, cpus().length, async (f) => imageProperties(await readFile(f)))) {
            /* drain */
        }
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        return {
            name: this.name,
            items: files.length,
            unit: "images",
            seconds,
            note: "what preprocess cannot skip; no RSS (shares the bench process)",
        };
    },
};

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

const vipsResize = (side: number, name = `vipsthumbnail resize to ${side} (libvips CLI)`): Bench => ({
    name,
    run: async (ctx) => {
        if (!ensureTool(() => haveTool("vipsthumbnail", ["--vips-version"], /libvips/), "libvips-tools"))
            return { name, skipped: "vipsthumbnail is not installed and apt-get could not install libvips-tools" };
        const out = ctx.output(`vips-${side}`);
        mkdirSync(out, { recursive: true });
        const files = imagesUnder(ctx.corpus);
        // Shrink only, shorter side to `side` (like preprocess); one process for all files, as a batch tool is used.
        const m = measure("vipsthumbnail", ["--size", `${side}x${side}>`, "--smartcrop", "none", "-o", `${out}/%s.jpg[Q=90]`, ...files]);
        return { name, items: files.length, unit: "images", ...m, note: "fit inside, single process" };
    },
});

const magickResize = (side: number, name = `ImageMagick mogrify resize to ${side}`): Bench => ({
    name,
    run: async (ctx) => {
        if (!ensureTool(() => haveTool("mogrify", ["-version"], /ImageMagick/), "imagemagick"))
            return { name, skipped: "mogrify (ImageMagick) is not installed and apt-get could not install imagemagick" };
        const out = ctx.output(`magick-${side}`);
        mkdirSync(out, { recursive: true });
        const files = imagesUnder(ctx.corpus);
        const m = measure("mogrify", ["-path", out, "-resize", `${side}x${side}^>`, "-quality", "90", ...files]);
        return { name, items: files.length, unit: "images", ...m, note: "shorter side, shrink only" };
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

/** The rows, in table order. */
export const BENCHES: Bench[] = [
    byteCopy,
    decodeOnly,
    preprocessRow("preprocess, no resize needed (1024 px model)", 1024, "corpus"),
    preprocessRow("preprocess, no resize, quarter of the corpus", 1024, "quarter"),
    preprocessRow("preprocess, resize to 224 (224 px model)", 224, "corpus"),
    vipsResize(224),
    magickResize(224),
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
    ...(process.env.BENCH_SKIP_TESTS ? [] : [projectCommand("npm test (type-check + mocha)", "npm", ["test", "--silent"])]),
];

function printTable(rows: Array<BenchRow | SkippedRow>): void {
    const header = ["", "items", "seconds", "items/s", "peak RSS MB", "note"];
    const lines = rows.map((r) =>
        "skipped" in r
            ? [r.name, "-", "-", "-", "-", `skipped: ${r.skipped}`]
            : [
                  r.name,
                  `${r.items} ${r.unit}`,
                  r.seconds.toFixed(2),
                  r.unit === "run" ? "-" : (r.items / r.seconds).toFixed(0),
                  r.peakRssMb?.toFixed(0) ?? "n/a",
                  r.note ?? "",
              ],
    );
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
    console.log(fmt(header));
    console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
    for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
    const count = Number(process.env.BENCH_IMAGES ?? 5000);
    if (!Number.isInteger(count) || count < 100)
        throw new Error(`BENCH_IMAGES must be a whole number >= 100, got ${process.env.BENCH_IMAGES}`);
    const root = join(ROOT, ".bench");
    const corpus = join(root, `corpus-${count}`);
    const quarter = join(root, `quarter-${count}`);
    await generateCorpus(corpus, count);
    linkQuarter(corpus, quarter, count);
    const bundle = buildJobsBundle(join(root, "dist", "main.js"));
    const outputs = join(root, "out");
    rmSync(outputs, { recursive: true, force: true });
    const ctx: BenchContext = {
        root,
        corpus,
        quarter,
        count,
        bundle,
        output: (name) => join(outputs, name),
    };
    mkdirSync(outputs, { recursive: true });
    const rows = [];
    for (const bench of BENCHES) {
        try {
            rows.push(await bench.run(ctx));
        } catch (e) {
            rows.push({ name: bench.name, skipped: (e as Error).message.split("\n")[0] });
        }
    }
    console.log(`\n${count} JPEGs (${SIZES.map(([w, h]) => `${w}x${h}`).join(", ")}), ${cpus().length} CPUs, node ${process.version}\n`);
    printTable(rows);
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e);
        process.exitCode = 1;
    });
}
