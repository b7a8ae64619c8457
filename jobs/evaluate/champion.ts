import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { describePackage, newestApprovedPackage, RegistryClient } from "../../infra/registry";
import { parseS3Uri } from "../../infra/s3-uri";
import { JobError } from "../lib/errors";

/** The model now approved in a group, and its accuracy as registered with it. */
export interface Champion {
    readonly arn: string;
    /** From the package's model-quality statistics; null when none were registered. */
    readonly accuracy: number | null;
    readonly statisticsUri: string | null;
    readonly note?: string;
}

/**
 * The newest Approved package of `group` with the accuracy from its registered model-quality statistics
 * (`multiclass_classification_metrics.accuracy.value`), or null when nothing was approved yet.
 */
export async function findChampion(registry: RegistryClient, s3: Pick<S3Client, "send">, group: string): Promise<Champion | null> {
    const arn = await newestApprovedPackage(registry, group);
    if (!arn) return null;
    const info = await describePackage(registry, arn);
    const uri = info.modelQualityStatisticsUri;
    if (!uri)
        return {
            arn,
            accuracy: null,
            statisticsUri: null,
            note: "the approved package has no model-quality statistics, so there is no accuracy to compare against",
        };
    let text: string;
    try {
        const { bucket, key } = parseS3Uri(uri);
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        text = await object.Body!.transformToString();
    } catch (e) {
        throw new JobError(`cannot read the champion's statistics ${uri} (${arn}): ${(e as Error).message}`);
    }
    let accuracy: unknown;
    try {
        accuracy = JSON.parse(text)?.multiclass_classification_metrics?.accuracy?.value;
    } catch {
        accuracy = undefined;
    }
    if (typeof accuracy !== "number")
        throw new JobError(`the champion's statistics ${uri} (${arn}) have no multiclass_classification_metrics.accuracy.value`);
    return { arn, accuracy, statisticsUri: uri };
}
