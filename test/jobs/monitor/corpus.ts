import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import sharp from "sharp";
import { parsePlatformConfig } from "../../../infra/config";
import { jobModelConfig } from "../../../infra/job-contract";
import { MonitoringBaseline, PropertyAccumulator } from "../../../jobs/lib/baseline";
import { addToHistogram, CONFIDENCE_BINS, emptyHistogram } from "../../../jobs/lib/histogram";
import { contentTypeOf, imageProperties, MEASUREMENT_VERSION } from "../../../jobs/lib/image-properties";
import { MonitorThresholds, thresholdsOf } from "../../../jobs/monitor/settings";
import { seededRandom } from "../../../jobs/lib/split";

/**
 * A small synthetic image-classification world for monitor tests: real JPEG/PNG images made with sharp (each
 * class a colour, with per-image brightness and noise), a simulated model answering class probabilities, and
 * writers for SageMaker capture files. The baseline is built from the same generator with the shared
 * measuring code, so "clean" windows really are drawn from the baseline's distribution.
 */

export const CLASSES = ["red-sign", "green-sign", "blue-sign"];
const CLASS_COLOURS: Array<[number, number, number]> = [
    [190, 60, 50],
    [60, 170, 70],
    [50, 80, 190],
];

export interface Scenario {
    /** Share of each true class. Defaults to equal. */
    readonly classMix?: readonly number[];
    /** Added to every pixel. Defaults to 0. */
    readonly brightnessShift?: number;
    readonly width?: number;
    readonly height?: number;
    readonly format?: "jpeg" | "png";
    /** Range of the top-class confidence. Defaults to [0.82, 0.99]. */
    readonly confidence?: readonly [number, number];
    /** Share of answers that name the true class. Defaults to 0.92. */
    readonly accuracy?: number;
}

/** The project's seeded PRNG, so every run builds the same corpus. */
export const rng = seededRandom;

function pick(random: () => number, weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let u = random() * total;
    for (let i = 0; i < weights.length; i++) {
        u -= weights[i];
        if (u < 0) return i;
    }
    return weights.length - 1;
}

export interface Sample {
    readonly image: Buffer;
    readonly format: "jpeg" | "png";
    readonly trueClass: number;
    readonly probabilities: number[];
}

export async function sample(random: () => number, s: Scenario = {}): Promise<Sample> {
    const trueClass = pick(random, s.classMix ?? CLASSES.map(() => 1));
    const w = s.width ?? 64,
        h = s.height ?? 64;
    const level = (random() - 0.5) * 50 + (s.brightnessShift ?? 0);
    const [r, g, b] = CLASS_COLOURS[trueClass];
    const raw = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) {
        const noise = (random() - 0.5) * 60;
        raw[i * 3] = clamp(r + level + noise);
        raw[i * 3 + 1] = clamp(g + level + noise);
        raw[i * 3 + 2] = clamp(b + level + noise);
    }
    const format = s.format ?? "jpeg";
    const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
    const image = format === "png" ? await img.png().toBuffer() : await img.jpeg({ quality: 85 }).toBuffer();
    const [lo, hi] = s.confidence ?? [0.82, 0.99];
    const top = lo + (hi - lo) * random();
    const predicted =
        random() < (s.accuracy ?? 0.92) ? trueClass : (trueClass + 1 + Math.floor(random() * (CLASSES.length - 1))) % CLASSES.length;
    const rest = (1 - top) / (CLASSES.length - 1);
    const probabilities = CLASSES.map((_, i) => (i === predicted ? top : rest));
    return { image, format, trueClass, probabilities };
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

/** The image shape of the model the generated baselines are for (their statistics are measured for it). */
export const IMAGE_SHAPE = [3, 32, 32] as const;

/** A monitoring_baseline.json built the way evaluate builds it: shared measurements on the shared bins. */
export async function buildBaseline(count: number, seed = 1): Promise<MonitoringBaseline> {
    const random = rng(seed);
    const props = new PropertyAccumulator();
    const classCounts = CLASSES.map(() => 0);
    const predicted = CLASSES.map(() => 0);
    const contentTypes: Record<string, number> = {};
    const confidence = emptyHistogram(CONFIDENCE_BINS);
    let low = 0,
        correct = 0;
    for (let i = 0; i < count; i++) {
        const s = await sample(random);
        const p = await imageProperties(s.image, IMAGE_SHAPE);
        props.add(p);
        classCounts[s.trueClass]++;
        const type = contentTypeOf(p.format);
        contentTypes[type] = (contentTypes[type] ?? 0) + 1;
        const top = Math.max(...s.probabilities);
        const idx = s.probabilities.indexOf(top);
        predicted[idx]++;
        addToHistogram(confidence, top);
        if (top < 0.8) low++;
        if (idx === s.trueClass) correct++;
    }
    const share = (xs: number[]) => Object.fromEntries(CLASSES.map((c, i) => [c, xs[i] / count]));
    return {
        version: MEASUREMENT_VERSION,
        imageShape: IMAGE_SHAPE,
        classes: CLASSES,
        imageCount: count,
        classCounts: Object.fromEntries(CLASSES.map((c, i) => [c, classCounts[i]])),
        classDistribution: share(classCounts),
        contentTypes,
        properties: props.summary(),
        confidence,
        lowConfidenceRate: low / count,
        confidenceThreshold: 0.8,
        predictedClassDistribution: share(predicted),
        quality: { accuracy: correct / count, macroF1: correct / count },
    };
}

export interface CaptureOptions {
    readonly endpoint: string;
    readonly variant?: string;
    /** First record's time; records are spread over `spreadMs` after it. */
    readonly start: Date;
    readonly spreadMs?: number;
    /** Encode every other output as BASE64 instead of JSON. */
    readonly mixOutputEncodings?: boolean;
    readonly file?: string;
}

/** A capture line as SageMaker writes it. */
export function captureLine(
    s: Pick<Sample, "image" | "format" | "probabilities">,
    time: Date,
    eventId: string,
    opts: { base64Output?: boolean; inferenceId?: string } = {},
): string {
    const outputText = JSON.stringify(s.probabilities);
    return JSON.stringify({
        captureData: {
            endpointInput: {
                observedContentType: contentTypeOf(s.format),
                mode: "INPUT",
                data: s.image.toString("base64"),
                encoding: "BASE64",
            },
            endpointOutput: opts.base64Output
                ? {
                      observedContentType: "application/json",
                      mode: "OUTPUT",
                      data: Buffer.from(outputText).toString("base64"),
                      encoding: "BASE64",
                  }
                : { observedContentType: "application/json", mode: "OUTPUT", data: outputText, encoding: "JSON" },
        },
        eventMetadata: { eventId, inferenceTime: time.toISOString(), ...(opts.inferenceId ? { inferenceId: opts.inferenceId } : {}) },
        eventVersion: "0",
    });
}

/** The folder SageMaker puts a capture file for `time` in: `<endpoint>/<variant>/yyyy/mm/dd/hh`. */
export function hourDir(root: string, endpoint: string, variant: string, time: Date): string {
    const p = (n: number) => String(n).padStart(2, "0");
    return join(
        root,
        endpoint,
        variant,
        String(time.getUTCFullYear()),
        p(time.getUTCMonth() + 1),
        p(time.getUTCDate()),
        p(time.getUTCHours()),
    );
}

/** Writes `count` records of a scenario as one capture file; returns the samples for ground truth. */
export async function writeCapture(root: string, count: number, scenario: Scenario, opts: CaptureOptions, seed: number): Promise<Sample[]> {
    const random = rng(seed);
    const spread = opts.spreadMs ?? 50 * 60_000;
    const lines: string[] = [];
    const samples: Sample[] = [];
    for (let i = 0; i < count; i++) {
        const s = await sample(random, scenario);
        samples.push(s);
        const time = new Date(opts.start.getTime() + Math.floor((i / Math.max(1, count)) * spread));
        lines.push(
            captureLine(s, time, `${opts.file ?? "e"}-${seed}-${i}`, {
                base64Output: opts.mixOutputEncodings && i % 2 === 1,
                inferenceId: `inf-${seed}-${i}`,
            }),
        );
    }
    writeLines(root, opts.endpoint, opts.variant ?? "AllTraffic", opts.start, opts.file ?? `capture-${seed}.jsonl`, lines);
    return samples;
}

export function writeLines(root: string, endpoint: string, variant: string, time: Date, file: string, lines: readonly string[]): void {
    const dir = hourDir(root, endpoint, variant, time);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, file), lines.join("\n") + "\n");
}

/** The thresholds a model gets when its stack file sets none: the schema's defaults. */
export function defaultThresholds(): MonitorThresholds {
    const config = parsePlatformConfig({
        environment: "staging",
        region: "us-east-1",
        models: { signs: { classes: ["a", "b"], imageShape: [3, 32, 32], quality: { minAccuracy: 0.5 } } },
    });
    return thresholdsOf(jobModelConfig("signs", config.models.signs));
}
