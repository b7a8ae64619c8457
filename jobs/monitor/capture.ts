import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { createReadStream } from "fs";
import { readdir } from "fs/promises";
import { join } from "path";
import { createInterface } from "readline";
import { Readable } from "stream";
import { parseS3Uri } from "../../infra/s3-uri";
import { TimeWindow } from "./settings";

/**
 * SageMaker data capture, one JSON object per line:
 * `{"captureData": {"endpointInput": {...}, "endpointOutput": {...}}, "eventMetadata": {"eventId", "inferenceTime",
 * "inferenceId"?}, "eventVersion": "0"}`, in files under `<endpoint>/<variant>/yyyy/mm/dd/hh/`.
 */
export interface CapturePayload {
    readonly observedContentType?: string;
    readonly mode?: "INPUT" | "OUTPUT";
    /** The payload: base64 for BASE64, the text itself for JSON and CSV. */
    readonly data: string;
    readonly encoding: "BASE64" | "JSON" | "CSV" | string;
}

export interface CaptureRecord {
    readonly captureData: { readonly endpointInput?: CapturePayload; readonly endpointOutput?: CapturePayload };
    readonly eventMetadata: { readonly eventId: string; readonly inferenceTime: string; readonly inferenceId?: string };
    readonly eventVersion?: string;
}

/** A line that is not a capture record, or a payload the monitor cannot read. */
export class CaptureFormatError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CaptureFormatError";
    }
}

export function parseCaptureLine(line: string): CaptureRecord {
    let value: unknown;
    try {
        value = JSON.parse(line);
    } catch (e) {
        throw new CaptureFormatError(`not JSON (${(e as Error).message})`);
    }
    const r = value as Partial<CaptureRecord> | null;
    if (!r || typeof r !== "object" || !r.captureData || typeof r.captureData !== "object")
        throw new CaptureFormatError("no captureData object");
    const meta = r.eventMetadata;
    if (!meta || typeof meta.inferenceTime !== "string" || typeof meta.eventId !== "string")
        throw new CaptureFormatError("eventMetadata lacks eventId or inferenceTime");
    return r as CaptureRecord;
}

/** The payload's bytes: base64 decoded, or the text itself. */
export function payloadBytes(p: CapturePayload): Buffer {
    if (typeof p.data !== "string") throw new CaptureFormatError("payload data is not a string");
    return p.encoding?.toUpperCase() === "BASE64" ? Buffer.from(p.data, "base64") : Buffer.from(p.data, "utf8");
}

/** `image/jpeg; charset=binary` -> `image/jpeg`. */
export function mediaType(contentType: string | undefined): string {
    return (contentType ?? "unknown").split(";")[0].trim().toLowerCase() || "unknown";
}

/**
 * Class probabilities from an endpoint response. The built-in image-classification algorithm answers a JSON
 * list of probabilities; `{"prediction": [...]}` / `{"predictions": [...]}` (one-element batches included) and
 * CSV are read too. Throws CaptureFormatError unless it finds exactly `classCount` finite numbers.
 */
export function parseProbabilities(p: CapturePayload, classCount: number): number[] {
    const text = payloadBytes(p).toString("utf8").trim();
    let values: unknown;
    const csv = p.encoding?.toUpperCase() === "CSV" || mediaType(p.observedContentType) === "text/csv";
    if (csv && !text.startsWith("[") && !text.startsWith("{")) {
        values = text
            .split(/[,\s]+/)
            .filter((s) => s.length > 0)
            .map(Number);
    } else {
        try {
            values = JSON.parse(text);
        } catch (e) {
            throw new CaptureFormatError(`response is not JSON (${(e as Error).message})`);
        }
    }
    if (values && typeof values === "object" && !Array.isArray(values)) {
        const o = values as Record<string, unknown>;
        values = o.prediction ?? o.predictions ?? o.probabilities;
    }
    if (Array.isArray(values) && values.length === 1 && Array.isArray(values[0])) values = values[0];
    if (!Array.isArray(values)) throw new CaptureFormatError("response is not a list of class probabilities");
    if (values.length !== classCount)
        throw new CaptureFormatError(`response has ${values.length} probabilities; the model has ${classCount} classes`);
    if (!values.every((v) => typeof v === "number" && Number.isFinite(v)))
        throw new CaptureFormatError("response has values that are not numbers");
    return values as number[];
}

/** Index and value of the largest probability. */
export function topClass(probabilities: readonly number[]): { index: number; confidence: number } {
    let index = 0;
    for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[index]) index = i;
    return { index, confidence: probabilities[index] };
}

/** One capture file, read line by line. */
export interface CaptureFile {
    /** Where it came from, for messages: a path or an s3:// URI. */
    readonly name: string;
    lines(): AsyncIterable<string>;
}

const HOUR_MS = 3600_000;

/** The `yyyy/mm/dd/hh` folders whose hour overlaps the window. */
export function hourFolders(window: TimeWindow): string[] {
    const out: string[] = [];
    const first = Math.floor(window.start.getTime() / HOUR_MS) * HOUR_MS;
    for (let t = first; t < window.end.getTime(); t += HOUR_MS) {
        const d = new Date(t);
        const pad = (n: number) => String(n).padStart(2, "0");
        out.push(`${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}`);
    }
    return out;
}

/**
 * The capture files of one endpoint in the window, from a local folder (as SageMaker Processing mounts it) or
 * straight from S3 (`s3://bucket/prefix/`), listing only the hour folders the window touches so a run reads
 * an hour of data, not the endpoint's history.
 */
export async function captureFiles(
    root: string,
    endpoint: string,
    window: TimeWindow,
    s3?: Pick<S3Client, "send">,
): Promise<CaptureFile[]> {
    return root.startsWith("s3://")
        ? s3CaptureFiles(root, endpoint, window, s3 ?? new S3Client({}))
        : localCaptureFiles(root, endpoint, window);
}

async function listDir(path: string): Promise<string[]> {
    try {
        return (await readdir(path, { withFileTypes: true }))
            .filter((e) => !e.name.startsWith("."))
            .map((e) => e.name)
            .sort();
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw e;
    }
}

async function localCaptureFiles(root: string, endpoint: string, window: TimeWindow): Promise<CaptureFile[]> {
    const files: CaptureFile[] = [];
    const endpointDir = join(root, endpoint);
    for (const variant of await listDir(endpointDir)) {
        for (const hour of hourFolders(window)) {
            const dir = join(endpointDir, variant, ...hour.split("/"));
            for (const name of await listDir(dir)) {
                if (!name.endsWith(".jsonl")) continue;
                const path = join(dir, name);
                files.push({ name: path, lines: () => readLines(createReadStream(path)) });
            }
        }
    }
    return files;
}

/** `s3://bucket/a/b` -> bucket and `a/b/` (a prefix always ends in "/"). */
export function s3Prefix(uri: string): { bucket: string; prefix: string } {
    const { bucket, key } = parseS3Uri(uri);
    return { bucket, prefix: key === "" || key.endsWith("/") ? key : `${key}/` };
}

async function s3CaptureFiles(root: string, endpoint: string, window: TimeWindow, s3: Pick<S3Client, "send">): Promise<CaptureFile[]> {
    const { bucket, prefix } = s3Prefix(root);
    const endpointPrefix = `${prefix}${endpoint}/`;
    const variants = (await listS3(s3, bucket, endpointPrefix, "/")).prefixes;
    const files: CaptureFile[] = [];
    for (const variantPrefix of variants.sort()) {
        for (const hour of hourFolders(window)) {
            const keys = (await listS3(s3, bucket, `${variantPrefix}${hour}/`)).keys.filter((k) => k.endsWith(".jsonl")).sort();
            for (const key of keys) {
                files.push({ name: `s3://${bucket}/${key}`, lines: () => s3Lines(s3, bucket, key) });
            }
        }
    }
    return files;
}

/** Lines of one S3 object, streamed. */
export async function* s3Lines(s3: Pick<S3Client, "send">, bucket: string, key: string): AsyncGenerator<string> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    yield* readLines(object.Body as Readable);
}

export async function listS3(
    s3: Pick<S3Client, "send">,
    bucket: string,
    prefix: string,
    delimiter?: string,
): Promise<{ keys: string[]; prefixes: string[] }> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
        const page = await s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { keys, prefixes };
}

/** Non-empty lines of a stream; one line in memory at a time. */
export async function* readLines(stream: Readable): AsyncGenerator<string> {
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    for await (const line of rl) if (line.trim().length > 0) yield line;
}
