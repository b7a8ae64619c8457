import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { DataLake, DataLakeArgs } from "../../components/data-lake";
import { alertTopicName } from "../../infra/naming";
import { allowedBy, deniedBy, parsePolicy, PolicyRequest } from "../../infra/policy-evaluation";
import { dataProtection } from "../../infra/resource-options";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { componentTree } from "./support/component-tree";

const T = {
    bucket: "aws:s3/bucket:Bucket",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    policy: "aws:s3/bucketPolicy:BucketPolicy",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    logging: "aws:s3/bucketLogging:BucketLogging",
    notification: "aws:s3/bucketNotification:BucketNotification",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    key: "aws:kms/key:Key",
};
const DATA_BUCKETS = ["raw", "curated", "artifacts", "capture"];
const ALL_BUCKETS = [...DATA_BUCKETS, "logs"];

async function buildLake(
    environment: "staging" | "prod",
    protection: Pick<DataLakeArgs, "protect" | "retainOnDelete"> = {},
): Promise<{ lake: DataLake; declared: DeclaredResource[] }> {
    const declared = useMocks(environment);
    const lake = new DataLake("lake", { environment, accountId: TEST_ACCOUNT, region: "us-east-1", ...protection });
    await settled(declared, lake.bucketNames);
    return { lake, declared };
}

/** The declaration of a bucket's companion resource (`lake-<purpose>-<suffix>`). */
function companion(declared: DeclaredResource[], type: string, purpose: string, suffix: string): DeclaredResource {
    const name = `lake-${purpose}-${suffix}`;
    const hit = declared.find((r) => r.type === type && r.name === name);
    if (!hit) throw new Error(`bucket ${purpose} has no ${type} (${name})`);
    return hit;
}

describe("DataLake", () => {
    let declared: DeclaredResource[];
    let lake: DataLake;
    before(async () => ({ lake, declared } = await buildLake("staging")));

    it("creates the five buckets with account- and region-scoped names", () => {
        const names = declared
            .filter(ofType(T.bucket))
            .map((b) => b.inputs.bucket)
            .sort();
        expect(names).to.deep.equal(ALL_BUCKETS.map((p) => `vision-mlops-staging-${p}-${TEST_ACCOUNT}-us-east-1`).sort());
        for (const b of declared.filter(ofType(T.bucket))) expect(b.inputs.forceDestroy).to.equal(false);
    });

    it("encrypts every data bucket with the lake's key and bucket keys", () => {
        for (const purpose of DATA_BUCKETS) {
            const rule = companion(declared, T.sse, purpose, "encryption").inputs.rules[0];
            expect(rule.applyServerSideEncryptionByDefault.sseAlgorithm, purpose).to.equal("aws:kms");
            expect(rule.applyServerSideEncryptionByDefault.kmsMasterKeyId, purpose).to.match(
                /^arn:aws:kms:us-east-1:\d{12}:key\/lake-key-key-id$/,
            );
            expect(rule.bucketKeyEnabled, purpose).to.equal(true);
        }
    });

    it("encrypts the access-log bucket with S3-managed keys, the only encryption log delivery accepts", () => {
        const rule = companion(declared, T.sse, "logs", "encryption").inputs.rules[0];
        expect(rule.applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("AES256");
    });

    it("turns on versioning for every bucket", () => {
        for (const purpose of ALL_BUCKETS)
            expect(companion(declared, T.versioning, purpose, "versioning").inputs.versioningConfiguration.status, purpose).to.equal(
                "Enabled",
            );
    });

    it("blocks all public access and enforces bucket-owner object ownership on every bucket", () => {
        for (const purpose of ALL_BUCKETS) {
            const pab = companion(declared, T.publicAccess, purpose, "public-access").inputs;
            expect(pab, purpose).to.include({
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            });
            expect(companion(declared, T.ownership, purpose, "ownership").inputs.rule.objectOwnership).to.equal("BucketOwnerEnforced");
        }
    });

    it("denies every non-TLS request in each bucket's policy", () => {
        for (const purpose of ALL_BUCKETS) {
            const doc = JSON.parse(companion(declared, T.policy, purpose, "policy").inputs.policy);
            const deny = doc.Statement.find((s: any) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false");
            expect(deny, `${purpose} has no TLS-only statement`).to.not.equal(undefined);
            expect(deny.Principal).to.equal("*");
            expect(deny.Action).to.equal("s3:*");
            const bucketArn = `arn:aws:s3:::vision-mlops-staging-${purpose}-${TEST_ACCOUNT}-us-east-1`;
            expect(deny.Resource).to.deep.equal([bucketArn, `${bucketArn}/*`]);
        }
    });

    it("refuses every upload to a data bucket that is not encrypted with the lake's key, over TLS or not", () => {
        const key = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/lake-key-key-id`;
        const sse = "s3:x-amz-server-side-encryption";
        const keyId = "s3:x-amz-server-side-encryption-aws-kms-key-id";
        for (const purpose of DATA_BUCKETS) {
            const statements = parsePolicy(companion(declared, T.policy, purpose, "policy").inputs.policy);
            const object = `arn:aws:s3:::vision-mlops-staging-${purpose}-${TEST_ACCOUNT}-us-east-1/traffic-signs/a.jpg`;
            const put = (headers: Record<string, string>): PolicyRequest => ({
                action: "s3:PutObject",
                resource: object,
                principal: { aws: `arn:aws:iam::${TEST_ACCOUNT}:role/writer` },
                context: { "aws:SecureTransport": "true", ...headers },
            });
            expect(deniedBy(statements, put({ [sse]: "AES256" })), `${purpose}: SSE-S3 upload`).to.equal(true);
            expect(deniedBy(statements, put({ [sse]: "aws:kms:dsse", [keyId]: key })), `${purpose}: DSSE upload`).to.equal(true);
            expect(
                deniedBy(statements, put({ [sse]: "aws:kms", [keyId]: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/another` })),
                `${purpose}: another key`,
            ).to.equal(true);
            // Without a key id S3 would pick the AWS managed aws/s3 key, not the lake's.
            expect(deniedBy(statements, put({ [sse]: "aws:kms" })), `${purpose}: SSE-KMS without a key id`).to.equal(true);
            expect(deniedBy(statements, put({ [sse]: "aws:kms", [keyId]: key })), `${purpose}: the lake's key`).to.equal(false);
            // No encryption headers: the bucket's default encryption (the lake's key, tested above) applies.
            expect(deniedBy(statements, put({})), `${purpose}: default encryption`).to.equal(false);
            // A multipart upload is authorized as s3:PutObject when it starts, with the same headers.
            expect(
                deniedBy(statements, { ...put({ [sse]: "AES256" }), context: { [sse]: "AES256", "aws:SecureTransport": "false" } }),
            ).to.equal(true);
        }
    });

    it("keeps the logs bucket's exception: S3 log delivery writes SSE-S3 objects, over TLS only", () => {
        const statements = parsePolicy(companion(declared, T.policy, "logs", "policy").inputs.policy);
        const object = `arn:aws:s3:::vision-mlops-staging-logs-${TEST_ACCOUNT}-us-east-1/raw/2026-11-01-00-00-00-ABCDEF`;
        const delivery: PolicyRequest = {
            action: "s3:PutObject",
            resource: object,
            principal: { service: "logging.s3.amazonaws.com" },
            context: { "aws:SecureTransport": "true", "aws:SourceAccount": TEST_ACCOUNT, "s3:x-amz-server-side-encryption": "AES256" },
        };
        expect(deniedBy(statements, delivery)).to.equal(false);
        expect(allowedBy(statements, delivery)).to.equal(true);
        expect(allowedBy(statements, { ...delivery, context: { ...delivery.context, "aws:SourceAccount": "210987654321" } })).to.equal(
            false,
        );
        expect(deniedBy(statements, { ...delivery, context: { ...delivery.context, "aws:SecureTransport": "false" } })).to.equal(true);
    });

    it("lets only S3 log delivery of this account write into the logs bucket", () => {
        const doc = JSON.parse(companion(declared, T.policy, "logs", "policy").inputs.policy);
        const allow = doc.Statement.filter((s: any) => s.Effect === "Allow");
        expect(allow).to.have.length(1);
        expect(allow[0].Principal).to.deep.equal({ Service: "logging.s3.amazonaws.com" });
        expect(allow[0].Action).to.equal("s3:PutObject");
        expect(allow[0].Condition).to.deep.equal({ StringEquals: { "aws:SourceAccount": TEST_ACCOUNT } });
    });

    it("logs access to every data bucket into the logs bucket under its own prefix", () => {
        for (const purpose of DATA_BUCKETS) {
            const logging = companion(declared, T.logging, purpose, "logging").inputs;
            expect(logging.targetBucket, purpose).to.equal("lake-logs-id");
            expect(logging.targetPrefix, purpose).to.equal(`${purpose}/`);
        }
        expect(declared.find((r) => r.type === T.logging && r.name === "lake-logs-logging")).to.equal(undefined);
    });

    it("expires noncurrent versions and aborts incomplete uploads everywhere; ages captured traffic out", () => {
        for (const purpose of ALL_BUCKETS) {
            const rules = companion(declared, T.lifecycle, purpose, "lifecycle").inputs.rules;
            const byId = Object.fromEntries(rules.map((r: any) => [r.id, r]));
            expect(byId["expire-noncurrent-versions"].noncurrentVersionExpiration.noncurrentDays, purpose).to.equal(90);
            expect(byId["abort-incomplete-uploads"].abortIncompleteMultipartUpload.daysAfterInitiation, purpose).to.equal(7);
            for (const r of rules) expect(r.status).to.equal("Enabled");
        }
        const capture = companion(declared, T.lifecycle, "capture", "lifecycle").inputs.rules.find(
            (r: any) => r.id === "age-out-captured-traffic",
        );
        expect(capture.transitions).to.deep.equal([{ days: 30, storageClass: "STANDARD_IA" }]);
        expect(capture.expiration.days).to.equal(365);
    });

    it("sends every bucket's events to EventBridge (the training trigger listens there)", () => {
        for (const purpose of ALL_BUCKETS)
            expect(companion(declared, T.notification, purpose, "notifications").inputs.eventbridge, purpose).to.equal(true);
    });

    it("rotates the customer-managed key; the account administers it through IAM", () => {
        const key = declared.find(ofType(T.key))!;
        expect(key.inputs.enableKeyRotation).to.equal(true);
        const root = JSON.parse(key.inputs.policy).Statement.find((s: any) => s.Principal?.AWS);
        expect(root.Principal.AWS).to.equal(`arn:aws:iam::${TEST_ACCOUNT}:root`);
        expect(root.Action).to.equal("kms:*");
    });

    it("lets alarms, rules and budgets use the key only to encrypt to the stack's alert topic, alarms only the stack's own", () => {
        const statements = parsePolicy(declared.find(ofType(T.key))!.inputs.policy);
        const topic = `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:${alertTopicName("staging")}`;
        const context = "kms:EncryptionContext:aws:sns:topicArn";
        const use = (service: string, ctx: Record<string, string>): PolicyRequest => ({
            action: "kms:GenerateDataKey",
            resource: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/lake-key-key-id`,
            principal: { service },
            context: ctx,
        });
        const alarm = (name: string, account = TEST_ACCOUNT) => ({
            [context]: topic,
            "aws:SourceAccount": account,
            "aws:SourceArn": `arn:aws:cloudwatch:us-east-1:${account}:alarm:${name}`,
        });
        expect(allowedBy(statements, use("cloudwatch.amazonaws.com", alarm("vision-mlops-staging-traffic-signs-5xx")))).to.equal(true);
        expect(
            allowedBy(statements, { ...use("cloudwatch.amazonaws.com", alarm("vision-mlops-staging-x")), action: "kms:Decrypt" }),
        ).to.equal(true);
        expect(
            allowedBy(statements, use("cloudwatch.amazonaws.com", alarm("vision-mlops-prod-traffic-signs-5xx"))),
            "prod's alarm",
        ).to.equal(false);
        expect(
            allowedBy(statements, use("cloudwatch.amazonaws.com", alarm("vision-mlops-staging-x", "210987654321"))),
            "another account",
        ).to.equal(false);
        for (const service of ["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"]) {
            expect(allowedBy(statements, use(service, {})), `${service} with no context`).to.equal(false);
            expect(
                allowedBy(statements, use(service, { ...alarm("vision-mlops-staging-x"), [context]: `${topic}-other` })),
                `${service}, another topic`,
            ).to.equal(false);
        }
        // EventBridge and Budgets do not document aws:SourceArn/SourceAccount on their KMS calls through SNS: the topic binds them.
        expect(allowedBy(statements, use("events.amazonaws.com", { [context]: topic }))).to.equal(true);
        expect(allowedBy(statements, use("budgets.amazonaws.com", { [context]: topic }))).to.equal(true);
        expect(allowedBy(statements, use("sns.amazonaws.com", { [context]: topic })), "no other service").to.equal(false);
        expect(
            allowedBy(statements, { ...use("events.amazonaws.com", { [context]: topic }), action: "kms:Encrypt" }),
            "only what SNS asks for",
        ).to.equal(false);
    });

    it("leaves data unprotected by default so the stack can be torn down", () => {
        for (const b of [lake.raw, lake.curated, lake.artifacts, lake.capture, lake.logs])
            expect((b.bucket as any).__protect).to.equal(false);
        expect((lake.key as any).__protect).to.equal(false);
    });
});

describe("DataLake's resource tree", () => {
    it("parents every key, bucket and bucket setting to the lake, so they move, protect and delete with it", async () => {
        const { declared, orphans, outputs } = await componentTree(
            (opts) => new DataLake("lake", { environment: "staging", accountId: TEST_ACCOUNT, region: "us-east-1" }, opts),
        );
        // The lake, its key and alias; per bucket the SecureBucket, the bucket and its 8 settings (7 for logs: no access logs).
        expect(declared.filter((r) => !r.type.startsWith("pulumi:providers:"))).to.have.length(3 + 4 * 10 + 9);
        expect(orphans).to.deep.equal([]);
        expect(Object.keys(outputs).sort()).to.deep.equal(["bucketNames", "key"]);
    });
});

describe("DataLake with its args", () => {
    let tree: Awaited<ReturnType<typeof componentTree<DataLake>>>;
    let declared: DeclaredResource[];
    before(async () => {
        tree = await componentTree(
            (opts) =>
                new DataLake(
                    "lake",
                    {
                        environment: "prod",
                        accountId: TEST_ACCOUNT,
                        region: "cn-north-1",
                        partition: "aws-cn",
                        captureTransitionDays: 45,
                        captureExpirationDays: 400,
                        noncurrentVersionExpirationDays: 10,
                        accessLogExpirationDays: 730,
                    },
                    opts,
                ),
            "prod",
        );
        declared = tree.declared;
    });

    it("describes its key, keeps a deleted key 30 days, and aliases it by environment", () => {
        const key = find(declared, T.key, "lake-key").inputs;
        expect(key.description).to.equal("vision-mlops prod data lake: images, datasets, models, captured traffic");
        expect(key.deletionWindowInDays).to.equal(30);
        expect(find(declared, "aws:kms/alias:Alias", "lake-key-alias").inputs).to.deep.include({
            name: "alias/vision-mlops-prod-data",
            targetKeyId: "lake-key-key-id",
        });
    });

    it("names the partition in the key policy's root and its alarms' ARNs", () => {
        const statements = JSON.parse(find(declared, T.key, "lake-key").inputs.policy).Statement;
        expect(statements[0].Principal).to.deep.equal({ AWS: `arn:aws-cn:iam::${TEST_ACCOUNT}:root` });
        expect(statements[1].Condition).to.deep.equal({
            StringEquals: {
                "kms:EncryptionContext:aws:sns:topicArn": `arn:aws-cn:sns:cn-north-1:${TEST_ACCOUNT}:vision-mlops-prod-alerts`,
                "aws:SourceAccount": TEST_ACCOUNT,
            },
            ArnLike: { "aws:SourceArn": `arn:aws-cn:cloudwatch:cn-north-1:${TEST_ACCOUNT}:alarm:vision-mlops-prod-*` },
        });
    });

    it("keeps versions, captured traffic and access logs for the days it is given", () => {
        const rules = (purpose: string) =>
            Object.fromEntries(companion(declared, T.lifecycle, purpose, "lifecycle").inputs.rules.map((r: { id: string }) => [r.id, r]));
        for (const purpose of ALL_BUCKETS)
            expect(rules(purpose)["expire-noncurrent-versions"].noncurrentVersionExpiration, purpose).to.deep.equal({ noncurrentDays: 10 });
        expect(rules("capture")["age-out-captured-traffic"]).to.deep.equal({
            id: "age-out-captured-traffic",
            status: "Enabled",
            filter: {},
            transitions: [{ days: 45, storageClass: "STANDARD_IA" }],
            expiration: { days: 400 },
        });
        expect(rules("logs")["expire-access-logs"]).to.deep.equal({
            id: "expire-access-logs",
            status: "Enabled",
            filter: {},
            expiration: { days: 730 },
        });
        // The bucket's own rules first, then the shared ones.
        expect(Object.keys(rules("logs"))).to.deep.equal(["expire-access-logs", "expire-noncurrent-versions", "abort-incomplete-uploads"]);
        expect(Object.keys(rules("raw"))).to.deep.equal(["expire-noncurrent-versions", "abort-incomplete-uploads"]);
    });
    it("applies a bucket's policy after its public-access block and ownership, lifecycle after versioning, access logs after the log bucket's policy", () => {
        for (const purpose of ALL_BUCKETS) {
            const bucket = `lake-${purpose}`;
            expect(tree.dependsOn(T.policy, `${bucket}-policy`), purpose).to.deep.equal([
                `${T.publicAccess}::${bucket}-public-access`,
                `${T.ownership}::${bucket}-ownership`,
            ]);
            expect(tree.dependsOn(T.lifecycle, `${bucket}-lifecycle`), purpose).to.deep.equal([`${T.versioning}::${bucket}-versioning`]);
        }
        // S3 delivers access logs only once the target's policy lets logging.s3.amazonaws.com write.
        for (const purpose of DATA_BUCKETS)
            expect(tree.dependsOn(T.logging, `lake-${purpose}-logging`), purpose).to.deep.equal([`${T.policy}::lake-logs-policy`]);
    });
});

describe("DataLake with protect", () => {
    it("protects the key and every bucket when asked, whatever the environment is called (a destroy or replacement cannot remove data)", async () => {
        const declared = useMocks("staging");
        // Mocks do not see resource options; a (legacy, SDK-side) transformation sees what each child was given.
        const options = new Map<string, pulumi.CustomResourceOptions>();
        const lake = new DataLake(
            "lake",
            { environment: "staging", accountId: TEST_ACCOUNT, region: "us-east-1", protect: true, retainOnDelete: true },
            { transformations: [({ type, name, opts }) => void options.set(`${type}::${name}`, opts)] },
        );
        await settled(declared, lake.bucketNames);
        const data = [...options].filter(([label]) => label.startsWith(`${T.bucket}::`) || label.startsWith(`${T.key}::`));
        expect(data.map(([label]) => label.split("::")[1]).sort()).to.deep.equal(
            [...ALL_BUCKETS.map((p) => `lake-${p}`), "lake-key"].sort(),
        );
        for (const [label, opts] of data) expect(opts.retainOnDelete, label).to.equal(true);
        // Mocks do not see resource options; the SDK keeps `protect` on the resource object.
        for (const b of [lake.raw, lake.curated, lake.artifacts, lake.capture, lake.logs])
            expect((b.bucket as pulumi.Resource as any).__protect, "bucket protect").to.equal(true);
        expect((lake.key as any).__protect, "key protect").to.equal(true);
    });

    it("leaves protection to its args: a prod lake built without them is not protected and retains nothing", async () => {
        const declared = useMocks("prod");
        const options = new Map<string, pulumi.CustomResourceOptions>();
        const lake = new DataLake(
            "lake",
            { environment: "prod", accountId: TEST_ACCOUNT, region: "us-east-1" },
            { transformations: [({ type, name, opts }) => void options.set(`${type}::${name}`, opts)] },
        );
        await settled(declared, lake.bucketNames);
        for (const b of [lake.raw, lake.curated, lake.artifacts, lake.capture, lake.logs])
            expect((b.bucket as any).__protect).to.equal(false);
        expect((lake.key as any).__protect).to.equal(false);
        const data = [...options].filter(([label]) => label.startsWith(`${T.bucket}::`) || label.startsWith(`${T.key}::`));
        expect(data).to.have.length(6);
        // A destroy of a stack that was never told to retain its data deletes it (staging's teardown).
        for (const [label, opts] of data) expect(opts.retainOnDelete, label).to.equal(false);
    });

    it("decides protection in one place: prod protects and retains, staging neither", () => {
        expect(dataProtection("prod")).to.deep.equal({ protect: true, retainOnDelete: true });
        expect(dataProtection("staging")).to.deep.equal({ protect: false, retainOnDelete: false });
    });
});
