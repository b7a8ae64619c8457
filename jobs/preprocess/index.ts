import { createHash } from "crypto";
import { mkdir, open, readFile, rename, rm, writeFile } from "fs/promises";
import { cpus } from "os";
import { join, posix, relative, resolve } from "path";
import sharp from "sharp";
import { BATCH_METADATA_FILE, DATASET_ENV, JobModelConfig, PROCESSING_PATHS, PROPERTY_FILES } from "../../infra/job-contract";
import { BATCH_MANIFEST_FILE } from "../../infra/naming";
import { intFlag, parseFlags, stringFlag } from "../lib/args";
import { ensureOutputsAbsent, ensureWritableFolders, tempPathFor, writeJsonAtomic } from "../lib/atomic";
import { DatasetBaseline, PropertyAccumulator } from "../lib/baseline";
import { JobError, listSome } from "../lib/errors";
import { unreadable, walkFiles } from "../lib/fs-walk";
import { contentTypeOf, ImageDecodeError, ImageProperties, imageProperties } from "../lib/image-properties";
import { LabelledImage, matchLabels, readLabelStudioExport } from "../lib/label-studio";
import { loadJobModelConfig } from "../lib/job-config";
import { mapOrdered } from "../lib/pool";
import { RecordIOWriter } from "../lib/recordio";
import { stratifiedSplit } from "../lib/split";
import { ImageTreatment, JPEG_MAX_SIDE, planTrainingImage, TrainingImagePlan, trainingJpeg } from "./training-image";

const paths = PROCESSING_PATHS.preprocess;

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
  --concurrency N      images decoded at once (default: number of CPUs)`;

/** Where preprocess writes; the folder names match the pipeline's processing outputs. */
export interface PreprocessOutputs {
    readonly train: string;
    readonly validation: string;
    readonly test: string;
    readonly metadata: string;
}

export interface PreprocessOptions {
    readonly input: string;
    /** Label Studio export; without it an image's class is the name of its folder. */
    readonly labels?: string;
    readonly outputs: PreprocessOutputs;
    readonly config: JobModelConfig;
    readonly concurrency?: number;
    /** The manifest the pipeline's Dataset step resolved (from the environment it sets), recorded in dataset.json. */
    readonly manifest?: { readonly key: string; readonly sha256: string };
}

/** One line of `test/labels.jsonl`. */
export interface TestLabel {
    readonly file: string;
    readonly label: number;
    readonly class: string;
    /** The image's path in the input, for people reading the file. */
    readonly source: string;
}

/** `metadata/report.json`. */
export interface PreprocessReport {
    readonly model: string;
    readonly files_seen: number;
    readonly kept: number;
    readonly dropped: { readonly count: number; readonly files: Array<{ file: string; reason: string }> };
    readonly duplicates: { readonly count: number; readonly files: Array<{ file: string; duplicate_of: string }> };
    /**
     * Contents found under more than one class (every copy listed with its class). None of their copies is in
     * any split: which label is right is for a person to say, by removing the wrong copy from the input.
     */
    readonly label_conflicts: {
        readonly count: number;
        readonly images: Array<{ sha256: string; files: Array<{ file: string; class: string }> }>;
    };
    /** Images a Label Studio export names that were not found under the input folder. */
    readonly labels_not_found: string[];
    /** How many kept images went in untouched, shrunk, enlarged to the image shape, or re-encoded as JPEG. */
    readonly treatment: Record<ImageTreatment, number>;
    readonly splits: Record<string, { train: number; validation: number; test: number }>;
}

/** `metadata/dataset.json`, the property file the training step reads. */
export interface DatasetSummary {
    readonly model: string;
    readonly num_training_samples: number;
    readonly num_validation_samples: number;
    readonly num_test_samples: number;
    readonly num_classes: number;
    /** The algorithm's `image_shape` hyperparameter, "channels,height,width". */
    readonly image_shape: string;
    readonly seed: number;
    readonly split: { validation: number; test: number };
    /** The manifest this dataset was built from, when the pipeline named it. */
    readonly manifest?: { readonly key: string; readonly sha256: string };
}

export const OUTPUT_FILES = {
    classMap: "class_map.json",
    baseline: "baseline.json",
    report: "report.json",
    dataset: PROPERTY_FILES.dataset,
    testImages: "images",
    testLabels: "labels.jsonl",
} as const;

interface Candidate {
    readonly file: string;
    readonly label: string;
}

interface KeptImage {
    readonly file: string;
    readonly classIndex: number;
    readonly sha256: string;
    readonly plan: TrainingImagePlan;
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
    sharp.cache(false);
    const report = await runPreprocess({
        input: stringFlag(flags, "input") ?? paths.raw,
        labels: stringFlag(flags, "labels"),
        outputs: { train: outputOf("train"), validation: outputOf("validation"), test: outputOf("test"), metadata: outputOf("metadata") },
        config,
        concurrency: intFlag(flags, "concurrency", cpus().length),
        ...(process.env[DATASET_ENV.manifestKey]
            ? { manifest: { key: process.env[DATASET_ENV.manifestKey]!, sha256: process.env[DATASET_ENV.manifestSha256] ?? "" } }
            : {}),
    });
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

/** Runs preprocess end to end and returns the report it also writes to `metadata/report.json`. */
export async function runPreprocess(opts: PreprocessOptions): Promise<PreprocessReport> {
    const { config, outputs } = opts;
    const concurrency = opts.concurrency ?? cpus().length;
    const input = resolve(opts.input);
    ensureOutputsAbsent(
        [
            ...(["train", "validation"] as const).flatMap((s) => ["rec", "idx", "lst"].map((ext) => join(outputs[s], `${s}.${ext}`))),
            join(outputs.test, OUTPUT_FILES.testImages),
            join(outputs.test, OUTPUT_FILES.testLabels),
            ...[OUTPUT_FILES.classMap, OUTPUT_FILES.baseline, OUTPUT_FILES.report, OUTPUT_FILES.dataset].map((f) =>
                join(outputs.metadata, f),
            ),
        ],
        "preprocess",
    );

    // 1. Which files, with which label. A missing input or an unknown label stops the job before any work is
    // done, and before any output folder is created.
    const dropped: Array<{ file: string; reason: string }> = [];
    const { candidates, labelsNotFound, filesSeen } = await listCandidates(input, opts.labels, dropped);
    const classIndex = new Map(config.classes.map((c, i) => [c, i]));
    const unknown = new Map<string, string[]>();
    for (const c of candidates) if (!classIndex.has(c.label)) unknown.set(c.label, [...(unknown.get(c.label) ?? []), c.file]);
    if (unknown.size > 0) {
        const described = [...unknown].map(
            ([label, files]) => `"${label}" (${files.length} file${files.length > 1 ? "s" : ""}, e.g. ${files[0]})`,
        );
        throw new JobError(
            `labels that are not classes of model ${config.model}: ${listSome(described)}; ` +
                `its classes are: ${config.classes.join(", ")}. Fix the folder names or labels, or add the classes to the model's config`,
        );
    }
    await ensureWritableFolders([outputs.train, outputs.validation, outputs.test, outputs.metadata]);

    // 2. Decode, measure and hash every image (bounded concurrency, results in a stable order).
    const duplicates: Array<{ file: string; duplicate_of: string }> = [];
    const byClass = new Map<string, KeptImage[]>(config.classes.map((c) => [c, []]));
    const properties = new PropertyAccumulator();
    const contentTypes: Record<string, number> = {};
    const treatment: Record<ImageTreatment, number> = { "as-is": 0, resized: 0, upscaled: 0, "re-encoded": 0 };
    const measured = mapOrdered(candidates, concurrency, async (c) => {
        let bytes: Buffer;
        try {
            bytes = await readFile(join(input, c.file));
        } catch (e) {
            return { c, error: unreadable(e as NodeJS.ErrnoException, join(input, c.file), "file") };
        }
        try {
            const sha256 = createHash("sha256").update(bytes).digest("hex");
            return { c, sha256, props: await imageProperties(bytes) };
        } catch (e) {
            if (e instanceof ImageDecodeError) return { c, error: e.message };
            throw e;
        }
    });
    // Every copy of a content is looked at before any is kept: the same image under two classes is a label
    // conflict, and no copy of it may reach a split.
    const byHash = new Map<string, { readonly first: Candidate; props?: ImageProperties; readonly copies: Candidate[] }>();
    for await (const m of measured) {
        if ("error" in m) {
            dropped.push({ file: m.c.file, reason: m.error! });
            continue;
        }
        const tooSmall = sizeProblem(m.props.width, m.props.height, config);
        if (tooSmall) {
            dropped.push({ file: m.c.file, reason: tooSmall });
            continue;
        }
        const seen = byHash.get(m.sha256);
        if (seen) seen.copies.push(m.c);
        else byHash.set(m.sha256, { first: m.c, props: m.props, copies: [] });
    }
    const labelConflicts: PreprocessReport["label_conflicts"]["images"] = [];
    for (const [sha256, { first, props, copies }] of byHash) {
        if (copies.some((c) => c.label !== first.label)) {
            const files = [first, ...copies].map((c) => ({ file: c.file, class: c.label }));
            labelConflicts.push({ sha256, files: files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)) });
            continue;
        }
        for (const c of copies) duplicates.push({ file: c.file, duplicate_of: first.file });
        const plan = planTrainingImage(props!.format, props!.width, props!.height, config.imageShape);
        treatment[plan.treatment]++;
        byClass.get(first.label)!.push({ file: first.file, classIndex: classIndex.get(first.label)!, sha256, plan });
        properties.add(props!);
        const type = contentTypeOf(props!.format);
        contentTypes[type] = (contentTypes[type] ?? 0) + 1;
    }
    byHash.clear();

    // 3. Split, then write each split as it is produced.
    const split = stratifiedSplit(byClass, config.split, config.seed);
    const jpegOf = (image: KeptImage) => readFile(join(input, image.file)).then((b) => trainingJpeg(b, image.plan));
    await writeRecords(outputs.train, "train", split.train, concurrency, jpegOf);
    await writeRecords(outputs.validation, "validation", split.validation, concurrency, jpegOf);
    await writeTestSet(outputs.test, split.test, config.classes, concurrency, jpegOf);

    // 4. Metadata last: dataset.json is what the training step waits on.
    const kept = split.train.length + split.validation.length + split.test.length;
    const classCounts = Object.fromEntries(config.classes.map((c) => [c, byClass.get(c)!.length]));
    const splits = Object.fromEntries(config.classes.map((c) => [c, { train: 0, validation: 0, test: 0 }]));
    for (const s of ["train", "validation", "test"] as const) for (const image of split[s]) splits[config.classes[image.classIndex]][s]++;
    const baseline: DatasetBaseline = {
        version: 1,
        classes: [...config.classes],
        imageCount: kept,
        classCounts,
        classDistribution: Object.fromEntries(config.classes.map((c) => [c, kept ? classCounts[c] / kept : 0])),
        contentTypes,
        properties: properties.summary(),
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
        ...(opts.manifest ? { manifest: opts.manifest } : {}),
    };
    const report: PreprocessReport = {
        model: config.model,
        files_seen: filesSeen,
        kept,
        dropped: { count: dropped.length, files: dropped },
        duplicates: { count: duplicates.length, files: duplicates },
        label_conflicts: { count: labelConflicts.length, images: labelConflicts },
        labels_not_found: labelsNotFound,
        treatment,
        splits,
    };
    await writeJsonAtomic(join(outputs.metadata, OUTPUT_FILES.classMap), { classes: config.classes });
    await writeJsonAtomic(join(outputs.metadata, OUTPUT_FILES.baseline), baseline);
    await writeJsonAtomic(join(outputs.metadata, OUTPUT_FILES.report), report);
    await writeJsonAtomic(join(outputs.metadata, OUTPUT_FILES.dataset), dataset);
    return report;
}

/**
 * Why an image cannot go into the dataset at its size, or undefined: its shorter side is below the model's
 * `minImageSide`, or enlarging it to the image shape would pass the largest side a JPEG can have.
 */
function sizeProblem(width: number, height: number, config: JobModelConfig): string | undefined {
    if (config.minImageSide !== undefined && Math.min(width, height) < config.minImageSide)
        return `smaller than training.minImageSide (${config.minImageSide} px): ${width}x${height}`;
    const plan = planTrainingImage("jpeg", width, height, config.imageShape);
    if (Math.max(plan.width, plan.height) > JPEG_MAX_SIDE)
        return (
            `too narrow to fit the image shape: ${width}x${height} would become ${plan.width}x${plan.height}, ` +
            `past JPEG's ${JPEG_MAX_SIDE}-pixel limit; crop it to a less extreme aspect`
        );
    return undefined;
}

/** The files to decode with their labels; files that cannot have a label are added to `dropped`. */
async function listCandidates(input: string, labelsPath: string | undefined, dropped: Array<{ file: string; reason: string }>) {
    const labelled = labelsPath ? readLabels(labelsPath) : undefined;
    const labelsInside = labelsPath ? relative(input, resolve(labelsPath)).split("\\").join("/") : undefined;
    const files: string[] = [];
    for await (const file of walkFiles(input, (skip) => dropped.push({ file: skip.path, reason: skip.reason }))) {
        const name = posix.basename(file);
        // The ingest CLI's bookkeeping files travel with the images; they are not data.
        if (name === BATCH_MANIFEST_FILE || name === BATCH_METADATA_FILE || file === labelsInside) continue;
        files.push(file);
    }
    if (files.length === 0) throw new JobError(`input folder ${input} has no files; expected one folder of images per class`);
    const candidates: Candidate[] = [];
    if (labelled) {
        const { labels, missing } = matchLabels(labelled, files, labelsPath!);
        for (const file of files) {
            const label = labels.get(file);
            if (label === undefined) dropped.push({ file, reason: `not labelled in ${labelsPath}` });
            else candidates.push({ file, label });
        }
        return { candidates, filesSeen: files.length, labelsNotFound: missing };
    }
    for (const file of files) {
        const folder = posix.dirname(file);
        if (folder === ".") dropped.push({ file, reason: "not inside a class folder (the folder an image is in names its class)" });
        else candidates.push({ file, label: posix.basename(folder) });
    }
    return { candidates, filesSeen: files.length, labelsNotFound: [] };
}

function readLabels(path: string): LabelledImage[] {
    const { labelled } = readLabelStudioExport(path);
    if (labelled.length === 0) throw new JobError(`${path} has no labelled tasks; annotate the images in Label Studio and export again`);
    return labelled;
}

async function writeRecords(
    folder: string,
    name: string,
    images: readonly KeptImage[],
    concurrency: number,
    jpegOf: (i: KeptImage) => Promise<Buffer>,
): Promise<void> {
    const writer = await RecordIOWriter.create(folder, name);
    try {
        let id = 0;
        for await (const { image, jpeg } of mapOrdered(images, concurrency, async (image) => ({ image, jpeg: await jpegOf(image) })))
            await writer.write(id++, image.classIndex, jpeg, image.file);
        await writer.commit();
    } catch (e) {
        await writer.abort();
        throw e;
    }
}

/** The test split as plain JPEG files (what batch transform reads) and their labels next to, not inside, that folder. */
async function writeTestSet(
    folder: string,
    images: readonly KeptImage[],
    classes: readonly string[],
    concurrency: number,
    jpegOf: (i: KeptImage) => Promise<Buffer>,
): Promise<void> {
    const imagesDir = join(folder, OUTPUT_FILES.testImages);
    const labelsPath = join(folder, OUTPUT_FILES.testLabels);
    const tempImages = tempPathFor(imagesDir);
    const tempLabels = tempPathFor(labelsPath);
    await mkdir(tempImages, { recursive: true });
    const labels = await open(tempLabels, "wx");
    try {
        for await (const { image, jpeg } of mapOrdered(images, concurrency, async (image) => ({ image, jpeg: await jpegOf(image) }))) {
            const file = `${image.sha256.slice(0, 16)}.jpg`;
            await writeFile(join(tempImages, file), jpeg);
            const line: TestLabel = { file, label: image.classIndex, class: classes[image.classIndex], source: image.file };
            await labels.write(`${JSON.stringify(line)}\n`);
        }
        await labels.close();
        await rename(tempImages, imagesDir);
        await rename(tempLabels, labelsPath);
    } catch (e) {
        await labels.close().catch(() => undefined);
        await rm(tempImages, { recursive: true, force: true });
        await rm(tempLabels, { force: true });
        throw e;
    }
}
