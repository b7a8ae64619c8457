import { createHash } from "crypto";

/** The platform's environments: one stack each, and a part of every physical name. */
export const ENVIRONMENTS = ["staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** The project prefix on every physical name. */
export const PROJECT = "vision-mlops";

/** SageMaker resource names: 1-63 characters, `[a-zA-Z0-9](-*[a-zA-Z0-9])*`. */
export const SAGEMAKER_NAME_MAX = 63;
/** SageMaker names that allow 256 characters (pipelines). */
export const SAGEMAKER_PIPELINE_NAME_MAX = 256;
const S3_BUCKET_MAX = 63;
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

function shortHash(text: string, length = 6): string {
    return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * Joins parts with hyphens and fits the result into `max` characters. A name that would be too long keeps
 * its start and gets a hash of the whole, so two long names that share a prefix stay distinct and the same
 * input always gives the same name.
 */
export function fitName(parts: readonly string[], max: number): string {
    // Stryker disable next-line Regex: a run of other characters becomes hyphens either way; the next line collapses hyphen runs.
    const words = parts.map((p) => p.toLowerCase().replace(/[^a-z0-9-]+/g, "-"));
    const joined = words.join("-").replace(/-{2,}/g, "-");
    // Stryker disable next-line Regex: after the collapse there is at most one hyphen at either end.
    const full = joined.replace(/^-+|-+$/g, "");
    if (full.length <= max) return full;
    const hash = shortHash(full);
    // Stryker disable next-line Regex: `full` has single hyphens only, so the cut ends on at most one.
    const head = full.slice(0, max - hash.length - 1).replace(/-+$/, "");
    return `${head}-${hash}`;
}

/** A SageMaker name (model package group, endpoint, model, monitoring schedule) for one environment. */
export function sagemakerName(environment: Environment, ...parts: string[]): string {
    const name = fitName([PROJECT, environment, ...parts], SAGEMAKER_NAME_MAX);
    // Stryker disable next-line ConditionalExpression,StringLiteral: unreachable guard; fitName only emits [a-z0-9] runs joined by single hyphens.
    if (!SAGEMAKER_NAME.test(name)) throw new Error(`internal: ${name} is not a valid SageMaker name`);
    return name;
}

/** A SageMaker pipeline name; these allow 256 characters but we keep them readable. */
export function pipelineName(environment: Environment, model: string, purpose: "training" | "monitoring"): string {
    return fitName([PROJECT, environment, model, purpose], SAGEMAKER_NAME_MAX);
}

/**
 * A globally unique S3 bucket name: project, environment and purpose, made unique by the account and region.
 * Bucket names are 3-63 characters of lowercase letters, digits and hyphens.
 */
export function bucketName(environment: Environment, purpose: string, accountId: string, region: string): string {
    const name = fitName([PROJECT, environment, purpose, accountId, region], S3_BUCKET_MAX);
    if (!S3_BUCKET_NAME.test(name)) throw new Error(`internal: ${name} is not a valid S3 bucket name`);
    return name;
}

/** The stack's SNS topic every alarm, failed-pipeline rule and budget alerts to. */
export function alertTopicName(environment: Environment): string {
    return fitName([PROJECT, environment, "alerts"], 256);
}

/** Every physical name of a stack's own resources starts with this (`fitName` of project and environment first). */
export function stackNamePrefix(environment: Environment): string {
    return `${PROJECT}-${environment}-`;
}

/** A name for IAM roles and similar (64 characters, case-insensitive). */
export function iamName(environment: Environment, ...parts: string[]): string {
    return fitName([PROJECT, environment, ...parts], 64);
}

/** S3 key prefixes, one layout for every bucket so jobs, CLIs and IAM agree. */
export const prefixes = {
    /** Raw labelled images of one model: `<model>/batches/<batchId>/<class>/<file>`. */
    rawModel: (model: string) => `${model}/`,
    rawBatch: (model: string, batchId: string) => `${model}/batches/${batchId}/`,
    /** The object whose arrival starts training for a batch. */
    batchManifest: (model: string, batchId: string) => `${model}/batches/${batchId}/_manifest.json`,
    /**
     * The pointer to the newest complete dataset (`LatestDataset` in job-contract), written by ingest after a
     * batch's manifest; scheduled and drift-triggered retraining resolve it when they start. It lies outside
     * `batches/`, so writing it does not trigger training again.
     */
    latestDataset: (model: string) => `${model}/latest/dataset.json`,
    /**
     * A manifest of several batches that completed at the same time (none of their own manifests lists the
     * others' images), named by the hash of its content, so the same dataset always has the same key.
     */
    mergedManifest: (model: string, sha256: string) => `${model}/datasets/${sha256}.manifest.json`,
    curatedModel: (model: string) => `${model}/`,
    artifactsModel: (model: string) => `${model}/`,
    captureModel: (model: string) => `${model}/capture/`,
    monitoringModel: (model: string) => `${model}/monitoring/`,
    /**
     * The review queue of one model, in the raw bucket (infra/review-contract.ts has the objects' formats):
     * `pending/` images waiting for a person, `tasks/` the Label Studio tasks for them (its source storage),
     * `annotations/` what Label Studio's target storage exports, `waiting/` the task token of each waiting
     * execution, `reviewed/<class>/` images a person labelled (not yet in a training batch), `batches/` which
     * reviewed images went into which ingest batch, `closed/` items that ended without a label, and
     * `corrections/` the entry for a person's correction from the prediction page.
     */
    reviewModel: (model: string) => `${model}/review/`,
    reviewPending: (model: string) => `${model}/review/pending/`,
    reviewTasks: (model: string) => `${model}/review/tasks/`,
    reviewAnnotations: (model: string) => `${model}/review/annotations/`,
    reviewWaiting: (model: string) => `${model}/review/waiting/`,
    reviewed: (model: string) => `${model}/review/reviewed/`,
    reviewBatches: (model: string) => `${model}/review/batches/`,
    reviewClosed: (model: string) => `${model}/review/closed/`,
    reviewCorrections: (model: string) => `${model}/review/corrections/`,
} as const;

/** The manifest file name the trigger matches; images never end this way. */
export const BATCH_MANIFEST_FILE = "_manifest.json";

/** Data lake bucket purposes; each is one bucket per stack. */
export const BUCKET_PURPOSES = ["raw", "curated", "artifacts", "capture", "logs"] as const;
export type BucketPurpose = (typeof BUCKET_PURPOSES)[number];

/** The endpoint serving one model in one stack; stable so operators and CLIs can find it by name. */
export function endpointName(environment: Environment, model: string): string {
    return sagemakerName(environment, model);
}

/** The model package group the training pipeline of one stack registers into. */
export function modelPackageGroupName(environment: Environment, model: string): string {
    return sagemakerName(environment, model);
}

/** The monitoring schedule (model-monitor engine) of one model's endpoint. */
export function monitoringScheduleName(environment: Environment, model: string): string {
    return sagemakerName(environment, model, "monitor");
}

/** Hex digits of the content hash that ends a versioned name. */
const VERSION_HASH_LENGTH = 8;

/**
 * A SageMaker name for a resource that is replaced whenever its content changes (models, endpoint
 * configurations): a readable prefix plus a hash of the content, so the replacement gets a new name (and
 * can be created before the old one is deleted) and the name stays within 63 characters for any model name.
 */
export function versionedName(environment: Environment, parts: readonly string[], content: unknown): string {
    const hash = shortHash(JSON.stringify(content), VERSION_HASH_LENGTH);
    return `${fitName([PROJECT, environment, ...parts], SAGEMAKER_NAME_MAX - hash.length - 1)}-${hash}`;
}

/** The part of a versioned name before its hash: the same for every version of one thing; undefined for other names. */
export function versionedFamily(name: string): string | undefined {
    return new RegExp(`^(.+)-[0-9a-f]{${VERSION_HASH_LENGTH}}$`).exec(name)?.[1];
}
