import { expect } from "chai";
import { denyInsecureTransport, denyUploadsNotEncryptedWith } from "../../infra/resource-policies";
import { DeclaredForPolicy } from "../../policy/offline";
import { declared, doc, expectFail, expectPass } from "./support";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/data-key";
const T = {
    bucket: "aws:s3/bucket:Bucket",
    policy: "aws:s3/bucketPolicy:BucketPolicy",
    publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    logging: "aws:s3/bucketLogging:BucketLogging",
    loggingV2: "aws:s3/bucketLoggingV2:BucketLoggingV2",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
};

interface BucketOptions {
    /** Which companion resources to leave out, or replace. */
    readonly without?: readonly string[];
    readonly policy?: unknown[];
    readonly encryption?: Record<string, unknown>;
    readonly publicAccess?: Record<string, boolean>;
    readonly logTo?: string;
    readonly lifecycle?: unknown[];
    readonly versioning?: string;
}

/** A bucket and its settings as SecureBucket declares them (each setting refers to the bucket by its id). */
function bucket(name: string, options: BucketOptions = {}): DeclaredForPolicy[] {
    const physical = `vision-mlops-staging-${name}-123456789012-us-east-1`;
    const arn = `arn:aws:s3:::${physical}`;
    const id = `${name}-id`;
    const all: Record<string, DeclaredForPolicy> = {
        bucket: declared(T.bucket, name, { bucket: physical, forceDestroy: false }),
        policy: declared(T.policy, `${name}-policy`, {
            bucket: id,
            policy: doc(...(options.policy ?? [denyInsecureTransport(arn), ...denyUploadsNotEncryptedWith(arn, KEY)])),
        }),
        publicAccess: declared(T.publicAccess, `${name}-public-access`, {
            bucket: id,
            ...(options.publicAccess ?? {
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            }),
        }),
        logging: declared(T.logging, `${name}-logging`, { bucket: id, targetBucket: options.logTo ?? "logs-id", targetPrefix: `${name}/` }),
        lifecycle: declared(T.lifecycle, `${name}-lifecycle`, {
            bucket: id,
            rules: options.lifecycle ?? [
                { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 90 } },
            ],
        }),
        versioning: declared(T.versioning, `${name}-versioning`, {
            bucket: id,
            versioningConfiguration: { status: options.versioning ?? "Enabled" },
        }),
        sse: declared(T.sse, `${name}-encryption`, {
            bucket: id,
            rules: [
                {
                    applyServerSideEncryptionByDefault: options.encryption ?? { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY },
                    bucketKeyEnabled: true,
                },
            ],
        }),
    };
    return Object.entries(all)
        .filter(([k]) => !(options.without ?? []).includes(k))
        .map(([, r]) => r);
}

/** The log bucket: SSE-S3, TLS only, no logging of its own; the data bucket logs into it. */
function lake(data: BucketOptions = {}, logs: BucketOptions = {}): DeclaredForPolicy[] {
    const logsArn = "arn:aws:s3:::vision-mlops-staging-logs-123456789012-us-east-1";
    return [
        ...bucket("logs", {
            without: ["logging"],
            encryption: { sseAlgorithm: "AES256" },
            policy: [denyInsecureTransport(logsArn)],
            ...logs,
        }),
        ...bucket("raw", data),
    ];
}

describe("policy pack: S3 rules (stack validations over a bucket and its setting resources)", function () {
    this.timeout(30_000);
    const all = [
        "s3-tls-only",
        "s3-block-public-access",
        "s3-access-logging",
        "s3-lifecycle",
        "s3-versioning",
        "s3-kms-encryption",
        "s3-deny-uploads-without-bucket-key",
    ];

    it("pass the data lake as SecureBucket builds it, the log bucket's documented exceptions included", async () => {
        for (const rule of all) await expectPass(rule, lake());
    });

    it("s3-tls-only (S3.5): fails a bucket without a policy, and a policy that lets plain HTTP through", async () => {
        await expectFail("s3-tls-only", lake({ without: ["policy"] }), /^\[S3\.5\] s3 Bucket "raw" has no bucket policy/);
        const objectsOnly = {
            ...denyInsecureTransport("arn:aws:s3:::vision-mlops-staging-raw-123456789012-us-east-1"),
            Resource: "arn:aws:s3:::vision-mlops-staging-raw-123456789012-us-east-1/*",
        };
        await expectFail(
            "s3-tls-only",
            lake({ policy: [objectsOnly] }),
            /s3 Bucket "raw"'s policy lets s3:ListBucket through over plain HTTP/,
        );
        await expectFail(
            "s3-tls-only",
            lake({ policy: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" }] }),
            /lets s3:GetObject, s3:PutObject, s3:ListBucket through/,
        );
    });

    it("s3-block-public-access (S3.8): fails a missing block and one that leaves a setting off", async () => {
        await expectFail(
            "s3-block-public-access",
            lake({ without: ["publicAccess"] }),
            /^\[S3\.8\] s3 Bucket "raw" has no public access block/,
        );
        await expectFail(
            "s3-block-public-access",
            lake({
                publicAccess: { blockPublicAcls: true, blockPublicPolicy: false, ignorePublicAcls: true, restrictPublicBuckets: true },
            }),
            /public access block leaves blockPublicPolicy off/,
        );
    });

    it("s3-access-logging (S3.9): fails a bucket without logging; the log target is the one exception; V2 logging counts", async () => {
        // Once nothing logs into it, the logs bucket is an ordinary bucket again and needs logging too.
        await expectFail(
            "s3-access-logging",
            lake({ without: ["logging"] }),
            /^\[S3\.9\] s3 Bucket "logs" keeps no server access logs/,
            /^\[S3\.9\] s3 Bucket "raw" keeps no server access logs/,
        );
        await expectPass("s3-access-logging", [...lake(), ...bucket("curated")]);
        await expectFail(
            "s3-access-logging",
            [...lake(), ...bucket("curated", { without: ["logging"] })],
            /s3 Bucket "curated" keeps no server access logs/,
        );
        const v2 = [
            ...lake({ without: ["logging"] }),
            declared(T.loggingV2, "raw-logging-v2", { bucket: "raw-id", targetBucket: "logs-id", targetPrefix: "raw/" }),
        ];
        await expectPass("s3-access-logging", v2);
    });

    it("s3-lifecycle (S3.13) and s3-versioning (S3.14): fail missing or disabled settings", async () => {
        await expectFail("s3-lifecycle", lake({ without: ["lifecycle"] }), /^\[S3\.13\] s3 Bucket "raw" has no enabled lifecycle rule/);
        await expectFail(
            "s3-lifecycle",
            lake({ lifecycle: [{ id: "off", status: "Disabled", filter: {}, expiration: { days: 1 } }] }),
            /no enabled lifecycle rule/,
        );
        await expectFail("s3-versioning", lake({ without: ["versioning"] }), /^\[S3\.14\] s3 Bucket "raw" is not versioned/);
        await expectFail("s3-versioning", lake({ versioning: "Suspended" }), /is not versioned/);
    });

    it("s3-kms-encryption (S3.17): fails SSE-S3 and aws/s3 on data buckets, and KMS on the log target", async () => {
        await expectFail(
            "s3-kms-encryption",
            lake({ encryption: { sseAlgorithm: "AES256" } }),
            /^\[S3\.17\] s3 Bucket "raw" is encrypted by default with AES256/,
        );
        await expectFail("s3-kms-encryption", lake({ encryption: { sseAlgorithm: "aws:kms" } }), /with aws:kms and no key of its own/);
        await expectFail("s3-kms-encryption", lake({ without: ["sse"] }), /encrypted by default with nothing declared/);
        await expectFail(
            "s3-kms-encryption",
            lake({}, { encryption: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY } }),
            /"logs" receives server access logs but its default encryption is aws:kms; S3 log delivery writes only to SSE-S3 buckets/,
        );
    });

    it("s3-deny-uploads-without-bucket-key: fails a KMS bucket that accepts other encryptions, or refuses its own key", async () => {
        const arn = "arn:aws:s3:::vision-mlops-staging-raw-123456789012-us-east-1";
        await expectFail(
            "s3-deny-uploads-without-bucket-key",
            lake({ policy: [denyInsecureTransport(arn)] }),
            /^\[S3\.17 on upload\] s3 Bucket "raw" accepts uploads encrypted with SSE-S3 \(AES256\), another KMS key, SSE-KMS without a key id, not only its key/,
        );
        const [, anotherKey] = denyUploadsNotEncryptedWith(arn, KEY);
        await expectFail(
            "s3-deny-uploads-without-bucket-key",
            lake({ policy: [denyInsecureTransport(arn), anotherKey] }),
            /accepts uploads encrypted with SSE-S3 \(AES256\), SSE-KMS without a key id,/,
        );
        await expectFail(
            "s3-deny-uploads-without-bucket-key",
            lake({ policy: [denyInsecureTransport(arn), ...denyUploadsNotEncryptedWith(arn, `${KEY}-old`)] }),
            /refuses uploads with the bucket's own key/,
        );
        // Conditions the checks cannot evaluate are a violation, not a pass.
        const set = {
            Effect: "Deny",
            Principal: "*",
            Action: "s3:PutObject",
            Resource: `${arn}/*`,
            Condition: { "ForAnyValue:StringNotEquals": { "s3:x-amz-server-side-encryption": "aws:kms" } },
        };
        const found = await expectFail(
            "s3-deny-uploads-without-bucket-key",
            lake({ policy: [denyInsecureTransport(arn), set] }),
            /cannot be evaluated/,
            /cannot be evaluated/,
            /cannot be evaluated/,
            /cannot be evaluated/,
        );
        expect(found).to.have.length(4);
    });
});
