import * as aws from "@pulumi/aws";
import { PolicyResource, ReportViolation, StackValidationArgs } from "@pulumi/policy";
import { deniedBy, listOf, PolicyRequest, RawStatement } from "../../infra/policy-evaluation";
import { bucketIdentifiers, describe, message, PlatformRule, referencedBy, statementsOf, typeOf } from "../support";

/**
 * S3 rules: Security Hub's S3.5/8/9/13/14/17 and the platform's upload-encryption rule. A bucket's settings
 * are separate resources in `@pulumi/aws` 7 (policy, public access block, logging, lifecycle, versioning,
 * encryption), so each rule is a stack validation that finds, for every bucket, the resources that refer
 * to it.
 */

/** Each setting's resource type, with the deprecated `...V2` twin that `@pulumi/aws` 7 still accepts. */
const T = {
    buckets: [typeOf(aws.s3.Bucket), typeOf(aws.s3.BucketV2)],
    policy: [typeOf(aws.s3.BucketPolicy)],
    publicAccessBlock: [typeOf(aws.s3.BucketPublicAccessBlock)],
    logging: [typeOf(aws.s3.BucketLogging), typeOf(aws.s3.BucketLoggingV2)],
    lifecycle: [typeOf(aws.s3.BucketLifecycleConfiguration), typeOf(aws.s3.BucketLifecycleConfigurationV2)],
    versioning: [typeOf(aws.s3.BucketVersioning), typeOf(aws.s3.BucketVersioningV2)],
    encryption: [typeOf(aws.s3.BucketServerSideEncryptionConfiguration), typeOf(aws.s3.BucketServerSideEncryptionConfigurationV2)],
};

const ofTypes = (args: StackValidationArgs, types: readonly string[]) => args.resources.filter((r) => types.includes(r.type));

/** The buckets of the stack, and for each the setting resources of one kind that refer to it (by `bucket`). */
class Buckets {
    readonly all: PolicyResource[];
    /** Buckets other buckets deliver server access logs to. */
    readonly logTargets: Set<PolicyResource>;

    constructor(private readonly args: StackValidationArgs) {
        this.all = ofTypes(args, T.buckets);
        this.logTargets = new Set(
            ofTypes(args, T.logging)
                .map((l) => referencedBy(l, "targetBucket", this.all, bucketIdentifiers))
                .filter((b): b is PolicyResource => b !== undefined),
        );
    }

    settings(bucket: PolicyResource, types: readonly string[]): PolicyResource[] {
        return ofTypes(this.args, types).filter((s) => referencedBy(s, "bucket", this.all, bucketIdentifiers) === bucket);
    }
}

function name(bucket: PolicyResource): string {
    return describe(bucket.type, bucket.name);
}

/**
 * `arn:<partition>:s3:::<bucket>`, with the partition its policy's own statements use for it (the bucket's
 * `arn` output is unknown in a first preview, its name is not).
 */
function bucketArn(bucket: PolicyResource, statements: readonly RawStatement[]): string {
    const name = String(bucket.props.bucket);
    const named = statements
        .flatMap((s) => listOf(s.Resource))
        .map((r) => new RegExp(`^arn:([^:]+):s3:::${name.replace(/[.]/g, "\\.")}(/|$)`).exec(r)?.[1]);
    return `arn:${named.find((p) => p !== undefined) ?? "aws"}:s3:::${name}`;
}

/** The bucket's policy statements, or a violation saying there is no policy (or an unreadable one). */
function policyStatements(
    buckets: Buckets,
    bucket: PolicyResource,
    controls: readonly string[],
    report: ReportViolation,
): RawStatement[] | undefined {
    const policies = buckets.settings(bucket, T.policy);
    if (policies.length === 0) {
        report(
            message(controls, `${name(bucket)} has no bucket policy`, "give it an aws.s3.BucketPolicy (SecureBucket writes one)"),
            bucket.urn,
        );
        return undefined;
    }
    return policies.flatMap((p) => statementsOf(p.props.policy, report, controls, describe(p.type, p.name), p.urn) ?? []);
}

/** Asks the evaluator, turning a condition it cannot read into a violation instead of a pass. */
function denied(
    statements: RawStatement[],
    request: PolicyRequest,
    controls: readonly string[],
    bucket: PolicyResource,
    report: ReportViolation,
): boolean | undefined {
    try {
        return deniedBy(statements, request);
    } catch (e) {
        report(
            message(
                controls,
                `${name(bucket)}'s policy cannot be evaluated: ${(e as Error).message}`,
                "write the statement with the operators IAM documents for S3",
            ),
            bucket.urn,
        );
        return undefined;
    }
}

/** The bucket's default encryption rule, if one setting resource declares it. */
function defaultEncryption(buckets: Buckets, bucket: PolicyResource): { sseAlgorithm?: string; kmsMasterKeyId?: string } | undefined {
    for (const config of buckets.settings(bucket, T.encryption)) {
        const rules = (config.props.rules ?? []) as {
            applyServerSideEncryptionByDefault?: { sseAlgorithm?: string; kmsMasterKeyId?: string };
        }[];
        const rule = rules.find((r) => r.applyServerSideEncryptionByDefault)?.applyServerSideEncryptionByDefault;
        if (rule) return rule;
    }
    return undefined;
}

function eachBucket(check: (buckets: Buckets, bucket: PolicyResource, report: ReportViolation) => void) {
    return (args: StackValidationArgs, report: ReportViolation) => {
        const buckets = new Buckets(args);
        for (const bucket of buckets.all) check(buckets, bucket, report);
    };
}

// -------------------------------------------------------------------------------------------------------

const S3_5 = ["S3.5"];
export const tlsOnly: PlatformRule = {
    name: "s3-tls-only",
    description: "Every bucket's policy denies requests that do not use TLS.",
    controls: S3_5,
    enforcementLevel: "mandatory",
    remediationSteps: 'Add a Deny statement for s3:* on the bucket and its objects with Condition Bool aws:SecureTransport "false".',
    validateStack: eachBucket((buckets, bucket, report) => {
        const statements = policyStatements(buckets, bucket, S3_5, report);
        if (!statements) return;
        const arn = bucketArn(bucket, statements);
        const http = { "aws:SecureTransport": "false" };
        const requests: PolicyRequest[] = [
            { action: "s3:GetObject", resource: `${arn}/any/key`, context: http },
            { action: "s3:PutObject", resource: `${arn}/any/key`, context: http },
            { action: "s3:ListBucket", resource: arn, context: http },
        ];
        const open = requests.filter((r) => denied(statements, r, S3_5, bucket, report) === false);
        if (open.length)
            report(
                message(
                    S3_5,
                    `${name(bucket)}'s policy lets ${open.map((r) => r.action).join(", ")} through over plain HTTP`,
                    'deny s3:* on the bucket and "<bucket>/*" when aws:SecureTransport is "false" (denyInsecureTransport in infra/resource-policies.ts)',
                ),
                bucket.urn,
            );
    }),
};

const S3_8 = ["S3.8"];
const BLOCKS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
export const blockPublicAccess: PlatformRule = {
    name: "s3-block-public-access",
    description: "Every bucket has a public access block with all four settings on.",
    controls: S3_8,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Give the bucket an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true.",
    validateStack: eachBucket((buckets, bucket, report) => {
        const blocks = buckets.settings(bucket, T.publicAccessBlock);
        const off = blocks.length ? BLOCKS.filter((k) => !blocks.some((b) => b.props[k] === true)) : BLOCKS;
        if (off.length)
            report(
                message(
                    S3_8,
                    blocks.length
                        ? `${name(bucket)}'s public access block leaves ${off.join(", ")} off`
                        : `${name(bucket)} has no public access block`,
                    "set all four of blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets to true",
                ),
                bucket.urn,
            );
    }),
};

const S3_9 = ["S3.9"];
export const accessLogging: PlatformRule = {
    name: "s3-access-logging",
    description:
        "Every bucket logs server access to the stack's log bucket; the log bucket itself is the one exception (it would log its own log writes).",
    controls: S3_9,
    enforcementLevel: "mandatory",
    remediationSteps: "Give the bucket an aws.s3.BucketLogging with targetBucket set to the stack's logs bucket.",
    validateStack: eachBucket((buckets, bucket, report) => {
        if (buckets.logTargets.has(bucket)) return;
        const logging = buckets.settings(bucket, T.logging).filter((l) => l.props.targetBucket !== undefined);
        if (logging.length === 0)
            report(
                message(
                    S3_9,
                    `${name(bucket)} keeps no server access logs`,
                    "give it an aws.s3.BucketLogging into the logs bucket under its own prefix (SecureBucket's accessLogs)",
                ),
                bucket.urn,
            );
    }),
};

const S3_13 = ["S3.13"];
export const lifecycle: PlatformRule = {
    name: "s3-lifecycle",
    description: "Every bucket has a lifecycle configuration with at least one enabled rule.",
    controls: S3_13,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Give the bucket an aws.s3.BucketLifecycleConfiguration (SecureBucket expires noncurrent versions and aborts incomplete uploads).",
    validateStack: eachBucket((buckets, bucket, report) => {
        const enabled = buckets
            .settings(bucket, T.lifecycle)
            .flatMap((c) => (c.props.rules ?? []) as { status?: string }[])
            .filter((r) => r.status === "Enabled");
        if (enabled.length === 0)
            report(
                message(
                    S3_13,
                    `${name(bucket)} has no enabled lifecycle rule, so old versions and uploads pile up`,
                    "add an aws.s3.BucketLifecycleConfiguration with an Enabled rule",
                ),
                bucket.urn,
            );
    }),
};

const S3_14 = ["S3.14"];
export const versioning: PlatformRule = {
    name: "s3-versioning",
    description: "Every bucket has versioning enabled.",
    controls: S3_14,
    enforcementLevel: "mandatory",
    remediationSteps: 'Give the bucket an aws.s3.BucketVersioning with versioningConfiguration.status "Enabled".',
    validateStack: eachBucket((buckets, bucket, report) => {
        const on = buckets
            .settings(bucket, T.versioning)
            .some((v) => (v.props.versioningConfiguration as { status?: string } | undefined)?.status === "Enabled");
        if (!on)
            report(
                message(
                    S3_14,
                    `${name(bucket)} is not versioned, so an overwrite or delete loses data`,
                    'add an aws.s3.BucketVersioning with status "Enabled"',
                ),
                bucket.urn,
            );
    }),
};

const S3_17 = ["S3.17"];
export const kmsEncryption: PlatformRule = {
    name: "s3-kms-encryption",
    description:
        "Every bucket encrypts by default with a customer-managed KMS key. The exception S3 imposes: a bucket that receives server access logs must use SSE-S3, the only default encryption log delivery writes to.",
    controls: S3_17,
    enforcementLevel: "mandatory",
    remediationSteps:
        'Give the bucket an aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and kmsMasterKeyId set to the data lake key.',
    validateStack: eachBucket((buckets, bucket, report) => {
        const rule = defaultEncryption(buckets, bucket);
        if (buckets.logTargets.has(bucket)) {
            if (rule?.sseAlgorithm !== "AES256")
                report(
                    message(
                        S3_17,
                        `${name(bucket)} receives server access logs but its default encryption is ${rule?.sseAlgorithm ?? "not declared"}; S3 log delivery writes only to SSE-S3 buckets`,
                        'set sseAlgorithm "AES256" on the log bucket (the documented exception to S3.17)',
                    ),
                    bucket.urn,
                );
            return;
        }
        if (!rule || !["aws:kms", "aws:kms:dsse"].includes(rule.sseAlgorithm ?? "") || !rule.kmsMasterKeyId)
            report(
                message(
                    S3_17,
                    `${name(bucket)} is encrypted by default with ${rule ? `${rule.sseAlgorithm}${rule.kmsMasterKeyId ? "" : " and no key of its own"}` : "nothing declared"}`,
                    'declare an aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and kmsMasterKeyId set to the data lake key',
                ),
                bucket.urn,
            );
    }),
};

const UPLOADS = ["S3.17 on upload"];
const SSE = "s3:x-amz-server-side-encryption";
const SSE_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id";
export const uploadsUseTheBucketKey: PlatformRule = {
    name: "s3-deny-uploads-without-bucket-key",
    description:
        "A bucket encrypted with a KMS key refuses uploads that ask for another encryption: SSE-S3, another key, or SSE-KMS without a key id (which S3 would encrypt with aws/s3).",
    controls: UPLOADS,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Add the Deny statements of denyUploadsNotEncryptedWith (infra/resource-policies.ts) to the bucket policy, naming the bucket's own key.",
    validateStack: eachBucket((buckets, bucket, report) => {
        const rule = defaultEncryption(buckets, bucket);
        if (!rule?.kmsMasterKeyId || !rule.sseAlgorithm?.startsWith("aws:kms")) return;
        const statements = policyStatements(buckets, bucket, UPLOADS, report);
        if (!statements) return;
        const key = rule.kmsMasterKeyId;
        const put = (headers: Record<string, string>): PolicyRequest => ({
            action: "s3:PutObject",
            resource: `${bucketArn(bucket, statements)}/any/key`,
            context: { "aws:SecureTransport": "true", ...headers },
        });
        const mustDeny: [string, PolicyRequest][] = [
            ["SSE-S3 (AES256)", put({ [SSE]: "AES256" })],
            ["another KMS key", put({ [SSE]: "aws:kms", [SSE_KEY]: `${key}-another` })],
            ["SSE-KMS without a key id", put({ [SSE]: "aws:kms" })],
        ];
        const open = mustDeny.filter(([, r]) => denied(statements, r, UPLOADS, bucket, report) === false).map(([label]) => label);
        if (open.length)
            report(
                message(
                    UPLOADS,
                    `${name(bucket)} accepts uploads encrypted with ${open.join(", ")}, not only its key ${key}`,
                    `deny s3:PutObject unless ${SSE} is aws:kms and ${SSE_KEY} is the bucket's key (denyUploadsNotEncryptedWith)`,
                ),
                bucket.urn,
            );
        if (denied(statements, put({ [SSE]: "aws:kms", [SSE_KEY]: key }), UPLOADS, bucket, report))
            report(
                message(
                    UPLOADS,
                    `${name(bucket)}'s policy refuses uploads with the bucket's own key ${key}, so nothing can be written`,
                    "name the key of the bucket's default encryption in the deny statements",
                ),
                bucket.urn,
            );
    }),
};

export const S3_RULES: readonly PlatformRule[] = [
    tlsOnly,
    blockPublicAccess,
    accessLogging,
    lifecycle,
    versioning,
    kmsEncryption,
    uploadsUseTheBucketKey,
];
