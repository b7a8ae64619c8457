import { expect } from "chai";
import { PolicyResource, StackValidationPolicy, unknownCheckingProxy } from "@pulumi/policy";
import { denyInsecureTransport, denyUploadsNotEncryptedWith } from "../../infra/resource-policies";
import { platformPolicies } from "../../policy/pack";
import { declared, doc, endpointDeployment, runPack } from "./support";

/**
 * In a preview, values that depend on resources not created yet are unknown. The engine sends them as a
 * sentinel string and `@pulumi/policy` wraps properties in `unknownCheckingProxy`, which throws when a rule
 * reads one; the engine then reports that the policy "can't run during preview" (advisory) instead of a pass
 * or a failure. These tests use the same sentinel and the same proxy.
 */
const UNKNOWN: string = require("@pulumi/pulumi/runtime/rpc").unknownValue;
const KEY = "arn:aws:kms:us-east-1:123456789012:key/data-key";

describe("policy pack: values unknown until the update", function () {
    this.timeout(30_000);

    it("uses the sentinel the SDK sends for unknowns, which @pulumi/policy's proxy recognises", () => {
        expect(UNKNOWN).to.equal(require("@pulumi/policy/proxy").unknownStringValue);
        expect(() => unknownCheckingProxy({ kmsKeyArn: UNKNOWN }).kmsKeyArn).to.throw(
            /string value at \.kmsKeyArn can't be known during preview/,
        );
    });

    it("reports a rule that reads an unknown value as unable to run, not as passed or failed", async () => {
        const config = declared("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "config", {
            kmsKeyArn: UNKNOWN,
            productionVariants: [{ variantName: "AllTraffic", instanceType: "ml.m5.large", initialInstanceCount: 2 }],
        });
        const report = await runPack([config]);
        const kms = report.violations.filter((v) => v.policy === "sagemaker-endpoint-config-kms");
        expect(kms).to.have.length(1);
        expect(kms[0]).to.deep.include({ enforcementLevel: "advisory", cannotRun: true });
        expect(kms[0].message).to.equal(
            "can't run policy 'sagemaker-endpoint-config-kms' from policy pack 'vision-mlops' during preview: string value at .kmsKeyArn can't be known during preview",
        );
    });

    it("still decides what does not depend on the unknown value", async () => {
        const model = declared("aws:sagemaker/model:Model", "model", {
            executionRoleArn: UNKNOWN,
            primaryContainer: { image: UNKNOWN },
            enableNetworkIsolation: false,
        });
        const report = await runPack([model]);
        expect(report.violations.map((v) => [v.policy, v.enforcementLevel])).to.deep.equal([
            ["sagemaker-model-network-isolation", "mandatory"],
        ]);
    });

    it("still checks an EndpointDeployment's fleet in a first preview, where its model, config and key are unknown", async () => {
        const deployment = endpointDeployment("prod", {
            instanceCount: 1,
            model: UNKNOWN,
            modelName: UNKNOWN,
            endpointConfigName: UNKNOWN,
            kmsKeyId: UNKNOWN,
            dataCapture: UNKNOWN,
        });
        const report = await runPack([deployment]);
        const byPolicy = (p: string) =>
            report.violations.filter((v) => v.policy === p).map((v) => [v.enforcementLevel, Boolean(v.cannotRun)]);
        expect(byPolicy("sagemaker-prod-variants-several-instances")).to.deep.equal([["mandatory", false]]);
        expect(byPolicy("cost-endpoint-instance-caps")).to.deep.equal([]);
        for (const p of [
            "sagemaker-model-network-isolation",
            "sagemaker-endpoint-config-kms",
            "sagemaker-data-capture-kms",
            "cost-capture-sampling-caps",
        ])
            expect(byPolicy(p), p).to.deep.equal([["advisory", true]]);
    });

    it("cannot check a pipeline whose definition is unknown (it embeds role and bucket ARNs), and says so", async () => {
        const pipeline = declared("aws:sagemaker/pipeline:Pipeline", "pipeline", {
            pipelineName: "p",
            pipelineDefinition: UNKNOWN,
            roleArn: UNKNOWN,
        });
        const report = await runPack([pipeline]);
        const policies = report.violations.map((v) => [v.policy, v.cannotRun]);
        expect(policies).to.deep.include.members([
            ["sagemaker-pipeline-job-encryption", true],
            ["sagemaker-training-network-isolation", true],
            ["cost-training-limits", true],
        ]);
        expect(report.violations.filter((v) => v.enforcementLevel === "mandatory")).to.deep.equal([]);
    });

    it("links a bucket's settings through the engine's property dependencies while ids are unknown", async () => {
        // A first preview: the bucket's name is known (the platform sets it), its id is not, so every setting's
        // `bucket` is unknown; the engine still says which resource each property depends on.
        const name = "vision-mlops-staging-raw-123456789012-us-east-1";
        const arn = `arn:aws:s3:::${name}`;
        const resource = (type: string, props: Record<string, unknown>, deps: Record<string, PolicyResource[]> = {}): PolicyResource => ({
            type,
            name: `${type.split(":").pop()}-1`,
            urn: `urn:pulumi:staging::vision-mlops::${type}::${type.split(":").pop()}-1`,
            props: unknownCheckingProxy(props),
            opts: {
                protect: false,
                ignoreChanges: [],
                aliases: [],
                customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
                additionalSecretOutputs: [],
            },
            dependencies: Object.values(deps).flat(),
            propertyDependencies: deps,
            isType: () => false,
            asType: () => undefined,
        });
        const bucket = resource("aws:s3/bucket:Bucket", { bucket: name, arn: UNKNOWN, id: UNKNOWN });
        const on = { bucket: [bucket] };
        const settings = (policy: unknown[]) => [
            bucket,
            resource("aws:s3/bucketPolicy:BucketPolicy", { bucket: UNKNOWN, policy: doc(...policy) }, on),
            resource(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                { bucket: UNKNOWN, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY } }] },
                on,
            ),
        ];
        const upload = platformPolicies().find((p) => p.name === "s3-deny-uploads-without-bucket-key") as StackValidationPolicy;
        const run = async (resources: PolicyResource[]) => {
            const messages: string[] = [];
            await upload.validateStack(
                {
                    resources,
                    stackTags: new Map(),
                    getConfig: <T>() => ({}) as T,
                    notApplicable: () => {
                        throw new Error("not applicable");
                    },
                },
                (m) => messages.push(m),
            );
            return messages;
        };
        expect(await run(settings([denyInsecureTransport(arn), ...denyUploadsNotEncryptedWith(arn, KEY)]))).to.deep.equal([]);
        expect(await run(settings([denyInsecureTransport(arn)]))).to.have.length(1);
    });
});
