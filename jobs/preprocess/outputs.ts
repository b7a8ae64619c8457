import { mkdir, open, rename, rm, writeFile } from "fs/promises";
import { join } from "path";
import { PROPERTY_FILES } from "../../infra/job-contract";
import { tempPathFor, writeJsonAtomic } from "../lib/atomic";
import { DatasetBaseline } from "../lib/baseline";
import { mapOrdered } from "../lib/pool";
import { RecordIOWriter } from "../lib/recordio";
import { ImageTreatment, TrainingImagePlan } from "./training-image";

/** Where preprocess writes; the folder names match the pipeline's processing outputs. */
export interface PreprocessOutputs {
    readonly train: string;
    readonly validation: string;
    readonly test: string;
    readonly metadata: string;
}

export const OUTPUT_FILES = {
    classMap: "class_map.json",
    baseline: "baseline.json",
    report: "report.json",
    dataset: PROPERTY_FILES.dataset,
    testImages: "images",
    testLabels: "labels.jsonl",
} as const;

/** An image that made it into the dataset, with how it enters it. */
export interface KeptImage {
    /** Its path under the input folder. */
    readonly file: string;
    readonly classIndex: number;
    readonly sha256: string;
    readonly plan: TrainingImagePlan;
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

/** Receives one split's images in split order; nothing it writes is visible under its final name before `commit`. */
export interface SplitWriter {
    write(image: KeptImage, jpeg: Buffer): Promise<void>;
    commit(): Promise<void>;
    /** Removes whatever was written; called once, after a failure. */
    abort(): Promise<void>;
}

export type SplitName = "train" | "validation" | "test";

/**
 * How a split is laid out on disk for the step that reads it. `files` names what `open` will create in a
 * split's folder, so a run refuses to start (before any decode) when one of them is already there.
 */
export interface SplitLayout {
    files(folder: string, split: SplitName): string[];
    open(folder: string, split: SplitName, classes: readonly string[]): Promise<SplitWriter>;
}

/** MXNet RecordIO (`<split>.rec`, `.idx`, `.lst`), what the built-in image-classification algorithm trains on. */
export const recordIOLayout: SplitLayout = {
    files: (folder, split) => ["rec", "idx", "lst"].map((ext) => join(folder, `${split}.${ext}`)),
    async open(folder, split) {
        const writer = await RecordIOWriter.create(folder, split);
        let id = 0;
        return {
            write: (image, jpeg) => writer.write(id++, image.classIndex, jpeg, image.file),
            commit: () => writer.commit(),
            abort: () => writer.abort(),
        };
    },
};

/** The test split as plain JPEG files (what batch transform reads) and their labels next to, not inside, that folder. */
export const testImagesLayout: SplitLayout = {
    files: (folder) => [join(folder, OUTPUT_FILES.testImages), join(folder, OUTPUT_FILES.testLabels)],
    async open(folder, _split, classes) {
        const imagesDir = join(folder, OUTPUT_FILES.testImages);
        const labelsPath = join(folder, OUTPUT_FILES.testLabels);
        const tempImages = tempPathFor(imagesDir);
        const tempLabels = tempPathFor(labelsPath);
        await mkdir(tempImages, { recursive: true });
        const labels = await open(tempLabels, "wx");
        return {
            async write(image, jpeg) {
                const file = `${image.sha256.slice(0, 16)}.jpg`;
                await writeFile(join(tempImages, file), jpeg);
                const line: TestLabel = { file, label: image.classIndex, class: classes[image.classIndex], source: image.file };
                await labels.write(`${JSON.stringify(line)}\n`);
            },
            async commit() {
                await labels.close();
                await rename(tempImages, imagesDir);
                await rename(tempLabels, labelsPath);
            },
            async abort() {
                await labels.close().catch(() => undefined);
                await rm(tempImages, { recursive: true, force: true });
                await rm(tempLabels, { force: true });
            },
        };
    },
};

/** The layouts a run writes: one for the splits the training step reads, one for the test split. */
export interface OutputLayouts {
    readonly training: SplitLayout;
    readonly test: SplitLayout;
}

export const DEFAULT_LAYOUTS: OutputLayouts = { training: recordIOLayout, test: testImagesLayout };

/** Every file a run would write, for refusing to start over earlier results. */
export function outputFiles(outputs: PreprocessOutputs, layouts: OutputLayouts): string[] {
    return [
        ...layouts.training.files(outputs.train, "train"),
        ...layouts.training.files(outputs.validation, "validation"),
        ...layouts.test.files(outputs.test, "test"),
        ...[OUTPUT_FILES.classMap, OUTPUT_FILES.baseline, OUTPUT_FILES.report, OUTPUT_FILES.dataset].map((f) => join(outputs.metadata, f)),
    ];
}

/**
 * Writes one split through its layout: each image's JPEG is made (`jpegOf`, at most `concurrency` at once)
 * and handed on in split order; on any failure the layout's partial output is removed.
 */
export async function writeSplit(
    layout: SplitLayout,
    folder: string,
    split: SplitName,
    images: readonly KeptImage[],
    classes: readonly string[],
    concurrency: number,
    jpegOf: (image: KeptImage) => Promise<Buffer>,
): Promise<void> {
    const writer = await layout.open(folder, split, classes);
    try {
        for await (const { image, jpeg } of mapOrdered(images, concurrency, async (image) => ({ image, jpeg: await jpegOf(image) })))
            await writer.write(image, jpeg);
        await writer.commit();
    } catch (e) {
        await writer.abort();
        throw e;
    }
}

/** The metadata documents, written last: dataset.json is what the training step waits on. */
export async function writeMetadata(
    folder: string,
    docs: { classes: readonly string[]; baseline: DatasetBaseline; report: PreprocessReport; dataset: DatasetSummary },
): Promise<void> {
    await writeJsonAtomic(join(folder, OUTPUT_FILES.classMap), { classes: docs.classes });
    await writeJsonAtomic(join(folder, OUTPUT_FILES.baseline), docs.baseline);
    await writeJsonAtomic(join(folder, OUTPUT_FILES.report), docs.report);
    await writeJsonAtomic(join(folder, OUTPUT_FILES.dataset), docs.dataset);
}
