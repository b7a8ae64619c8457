import { createHash } from "crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "fs";
import { join } from "path";
import { threadId } from "worker_threads";
import { JobModelConfig } from "../../infra/job-contract";
import { PropertyAccumulator } from "../lib/baseline";
import { JobError } from "../lib/errors";
import { unreadable } from "../lib/fs-walk";
import { contentTypeOf, ImageDecodeError, ImageProperties, measureImage } from "../lib/image-properties";
import { mapOrdered } from "../lib/pool";
import { IN_PROCESS, Task, TaskRunner } from "../lib/workers";
import { Candidate } from "./inventory";
import { KeptImage, PreprocessReport } from "./outputs";
import { ImageTreatment, JPEG_MAX_SIDE, planTrainingImage, trainingJpegOf } from "./training-image";

/** Phase 2's answer: the images kept per class, what was left out and why, and the statistics of the kept ones. */
export interface Selection {
    /** Kept images by class name, in input order. */
    readonly byClass: Map<string, KeptImage[]>;
    readonly dropped: Array<{ file: string; reason: string }>;
    readonly duplicates: Array<{ file: string; duplicate_of: string }>;
    readonly labelConflicts: PreprocessReport["label_conflicts"]["images"];
    readonly treatment: Record<ImageTreatment, number>;
    /** Image properties of the kept images (the dataset baseline's), streamed into fixed bins. */
    readonly properties: PropertyAccumulator;
    readonly contentTypes: Record<string, number>;
}

/** One candidate after decoding: its hash and properties, or why it cannot be used. */
type Measured = { error: string } | { sha256: string; props: ImageProperties };

/** What the measuring task needs of a candidate: plain values, so that it can run in a worker thread. */
interface MeasureInput {
    readonly input: string;
    readonly file: string;
    readonly config: Pick<JobModelConfig, "imageShape" | "minImageSide">;
    readonly staging: string;
}

/** The training copies of images that are not used as-is, by content hash, made from the decode that measured them. */
export const stagedJpeg = (staging: string, sha256: string) => join(staging, `${sha256}.jpg`);

/**
 * Phase 2: decode, measure and hash every candidate (at most `concurrency` at once, on `workers`, results in
 * input order), then keep one copy of each content. The training copy of an image that is not used as-is is
 * encoded from the same decode into `staging` (see stagedJpeg), so no image is decoded twice. Corrupt,
 * unreadable and too-small images are dropped with their reason; the same content under two classes is a label
 * conflict, and no copy of it is kept.
 */
export async function selectImages(
    input: string,
    candidates: readonly Candidate[],
    config: JobModelConfig,
    concurrency: number,
    staging: string,
    workers: TaskRunner = IN_PROCESS,
): Promise<Selection> {
    const dropped: Selection["dropped"] = [];
    const taskConfig = { imageShape: config.imageShape, minImageSide: config.minImageSide };
    const measured = mapOrdered(candidates, concurrency, async (c) => ({
        c,
        m: await workers.run(measureCandidateTask, { input, file: c.file, config: taskConfig, staging }, { label: c.file }),
    }));
    // Every copy of a content is looked at before any is kept: the same image under two classes is a label
    // conflict, and no copy of it may reach a split.
    const byHash = new Map<string, { readonly first: Candidate; props?: ImageProperties; readonly copies: Candidate[] }>();
    for await (const { c, m } of measured) {
        if ("error" in m) {
            dropped.push({ file: c.file, reason: m.error });
            continue;
        }
        const tooSmall = sizeProblem(m.props.width, m.props.height, config);
        if (tooSmall) {
            dropped.push({ file: c.file, reason: tooSmall });
            continue;
        }
        const seen = byHash.get(m.sha256);
        if (seen) seen.copies.push(c);
        else byHash.set(m.sha256, { first: c, props: m.props, copies: [] });
    }

    const classIndex = new Map(config.classes.map((c, i) => [c, i]));
    const byClass = new Map<string, KeptImage[]>(config.classes.map((c) => [c, []]));
    const duplicates: Selection["duplicates"] = [];
    const labelConflicts: Selection["labelConflicts"] = [];
    const properties = new PropertyAccumulator();
    const contentTypes: Record<string, number> = {};
    const treatment: Record<ImageTreatment, number> = { "as-is": 0, resized: 0, upscaled: 0, "re-encoded": 0 };
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
    return { byClass, dropped, duplicates, labelConflicts, treatment, properties, contentTypes };
}

/**
 * Reads, hashes and measures one candidate, and stages its training copy when it is not used as-is (unless it
 * is too small to be kept). Staged copies are named by content and each is written whole under a temporary name
 * first, so two copies of one content measured at once (in two worker threads) leave the same one file.
 */
async function measureCandidate({ input, file, config, staging }: MeasureInput): Promise<Measured> {
    const path = join(input, file);
    let bytes: Buffer;
    try {
        // One read call instead of readFile's four thread-pool round trips (open, stat, read, close): the
        // files are local (SageMaker copies File-mode inputs to the volume) and the pool is sharp's to use.
        bytes = readFileSync(path);
    } catch (e) {
        return { error: unreadable(e as NodeJS.ErrnoException, path, "file") };
    }
    try {
        const sha256 = createHash("sha256").update(bytes).digest("hex");
        const measured = await measureImage(bytes, config.imageShape);
        const { properties: props, plan } = measured;
        const staged = stagedJpeg(staging, sha256);
        if (plan.treatment !== "as-is" && !sizeProblem(props.width, props.height, config) && !existsSync(staged)) {
            const jpeg = await trainingJpegOf(measured);
            const temp = `${staged}.${process.pid}-${threadId}.tmp`;
            try {
                writeFileSync(temp, jpeg);
                renameSync(temp, staged);
            } catch (e) {
                const err = e as NodeJS.ErrnoException;
                throw new JobError(
                    `cannot stage the training copy of ${file} in ${staging}: ${err.code ? `${err.code} (${err.syscall})` : err.message}`,
                );
            }
        }
        return { sha256, props };
    } catch (e) {
        if (e instanceof ImageDecodeError) return { error: e.message };
        throw e;
    }
}

/** measureCandidate as a task a worker thread can run (see TASKS in jobs/main.ts). */
export const measureCandidateTask: Task<MeasureInput, Measured> = { name: "preprocess.measure", run: measureCandidate };

/**
 * Why an image cannot go into the dataset at its size, or undefined: its shorter side is below the model's
 * `minImageSide`, or enlarging it to the image shape would pass the largest side a JPEG can have.
 */
function sizeProblem(width: number, height: number, config: MeasureInput["config"]): string | undefined {
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
