import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import { readFile } from "fs/promises";
import { extname, join, posix, resolve, relative } from "path";
import { BATCH_METADATA_FILE } from "../../infra/job-contract";
import { prefixes } from "../../infra/naming";
import { JobError, listSome } from "../lib/errors";
import { walkFiles } from "../lib/fs-walk";
import { matchLabels, readLabelStudioExport } from "../lib/label-studio";
import { mapOrdered } from "../lib/pool";
import { Progress } from "./progress";

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

/** `batch.json`: what one ingest added. */
export interface BatchRecord {
    readonly model: string;
    readonly batch_id: string;
    readonly created_at: string;
    readonly source: string;
    readonly labels: string | null;
    readonly new_images: number;
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
    readonly total_images: number;
}

export interface IngestOptions {
    readonly s3: Pick<S3Client, "send">;
    readonly bucket: string;
    readonly model: string;
    readonly classes: readonly string[];
    /** Folder of images, one sub-folder per class (or any layout with `labels`). */
    readonly dir: string;
    /** Label Studio JSON export naming each image's class. */
    readonly labels?: string;
    readonly batchId: string;
    readonly concurrency?: number;
    readonly progress?: Progress;
    readonly now?: Date;
}

export interface IngestResult {
    readonly batch: BatchRecord;
    readonly batchKey: string;
    readonly manifestKey: string;
}

interface LocalImage {
    readonly file: string;
    readonly className: string;
    readonly ext: string;
}

/**
 * Uploads the images not yet in the model's raw data, then `batch.json`, then the manifest listing every image
 * of the model: first as `<model>/latest/_manifest.json`, last as the batch's `_manifest.json` (its arrival
 * starts training). Nothing is uploaded when a label is unknown or the
 * batch id is taken.
 */
export async function ingest(opts: IngestOptions): Promise<IngestResult> {
    const { s3, bucket, model, batchId } = opts;
    if (!BATCH_ID.test(batchId))
        throw new JobError(`batch id "${batchId}" must be letters, digits, ".", "_" or "-" (at most 100), starting with a letter or digit`);
    const dir = resolve(opts.dir);
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

    // One listing of the model's raw data says which contents are already there (the hash is in each key).
    const uploaded = new Map<string, Map<string, string>>(); // content hash -> class -> key
    const modelPrefix = prefixes.rawModel(model);
    for await (const key of listKeys(s3, bucket, `${modelPrefix}batches/`)) {
        if (key.startsWith(prefixes.rawBatch(model, batchId)))
            throw new JobError(
                `batch ${batchId} of model ${model} already exists in s3://${bucket}/${prefixes.rawBatch(model, batchId)}; choose another --batch-id`,
            );
        const m = IMAGE_KEY.exec(key);
        if (m) uploaded.set(m[3], (uploaded.get(m[3]) ?? new Map()).set(m[2], key));
    }

    const concurrency = opts.concurrency ?? 8;
    const hashed: Array<LocalImage & { hash: string }> = [];
    let done = 0;
    for await (const h of mapOrdered(local, concurrency, async (image) => {
        const hash = createHash("sha256")
            .update(await readFile(join(dir, image.file)))
            .digest("hex")
            .slice(0, KEY_HASH_CHARS);
        opts.progress?.update("hashing", ++done, local.length);
        return { ...image, hash };
    }))
        hashed.push(h);

    // A content is uploaded once per class it is filed under: a second class is a label conflict, which
    // preprocess can only see (and keep out of training) if both claims are in the raw data.
    const classesOf = new Map<string, Set<string>>();
    for (const [hash, classes] of uploaded) classesOf.set(hash, new Set(classes.keys()));
    for (const image of hashed) classesOf.set(image.hash, (classesOf.get(image.hash) ?? new Set()).add(image.className));
    const toUpload: Array<LocalImage & { hash: string; key: string }> = [];
    const inBatch = new Set<string>(); // `${hash}/${class}`
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
        else if (inBatch.has(`${image.hash}/${image.className}`)) duplicatesInBatch++;
        else {
            inBatch.add(`${image.hash}/${image.className}`);
            toUpload.push({ ...image, key: imageKey(model, batchId, image.className, image.hash, image.ext) });
        }
    }

    done = 0;
    for await (const _ of mapOrdered(toUpload, concurrency, async (image) => {
        await s3.send(
            new PutObjectCommand({
                Bucket: bucket,
                Key: image.key,
                Body: await readFile(join(dir, image.file)),
                ContentType: IMAGE_CONTENT_TYPES[image.ext],
            }),
        );
        opts.progress?.update("uploading", ++done, toUpload.length);
    })) {
        /* in order, bounded */
    }

    const allKeys = [...[...uploaded.values()].flatMap((byClass) => [...byClass.values()]), ...toUpload.map((u) => u.key)].sort();
    const perClass = Object.fromEntries(opts.classes.map((c) => [c, 0]));
    for (const u of toUpload) perClass[u.className]++;
    const batch: BatchRecord = {
        model,
        batch_id: batchId,
        created_at: (opts.now ?? new Date()).toISOString(),
        source: dir,
        labels: opts.labels ? resolve(opts.labels) : null,
        new_images: toUpload.length,
        already_uploaded: alreadyUploaded,
        duplicates_in_batch: duplicatesInBatch,
        classes: perClass,
        skipped,
        label_conflicts: conflicts,
        total_images: allKeys.length,
    };
    const batchKey = `${prefixes.rawBatch(model, batchId)}${BATCH_METADATA_FILE}`;
    await s3.send(
        new PutObjectCommand({
            Bucket: bucket,
            Key: batchKey,
            Body: `${JSON.stringify(batch, null, 2)}\n`,
            ContentType: "application/json",
        }),
    );
    // SageMaker ManifestFile: a prefix, then keys relative to it. The copy under latest/ is what scheduled and
    // drift-triggered retraining train on; the batch's own copy is written last, as its arrival starts training.
    const manifest = JSON.stringify([{ prefix: `s3://${bucket}/${modelPrefix}` }, ...allKeys.map((k) => k.slice(modelPrefix.length))]);
    await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: prefixes.latestManifest(model), Body: manifest, ContentType: "application/json" }),
    );
    const manifestKey = prefixes.batchManifest(model, batchId);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: manifest, ContentType: "application/json" }));
    return { batch, batchKey, manifestKey };
}

async function* listKeys(s3: Pick<S3Client, "send">, bucket: string, prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
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
