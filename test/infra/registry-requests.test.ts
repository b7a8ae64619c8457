import { expect } from "chai";
import {
    decisionLedgerLocation,
    describePackage,
    ecrRepositoryArnOfImage,
    groupOfPackageArn,
    newestApprovedPackage,
    newestRegisteredPackage,
    packageServedBy,
    parsePackageArn,
    RegistryClient,
} from "../../infra/registry";

/**
 * The registry lookups against a scripted SageMaker client, in-process: which requests they send (the fields
 * ListModelPackages and the Describe calls take) and how they read sparse answers. test/infra/registry.test.ts
 * runs the same lookups against moto.
 */
type Answer = Record<string, unknown>;
function scripted(answers: Record<string, Answer[] | ((input: any) => Answer)>) {
    const sent: { command: string; input: Record<string, unknown> }[] = [];
    const client: RegistryClient = {
        send: (async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
            const name = command.constructor.name;
            sent.push({ command: name, input: command.input });
            const a = answers[name];
            if (!a) throw new Error(`unexpected ${name}`);
            if (typeof a === "function") return a(command.input);
            const next = a.shift();
            if (!next) throw new Error(`no more answers for ${name}`);
            return next;
        }) as RegistryClient["send"],
    };
    return { client, sent };
}

const PKG = (v: number, group = "signs") => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${group}/${v}`;
const list = (token?: string) => ({
    ModelPackageGroupName: "signs",
    ModelPackageType: "Versioned",
    SortBy: "CreationTime",
    SortOrder: "Descending",
    MaxResults: 100,
    NextToken: token,
});

describe("infra/registry: the newest package of a group", () => {
    it("asks for versioned packages newest first, a full page at a time, and follows NextToken past pages with nothing usable", async () => {
        const { client, sent } = scripted({
            ListModelPackagesCommand: [
                { ModelPackageSummaryList: [{ ModelPackageArn: PKG(5), ModelApprovalStatus: "Rejected" }], NextToken: "t1" },
                { NextToken: "t2" },
                {
                    ModelPackageSummaryList: [
                        { ModelApprovalStatus: "PendingManualApproval" },
                        { ModelPackageArn: PKG(3), ModelApprovalStatus: "PendingManualApproval" },
                        { ModelPackageArn: PKG(2), ModelApprovalStatus: "Approved" },
                    ],
                    NextToken: "t3",
                },
            ],
        });
        expect(await newestRegisteredPackage(client, "signs")).to.equal(PKG(3));
        expect(sent).to.deep.equal([
            { command: "ListModelPackagesCommand", input: { ...list(), ModelApprovalStatus: undefined } },
            { command: "ListModelPackagesCommand", input: { ...list("t1"), ModelApprovalStatus: undefined } },
            { command: "ListModelPackagesCommand", input: { ...list("t2"), ModelApprovalStatus: undefined } },
        ]);
    });

    it("is undefined once the last page is read", async () => {
        const { client, sent } = scripted({
            ListModelPackagesCommand: [
                { ModelPackageSummaryList: [{ ModelPackageArn: PKG(1), ModelApprovalStatus: "Rejected" }], NextToken: "t1" },
                { ModelPackageSummaryList: [] },
            ],
        });
        expect(await newestRegisteredPackage(client, "signs")).to.equal(undefined);
        expect(sent).to.have.length(2);
    });

    it("asks SageMaker for Approved packages only when it looks for the champion, and skips a summary without an ARN", async () => {
        const { client, sent } = scripted({
            ListModelPackagesCommand: [
                { ModelPackageSummaryList: [{ ModelApprovalStatus: "Approved" }], NextToken: "t1" },
                { ModelPackageSummaryList: [{ ModelPackageArn: PKG(4), ModelApprovalStatus: "Approved" }], NextToken: "t2" },
            ],
        });
        expect(await newestApprovedPackage(client, "signs")).to.equal(PKG(4));
        expect(sent.map((s) => s.input)).to.deep.equal([
            { ...list(), ModelApprovalStatus: "Approved" },
            { ...list("t1"), ModelApprovalStatus: "Approved" },
        ]);
        const none = scripted({ ListModelPackagesCommand: [{}] });
        expect(await newestApprovedPackage(none.client, "signs")).to.equal(undefined);
    });
});

describe("infra/registry: describePackage", () => {
    it("reads the status, evidence URIs and serving container of a full answer", async () => {
        const created = new Date("2026-11-30T12:00:00Z");
        const { client, sent } = scripted({
            DescribeModelPackageCommand: [
                {
                    ModelPackageArn: PKG(7),
                    ModelPackageGroupName: "signs",
                    ModelPackageVersion: 7,
                    ModelApprovalStatus: "Approved",
                    ApprovalDescription: "gate passed",
                    CreationTime: created,
                    CustomerMetadataProperties: { accuracy: "0.97" },
                    ModelMetrics: { ModelQuality: { Statistics: { S3Uri: "s3://a/evaluation.json", ContentType: "application/json" } } },
                    DriftCheckBaselines: { ModelDataQuality: { Statistics: { S3Uri: "s3://a/monitoring_baseline.json" } } },
                    InferenceSpecification: {
                        Containers: [
                            { Image: "1.dkr.ecr/x:1", ModelDataUrl: "s3://a/model.tar.gz" },
                            { Image: "other", ModelDataUrl: "s3://other" },
                        ],
                    },
                },
            ],
        });
        expect(await describePackage(client, PKG(7))).to.deep.equal({
            arn: PKG(7),
            group: "signs",
            version: 7,
            approvalStatus: "Approved",
            approvalDescription: "gate passed",
            createdAt: created,
            customerMetadata: { accuracy: "0.97" },
            modelQualityStatisticsUri: "s3://a/evaluation.json",
            monitoringBaselineUri: "s3://a/monitoring_baseline.json",
            image: "1.dkr.ecr/x:1",
            modelDataUrl: "s3://a/model.tar.gz",
        });
        expect(sent).to.deep.equal([{ command: "DescribeModelPackageCommand", input: { ModelPackageName: PKG(7) } }]);
    });

    it("fills an empty answer from the ARN it was asked about", async () => {
        const { client } = scripted({ DescribeModelPackageCommand: [{}] });
        expect(await describePackage(client, PKG(2, "birds"))).to.deep.equal({
            arn: PKG(2, "birds"),
            group: "birds",
            version: undefined,
            approvalStatus: "Unknown",
            approvalDescription: undefined,
            createdAt: undefined,
            customerMetadata: {},
            modelQualityStatisticsUri: undefined,
            monitoringBaselineUri: undefined,
            image: undefined,
            modelDataUrl: undefined,
        });
        // Evidence registered in part (constraints without statistics, say), or a package with no container listed.
        for (const sparse of [
            { ModelMetrics: {}, DriftCheckBaselines: {}, InferenceSpecification: {} },
            {
                ModelMetrics: { ModelQuality: {} },
                DriftCheckBaselines: { ModelDataQuality: {} },
                InferenceSpecification: { Containers: [] },
            },
        ]) {
            const partial = scripted({ DescribeModelPackageCommand: [sparse] });
            const p = await describePackage(partial.client, PKG(2));
            expect([p.modelQualityStatisticsUri, p.monitoringBaselineUri, p.image, p.modelDataUrl], JSON.stringify(sparse)).to.deep.equal([
                undefined,
                undefined,
                undefined,
                undefined,
            ]);
        }
    });
});

describe("infra/registry: packageServedBy", () => {
    const chain = (model: Answer, config: Answer = { ProductionVariants: [{ ModelName: "m-1" }, { ModelName: "m-2" }] }) =>
        scripted({
            DescribeEndpointCommand: [{ EndpointConfigName: "cfg-1" }],
            DescribeEndpointConfigCommand: [config],
            DescribeModelCommand: [model],
        });

    it("follows the endpoint to its config, the first variant's model and that model's package", async () => {
        const { client, sent } = chain({ PrimaryContainer: { ModelPackageName: PKG(3) } });
        expect(await packageServedBy(client, "vision-mlops-prod-signs")).to.equal(PKG(3));
        expect(sent).to.deep.equal([
            { command: "DescribeEndpointCommand", input: { EndpointName: "vision-mlops-prod-signs" } },
            { command: "DescribeEndpointConfigCommand", input: { EndpointConfigName: "cfg-1" } },
            { command: "DescribeModelCommand", input: { ModelName: "m-1" } },
        ]);
    });

    it("reads a model's first container when it has no primary one, and the package it records in its environment", async () => {
        const inContainers = chain({ Containers: [{ ModelPackageName: PKG(4) }, { ModelPackageName: PKG(9) }] });
        expect(await packageServedBy(inContainers.client, "e")).to.equal(PKG(4));
        const recorded = chain({ PrimaryContainer: { Image: "i", Environment: { VISION_MLOPS_MODEL_PACKAGE_ARN: PKG(5) } } });
        expect(await packageServedBy(recorded.client, "e")).to.equal(PKG(5));
    });

    it("names the missing link: no config, no variant with a model, no package", async () => {
        const noConfig = scripted({ DescribeEndpointCommand: [{}] });
        await expectRejection(packageServedBy(noConfig.client, "e1"), "endpoint e1 has no endpoint configuration");
        for (const config of [{}, { ProductionVariants: [] }, { ProductionVariants: [{ VariantName: "AllTraffic" }] }])
            await expectRejection(
                packageServedBy(chain({}, config).client, "e2"),
                "endpoint configuration cfg-1 of e2 has no production variant with a model",
            );
        await expectRejection(
            packageServedBy(chain({ PrimaryContainer: { Image: "i" } }).client, "e3"),
            "model m-1 behind endpoint e3 was not created from a model package, so it has no approval status",
        );
        await expectRejection(
            packageServedBy(chain({}).client, "e3"),
            "model m-1 behind endpoint e3 was not created from a model package, so it has no approval status",
        );
    });
});

async function expectRejection(p: Promise<unknown>, message: string): Promise<void> {
    let error: Error | undefined;
    try {
        await p;
    } catch (e) {
        error = e as Error;
    }
    expect(error?.message).to.equal(message);
}

describe("infra/registry: ARNs and where decisions are recorded", () => {
    it("splits a model package version ARN into its parts, in any partition", () => {
        expect(parsePackageArn("arn:aws:sagemaker:us-east-1:123456789012:model-package/signs/12")).to.deep.equal({
            partition: "aws",
            region: "us-east-1",
            account: "123456789012",
            group: "signs",
            version: 12,
        });
        expect(parsePackageArn("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/a-b/1").partition).to.equal("aws-cn");
        expect(groupOfPackageArn(PKG(3, "bikes-vs-motorcycles"))).to.equal("bikes-vs-motorcycles");
    });

    it("refuses anything but a whole package version ARN, quoting it", () => {
        for (const bad of [
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/signs",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/signs",
            "arn:aws:sagemaker:us-east-1:12345678901:model-package/signs/1",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/signs/1x",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/a/b/1",
            "xarn:aws:sagemaker:us-east-1:123456789012:model-package/signs/1",
            "arn:gcp:sagemaker:us-east-1:123456789012:model-package/signs/1",
            "arn:aws:s3:us-east-1:123456789012:model-package/signs/1",
            "arn:aws:sagemaker:US-EAST-1:123456789012:model-package/signs/1",
        ])
            expect(() => parsePackageArn(bad), bad).to.throw(
                `${bad} is not a model package version ARN (…:model-package/<group>/<version>)`,
            );
    });

    it("records decisions in staging's artifacts bucket of the package's account and region, per group and version", () => {
        expect(decisionLedgerLocation("arn:aws:sagemaker:eu-west-1:210987654321:model-package/signs/3")).to.deep.equal({
            bucket: "vision-mlops-staging-artifacts-210987654321-eu-west-1",
            prefix: "_decisions/signs/3/",
        });
    });

    it("finds the ECR repository of an image by tag, by digest or bare, in either domain", () => {
        const repo = "arn:aws:ecr:us-east-1:123456789012:repository/vision-mlops/jobs";
        expect(ecrRepositoryArnOfImage("123456789012.dkr.ecr.us-east-1.amazonaws.com/vision-mlops/jobs:v1.2")).to.equal(repo);
        expect(ecrRepositoryArnOfImage("123456789012.dkr.ecr.us-east-1.amazonaws.com/vision-mlops/jobs@sha256:ab12")).to.equal(repo);
        expect(ecrRepositoryArnOfImage("123456789012.dkr.ecr.us-east-1.amazonaws.com/vision-mlops/jobs")).to.equal(repo);
        expect(
            ecrRepositoryArnOfImage("727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-training:2.6.0-gpu-py312", "aws-cn"),
        ).to.equal("arn:aws-cn:ecr:cn-north-1:727897471807:repository/pytorch-training");
    });

    it("refuses what is not an ECR image URI, quoting it", () => {
        for (const bad of [
            "docker.io/library/python:3",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com/r:1",
            "x123456789012.dkr.ecr.us-east-1.amazonaws.com/r:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/Repo:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil/r:1",
        ])
            expect(() => ecrRepositoryArnOfImage(bad), bad).to.throw(
                `${bad} is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)`,
            );
    });
});
