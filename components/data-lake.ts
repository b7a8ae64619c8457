import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Environment } from "../infra/config";
import { BucketPurpose, bucketName } from "../infra/naming";
import { dataProtection } from "../infra/resource-options";

export interface DataLakeArgs {
    /** Environment name; prod protects and retains the key and every bucket. */
    readonly environment: Environment;
    /** Account that owns the lake; part of every bucket name (names are global) and the key policy's root. */
    readonly accountId: pulumi.Input<string>;
    /** Region of the stack; part of every bucket name. */
    readonly region: string;
    /** Days before captured traffic moves to S3 Standard-IA. Defaults to 30. */
    readonly captureTransitionDays?: number;
    /** Days before captured traffic and monitoring reports expire. Defaults to 365. */
    readonly captureExpirationDays?: number;
    /** Days a replaced or deleted object version is kept. Defaults to 90. */
    readonly noncurrentVersionExpirationDays?: number;
    /** Days server access logs are kept. Defaults to 365. */
    readonly accessLogExpirationDays?: number;
}

/** A bucket of the lake and the settings every bucket shares. */
export interface LakeBucket {
    readonly bucket: aws.s3.Bucket;
    readonly policy: aws.s3.BucketPolicy;
}

/** Statements a bucket adds to its policy next to the TLS-only rule. */
type PolicyStatement = Record<string, unknown>;

/**
 * The platform's S3 data lake and its customer-managed key: raw labelled images, curated datasets, model
 * artifacts, data capture with monitoring reports, and the access logs of all of them.
 *
 * Every data bucket goes through one function that sets SSE-KMS with bucket keys, versioning, full public
 * access blocking, a TLS-only policy, lifecycle clean-up, server access logging and EventBridge
 * notifications. The logs bucket is the one exception on encryption: S3 log delivery only writes to
 * buckets encrypted with S3-managed keys.
 */
export class DataLake extends pulumi.ComponentResource {
    /** Customer-managed key for every data bucket, with yearly rotation. */
    public readonly key: aws.kms.Key;
    public readonly keyAlias: aws.kms.Alias;
    public readonly raw: LakeBucket;
    public readonly curated: LakeBucket;
    public readonly artifacts: LakeBucket;
    /** Endpoint data capture and monitoring reports. */
    public readonly capture: LakeBucket;
    public readonly logs: LakeBucket;
    /** Physical bucket names by purpose. */
    public readonly bucketNames: pulumi.Output<Record<BucketPurpose, string>>;

    constructor(name: string, args: DataLakeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:data:DataLake", name, {}, opts);
        const child = { parent: this };
        const data = { parent: this, ...dataProtection(args.environment) };
        const nameOf = (purpose: BucketPurpose) =>
            pulumi.output(args.accountId).apply((account) => bucketName(args.environment, purpose, account, args.region));

        this.key = new aws.kms.Key(`${name}-key`, {
            description: `vision-mlops ${args.environment} data lake: images, datasets, models, captured traffic`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: pulumi.output(args.accountId).apply((account) => JSON.stringify(keyPolicy(account))),
        }, data);
        this.keyAlias = new aws.kms.Alias(`${name}-key-alias`, {
            name: `alias/vision-mlops-${args.environment}-data`,
            targetKeyId: this.key.keyId,
        }, child);

        this.logs = this.bucket(name, "logs", nameOf("logs"), args, {
            encryption: "s3-managed",
            lifecycle: [{ id: "expire-access-logs", status: "Enabled", filter: {}, expiration: { days: args.accessLogExpirationDays ?? 365 } }],
            extraStatements: (bucketArn) => pulumi.output(args.accountId).apply((account) => [logDeliveryStatement(bucketArn, account)]),
        }, data);

        this.raw = this.bucket(name, "raw", nameOf("raw"), args, {}, data);
        this.curated = this.bucket(name, "curated", nameOf("curated"), args, {}, data);
        this.artifacts = this.bucket(name, "artifacts", nameOf("artifacts"), args, {}, data);
        this.capture = this.bucket(name, "capture", nameOf("capture"), args, {
            lifecycle: [{
                id: "age-out-captured-traffic",
                status: "Enabled",
                filter: {},
                transitions: [{ days: args.captureTransitionDays ?? 30, storageClass: "STANDARD_IA" }],
                expiration: { days: args.captureExpirationDays ?? 365 },
            }],
        }, data);

        this.bucketNames = pulumi.all({
            raw: this.raw.bucket.bucket,
            curated: this.curated.bucket.bucket,
            artifacts: this.artifacts.bucket.bucket,
            capture: this.capture.bucket.bucket,
            logs: this.logs.bucket.bucket,
        }) as pulumi.Output<Record<BucketPurpose, string>>;

        this.registerOutputs({ key: this.key, bucketNames: this.bucketNames });
    }

    /** The one way the lake makes a bucket: every security default in one place. */
    private bucket(
        lakeName: string,
        purpose: BucketPurpose,
        physicalName: pulumi.Input<string>,
        args: DataLakeArgs,
        extras: {
            encryption?: "kms" | "s3-managed";
            lifecycle?: aws.types.input.s3.BucketLifecycleConfigurationRule[];
            extraStatements?: (bucketArn: pulumi.Output<string>) => pulumi.Output<PolicyStatement[]>;
        },
        opts: pulumi.CustomResourceOptions,
    ): LakeBucket {
        const name = `${lakeName}-${purpose}`;
        const child = { parent: this };
        const bucket = new aws.s3.Bucket(name, { bucket: physicalName, forceDestroy: false }, opts);

        const ownership = new aws.s3.BucketOwnershipControls(`${name}-ownership`, {
            bucket: bucket.id,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        }, child);
        const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-public-access`, {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, child);
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
            bucket: bucket.id,
            rules: [extras.encryption === "s3-managed"
                ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
                : { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true }],
        }, child);
        const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, {
            bucket: bucket.id,
            versioningConfiguration: { status: "Enabled" },
        }, child);
        const extra = extras.extraStatements ? extras.extraStatements(bucket.arn) : pulumi.output([] as PolicyStatement[]);
        const policy = new aws.s3.BucketPolicy(`${name}-policy`, {
            bucket: bucket.id,
            policy: pulumi.all([bucket.arn, extra]).apply(([arn, statements]) =>
                JSON.stringify({ Version: "2012-10-17", Statement: [denyInsecureTransport(arn), ...statements] })),
        }, { parent: this, dependsOn: [publicAccess, ownership] });
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
            bucket: bucket.id,
            rules: [
                ...(extras.lifecycle ?? []),
                {
                    id: "expire-noncurrent-versions",
                    status: "Enabled",
                    filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays ?? 90 },
                },
                { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
            ],
        }, { parent: this, dependsOn: [versioning] });
        if (purpose !== "logs") {
            new aws.s3.BucketLogging(`${name}-logging`, {
                bucket: bucket.id,
                targetBucket: this.logs.bucket.id,
                targetPrefix: `${purpose}/`,
            }, { parent: this, dependsOn: [this.logs.policy] });
        }
        new aws.s3.BucketNotification(`${name}-notifications`, { bucket: bucket.id, eventbridge: true }, child);
        return { bucket, policy };
    }
}

/** Refuses every request to the bucket that does not arrive over TLS (Security Hub S3.5). */
export function denyInsecureTransport(bucketArn: string): PolicyStatement {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}

/** Lets S3 server access logging write into the logs bucket, only for this account's buckets. */
function logDeliveryStatement(logsBucketArn: pulumi.Output<string> | string, account: string): pulumi.Output<PolicyStatement> {
    return pulumi.output(logsBucketArn).apply((arn): PolicyStatement => ({
        Sid: "AllowS3ServerAccessLogDelivery",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: `${arn}/*`,
        Condition: { StringEquals: { "aws:SourceAccount": account } },
    }));
}

/**
 * The data key's policy: the account administers it through IAM (so the platform's roles get exactly the
 * key permissions their own policies grant), and CloudWatch alarms, EventBridge and Budgets may encrypt messages
 * to the platform's KMS-encrypted SNS topic.
 */
export function keyPolicy(account: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AccountAdministersKeyThroughIam",
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${account}:root` },
                Action: "kms:*",
                Resource: "*",
            },
            {
                Sid: "AlarmsAndEventsPublishToEncryptedTopic",
                Effect: "Allow",
                Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"] },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
        ],
    };
}
