import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, PutObjectCommandInput, S3Client } from "@aws-sdk/client-s3";

/**
 * The few S3 calls ingest makes, with S3's conditional writes (PutObject with `If-None-Match: *` to create
 * an object only if there is none, `If-Match: <etag>` to replace only the version that was read). They are
 * what make a batch belong to one run and its manifest, the training trigger, exist at most once.
 */
export type S3 = Pick<S3Client, "send">;

interface ServiceError {
    readonly name?: string;
    readonly Code?: string;
    readonly $metadata?: { readonly httpStatusCode?: number };
}

const status = (e: unknown) => (e as ServiceError)?.$metadata?.httpStatusCode;

/** 412: the condition did not hold (the object exists, or changed since it was read). */
export function isPreconditionFailed(e: unknown): boolean {
    return status(e) === 412 || (e as ServiceError)?.name === "PreconditionFailed";
}

/** 409: S3 was still applying another conditional write to the key; the documented answer is to try again. */
function isConditionalConflict(e: unknown): boolean {
    return status(e) === 409 || (e as ServiceError)?.name === "ConditionalRequestConflict";
}

async function sendConditional(s3: S3, input: PutObjectCommandInput): Promise<{ etag: string } | undefined> {
    for (let attempt = 1; ; attempt++) {
        try {
            const out = await s3.send(new PutObjectCommand(input));
            return { etag: out.ETag ?? "" };
        } catch (e) {
            if (isPreconditionFailed(e)) return undefined;
            if (!isConditionalConflict(e) || attempt >= 5) throw e;
            await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        }
    }
}

/** Creates the object unless one exists; undefined when it did. */
export function putIfAbsent(s3: S3, input: Omit<PutObjectCommandInput, "IfNoneMatch" | "IfMatch">): Promise<{ etag: string } | undefined> {
    return sendConditional(s3, { ...input, IfNoneMatch: "*" });
}

/** Replaces the object only if it is still the version with `etag`; undefined when it is not. */
export function putIfMatch(
    s3: S3,
    input: Omit<PutObjectCommandInput, "IfNoneMatch" | "IfMatch">,
    etag: string,
): Promise<{ etag: string } | undefined> {
    return sendConditional(s3, { ...input, IfMatch: etag });
}

/** An object's text and ETag, or undefined when there is none. */
export async function getText(s3: S3, bucket: string, key: string): Promise<{ text: string; etag: string } | undefined> {
    try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return { text: await out.Body!.transformToString(), etag: out.ETag ?? "" };
    } catch (e) {
        if ((e as ServiceError)?.name === "NoSuchKey" || status(e) === 404) return undefined;
        throw e;
    }
}

export async function* listKeys(s3: S3, bucket: string, prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
}

/** The "folders" directly under `prefix` (S3's CommonPrefixes with a `/` delimiter), each ending in `/`. */
export async function* listFolders(s3: S3, bucket: string, prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: "/", ContinuationToken: token }));
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) yield p.Prefix;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
}
