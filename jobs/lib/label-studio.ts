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
    /** The image's path as the export names it, `/`-separated (see `exportPath`): what is matched against local files. */
    readonly path: string;
    readonly label: string;
    /** The file name with Label Studio's upload prefix, for files saved from its upload folder as they are. */
    readonly uploadedAs?: string;
    /** `export.json task 7`, for messages. */
    readonly task: string;
}

/** Storage URIs whose path is the object key as the storage lists it (not URL-encoded). */
const STORAGE_URI = /^(s3|gs|azure-blob):\/\/[^/]+\/(.+)$/;

/**
 * The path behind a task's `data.image`, as far as the export tells it:
 * - `s3://bucket/signs/stop.jpg` (cloud storage, also gs:// and azure-blob://): the object key `signs/stop.jpg`;
 * - `/data/local-files/?d=signs%2Fstop.jpg` (local storage): `signs/stop.jpg`, relative to Label Studio's document root;
 * - `https://host/signs/stop.jpg?X-Amz-...`: the URL's path, `signs/stop.jpg`;
 * - `/data/upload/3/8f3a2b1c-stop.jpg` (uploaded in the browser): only the name, `stop.jpg` (Label Studio
 *   prefixes uploads with 8 hex digits and a dash; the prefixed name is `uploadedAs`).
 * URL-encoded forms are decoded; a malformed percent-escape is a JobError naming the task (`where`).
 */
export function exportPath(image: string, where: string): { path: string; uploadedAs?: string } {
    const storage = STORAGE_URI.exec(image);
    if (storage) return { path: storage[2] };
    const decode = (text: string) => {
        try {
            return decodeURIComponent(text);
        } catch {
            throw new JobError(
                `${where}: data.image ${JSON.stringify(image)} has a malformed percent-escape; fix the task's image path in Label Studio and export again`,
            );
        }
    };
    const local = /[?&]d=([^&]+)/.exec(image);
    if (local) return { path: decode(local[1]).replace(/^\/+/, "") };
    const withoutQuery = image.replace(/[?#].*$/, "");
    const path = decode(withoutQuery.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "")).replace(/^\/+/, "");
    const name = posix.basename(path);
    const upload = /^[0-9a-f]{8}-(.+)$/.exec(name);
    return upload && path.startsWith("data/upload/") ? { path: upload[1], uploadedAs: name } : { path };
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
        const { path, uploadedAs } = exportPath(image, where);
        if (choices.length === 0) {
            unlabelled.push(path);
            return;
        }
        if (new Set(choices).size > 1)
            throw new JobError(`${where} (${path}) has several classes (${choices.join(", ")}); each image needs exactly one`);
        labelled.push({ path, label: choices[0], task: where, ...(uploadedAs ? { uploadedAs } : {}) });
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

/** How many trailing path segments two paths share, when one of them ends with the whole of the other; else 0. */
function suffixOverlap(a: readonly string[], b: readonly string[]): number {
    const n = Math.min(a.length, b.length);
    for (let i = 1; i <= n; i++) if (a[a.length - i] !== b[b.length - i]) return 0;
    return n;
}

/**
 * Gives each local file (paths relative to the input folder) the label of the task whose path it matches: the
 * two paths must end the same way, one of them in full (the export's `signs/stop/a.jpg` matches a local
 * `stop/a.jpg` or `export/signs/stop/a.jpg`, never `yield/a.jpg`), and the file sharing the most trailing
 * folders wins. A task that matches two files equally well, or a file that two tasks label differently, makes
 * the export ambiguous: a JobError naming every such task and file. `missing` lists the tasks that match no file.
 */
export function matchLabels(
    labelled: readonly LabelledImage[],
    files: readonly string[],
    source: string,
): { labels: Map<string, string>; missing: string[] } {
    const byName = new Map<string, string[]>();
    for (const f of files) {
        const name = posix.basename(f);
        byName.set(name, [...(byName.get(name) ?? []), f]);
    }
    const labels = new Map<string, { label: string; task: LabelledImage }>();
    const problems: string[] = [];
    const missing: string[] = [];
    for (const task of labelled) {
        let best = 0;
        let matches: string[] = [];
        for (const wanted of [task.path, ...(task.uploadedAs ? [task.uploadedAs] : [])]) {
            const segments = wanted.split("/");
            for (const file of byName.get(segments[segments.length - 1]) ?? []) {
                const overlap = suffixOverlap(segments, file.split("/"));
                if (overlap === 0 || overlap < best) continue;
                if (overlap > best) [best, matches] = [overlap, []];
                matches.push(file);
            }
        }
        if (matches.length === 0) missing.push(task.path);
        else if (matches.length > 1) problems.push(`${task.task} (${task.path}) matches both ${matches.join(" and ")}`);
        else {
            const known = labels.get(matches[0]);
            if (known && known.label !== task.label)
                problems.push(`${matches[0]} is labelled ${known.label} by ${known.task.task} and ${task.label} by ${task.task}`);
            else labels.set(matches[0], { label: task.label, task });
        }
    }
    if (problems.length > 0)
        throw new JobError(
            `${source} does not say which file an annotation is for: ${listSome(problems)}; ` +
                "export from a storage whose paths match the folder (or point DIR at the folder the paths are relative to), or give the files unique names",
        );
    return { labels: new Map([...labels].map(([file, { label }]) => [file, label])), missing: [...new Set(missing)] };
}
