import { S3Client } from "@aws-sdk/client-s3";
import { createReadStream } from "fs";
import { join } from "path";
import { walkFiles } from "../lib/fs-walk";
import { CaptureFile, hourFolders, linesOnly, listS3, readBoundedLines, s3Lines, s3Prefix } from "./capture";
import { TimeWindow } from "./settings";

/**
 * Ground-truth labels for captured requests, JSON lines in either form:
 * - `{"inferenceId": "...", "label": "stop"}` (or `"eventId"`; the label a class name or index);
 * - Model Monitor's own: `{"groundTruthData": {"data": "stop", "encoding": "CSV"}, "eventMetadata": {"eventId": "..."}}`.
 * Labels are held in memory (one entry per labelled request); capture records are still streamed.
 *
 * From S3 (`s3://bucket/<model>/ground-truth/`), labels are read from `yyyy/mm/dd/hh/` folders of their upload
 * hour, as Model Monitor lays ground truth out: only hours from the window's start (a label is never uploaded
 * before its request was served) up to a week after its end, so memory stays bounded however long the
 * labelling history grows. A local folder is read whole.
 */
export interface GroundTruth {
    /** Class index by inferenceId or eventId. */
    readonly labels: ReadonlyMap<string, number>;
    /** Lines that were not JSON, had no id, or named a class the model does not have. */
    readonly rejected: number;
    readonly rejectedSamples: readonly string[];
}

/** How long after a window labels for it are still looked for. */
const LABEL_LAG_MS = 7 * 86400_000;

export async function groundTruthFiles(source: string, window: TimeWindow, s3?: Pick<S3Client, "send">): Promise<CaptureFile[]> {
    if (source.startsWith("s3://")) {
        const client = s3 ?? new S3Client({});
        const { bucket, prefix } = s3Prefix(source);
        const until = new Date(Math.min(Date.now(), window.end.getTime() + LABEL_LAG_MS));
        const files: CaptureFile[] = [];
        for (const hour of hourFolders({ start: window.start, end: until < window.end ? window.end : until })) {
            for (const key of (await listS3(client, bucket, `${prefix}${hour}/`)).keys.filter((k) => /\.jsonl?$/.test(k)).sort())
                files.push({ name: `s3://${bucket}/${key}`, lines: () => s3Lines(client, bucket, key) });
        }
        return files;
    }
    const files: CaptureFile[] = [];
    for await (const rel of walkFiles(source))
        if (/\.jsonl?$/.test(rel)) files.push({ name: rel, lines: (max) => readBoundedLines(createReadStream(join(source, rel)), max) });
    return files;
}

export async function loadGroundTruth(files: readonly CaptureFile[], classes: readonly string[]): Promise<GroundTruth> {
    const labels = new Map<string, number>();
    const byName = new Map(classes.map((c, i) => [c, i]));
    let rejected = 0;
    const rejectedSamples: string[] = [];
    const reject = (where: string, why: string) => {
        rejected++;
        if (rejectedSamples.length < 10) rejectedSamples.push(`${where}: ${why}`);
    };
    for (const file of files) {
        const rel = file.name;
        let lineNo = 0;
        for await (const line of linesOnly(file.lines(), (bytes) => reject(`${rel}:${++lineNo}`, `line of ${bytes} bytes skipped`))) {
            lineNo++;
            let v: GroundTruthLine | null;
            try {
                v = JSON.parse(line) as GroundTruthLine | null;
            } catch {
                reject(`${rel}:${lineNo}`, "not JSON");
                continue;
            }
            const id: unknown = v?.inferenceId ?? v?.eventId ?? v?.eventMetadata?.inferenceId ?? v?.eventMetadata?.eventId;
            const raw: unknown = v?.label ?? v?.groundTruthData?.data;
            if (typeof id !== "string" || id === "") {
                reject(`${rel}:${lineNo}`, "no inferenceId or eventId");
                continue;
            }
            const index = classIndex(raw, byName, classes.length);
            if (index === undefined) {
                reject(`${rel}:${lineNo}`, `label ${JSON.stringify(raw)} is not one of the model's classes`);
                continue;
            }
            labels.set(id, index);
        }
    }
    return { labels, rejected, rejectedSamples };
}

/** The fields a ground-truth line may carry: ours (`inferenceId`, `label`) or Model Monitor's merge format. */
interface GroundTruthLine {
    readonly inferenceId?: unknown;
    readonly eventId?: unknown;
    readonly label?: unknown;
    readonly eventMetadata?: { readonly inferenceId?: unknown; readonly eventId?: unknown };
    readonly groundTruthData?: { readonly data?: unknown };
}

function classIndex(raw: unknown, byName: ReadonlyMap<string, number>, count: number): number | undefined {
    if (typeof raw === "number") return Number.isInteger(raw) && raw >= 0 && raw < count ? raw : undefined;
    if (typeof raw !== "string") return undefined;
    const text = raw.trim().replace(/^"(.*)"$/, "$1");
    if (byName.has(text)) return byName.get(text);
    if (/^\d+$/.test(text)) return classIndex(Number(text), byName, count);
    return undefined;
}
