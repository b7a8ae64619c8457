import { createReadStream } from "fs";
import { readFile } from "fs/promises";
import { join, posix } from "path";
import { createInterface } from "readline";
import { classProbabilities, PredictionFormatError } from "../lib/class-probabilities";
import { JobError, listSome } from "../lib/errors";
import { walkFiles } from "../lib/fs-walk";
import { mapOrdered } from "../lib/pool";

/** One line of preprocess' `test/labels.jsonl`. */
export interface TestLabel {
    readonly file: string;
    readonly label: number;
    readonly class?: string;
}

async function* jsonLines(path: string): AsyncGenerator<{ value: unknown; line: number }> {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    let line = 0;
    for await (const text of lines) {
        line++;
        if (text.trim() === "") continue;
        try {
            yield { value: JSON.parse(text), line };
        } catch (e) {
            throw new JobError(`${path} line ${line} is not JSON: ${(e as Error).message}`);
        }
    }
}

/** Reads and checks `labels.jsonl`: every label must be a class index whose name matches the class map. */
export async function readTestLabels(path: string, classes: readonly string[]): Promise<TestLabel[]> {
    const labels: TestLabel[] = [];
    try {
        for await (const { value, line } of jsonLines(path)) {
            const v = value as Partial<TestLabel>;
            if (typeof v?.file !== "string" || !Number.isInteger(v.label))
                throw new JobError(`${path} line ${line} must be {"file": "<name>", "label": <class index>}`);
            if (v.label! < 0 || v.label! >= classes.length)
                throw new JobError(
                    `${path} line ${line}: class index ${v.label} of ${v.file} is outside the class map (0..${classes.length - 1})`,
                );
            if (v.class !== undefined && v.class !== classes[v.label!])
                throw new JobError(
                    `${path} line ${line}: ${v.file} has class "${v.class}" but index ${v.label} is "${classes[v.label!]}" in the class map; labels and class map come from different preprocess runs`,
                );
            labels.push({ file: v.file, label: v.label!, class: v.class });
        }
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT")
            throw new JobError(`test labels ${path} do not exist; pass --test with preprocess' test output`);
        throw e;
    }
    if (labels.length === 0) throw new JobError(`${path} lists no test images`);
    return labels;
}

/** The probability list in one prediction: a JSON list, or an object with `prediction` (or `probabilities`). */
export function probabilitiesOf(value: unknown, numClasses: number, where: string): number[] {
    try {
        return classProbabilities(value, numClasses);
    } catch (e) {
        if (e instanceof PredictionFormatError) throw new JobError(`${where} ${e.message}`);
        throw e;
    }
}

/**
 * Pairs every test label with its prediction. Batch transform writes `<input file>.out` per image; these are
 * matched by file name. Without `.out` files, JSON lines files (`{"prediction": [...]}` per line, files in
 * name order) are matched to labels.jsonl by position, which needs equal counts.
 */
export async function* labelledPredictions(
    folder: string,
    labels: readonly TestLabel[],
    numClasses: number,
): AsyncGenerator<{ label: TestLabel; probabilities: number[] }> {
    const outFiles = new Map<string, string>();
    const lineFiles: string[] = [];
    for await (const file of walkFiles(folder)) {
        if (file.endsWith(".out")) {
            const image = posix.basename(file).slice(0, -".out".length);
            if (outFiles.has(image)) throw new JobError(`two predictions for ${image} in ${folder}: ${outFiles.get(image)} and ${file}`);
            outFiles.set(image, file);
        } else if (/\.(jsonl|json)$/.test(file)) lineFiles.push(file);
    }
    if (outFiles.size > 0 && lineFiles.length > 0)
        throw new JobError(
            `${folder} has both per-image .out files and JSON lines files (${listSome(lineFiles, 3)}); keep one kind of prediction output`,
        );
    if (outFiles.size > 0) {
        const known = new Set(labels.map((l) => l.file));
        const missing = labels.filter((l) => !outFiles.has(l.file)).map((l) => l.file);
        const extra = [...outFiles.keys()].filter((f) => !known.has(f));
        if (missing.length > 0 || extra.length > 0)
            throw new JobError(
                `predictions in ${folder} do not match the test labels: ` +
                    (missing.length ? `${missing.length} test images have no <image>.out (${listSome(missing, 5)})` : "") +
                    (missing.length && extra.length ? "; " : "") +
                    (extra.length ? `${extra.length} .out files are for images not in labels.jsonl (${listSome(extra, 5)})` : "") +
                    "; run batch transform on preprocess' test/images of the same run",
            );
        yield* mapOrdered(labels, 16, async (label) => {
            const path = join(folder, outFiles.get(label.file)!);
            const text = await readFile(path, "utf8");
            let value: unknown;
            try {
                value = JSON.parse(text);
            } catch (e) {
                throw new JobError(`${path} is not JSON: ${(e as Error).message}`);
            }
            return { label, probabilities: probabilitiesOf(value, numClasses, path) };
        });
        return;
    }
    if (lineFiles.length === 0)
        throw new JobError(`no predictions in ${folder}: expected <image>.out files from batch transform or JSON lines files`);
    let index = 0;
    const pending: Array<{ label: TestLabel; probabilities: number[] }> = [];
    for (const file of lineFiles) {
        for await (const { value, line } of jsonLines(join(folder, file))) {
            const where = `${join(folder, file)} line ${line}`;
            if (index < labels.length) pending.push({ label: labels[index], probabilities: probabilitiesOf(value, numClasses, where) });
            index++;
        }
    }
    if (index !== labels.length)
        throw new JobError(
            `${index} predictions in ${listSome(lineFiles, 3)} but ${labels.length} test images in labels.jsonl; ` +
                "JSON lines predictions are matched to labels.jsonl by order, so there must be one per test image",
        );
    yield* pending;
}
