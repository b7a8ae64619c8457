import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cloudwatchAlarmArn } from "../infra/iam";
import { alertTopicName, BucketPurpose, bucketName, Environment, stackNamePrefix } from "../infra/naming";
import {
    bucketPolicy,
    keyPolicy as accountKeyPolicy,
    keyServiceStatement,
    ResourcePolicy,
    ResourceStatement,
    s3LogDeliveryStatement,
} from "../infra/resource-policies";

export interface DataLakeArgs {
    /** Environment name; part of every bucket, key alias and alert topic name. */
    readonly environment: Environment;
    /** Refuse to delete or replace the key and the buckets (`protect`), so neither a destroy nor a replacement removes data. Defaults to false. */
    readonly protect?: boolean;
    /** Leave the key and the buckets in AWS when they leave the program (`retainOnDelete`). Defaults to false. */
    readonly retainOnDelete?: boolean;
    /** Account that owns the lake; part of every bucket name (names are global) and the key policy's root. */
    readonly accountId: pulumi.Input<string>;
    /** Region of the stack; part of every bucket name. */
    readonly region: string;
    /** Defaults to "aws". */
    readonly partition?: string;
    /** Days before captured traffic moves to S3 Standard-IA. Defaults to 30. */
    readonly captureTransitionDays?: number;
    /** Days before captured traffic and monitoring reports expire. Defaults to 365. */
    readonly captureExpirationDays?: number;
    /** Days a replaced or deleted object version is kept. Defaults to 90. */
    readonly noncurrentVersionExpirationDays?: number;
    /** Days server access logs are kept. Defaults to 365. */
    readonly accessLogExpirationDays?: number;
}

export interface SecureBucketArgs {
    /** Globally unique physical name. */
    readonly bucketName: pulumi.Input<string>;
    /** SSE-KMS key; ignored when `encryption` is `s3-managed`. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** `kms` (default) or `s3-managed` (only for targets of S3 server access logging, which cannot use KMS). */
    readonly encryption?: "kms" | "s3-managed";
    /** Where server access logs go; none for the logs bucket itself. */
    readonly accessLogs?: { readonly bucket: pulumi.Input<string>; readonly prefix: string; readonly dependsOn: pulumi.Resource };
    /** Lifecycle rules before the shared ones (noncurrent-version expiry, incomplete-upload abort). */
    readonly lifecycle?: aws.types.input.s3.BucketLifecycleConfigurationRule[];
    /** Days a replaced or deleted object version is kept. Defaults to 90. */
    readonly noncurrentVersionExpirationDays?: number;
    /** Policy statements besides the TLS-only and the bucket's-key-only rules. */
    readonly extraStatements?: (bucketArn: pulumi.Output<string>) => pulumi.Output<ResourceStatement[]>;
    /** Protect and retain the bucket itself (prod data). */
    readonly protection: { readonly protect: boolean; readonly retainOnDelete: boolean };
}

/**
 * The one way the platform makes a bucket, with every security default in one place: SSE-KMS with bucket
 * keys, versioning, all public access blocked, owner-enforced object ownership, a policy that refuses
 * plain HTTP and uploads encrypted with anything but the bucket's key, lifecycle clean-up, server access
 * logging and EventBridge notifications.
 */
export class SecureBucket extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;
    public readonly policy: aws.s3.BucketPolicy;
    public readonly arn: pulumi.Output<string>;
    public readonly bucketName: pulumi.Output<string>;

    constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:data:SecureBucket", name, {}, opts);
        const child = { parent: this };
        this.bucket = new aws.s3.Bucket(name, { bucket: args.bucketName, forceDestroy: false }, { parent: this, ...args.protection });

        const ownership = new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            {
                bucket: this.bucket.id,
                rule: { objectOwnership: "BucketOwnerEnforced" },
            },
            child,
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            {
                bucket: this.bucket.id,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            child,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket: this.bucket.id,
                rules: [
                    args.encryption === "s3-managed"
                        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
                        : {
                              applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn },
                              bucketKeyEnabled: true,
                          },
                ],
            },
            child,
        );
        const versioning = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            {
                bucket: this.bucket.id,
                versioningConfiguration: { status: "Enabled" },
            },
            child,
        );
        const extra = args.extraStatements ? args.extraStatements(this.bucket.arn) : pulumi.output([] as ResourceStatement[]);
        const kms = args.encryption !== "s3-managed";
        this.policy = new aws.s3.BucketPolicy(
            `${name}-policy`,
            {
                bucket: this.bucket.id,
                policy: pulumi
                    .output({ bucketArn: this.bucket.arn, kmsKeyArn: args.kmsKeyArn, statements: extra })
                    .apply(({ bucketArn, kmsKeyArn, statements }) =>
                        JSON.stringify(bucketPolicy({ bucketArn, kmsKeyArn: kms ? kmsKeyArn : undefined, statements })),
                    ),
            },
            { parent: this, dependsOn: [publicAccess, ownership] },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket: this.bucket.id,
                rules: [
                    ...(args.lifecycle ?? []),
                    {
                        id: "expire-noncurrent-versions",
                        status: "Enabled",
                        filter: {},
                        noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays ?? 90 },
                    },
                    {
                        id: "abort-incomplete-uploads",
                        status: "Enabled",
                        filter: {},
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ],
            },
            { parent: this, dependsOn: [versioning] },
        );
        if (args.accessLogs) {
            new aws.s3.BucketLogging(
                `${name}-logging`,
                {
                    bucket: this.bucket.id,
                    targetBucket: args.accessLogs.bucket,
                    targetPrefix: args.accessLogs.prefix,
                },
                { parent: this, dependsOn: [args.accessLogs.dependsOn] },
            );
        }
        new aws.s3.BucketNotification(`${name}-notifications`, { bucket: this.bucket.id, eventbridge: true }, child);

        this.arn = this.bucket.arn;
        this.bucketName = this.bucket.bucket;
        this.registerOutputs({ arn: this.arn, bucketName: this.bucketName });
    }
}

/**
 * The platform's S3 data lake and its customer-managed key: raw labelled images, curated datasets, model
 * artifacts, data capture with monitoring reports, and the access logs of all of them.
 *
 * Every bucket is a SecureBucket. The logs bucket is the one exception on encryption: S3 server access
 * log delivery only writes to buckets encrypted with S3-managed keys.
 */
export class DataLake extends pulumi.ComponentResource {
    /** Customer-managed key for every data bucket, with yearly rotation. */
    public readonly key: aws.kms.Key;
    public readonly keyAlias: aws.kms.Alias;
    public readonly raw: SecureBucket;
    public readonly curated: SecureBucket;
    public readonly artifacts: SecureBucket;
    /** Endpoint data capture and monitoring reports. */
    public readonly capture: SecureBucket;
    public readonly logs: SecureBucket;
    /** Physical bucket names by purpose. */
    public readonly bucketNames: pulumi.Output<Record<BucketPurpose, string>>;

    constructor(name: string, args: DataLakeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:data:DataLake", name, {}, opts);
        const child = { parent: this };
        const protection = { protect: args.protect ?? false, retainOnDelete: args.retainOnDelete ?? false };
        const nameOf = (purpose: BucketPurpose) =>
            pulumi.output(args.accountId).apply((account) => bucketName(args.environment, purpose, account, args.region));

        this.key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `vision-mlops ${args.environment} data lake: images, datasets, models, captured traffic`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: pulumi
                    .output(args.accountId)
                    .apply((account) =>
                        JSON.stringify(
                            keyPolicy({ account, region: args.region, environment: args.environment, partition: args.partition }),
                        ),
                    ),
            },
            { parent: this, ...protection },
        );
        this.keyAlias = new aws.kms.Alias(
            `${name}-key-alias`,
            {
                name: `alias/vision-mlops-${args.environment}-data`,
                targetKeyId: this.key.keyId,
            },
            child,
        );

        const bucket = (purpose: BucketPurpose, extras: Partial<SecureBucketArgs> = {}) =>
            new SecureBucket(
                `${name}-${purpose}`,
                {
                    bucketName: nameOf(purpose),
                    kmsKeyArn: this.key.arn,
                    noncurrentVersionExpirationDays: args.noncurrentVersionExpirationDays,
                    accessLogs:
                        purpose === "logs"
                            ? undefined
                            : { bucket: this.logs.bucket.id, prefix: `${purpose}/`, dependsOn: this.logs.policy },
                    protection,
                    ...extras,
                },
                child,
            );

        this.logs = bucket("logs", {
            encryption: "s3-managed",
            lifecycle: [
                { id: "expire-access-logs", status: "Enabled", filter: {}, expiration: { days: args.accessLogExpirationDays ?? 365 } },
            ],
            extraStatements: (bucketArn) =>
                pulumi
                    .output({ arn: bucketArn, account: args.accountId })
                    .apply(({ arn, account }) => [s3LogDeliveryStatement(arn, account)]),
        });
        this.raw = bucket("raw");
        this.curated = bucket("curated");
        this.artifacts = bucket("artifacts");
        this.capture = bucket("capture", {
            lifecycle: [
                {
                    id: "age-out-captured-traffic",
                    status: "Enabled",
                    filter: {},
                    transitions: [{ days: args.captureTransitionDays ?? 30, storageClass: "STANDARD_IA" }],
                    expiration: { days: args.captureExpirationDays ?? 365 },
                },
            ],
        });

        this.bucketNames = pulumi.all({
            raw: this.raw.bucketName,
            curated: this.curated.bucketName,
            artifacts: this.artifacts.bucketName,
            capture: this.capture.bucketName,
            logs: this.logs.bucketName,
        }) as pulumi.Output<Record<BucketPurpose, string>>;

        this.registerOutputs({ key: this.key, bucketNames: this.bucketNames });
    }
}

/** Where the stack's alarms, rules and budgets send what they encrypt with the data key. */
export interface KeyPolicyScope {
    readonly account: string;
    readonly region: string;
    readonly environment: Environment;
    /** Defaults to "aws". */
    readonly partition?: string;
}

/**
 * The data key's policy: the account administers it through IAM (so the platform's roles get exactly the
 * key permissions their own policies grant), and CloudWatch alarms, EventBridge and Budgets may use it for
 * one thing: encrypting messages to the stack's KMS-encrypted alert topic.
 *
 * Those services call KMS through SNS, which always sends the topic as encryption context
 * (`kms:EncryptionContext:aws:sns:topicArn`), so every statement is bound to the stack's own topic.
 * CloudWatch also sends the alarm as `aws:SourceArn` and its account as `aws:SourceAccount`, so its statement
 * is bound to the stack's own alarms (every one is named `vision-mlops-<env>-...`). EventBridge does not send
 * those keys on these calls and Budgets does not document them: a condition on an absent key would deny
 * every alert silently, so for them the topic binds the statement, and the topic's own policy admits only
 * this account's rules and budgets.
 */
export function keyPolicy(scope: KeyPolicyScope): ResourcePolicy {
    const partition = scope.partition ?? "aws";
    const topicArn = `arn:${partition}:sns:${scope.region}:${scope.account}:${alertTopicName(scope.environment)}`;
    const toTopic = { "kms:EncryptionContext:aws:sns:topicArn": topicArn };
    const encryptToTopic = (sid: string, service: string, condition: Parameters<typeof keyServiceStatement>[3]) =>
        keyServiceStatement(sid, service, ["kms:Decrypt", "kms:GenerateDataKey*"], condition);
    return accountKeyPolicy(
        scope.account,
        [
            encryptToTopic("StackAlarmsEncryptToAlertTopic", "cloudwatch.amazonaws.com", {
                StringEquals: { ...toTopic, "aws:SourceAccount": scope.account },
                ArnLike: {
                    "aws:SourceArn": cloudwatchAlarmArn(scope.region, scope.account, `${stackNamePrefix(scope.environment)}*`, partition),
                },
            }),
            encryptToTopic("RulesEncryptToAlertTopic", "events.amazonaws.com", { StringEquals: toTopic }),
            encryptToTopic("BudgetsEncryptToAlertTopic", "budgets.amazonaws.com", { StringEquals: toTopic }),
        ],
        partition,
    );
}
