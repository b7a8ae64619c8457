import { readFileSync } from "fs";
import { mkdtemp, rm } from "fs/promises";
import { cpus } from "os";
import { dirname, join, resolve } from "path";
import { DATASET_ENV, JobModelConfig, PROCESSING_PATHS } from "../../infra/job-contract";
import { intFlag, parseFlags, stringFlag } from "../lib/args";
import { ensureOutputsAbsent, ensureWritableFolders } from "../lib/atomic";
import { DatasetBaseline } from "../lib/baseline";
import { configureSharpForJobs, MEASUREMENT_VERSION } from "../lib/image-properties";
import { loadJobModelConfig } from "../lib/job-config";
import { Split, stratifiedSplit } from "../lib/split";
import { defaultWorkerCount, IN_PROCESS, TaskRunner, WorkerPool } from "../lib/workers";
import { Inventory, takeInventory } from "./inventory";
import {
    DatasetSummary,
    DEFAULT_LAYOUTS,
    KeptImage,
    OUTPUT_FILES,
    outputFiles,
    OutputLayouts,
    PreprocessOutputs,
    PreprocessReport,
    writeMetadata,
    writeSplit,
} from "./outputs";
import { imageFoldersLayout } from "./image-folders";
import { Selection, selectImages, stagedJpeg } from "./selection";

export type { PreprocessOutputs, PreprocessReport } from "./outputs";

const paths = PROCESSING_PATHS.preprocess;

/**
 * Images in flight per CPU. sharp decodes each image on one libuv thread with one libvips thread (its default on
 * glibc), and most of an image's time is spent outside the pixels (reading the file, building the pipeline), so
 * one image per CPU leaves the CPUs idle between images; `npm run bench` finds 4 per CPU the fastest.
 */
const IMAGES_PER_CPU = 4;
const defaultConcurrency = () => IMAGES_PER_CPU * cpus().length;

export const USAGE = `usage: preprocess [flags]

Decodes every image under the input folder (class = the folder an image is in), drops corrupt files and
duplicates, leaves out images filed under two classes (label conflicts), splits each class into
train/validation/test and writes MXNet RecordIO, the test images, the class map, the dataset baseline and a
report of what was dropped and why.

  --input DIR          images, one folder per class (default ${paths.raw})
  --labels FILE        Label Studio JSON export that gives each file's class instead of its folder
  --output DIR         write DIR/train, DIR/validation, DIR/test and DIR/metadata
  --train DIR, --validation DIR, --test DIR, --metadata DIR
                       each output on its own (defaults: ${paths.train}, ...)
  --config FILE        model.json (default ${PROCESSING_PATHS.config}/model.json)
  --stack NAME --model NAME
                       read the model's settings from Pulumi.<stack>.yaml instead
  --concurrency N      images decoded at once (default: ${IMAGES_PER_CPU} per CPU)
  --workers N          worker threads that decode and measure them (default: one per CPU; 0: none, all on the
                       main thread)`;

export interface PreprocessOptions {
    readonly input: string;
    /** Label Studio export; without it an image's class is the name of its folder. */
    readonly labels?: string;
    readonly outputs: PreprocessOutputs;
    readonly config: JobModelConfig;
    readonly concurrency?: number;
    /** Where images are decoded and measured: worker threads (a WorkerPool, which the caller closes) or IN_PROCESS, the default. */
    readonly workers?: TaskRunner;
    /** The manifest the pipeline's Dataset step resolved (from the environment it sets), recorded in dataset.json. */
    readonly manifest?: { readonly key: string; readonly sha256: string };
    /** How the splits are written. Defaults to RecordIO for train/validation and JPEG files for test. */
    readonly layouts?: OutputLayouts;
}

export async function main(argv: string[]): Promise<void> {
    const flags = parseFlags(
        argv,
        {
            input: { type: "string" },
            labels: { type: "string" },
            output: { type: "string" },
            train: { type: "string" },
            validation: { type: "string" },
            test: { type: "string" },
            metadata: { type: "string" },
            config: { type: "string" },
            stack: { type: "string" },
            model: { type: "string" },
            concurrency: { type: "string" },
            workers: { type: "string" },
        },
        USAGE,
        {},
    );
    if (!flags) return;
    const output = stringFlag(flags, "output");
    const outputOf = (name: keyof PreprocessOutputs) => stringFlag(flags, name) ?? (output ? join(output, name) : paths[name]);
    const config = loadJobModelConfig({
        config: stringFlag(flags, "config"),
        stack: stringFlag(flags, "stack"),
        model: stringFlag(flags, "model"),
    });
    configureSharpForJobs();
    const workerCount = intFlag(flags, "workers", defaultWorkerCount(), 0);
    const workers = workerCount > 0 ? new WorkerPool({ size: workerCount }) : IN_PROCESS;
    let report: PreprocessReport;
    try {
        report = await runPreprocess({
            input: stringFlag(flags, "input") ?? paths.raw,
            labels: stringFlag(flags, "labels"),
            outputs: {
                train: outputOf("train"),
                validation: outputOf("validation"),
                test: outputOf("test"),
                metadata: outputOf("metadata"),
            },
            config,
            concurrency: intFlag(flags, "concurrency", defaultConcurrency()),
            workers,
            ...(process.env[DATASET_ENV.manifestKey]
                ? { manifest: { key: process.env[DATASET_ENV.manifestKey]!, sha256: process.env[DATASET_ENV.manifestSha256] ?? "" } }
                : {}),
        });
    } finally {
        await workers.close();
    }
    const s = Object.values(report.splits).reduce(
        (a, c) => ({ train: a.train + c.train, validation: a.validation + c.validation, test: a.test + c.test }),
        { train: 0, validation: 0, test: 0 },
    );
    console.log(
        `preprocess ${report.model}: ${report.kept} images kept (train ${s.train}, validation ${s.validation}, test ${s.test}), ` +
            `${report.treatment.upscaled} upscaled to ${config.imageShape[2]}x${config.imageShape[1]} or more, ` +
            `${report.dropped.count} dropped${droppedSummary(report)}, ${report.duplicates.count} duplicates, ` +
            `${report.label_conflicts.count} label conflict${report.label_conflicts.count === 1 ? "" : "s"} (left out); ` +
            `see ${join(outputOf("metadata"), OUTPUT_FILES.report)}`,
    );
}

/** ` (3 corrupt or truncated, 1 empty file)`: how many were dropped for each kind of reason. */
export function droppedSummary(report: Pick<PreprocessReport, "dropped">): string {
    if (report.dropped.count === 0) return "";
    const kinds = new Map<string, number>();
    for (const { reason } of report.dropped.files) {
        const kind = reason
            .split(/[:(]/)[0]
            .trim()
            .replace(/^image data is /, "");
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    return ` (${[...kinds]
        .sort((a, b) => b[1] - a[1])
        .map(([kind, n]) => `${n} ${kind}`)
        .join(", ")})`;
}

/**
 * Runs preprocess end to end and returns the report it also writes to `metadata/report.json`. Phases:
 * inventory (files and labels, no decode), selection (decode, measure, de-duplicate), split, the splits
 * written through their layouts, then the metadata.
 */
export async function runPreprocess(opts: PreprocessOptions): Promise<PreprocessReport> {
    const { config, outputs } = opts;
    // PyTorch models train on image folders, the built-in algorithm on RecordIO; the test split is the same for both.
    const layouts =
        opts.layouts ??
        (config.trainingLayout === "image-folders" ? { ...DEFAULT_LAYOUTS, training: imageFoldersLayout } : DEFAULT_LAYOUTS);
    const concurrency = opts.concurrency ?? defaultConcurrency();
    const input = resolve(opts.input);
    ensureOutputsAbsent(outputFiles(outputs, layouts), "preprocess");

    const inventory = await takeInventory(input, opts.labels, config);
    await ensureWritableFolders([outputs.train, outputs.validation, outputs.test, outputs.metadata]);
    // Beside the outputs (on the same volume, and not in a folder SageMaker uploads), removed however the run ends.
    const staging = await mkdtemp(join(dirname(resolve(outputs.metadata)), ".preprocess-staging-"));
    let selection: Selection;
    let split: Split<KeptImage>;
    try {
        selection = await selectImages(input, inventory.candidates, config, concurrency, staging, opts.workers);
        split = stratifiedSplit(selection.byClass, config.split, config.seed);
        const jpegOf = async (image: KeptImage) =>
            readFileSync(image.plan.treatment === "as-is" ? join(input, image.file) : stagedJpeg(staging, image.sha256));
        await writeSplit(layouts.training, outputs.train, "train", split.train, config.classes, concurrency, jpegOf);
        await writeSplit(layouts.training, outputs.validation, "validation", split.validation, config.classes, concurrency, jpegOf);
        await writeSplit(layouts.test, outputs.test, "test", split.test, config.classes, concurrency, jpegOf);
    } finally {
        await rm(staging, { recursive: true, force: true });
    }

    const docs = summarize(config, inventory, selection, split, opts.manifest);
    await writeMetadata(outputs.metadata, { classes: config.classes, ...docs });
    return docs.report;
}

/** The metadata documents of a run: the dataset baseline, the property file the training step reads, the report. */
function summarize(
    config: JobModelConfig,
    inventory: Inventory,
    selection: Selection,
    split: Split<KeptImage>,
    manifest: PreprocessOptions["manifest"],
): { baseline: DatasetBaseline; dataset: DatasetSummary; report: PreprocessReport } {
    const kept = split.train.length + split.validation.length + split.test.length;
    const classCounts = Object.fromEntries(config.classes.map((c) => [c, selection.byClass.get(c)!.length]));
    const splits = Object.fromEntries(config.classes.map((c) => [c, { train: 0, validation: 0, test: 0 }]));
    for (const s of ["train", "validation", "test"] as const) for (const image of split[s]) splits[config.classes[image.classIndex]][s]++;
    const baseline: DatasetBaseline = {
        version: MEASUREMENT_VERSION,
        imageShape: [...config.imageShape],
        classes: [...config.classes],
        imageCount: kept,
        classCounts,
        classDistribution: Object.fromEntries(config.classes.map((c) => [c, kept ? classCounts[c] / kept : 0])),
        contentTypes: selection.contentTypes,
        properties: selection.properties.summary(),
    };
    const dataset: DatasetSummary = {
        model: config.model,
        num_training_samples: split.train.length,
        num_validation_samples: split.validation.length,
        num_test_samples: split.test.length,
        num_classes: config.classes.length,
        image_shape: config.imageShape.join(","),
        seed: config.seed,
        split: { ...config.split },
        ...(manifest ? { manifest } : {}),
    };
    const dropped = [...inventory.dropped, ...selection.dropped];
    const report: PreprocessReport = {
        model: config.model,
        files_seen: inventory.filesSeen,
        kept,
        dropped: { count: dropped.length, files: dropped },
        duplicates: { count: selection.duplicates.length, files: selection.duplicates },
        label_conflicts: { count: selection.labelConflicts.length, images: selection.labelConflicts },
        labels_not_found: inventory.labelsNotFound,
        treatment: selection.treatment,
        splits,
    };
    return { baseline, dataset, report };
}
