import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createHash, randomUUID } from "crypto";
import { readFile } from "fs/promises";
import { extname, join, posix, relative, resolve } from "path";
import { BATCH_METADATA_FILE, LatestDataset } from "../../infra/job-contract";
import { BATCH_MANIFEST_FILE, prefixes } from "../../infra/naming";
import { describeAwsFailure } from "../cli/lib/aws-errors";
import { JobError, listSome } from "../lib/errors";
import { unreadable, walkFiles } from "../lib/fs-walk";
import { matchLabels, readLabelStudioExport } from "../lib/label-studio";
import { mapOrdered } from "../lib/pool";
import { Progress } from "./progress";
import { getText, listFolders, listKeys, putIfAbsent, putIfMatch, S3 } from "./s3";

/** File extensions ingest uploads, with the content type each is stored with. */
export const IMAGE_CONTENT_TYPES: Readonly<Record<string, string>> = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
};

/** Hex digits of the SHA-256 kept in an image's key; enough that two different images never share one. */
export const KEY_HASH_CHARS = 32;

/**
 * How long a run holds a batch without renewing: a killed ingest's batch can be resumed by another run this
 * long after its last sign of life. Renewed every third of it while images upload.
 */
export const LEASE_SECONDS = 60;

const BATCH_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The default batch id: the UTC time as `yyyymmddThhmmssZ`, which sorts in time order. */
export function defaultBatchId(now = new Date()): string {
    return now
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d+Z$/, "Z");
}

/** `<model>/batches/<batch>/<class>/<hash>.<ext>`; the hash sits in the name so one listing tells what is uploaded. */
export function imageKey(model: string, batchId: string, className: string, sha256: string, ext: string): string {
    return `${prefixes.rawBatch(model, batchId)}${className}/${sha256.slice(0, KEY_HASH_CHARS)}${ext}`;
}

const IMAGE_KEY = new RegExp(`^[^/]+/batches/([^/]+)/([^/]+)/([0-9a-f]{${KEY_HASH_CHARS}})\\.[A-Za-z0-9]+$`);

/**
 * `batch.json`: the batch record. Created (only if absent) by the run that claims the batch, renewed by it
 * while it uploads (`lease_expires_at`), taken over by a later run once the lease has run out, and completed
 * with what the batch added just before its manifest is written.
 */
export interface BatchRecord {
    readonly model: string;
    readonly batch_id: string;
    /** `uploading` while a run holds it; `complete` once every image is uploaded; `empty` when a resumed batch had nothing to add. */
    readonly status: "uploading" | "complete" | "empty";
    /** The run that holds (or completed) the batch, and until when it holds it. */
    readonly run_id: string;
    readonly lease_expires_at: string;
    /** Every run that worked on the batch, the first one first. */
    readonly runs: Array<{ run_id: string; started_at: string }>;
    readonly created_at: string;
    readonly updated_at: string;
    readonly source: string;
    readonly labels: string | null;
    /** Images the batch holds (uploaded by any of its runs). */
    readonly new_images: number;
    /** Local images whose content (under the same class) is in an earlier complete batch. */
    readonly already_uploaded: number;
    readonly duplicates_in_batch: number;
    /** New images per class. */
    readonly classes: Record<string, number>;
    readonly skipped: Array<{ file: string; reason: string }>;
    /**
     * Local images whose content is also filed under another class, in this folder or in an earlier batch
     * (`sha256`: the hash in the images' keys). Preprocess leaves every copy of such an image out of training.
     */
    readonly label_conflicts: Array<{ file: string; class: string; other_classes: string[]; sha256: string }>;
    /** Images in the batch's manifest (the dataset it trains on). */
    readonly total_images: number;
}

export interface IngestOptions {
    readonly s3: S3;
    readonly bucket: string;
    readonly model: string;
    readonly classes: readonly string[];
    /** Folder of images, one sub-folder per class (or any layout with `labels`). */
    readonly dir: string;
    /** Label Studio JSON export naming each image's class. */
    readonly labels?: string;
    /** The batch to create, or to resume if it is incomplete. Default: this folder's incomplete batch, else the UTC time. */
    readonly batchId?: string;
    /** Write a batch (and so start training) even when the folder adds no image. */
    readonly force?: boolean;
    readonly concurrency?: number;
    readonly progress?: Progress;
    /** Warnings for the operator (other runs' incomplete batches, files that changed during the run). */
    readonly warn?: (line: string) => void;
    readonly now?: () => Date;
    /** Identifies this run in batch records. Defaults to a random UUID. */
    readonly runId?: string;
    readonly leaseSeconds?: number;
}

export type IngestResult =
    | { readonly status: "nothing-new"; readonly images: number }
    | {
          readonly status: "complete";
          readonly batch: BatchRecord;
          readonly batchKey: string;
          readonly manifestKey: string;
          /** Images an earlier run of the batch had uploaded already. */
          readonly resumedImages: number;
          readonly latest: LatestUpdate;
      };

interface LocalImage {
    readonly file: string;
    readonly className: string;
    readonly ext: string;
}

/** What one listing of `<model>/batches/` says about a batch. */
interface RawBatch {
    readonly id: string;
    complete: boolean;
    hasRecord: boolean;
    readonly images: Array<{ key: string; className: string; hash: string }>;
}

/**
 * Uploads the images of `dir` that no complete batch of the model holds, as one batch:
 * 1. claims the batch by creating `batch.json` only if it is absent (or takes over an incomplete batch of
 *    the same folder whose run stopped renewing its lease), so exactly one run owns a batch;
 * 2. uploads each image under the hash of the very bytes it sends (S3 checks them against ChecksumSHA256);
 * 3. completes `batch.json`, then creates the batch's `_manifest.json` only if absent: its arrival starts
 *    training, so a repeated or retried write cannot start a second run;
 * 4. points `<model>/latest/dataset.json` at the newest complete dataset.
 * Nothing is written when a label is unknown, the batch id names a complete batch, or the folder adds no
 * image (unless `force`). A run that fails part-way leaves a batch that the same command resumes.
 */
export async function ingest(opts: IngestOptions): Promise<IngestResult> {
    const { s3, bucket, model } = opts;
    const now = opts.now ?? (() => new Date());
    const runId = opts.runId ?? randomUUID();
    if (opts.batchId !== undefined && !BATCH_ID.test(opts.batchId))
        throw new JobError(
            `batch id "${opts.batchId}" must be letters, digits, ".", "_" or "-" (at most 100), starting with a letter or digit`,
        );
    const dir = resolve(opts.dir);
    const labels = opts.labels ? resolve(opts.labels) : null;
    const skipped: Array<{ file: string; reason: string }> = [];
    const local = await listLocalImages(dir, opts.labels, skipped);
    const known = new Set(opts.classes);
    const unknown = new Map<string, string[]>();
    for (const image of local)
        if (!known.has(image.className)) unknown.set(image.className, [...(unknown.get(image.className) ?? []), image.file]);
    if (unknown.size > 0)
        throw new JobError(
            `nothing uploaded: ${[...unknown].map(([c, files]) => `"${c}" (${files.length} files, e.g. ${files[0]})`).join("; ")} ` +
                `${unknown.size > 1 ? "are not classes" : "is not a class"} of model ${model}; its classes are: ${opts.classes.join(", ")}`,
        );
    if (local.length === 0)
        throw new JobError(`no images under ${dir} (looked for ${Object.keys(IMAGE_CONTENT_TYPES).join(" ")} in class folders)`);

    // One listing of the model's raw data: which batches are complete (their images are the dataset) and which
    // are not (their images count for nothing until they complete).
    const batches = await readBatches(s3, bucket, model).catch((e) => {
        if ((e as { name?: string }).name === "NoSuchBucket")
            throw new JobError(`raw bucket ${bucket} does not exist; deploy the stack first (pulumi up), or pass --bucket with its name`);
        throw e;
    });
    const records = new Map<string, BatchRecord>();
    for (const b of batches.values())
        if (!b.complete && b.hasRecord) {
            const r = await getText(s3, bucket, `${prefixes.rawBatch(model, b.id)}${BATCH_METADATA_FILE}`);
            if (r) records.set(b.id, JSON.parse(r.text) as BatchRecord);
        }
    const incomplete = [...batches.values()].filter((b) => !b.complete && records.get(b.id)?.status !== "empty");
    const batchId = chooseBatch(opts.batchId, batches, incomplete, records, { dir, labels, bucket, model, now });
    const target = batches.get(batchId);
    for (const b of incomplete)
        if (b.id !== batchId) {
            const r = records.get(b.id);
            opts.warn?.(
                `batch ${b.id}${r ? ` (from ${r.source}, started ${r.created_at})` : ""} is incomplete: its ${b.images.length} images are in no ` +
                    "dataset until the ingest that started it runs again and finishes it",
            );
        }

    const uploaded = new Map<string, Map<string, string>>(); // content hash -> class -> key, complete batches only
    for (const b of batches.values())
        if (b.complete) for (const i of b.images) uploaded.set(i.hash, (uploaded.get(i.hash) ?? new Map()).set(i.className, i.key));
    const inTarget = new Map((target?.images ?? []).map((i) => [`${i.className}/${i.hash}`, i.key]));

    const concurrency = opts.concurrency ?? 8;
    const hashed: Array<LocalImage & { hash: string }> = [];
    let done = 0;
    for await (const h of mapOrdered(local, concurrency, async (image) => {
        let hash: string | undefined;
        try {
            hash = sha256Hex(await readFile(join(dir, image.file))).slice(0, KEY_HASH_CHARS);
        } catch (e) {
            skipped.push({ file: image.file, reason: unreadable(e as NodeJS.ErrnoException, join(dir, image.file), "file") });
        }
        opts.progress?.update("hashing", ++done, local.length);
        return { ...image, hash };
    }))
        if (h.hash !== undefined) hashed.push(h as LocalImage & { hash: string });

    // A content is uploaded once per class it is filed under: a second class is a label conflict, which
    // preprocess can only see (and keep out of training) if both claims are in the raw data.
    const classesOf = new Map<string, Set<string>>();
    for (const [hash, classes] of uploaded) classesOf.set(hash, new Set(classes.keys()));
    for (const image of hashed) classesOf.set(image.hash, (classesOf.get(image.hash) ?? new Set()).add(image.className));
    const toUpload: Array<LocalImage & { hash: string; key: string }> = [];
    const planned = new Set<string>(); // `${class}/${hash}`
    const conflicts: BatchRecord["label_conflicts"] = [];
    let alreadyUploaded = 0,
        duplicatesInBatch = 0;
    for (const image of hashed) {
        const classes = classesOf.get(image.hash)!;
        if (classes.size > 1)
            conflicts.push({
                file: image.file,
                class: image.className,
                other_classes: [...classes].filter((c) => c !== image.className).sort(),
                sha256: image.hash,
            });
        if (uploaded.get(image.hash)?.has(image.className)) alreadyUploaded++;
        else if (planned.has(`${image.className}/${image.hash}`)) duplicatesInBatch++;
        else {
            planned.add(`${image.className}/${image.hash}`);
            toUpload.push({ ...image, key: imageKey(model, batchId, image.className, image.hash, image.ext) });
        }
    }
    if (toUpload.length === 0 && inTarget.size === 0 && !opts.force && !target) return { status: "nothing-new", images: local.length };

    const summary = (batchImages: readonly string[], manifestImages: number) => {
        const perClass = Object.fromEntries(opts.classes.map((c) => [c, 0]));
        for (const key of batchImages) perClass[IMAGE_KEY.exec(key)![2]]++;
        return {
            new_images: batchImages.length,
            already_uploaded: alreadyUploaded,
            duplicates_in_batch: duplicatesInBatch,
            classes: perClass,
            skipped,
            label_conflicts: conflicts,
            total_images: manifestImages,
        };
    };
    const completeImages = [...batches.values()].filter((b) => b.complete).flatMap((b) => b.images.map((i) => i.key));
    const lease = await BatchLease.claim(s3, bucket, {
        model,
        batchId,
        runId,
        now,
        leaseSeconds: opts.leaseSeconds ?? LEASE_SECONDS,
        initial: { source: dir, labels, ...summary([...inTarget.values()], 0) },
    });

    // Upload what the batch does not hold yet; a failure of one image does not stop the others.
    const batchKeys = new Set(inTarget.values());
    const failures: Array<{ file: string; error: string; cause: unknown }> = [];
    let resumedImages = 0;
    done = 0;
    for await (const _ of mapOrdered(toUpload, concurrency, async (image) => {
        try {
            if (inTarget.has(`${image.className}/${image.hash}`)) resumedImages++;
            else {
                const key = await uploadImage(s3, bucket, model, batchId, dir, image, uploaded, opts.warn);
                if (key) batchKeys.add(key);
            }
        } catch (e) {
            failures.push({ file: image.file, error: describeAwsFailure(e), cause: e });
        }
        await lease.renewIfDue();
        opts.progress?.update("uploading", ++done, toUpload.length);
    })) {
        /* in order, bounded */
    }
    if (failures.length > 0) {
        await lease.release();
        // The first failure is the cause, so the command's exit code says what kind of failure it was.
        throw Object.assign(
            new JobError(
                `batch ${batchId} is incomplete: ${toUpload.length - failures.length} of ${toUpload.length} images uploaded, ${failures.length} failed ` +
                    `(first: ${failures[0].file}: ${failures[0].error}); nothing is lost and no training was started: ` +
                    `run the same command again to resume it`,
            ),
            { cause: failures[0].cause },
        );
    }
    if (batchKeys.size === 0 && !opts.force) {
        await lease.finish("empty", summary([], 0));
        return { status: "nothing-new", images: local.length };
    }

    // The manifest lists the complete batches and this one; created only if absent, it is the training trigger.
    const batchImages = [...batchKeys].sort();
    const allKeys = [...new Set([...completeImages, ...batchImages])].sort();
    const manifestText = manifestOf(bucket, model, allKeys);
    const batch = await lease.finish("complete", summary(batchImages, allKeys.length));
    const manifestKey = prefixes.batchManifest(model, batchId);
    if (!(await putIfAbsent(s3, { Bucket: bucket, Key: manifestKey, Body: manifestText, ContentType: "application/json" }))) {
        const existing = await getText(s3, bucket, manifestKey);
        if (existing?.text !== manifestText)
            throw new JobError(
                `batch ${batchId} already has a manifest that another run wrote (s3://${bucket}/${manifestKey}); nothing replaced`,
            );
    }
    const completeIds = [...batches.values()].filter((b) => b.complete).map((b) => b.id);
    const latest = await updateLatest(s3, bucket, model, {
        batchId,
        batches: [...completeIds, batchId].sort(),
        manifestKey,
        manifestText,
        images: allKeys.length,
        now,
    });
    return { status: "complete", batch, batchKey: lease.key, manifestKey, resumedImages, latest };
}

function sha256Hex(bytes: Buffer): string {
    return createHash("sha256").update(bytes).digest("hex");
}

/** A SageMaker ManifestFile: the model's prefix, then every key relative to it. */
function manifestOf(bucket: string, model: string, keys: readonly string[]): string {
    const prefix = prefixes.rawModel(model);
    return JSON.stringify([{ prefix: `s3://${bucket}/${prefix}` }, ...keys.map((k) => k.slice(prefix.length))]);
}

/**
 * Reads the file once and uploads exactly those bytes under their own hash, with their SHA-256 for S3 to
 * check. A file that changed since it was hashed is uploaded as it is now (under its new hash) unless that
 * content is already in the dataset. Returns the key, or undefined when nothing needed uploading.
 */
async function uploadImage(
    s3: S3,
    bucket: string,
    model: string,
    batchId: string,
    dir: string,
    image: LocalImage & { hash: string; key: string },
    uploaded: ReadonlyMap<string, ReadonlyMap<string, string>>,
    warn: ((line: string) => void) | undefined,
): Promise<string | undefined> {
    const bytes = await readFile(join(dir, image.file));
    const digest = createHash("sha256").update(bytes).digest();
    const hash = digest.toString("hex").slice(0, KEY_HASH_CHARS);
    let key = image.key;
    if (hash !== image.hash) {
        warn?.(`${image.file} changed while it was being ingested; its current content is what was uploaded`);
        if (uploaded.get(hash)?.has(image.className)) return undefined;
        key = imageKey(model, batchId, image.className, hash, image.ext);
    }
    await s3.send(
        new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: bytes,
            ContentType: IMAGE_CONTENT_TYPES[image.ext],
            ChecksumSHA256: digest.toString("base64"),
        }),
    );
    return key;
}

/** Which batch this run works on: the one asked for, else this folder's incomplete batch, else a new one. */
function chooseBatch(
    asked: string | undefined,
    batches: ReadonlyMap<string, RawBatch>,
    incomplete: readonly RawBatch[],
    records: ReadonlyMap<string, BatchRecord>,
    ctx: { dir: string; labels: string | null; bucket: string; model: string; now: () => Date },
): string {
    const id =
        asked ??
        incomplete
            .filter((b) => records.get(b.id)?.source === ctx.dir && records.get(b.id)?.labels === ctx.labels)
            .map((b) => b.id)
            .sort()
            .pop() ??
        defaultBatchId(ctx.now());
    if (batches.get(id)?.complete)
        throw new JobError(
            `batch ${id} of model ${ctx.model} already exists in s3://${ctx.bucket}/${prefixes.rawBatch(ctx.model, id)} and is complete; choose another --batch-id`,
        );
    return id;
}

/** Every batch of the model, from one listing of `<model>/batches/`. */
async function readBatches(s3: S3, bucket: string, model: string): Promise<Map<string, RawBatch>> {
    const batches = new Map<string, RawBatch>();
    const root = `${prefixes.rawModel(model)}batches/`;
    const batchOf = (id: string) => batches.get(id) ?? batches.set(id, { id, complete: false, hasRecord: false, images: [] }).get(id)!;
    for await (const key of listKeys(s3, bucket, root)) {
        const [id, ...rest] = key.slice(root.length).split("/");
        if (!id || rest.length === 0) continue;
        const name = rest.join("/");
        if (name === BATCH_MANIFEST_FILE) batchOf(id).complete = true;
        else if (name === BATCH_METADATA_FILE) batchOf(id).hasRecord = true;
        else {
            const m = IMAGE_KEY.exec(key);
            if (m) batchOf(id).images.push({ key, className: m[2], hash: m[3] });
        }
    }
    return batches;
}

/** The run's hold on its batch record: created or taken over by `claim`, renewed, completed or released. */
class BatchLease {
    private renewing: Promise<void> | undefined;
    private renewedAt: number;

    private constructor(
        private readonly s3: S3,
        private readonly bucket: string,
        readonly key: string,
        private record: BatchRecord,
        private etag: string,
        private readonly leaseSeconds: number,
        private readonly now: () => Date,
    ) {
        this.renewedAt = now().getTime();
    }

    static async claim(
        s3: S3,
        bucket: string,
        c: {
            model: string;
            batchId: string;
            runId: string;
            now: () => Date;
            leaseSeconds: number;
            initial: Omit<
                BatchRecord,
                "model" | "batch_id" | "status" | "run_id" | "lease_expires_at" | "runs" | "created_at" | "updated_at"
            >;
        },
    ): Promise<BatchLease> {
        const key = `${prefixes.rawBatch(c.model, c.batchId)}${BATCH_METADATA_FILE}`;
        const at = c.now();
        const holding = { run_id: c.runId, lease_expires_at: new Date(at.getTime() + c.leaseSeconds * 1000).toISOString() };
        for (;;) {
            const current = await getText(s3, bucket, key);
            if (!current) {
                const record: BatchRecord = {
                    model: c.model,
                    batch_id: c.batchId,
                    status: "uploading",
                    ...holding,
                    runs: [{ run_id: c.runId, started_at: at.toISOString() }],
                    created_at: at.toISOString(),
                    updated_at: at.toISOString(),
                    ...c.initial,
                };
                const created = await putIfAbsent(s3, jsonObject(bucket, key, record));
                if (created) return new BatchLease(s3, bucket, key, record, created.etag, c.leaseSeconds, c.now);
                continue; // another run created it first: look at what it wrote
            }
            const held = JSON.parse(current.text) as BatchRecord;
            if (held.status !== "empty" && held.run_id !== c.runId && Date.parse(held.lease_expires_at) > at.getTime())
                throw new JobError(
                    `batch ${c.batchId} of model ${c.model} is being ingested by another run (run ${held.run_id}, from ${held.source}, ` +
                        `held until ${held.lease_expires_at}); nothing uploaded by this one; if that ingest was stopped, run this command ` +
                        `again after ${held.lease_expires_at}`,
                );
            const record: BatchRecord = {
                ...held,
                ...c.initial,
                status: "uploading",
                ...holding,
                runs: [...held.runs, { run_id: c.runId, started_at: at.toISOString() }],
                updated_at: at.toISOString(),
            };
            const taken = await putIfMatch(s3, jsonObject(bucket, key, record), current.etag);
            if (taken) return new BatchLease(s3, bucket, key, record, taken.etag, c.leaseSeconds, c.now);
            // Changed since it was read (another run took it over): look again.
        }
    }

    /** Extends the lease when a third of it has passed; one renewal at a time. */
    async renewIfDue(): Promise<void> {
        if (this.renewing) return this.renewing;
        if (this.now().getTime() - this.renewedAt < (this.leaseSeconds * 1000) / 3) return;
        this.renewing = this.write({ lease_expires_at: new Date(this.now().getTime() + this.leaseSeconds * 1000).toISOString() }).finally(
            () => {
                this.renewing = undefined;
            },
        );
        return this.renewing;
    }

    /** Lets another run resume the batch at once (after a failure this run reported). Best effort. */
    async release(): Promise<void> {
        await this.write({ lease_expires_at: this.now().toISOString() }).catch(() => undefined);
    }

    /** The final record: what the batch added, and its status. */
    async finish(status: "complete" | "empty", summary: Partial<BatchRecord>): Promise<BatchRecord> {
        await this.write({ ...summary, status, lease_expires_at: this.now().toISOString() });
        return this.record;
    }

    private async write(change: Partial<BatchRecord>): Promise<void> {
        const record: BatchRecord = { ...this.record, ...change, updated_at: this.now().toISOString() };
        const put = await putIfMatch(this.s3, jsonObject(this.bucket, this.key, record), this.etag);
        if (!put)
            throw new JobError(
                `lost batch ${record.batch_id} to another run (its record s3://${this.bucket}/${this.key} changed); ` +
                    "this run stops here, the other one completes the batch",
            );
        this.record = record;
        this.etag = put.etag;
        this.renewedAt = this.now().getTime();
    }
}

function jsonObject(bucket: string, key: string, value: unknown) {
    return { Bucket: bucket, Key: key, Body: `${JSON.stringify(value, null, 2)}\n`, ContentType: "application/json" };
}

/** `updated`: latest/ names this batch's manifest; `merged`: a manifest of it and batches completed meanwhile; `unchanged`: a newer one. */
export type LatestUpdate = "updated" | "merged" | "unchanged";

/**
 * Points `latest/dataset.json` at the newest complete dataset, never backwards: it is replaced only by a
 * dataset of at least the batches it names (conditional writes on its ETag, retried when another ingest
 * wrote in between). When other batches completed while this one uploaded, neither manifest lists the
 * other's images, so latest/ names a merged manifest of all of them (under `<model>/datasets/`, outside
 * `batches/`, so it starts no training of its own).
 */
async function updateLatest(
    s3: S3,
    bucket: string,
    model: string,
    mine: {
        batchId: string;
        batches: string[];
        manifestKey: string;
        manifestText: string;
        images: number;
        now: () => Date;
    },
): Promise<LatestUpdate> {
    const key = prefixes.latestDataset(model);
    for (let attempt = 1; attempt <= 10; attempt++) {
        // Batches that completed since this run listed the model: their manifests hold their images.
        const others: Array<{ id: string; entries: string[] }> = [];
        for (const id of await batchIds(s3, bucket, model))
            if (!mine.batches.includes(id)) {
                const m = await getText(s3, bucket, prefixes.batchManifest(model, id));
                if (m) others.push({ id, entries: (JSON.parse(m.text) as unknown[]).slice(1) as string[] });
            }
        let pointer: LatestDataset = {
            model,
            manifest_key: mine.manifestKey,
            manifest_sha256: sha256Hex(Buffer.from(mine.manifestText)),
            batches: mine.batches,
            images: mine.images,
            updated_at: mine.now().toISOString(),
            updated_by: mine.batchId,
        };
        if (others.length > 0) {
            const entries = new Set((JSON.parse(mine.manifestText) as unknown[]).slice(1) as string[]);
            for (const o of others) for (const e of o.entries) entries.add(e);
            const prefix = prefixes.rawModel(model);
            const text = manifestOf(
                bucket,
                model,
                [...entries].sort().map((e) => `${prefix}${e}`),
            );
            const sha = sha256Hex(Buffer.from(text));
            const mergedKey = prefixes.mergedManifest(model, sha);
            await putIfAbsent(s3, { Bucket: bucket, Key: mergedKey, Body: text, ContentType: "application/json" });
            pointer = {
                ...pointer,
                manifest_key: mergedKey,
                manifest_sha256: sha,
                batches: [...mine.batches, ...others.map((o) => o.id)].sort(),
                images: entries.size,
            };
        }
        const current = await getText(s3, bucket, key);
        if (current) {
            const named = new Set((JSON.parse(current.text) as LatestDataset).batches);
            if (pointer.batches.every((b) => named.has(b))) return "unchanged";
        }
        const body = jsonObject(bucket, key, pointer);
        if (await (current ? putIfMatch(s3, body, current.etag) : putIfAbsent(s3, body))) return others.length > 0 ? "merged" : "updated";
    }
    throw new JobError(`${key} kept changing while this run tried to update it; run the ingest again to point it at the newest dataset`);
}

/** The ids of the model's batches, from a listing by folder (one entry per batch, not per image). */
async function batchIds(s3: S3, bucket: string, model: string): Promise<string[]> {
    const root = `${prefixes.rawModel(model)}batches/`;
    const ids: string[] = [];
    for await (const prefix of listFolders(s3, bucket, root)) ids.push(prefix.slice(root.length).replace(/\/$/, ""));
    return ids;
}

async function listLocalImages(
    dir: string,
    labelsPath: string | undefined,
    skipped: Array<{ file: string; reason: string }>,
): Promise<LocalImage[]> {
    const labelled = labelsPath ? readLabelStudioExport(labelsPath).labelled : undefined;
    const labelsInside = labelsPath ? relative(dir, resolve(labelsPath)).split("\\").join("/") : undefined;
    const files: Array<{ file: string; ext: string }> = [];
    for await (const file of walkFiles(dir, (skip) => skipped.push({ file: skip.path, reason: skip.reason }))) {
        if (file === labelsInside) continue;
        const ext = extname(file).toLowerCase();
        if (!IMAGE_CONTENT_TYPES[ext])
            skipped.push({ file, reason: `not an image file name (${Object.keys(IMAGE_CONTENT_TYPES).join(" ")})` });
        else files.push({ file, ext: ext === ".jpeg" ? ".jpg" : ext });
    }
    const images: LocalImage[] = [];
    if (labelled) {
        const { labels, missing } = matchLabels(
            labelled,
            files.map((f) => f.file),
            labelsPath!,
        );
        if (missing.length > 0)
            throw new JobError(
                `${labelsPath} labels ${missing.length} images that are not under ${dir}: ${listSome(missing, 5)}; ` +
                    "point DIR at the folder holding the exported images",
            );
        for (const { file, ext } of files) {
            const label = labels.get(file);
            if (label === undefined) skipped.push({ file, reason: `not labelled in ${labelsPath}` });
            else images.push({ file, className: label, ext });
        }
        return images;
    }
    for (const { file, ext } of files) {
        const folder = posix.dirname(file);
        if (folder === ".") skipped.push({ file, reason: "not inside a class folder" });
        else images.push({ file, className: posix.basename(folder), ext });
    }
    return images;
}
