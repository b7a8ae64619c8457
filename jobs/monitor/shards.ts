import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { join } from "path";
import { writeFileAtomic } from "../lib/atomic";
import { JobError } from "../lib/errors";
import { captureFiles, s3Prefix } from "./capture";
import { uploadPrefix } from "./run";
import { MonitorSettings } from "./settings";

/**
 * The first step of a sharded monitoring run: list the window's capture objects and write them as a
 * SageMaker manifest file, which the monitor step reads as a `ManifestFile` input distributed
 * `ShardedByS3Key` over its instances (each downloads its share of the files). Every instance also gets
 * one empty placeholder object, so an hour with fewer files than instances (or none) still gives each a
 * valid, non-empty input; placeholders lie outside the capture folder and are never read as capture.
 *
 * The manifest's prefix is the longest common prefix of the capture and upload locations (`s3://bucket/<model>/`),
 * so capture files land under `<LocalPath>/capture/` on every instance, named as a single run names them.
 */
export const MANIFEST_FILE = "manifest.json";

export interface ShardPlan {
    readonly manifest: (string | { prefix: string })[];
    readonly captureFiles: number;
    readonly placeholders: number;
}

export async function writeShardManifest(
    settings: MonitorSettings & { readonly listManifest: string; readonly shards: number },
    s3: Pick<S3Client, "send"> = new S3Client({}),
): Promise<ShardPlan> {
    if (!settings.capture.startsWith("s3://") || !settings.upload)
        throw new JobError("--list-manifest needs --capture s3://... and --upload s3://... (the sharded pipeline passes both)");
    const capture = s3Prefix(settings.capture);
    const { bucket, prefix: runPrefix } = uploadPrefix(settings.upload, settings.window);
    if (bucket !== capture.bucket) throw new JobError("--capture and --upload must be in one bucket for a sharded run's manifest");
    const base = commonFolder(capture.prefix, runPrefix);
    const files = await captureFiles(settings.capture, settings.endpoint, settings.window, s3);
    const keys = files.map((f) => f.name.slice(`s3://${bucket}/`.length));
    const placeholders: string[] = [];
    const runId = (settings.runId ?? "run").replace(/[^\w.-]/g, "_");
    for (let i = 0; i < settings.shards; i++) {
        const key = `${runPrefix}_shards/${runId}/empty/shard-${i + 1}.jsonl`;
        await s3.send(
            new PutObjectCommand({
                Bucket: bucket,
                Key: key,
                Body: "",
                ...(settings.uploadKmsKeyId ? { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: settings.uploadKmsKeyId } : {}),
            }),
        );
        placeholders.push(key);
    }
    const manifest = [{ prefix: `s3://${bucket}/${base}` }, ...[...keys, ...placeholders].map((k) => k.slice(base.length))];
    await writeFileAtomic(join(settings.listManifest, MANIFEST_FILE), JSON.stringify(manifest));
    return { manifest, captureFiles: keys.length, placeholders: placeholders.length };
}

/** The longest folder prefix (ending in "/") two key prefixes share. */
export function commonFolder(a: string, b: string): string {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return a.slice(0, a.lastIndexOf("/", i - 1) + 1);
}
