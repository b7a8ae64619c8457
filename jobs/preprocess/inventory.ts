import { posix, relative, resolve } from "path";
import { BATCH_METADATA_FILE, JobModelConfig } from "../../infra/job-contract";
import { BATCH_MANIFEST_FILE } from "../../infra/naming";
import { JobError, listSome } from "../lib/errors";
import { walkFiles } from "../lib/fs-walk";
import { LabelledImage, matchLabels, readLabelStudioExport } from "../lib/label-studio";

/** A file under the input folder and the class it is labelled with. */
export interface Candidate {
    readonly file: string;
    readonly label: string;
}

/** Phase 1's answer: the files to decode, and what was set aside before any decode. */
export interface Inventory {
    readonly candidates: Candidate[];
    readonly filesSeen: number;
    /** Files that cannot have a label (outside a class folder, not in the export, unreadable entries). */
    readonly dropped: Array<{ file: string; reason: string }>;
    /** Images a Label Studio export names that were not found under the input folder. */
    readonly labelsNotFound: string[];
}

/**
 * Phase 1: which files, with which label (the folder an image is in, or the Label Studio export). A missing
 * input or a label that is not one of the model's classes stops the job before any work is done, and before
 * any output folder is created.
 */
export async function takeInventory(input: string, labelsPath: string | undefined, config: JobModelConfig): Promise<Inventory> {
    const inventory = await listCandidates(input, labelsPath);
    const classes = new Set(config.classes);
    const unknown = new Map<string, string[]>();
    for (const c of inventory.candidates) if (!classes.has(c.label)) unknown.set(c.label, [...(unknown.get(c.label) ?? []), c.file]);
    if (unknown.size > 0) {
        const described = [...unknown].map(
            ([label, files]) => `"${label}" (${files.length} file${files.length > 1 ? "s" : ""}, e.g. ${files[0]})`,
        );
        throw new JobError(
            `labels that are not classes of model ${config.model}: ${listSome(described)}; ` +
                `its classes are: ${config.classes.join(", ")}. Fix the folder names or labels, or add the classes to the model's config`,
        );
    }
    return inventory;
}

async function listCandidates(input: string, labelsPath: string | undefined): Promise<Inventory> {
    const dropped: Array<{ file: string; reason: string }> = [];
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
        return { candidates, filesSeen: files.length, dropped, labelsNotFound: missing };
    }
    for (const file of files) {
        const folder = posix.dirname(file);
        if (folder === ".") dropped.push({ file, reason: "not inside a class folder (the folder an image is in names its class)" });
        else candidates.push({ file, label: posix.basename(folder) });
    }
    return { candidates, filesSeen: files.length, dropped, labelsNotFound: [] };
}

function readLabels(path: string): LabelledImage[] {
    const { labelled } = readLabelStudioExport(path);
    if (labelled.length === 0) throw new JobError(`${path} has no labelled tasks; annotate the images in Label Studio and export again`);
    return labelled;
}
