import { readFileSync } from "fs";
import { posix } from "path";
import { JobError, listSome } from "./errors";

/**
 * Label Studio's JSON export (Export -> JSON): a list of tasks, each with `data.image` (the image's URL or
 * path as Label Studio stored it) and `annotations[].result[].value.choices[]` (the chosen class).
 */
export interface LabelStudioTask {
    readonly id?: number;
    readonly data?: { readonly image?: string };
    readonly annotations?: ReadonlyArray<{
        readonly was_cancelled?: boolean;
        readonly result?: ReadonlyArray<{ readonly value?: { readonly choices?: readonly string[] } }>;
    }>;
}

export interface LabelledImage {
    /** The image's file name as the export names it (without Label Studio's upload prefix, see `exportFileName`). */
    readonly file: string;
    readonly label: string;
    /** The name with Label Studio's upload prefix, for files saved from its upload folder as they are. */
    readonly uploadedAs?: string;
}

/**
 * The file name behind a task's `data.image`: `/data/upload/3/8f3a2b1c-stop.jpg`, `s3://bucket/dir/stop.jpg`,
 * `https://host/stop.jpg?X-Amz-...` and `/data/local-files/?d=dir/stop.jpg` all name `stop.jpg` (Label Studio
 * prefixes uploaded files with 8 hex digits and a dash; that prefix is dropped in `uploadedAs`).
 */
export function exportFileName(image: string): { name: string; uploadedAs?: string } {
    const local = /[?&]d=([^&]+)/.exec(image);
    const path = local ? decodeURIComponent(local[1]) : image.replace(/[?#].*$/, "");
    let name = posix.basename(path);
    try {
        name = decodeURIComponent(name);
    } catch {
        /* keep as is */
    }
    const upload = /^[0-9a-f]{8}-(.+)$/.exec(name);
    return upload && image.includes("/data/upload/") ? { name: upload[1], uploadedAs: name } : { name };
}

/**
 * The labelled images of an export, in export order. Tasks without a (non-cancelled) annotation are returned
 * in `unlabelled`; a task with more than one choice is an error because each image has exactly one class.
 */
export function parseLabelStudioExport(doc: unknown, source: string): { labelled: LabelledImage[]; unlabelled: string[] } {
    if (!Array.isArray(doc))
        throw new JobError(
            `${source} is not a Label Studio JSON export (expected a list of tasks; export with "JSON", not "JSON-MIN" or CSV)`,
        );
    const labelled: LabelledImage[] = [];
    const unlabelled: string[] = [];
    doc.forEach((task: LabelStudioTask, i) => {
        const image = task?.data?.image;
        const where = `${source} task ${task?.id ?? `#${i + 1}`}`;
        if (typeof image !== "string" || image === "")
            throw new JobError(`${where} has no data.image; the export must come from an image-classification project`);
        const annotation = [...(task.annotations ?? [])].reverse().find((a) => !a.was_cancelled);
        const choices = annotation?.result?.flatMap((r) => r.value?.choices ?? []) ?? [];
        const { name, uploadedAs } = exportFileName(image);
        if (choices.length === 0) {
            unlabelled.push(name);
            return;
        }
        if (new Set(choices).size > 1)
            throw new JobError(`${where} (${name}) has several classes (${choices.join(", ")}); each image needs exactly one`);
        labelled.push({ file: name, label: choices[0], ...(uploadedAs ? { uploadedAs } : {}) });
    });
    return { labelled, unlabelled };
}

/** Reads and parses an export file. */
export function readLabelStudioExport(path: string): { labelled: LabelledImage[]; unlabelled: string[] } {
    let doc: unknown;
    try {
        doc = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new JobError(err.code === "ENOENT" ? `labels file ${path} does not exist` : `${path} is not valid JSON: ${err.message}`);
    }
    return parseLabelStudioExport(doc, path);
}

/**
 * Looks up a local file's label by its file name. Two tasks naming the same file with different labels make
 * the export ambiguous, which is an error listing them.
 */
export class LabelLookup {
    private readonly byName = new Map<string, string>();
    private readonly entries: readonly LabelledImage[];

    constructor(labelled: readonly LabelledImage[], source: string) {
        const conflicts: string[] = [];
        for (const { file, label, uploadedAs } of labelled) {
            const known = this.byName.get(file);
            if (known !== undefined && known !== label) conflicts.push(`${file} is labelled both ${known} and ${label}`);
            this.byName.set(file, label);
            if (uploadedAs) this.byName.set(uploadedAs, label);
        }
        this.entries = labelled;
        if (conflicts.length > 0)
            throw new JobError(
                `${source} gives different labels to images with the same file name: ${listSome(conflicts)}; ` +
                    "rename the files so each name is unique, or fix the annotations",
            );
    }

    /** The label of a file (by its name, whatever folder it is in), or undefined when the export has none. */
    labelOf(relativePath: string): string | undefined {
        return this.byName.get(posix.basename(relativePath));
    }

    /** File names in the export that `seen` does not contain under either name (images labelled but not found). */
    missingFrom(seen: ReadonlySet<string>): string[] {
        const missing = this.entries.filter((e) => !seen.has(e.file) && !(e.uploadedAs && seen.has(e.uploadedAs))).map((e) => e.file);
        return [...new Set(missing)];
    }
}
