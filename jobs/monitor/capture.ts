import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { createReadStream } from "fs";
import { readdir } from "fs/promises";
import { join } from "path";
import { Readable } from "stream";
import { parseS3Uri } from "../../infra/s3-uri";
import { TimeWindow } from "./settings";
import { classProbabilities, PredictionFormatError } from "../lib/class-probabilities";

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

/**
 * The kinds of bad record the monitor counts separately (statistics.json `malformed_records`). A fixed list, so
 * the table stays small whatever the capture files hold.
 */
export const MALFORMED_KINDS = {
    notJson: "not JSON",
    notRecord: "not a capture record",
    inputType: "input field of the wrong type",
    outputType: "output field of the wrong type",
    inputImage: "input image undecodable",
    outputProbabilities: "output not class probabilities",
} as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[keyof typeof MALFORMED_KINDS] | `line over ${string}`;

/** A line that is not a capture record, or a payload the monitor cannot read; `kind` says which. */
export class CaptureFormatError extends Error {
    constructor(
        message: string,
        readonly kind: MalformedKind = MALFORMED_KINDS.notRecord,
    ) {
        super(message);
        this.name = "CaptureFormatError";
    }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses one capture line and checks every field the monitor reads has the type it expects, so that a number
 * where a string belongs is a counted bad record, never an exception that loses the rest of the window.
 */
export function parseCaptureLine(line: string): CaptureRecord {
    let value: unknown;
    try {
        value = JSON.parse(line);
    } catch (e) {
        throw new CaptureFormatError(`not JSON (${(e as Error).message.slice(0, 120)})`, MALFORMED_KINDS.notJson);
    }
    if (!isObject(value) || !isObject(value.captureData)) throw new CaptureFormatError("no captureData object");
    const meta = value.eventMetadata;
    if (!isObject(meta) || typeof meta.inferenceTime !== "string" || typeof meta.eventId !== "string")
        throw new CaptureFormatError("eventMetadata lacks eventId or inferenceTime (strings)");
    if (meta.inferenceId !== undefined && typeof meta.inferenceId !== "string")
        throw new CaptureFormatError("eventMetadata.inferenceId is not a string");
    return value as unknown as CaptureRecord;
}

/** Checks a payload's fields; throws CaptureFormatError of the input or output kind. */
export function checkPayload(p: unknown, side: "input" | "output"): CapturePayload {
    const kind = side === "input" ? MALFORMED_KINDS.inputType : MALFORMED_KINDS.outputType;
    if (!isObject(p)) throw new CaptureFormatError(`endpoint${side === "input" ? "Input" : "Output"} is not an object`, kind);
    for (const field of ["data", "encoding", "observedContentType", "mode"] as const)
        if (p[field] !== undefined && typeof p[field] !== "string")
            throw new CaptureFormatError(`${side} ${field} is a ${Array.isArray(p[field]) ? "list" : typeof p[field]}, not a string`, kind);
    if (typeof p.data !== "string") throw new CaptureFormatError(`${side} data is missing`, kind);
    return p as unknown as CapturePayload;
}

/** The payload's bytes: base64 decoded, or the text itself. */
export function payloadBytes(p: CapturePayload): Buffer {
    return p.encoding?.toUpperCase() === "BASE64" ? Buffer.from(p.data, "base64") : Buffer.from(p.data, "utf8");
}

/** `image/jpeg; charset=binary` -> `image/jpeg`. */
export function mediaType(contentType: string | undefined): string {
    return (contentType ?? "unknown").split(";")[0].trim().toLowerCase().slice(0, 100) || "unknown";
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
    const kind = MALFORMED_KINDS.outputProbabilities;
    if (csv && !text.startsWith("[") && !text.startsWith("{")) {
        values = text
            .split(/[,\s]+/)
            .filter((s) => s.length > 0)
            .map(Number);
    } else {
        try {
            values = JSON.parse(text);
        } catch (e) {
            throw new CaptureFormatError(`response is not JSON (${(e as Error).message.slice(0, 120)})`, kind);
        }
    }
    try {
        return classProbabilities(values, classCount);
    } catch (e) {
        if (e instanceof PredictionFormatError) throw new CaptureFormatError(`response ${e.message}`, kind);
        throw e;
    }
}

/** One line of a file, or the size of a line over the bound that was skipped without being held. */
export type LineItem = { readonly line: string } | { readonly oversized: number };

/**
 * SageMaker caps a request and a response at 6 MB each; base64 makes a captured request 8 MB, so a capture line
 * is under 16 MiB. Longer lines are not capture records and are counted, never held.
 */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/** One capture file, read line by line. */
export interface CaptureFile {
    /** Where it came from, for messages: a path or an s3:// URI. */
    readonly name: string;
    /** Size in bytes, when the listing says. */
    readonly bytes?: number;
    lines(maxLineBytes?: number): AsyncIterable<LineItem>;
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
                files.push({ name: path, lines: (max) => readBoundedLines(createReadStream(path), max) });
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
                files.push({ name: `s3://${bucket}/${key}`, lines: (max) => s3Lines(s3, bucket, key, max) });
            }
        }
    }
    return files;
}

/** Lines of one S3 object, streamed. */
export async function* s3Lines(s3: Pick<S3Client, "send">, bucket: string, key: string, maxLineBytes?: number): AsyncGenerator<LineItem> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    yield* readBoundedLines(object.Body as Readable, maxLineBytes);
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

/**
 * Non-empty lines of a stream (LF or CRLF), at most `maxBytes` each: a longer line is dropped chunk by chunk
 * as it streams and reported by its size, so memory stays at the bound plus one chunk whatever the file holds.
 */
export function readBoundedLines(stream: AsyncIterable<Buffer | Uint8Array | string>, maxBytes = DEFAULT_MAX_LINE_BYTES): BoundedLines {
    return new BoundedLines(stream, maxBytes);
}

export class BoundedLines implements AsyncIterable<LineItem> {
    /** The most bytes held at once (for tests and the benchmark). */
    peakBufferedBytes = 0;

    constructor(
        private readonly stream: AsyncIterable<Buffer | Uint8Array | string>,
        private readonly maxBytes: number,
    ) {}

    async *[Symbol.asyncIterator](): AsyncGenerator<LineItem> {
        let parts: Buffer[] = [];
        let held = 0;
        let dropped = -1; // bytes of the line being dropped, or -1 when none is
        const finish = (): LineItem | undefined => {
            if (dropped >= 0) {
                const item = { oversized: dropped };
                dropped = -1;
                return item;
            }
            const buffer = parts.length === 1 ? parts[0] : Buffer.concat(parts);
            parts = [];
            held = 0;
            let end = buffer.length;
            if (end > 0 && buffer[end - 1] === 0x0d) end--;
            const line = buffer.toString("utf8", 0, end);
            return line.trim().length > 0 ? { line } : undefined;
        };
        const take = (piece: Buffer) => {
            if (piece.length === 0) return;
            if (dropped >= 0) dropped += piece.length;
            else if (held + piece.length > this.maxBytes) {
                dropped = held + piece.length;
                parts = [];
                held = 0;
            } else {
                parts.push(piece);
                held += piece.length;
                this.peakBufferedBytes = Math.max(this.peakBufferedBytes, held);
            }
        };
        for await (const raw of this.stream) {
            const chunk =
                typeof raw === "string"
                    ? Buffer.from(raw)
                    : Buffer.isBuffer(raw)
                      ? raw
                      : Buffer.from(raw.buffer, raw.byteOffset, raw.length);
            this.peakBufferedBytes = Math.max(this.peakBufferedBytes, held + chunk.length);
            let start = 0;
            for (let nl = chunk.indexOf(0x0a, start); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
                take(chunk.subarray(start, nl));
                const item = finish();
                if (item) yield item;
                start = nl + 1;
            }
            // Copy the tail: the chunk's buffer may be reused by the stream.
            if (start < chunk.length) take(Buffer.from(chunk.subarray(start)));
        }
        if (held > 0 || dropped >= 0) {
            const item = finish();
            if (item) yield item;
        }
    }
}

/** Only the lines of a bounded reader, for readers that have no use for the oversized ones. */
export async function* linesOnly(items: AsyncIterable<LineItem>, onOversized: (bytes: number) => void): AsyncGenerator<string> {
    for await (const item of items) {
        if ("line" in item) yield item.line;
        else onOversized(item.oversized);
    }
}
