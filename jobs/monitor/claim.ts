import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { existsSync, readFileSync, renameSync, writeFileSync } from "fs";
import { hostname } from "os";
import { join } from "path";
import { MONITORING_COMPLETION_FILE } from "../../infra/job-contract";
import { JobError } from "../lib/errors";

/**
 * The claim on a window: `_claim.json` in the run folder, created only if absent (O_EXCL locally, `If-None-Match: *`
 * in S3), before any work. Exactly one run of a window wins it; the others stop at once, naming the winner.
 *
 * A claim that never completed (no `_complete.json`) may be taken over, atomically (a rename locally, an
 * `If-Match` on the claim's ETag in S3, so two runs cannot both take it over), when it is:
 * - the same run's (`runId`): a SageMaker pipeline step retried within one execution, or a job restarted on
 *   its own partial output, never wedges on it;
 * - released: the run failed and said so on its way out;
 * - expired: its lease (the job's maximum runtime) is over, so the run that held it has been stopped;
 * - locally, held by a process of this host that no longer runs.
 * A completed window is never claimed again: its evidence stays as it is.
 */
export const CLAIM_FILE = "_claim.json";

export interface ClaimRecord {
    readonly runId: string;
    readonly host: string;
    readonly pid: number;
    readonly claimedAt: string;
    readonly leaseUntil: string;
    readonly released?: string;
}

export type S3Like = Pick<S3Client, "send">;

export interface ClaimOptions {
    readonly runId: string;
    readonly leaseSeconds: number;
    readonly now?: () => Date;
}

/** A held claim: where it is, and how to release it if the run fails. */
export interface Claim {
    /** Whether an earlier, incomplete run of this window was taken over (its files are replaced). */
    readonly tookOver?: ClaimRecord;
    release(reason: string): Promise<void>;
}

function newRecord(o: ClaimOptions): ClaimRecord {
    const now = (o.now ?? (() => new Date()))();
    return {
        runId: o.runId,
        host: hostname(),
        pid: process.pid,
        claimedAt: now.toISOString(),
        leaseUntil: new Date(now.getTime() + o.leaseSeconds * 1000).toISOString(),
    };
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** Why `held` may be taken over by `o`, or undefined when it may not. */
function takeoverReason(held: ClaimRecord, o: ClaimOptions, local: boolean): string | undefined {
    const now = (o.now ?? (() => new Date()))().getTime();
    if (held.runId === o.runId) return "the same run";
    if (held.released) return `released (${held.released})`;
    if (Date.parse(held.leaseUntil) <= now) return `lease expired at ${held.leaseUntil}`;
    if (local && held.host === hostname() && !alive(held.pid)) return `process ${held.pid} is gone`;
    return undefined;
}

function refusal(where: string, held: ClaimRecord | undefined): JobError {
    return new JobError(
        `${where} is claimed by run ${held?.runId ?? "(unknown)"} since ${held?.claimedAt ?? "?"} (lease until ${held?.leaseUntil ?? "?"}); ` +
            "two runs of one window never both write it: wait for that run, or re-run after its lease",
    );
}

function completed(where: string): JobError {
    return new JobError(
        `${where} was monitored before and is complete (${MONITORING_COMPLETION_FILE}); its evidence is kept as it is ` +
            "(monitor another window, or another output folder)",
    );
}

/** Claims the window's local run folder. */
export function claimLocal(folder: string, o: ClaimOptions): Claim {
    const path = join(folder, CLAIM_FILE);
    if (existsSync(join(folder, MONITORING_COMPLETION_FILE))) throw completed(folder);
    const record = newRecord(o);
    let tookOver: ClaimRecord | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
        try {
            writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`, { flag: "wx" });
            return { tookOver, release: async (reason) => releaseLocal(path, record, reason) };
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        const held = readClaim(() => readFileSync(path, "utf8"));
        if (!held || !takeoverReason(held, o, true)) throw refusal(folder, held);
        // Only one process can rename the stale claim away; the others find it gone and try again.
        try {
            renameSync(path, join(folder, `.${CLAIM_FILE}.replaced-${held.runId.replace(/[^\w.-]/g, "_")}-${process.pid}`));
            tookOver = held;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        }
    }
    throw refusal(
        folder,
        readClaim(() => readFileSync(path, "utf8")),
    );
}

function releaseLocal(path: string, record: ClaimRecord, reason: string): void {
    try {
        const held = readClaim(() => readFileSync(path, "utf8"));
        if (held?.runId === record.runId && held.pid === record.pid)
            writeFileSync(path, `${JSON.stringify({ ...record, released: reason }, null, 2)}\n`);
    } catch {
        // Best effort: an unreleased claim still expires with its lease.
    }
}

function readClaim(read: () => string): ClaimRecord | undefined {
    try {
        const v = JSON.parse(read()) as ClaimRecord;
        return typeof v?.runId === "string" && typeof v.leaseUntil === "string" ? v : undefined;
    } catch {
        return undefined;
    }
}

const isPreconditionFailed = (e: unknown) => {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    return err.name === "PreconditionFailed" || err.$metadata?.httpStatusCode === 412;
};
const isNotFound = (e: unknown) => {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    return err.name === "NotFound" || err.name === "NoSuchKey" || err.$metadata?.httpStatusCode === 404;
};

export async function objectExists(s3: S3Like, bucket: string, key: string): Promise<boolean> {
    try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
    } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
    }
}

/** Claims the window's S3 run folder (`prefix` ends in "/"). */
export async function claimS3(s3: S3Like, bucket: string, prefix: string, o: ClaimOptions, kmsKeyId?: string): Promise<Claim> {
    const key = `${prefix}${CLAIM_FILE}`;
    const where = `s3://${bucket}/${prefix}`;
    const record = newRecord(o);
    const body = JSON.stringify(record);
    const sse = kmsKeyId ? { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: kmsKeyId } : {};
    const put = (condition: { IfNoneMatch: "*" } | { IfMatch: string }, text = body) =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: "application/json", ...condition, ...sse }));
    if (await objectExists(s3, bucket, `${prefix}${MONITORING_COMPLETION_FILE}`)) throw completed(where);
    let etag: string | undefined;
    let tookOver: ClaimRecord | undefined;
    try {
        etag = (await put({ IfNoneMatch: "*" })).ETag;
    } catch (e) {
        if (!isPreconditionFailed(e)) throw e;
        const existing = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const text = existing.Body ? await existing.Body.transformToString("utf8") : "";
        const parsed = readClaim(() => text);
        if (!parsed || !takeoverReason(parsed, o, false) || !existing.ETag) throw refusal(where, parsed);
        if (await objectExists(s3, bucket, `${prefix}${MONITORING_COMPLETION_FILE}`)) throw completed(where);
        try {
            etag = (await put({ IfMatch: existing.ETag })).ETag;
            tookOver = parsed;
        } catch (e2) {
            if (isPreconditionFailed(e2)) throw refusal(where, parsed);
            throw e2;
        }
    }
    return {
        tookOver,
        release: async (reason) => {
            if (!etag) return;
            try {
                await put({ IfMatch: etag }, JSON.stringify({ ...record, released: reason }));
            } catch {
                // Best effort: an unreleased claim still expires with its lease.
            }
        },
    };
}
