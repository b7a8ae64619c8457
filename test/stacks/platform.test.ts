import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import { readStackFile } from "../../infra/stack-file";
import { ModelRegistry, SERVED_PACKAGES_OUTPUT } from "../../infra/promotion";
import { PackageInfo } from "../../infra/registry";
import { writeActionsWithWildcardResource } from "../../infra/iam";
import { versionedName } from "../../infra/naming";
import { createPlatform, Platform } from "../../stacks/platform";
import { OfflineOptions } from "../../stacks/offline";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";

const STAGING_STACK = "organization/vision-mlops/staging";
const pkgArn = (model: string, v = 1) => `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:model-package/vision-mlops-staging-${model}/${v}`;
const ARTIFACTS = `vision-mlops-staging-artifacts-${TEST_ACCOUNT}-us-east-1`;
const STAGING_KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/staging-key`;

function registry(status: string, registered = true): ModelRegistry {
    return {
        async newestRegisteredPackage(group) {
            return registered ? pkgArn(group.replace("vision-mlops-staging-", "")) : undefined;
        },
        async packageServedBy() {
            return undefined;
        },
        async describePackage(arn): Promise<PackageInfo> {
            const model = arn.split("/")[1].replace("vision-mlops-staging-", "");
            return {
                arn,
                group: arn.split("/")[1],
                approvalStatus: status,
                customerMetadata: {},
                image: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
                modelDataUrl: `s3://${ARTIFACTS}/${model}/executions/abc/model/job/output/model.tar.gz`,
                monitoringBaselineUri: `s3://${ARTIFACTS}/${model}/executions/abc/evaluation/monitoring_baseline.json`,
            };
        },
    };
}

async function build(
    stack: "staging" | "prod",
    reg: ModelRegistry,
    resourceState?: OfflineOptions["resourceState"],
): Promise<{ platform: Platform; declared: DeclaredResource[] }> {
    const config = readStackFile(".", stack);
    const declared = useMocks(stack, {
        resourceState,
        stackOutputs: {
            [STAGING_STACK]: {
                [SERVED_PACKAGES_OUTPUT]: {
                    "traffic-signs": pkgArn("traffic-signs"),
                    "bikes-vs-motorcycles": pkgArn("bikes-vs-motorcycles"),
                },
                dataKeyArn: STAGING_KEY,
            },
        },
    });
    const platform = await createPlatform(config, { registry: reg, gitCommit: "abc123" });
    await settled(declared, pulumi.output(platform.outputs));
    return { platform, declared };
}

const T = {
    /** An endpoint with its model, configs and scaling: the EndpointDeployment dynamic resource. */
    endpoint: "pulumi-nodejs:dynamic:Resource",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    provider: "pulumi:providers:aws",
};

describe("platform: staging", function () {
    // A whole platform on mocks: tens of seconds on a busy machine.
    this.timeout(300_000);
    let declared: DeclaredResource[];
    let platform: Platform;
    before(async () => ({ platform, declared } = await build("staging", registry(ModelApprovalStatus.PENDING_MANUAL_APPROVAL))));

    it("tags everything through the providers' default tags, model resources with their model", () => {
        const modelProvider = find(declared, T.provider, "vision-mlops-staging-traffic-signs-aws");
        expect(JSON.parse(modelProvider.inputs.defaultTags).tags).to.include({
            model: "traffic-signs",
            environment: "staging",
            project: "vision-mlops",
        });
        expect(find(declared, T.alarm, "vision-mlops-staging-traffic-signs-5xx").provider).to.match(
            /::vision-mlops-staging-traffic-signs-aws::/,
        );
        // The endpoint, its models and configs are created by the deployment, which tags them itself.
        expect(find(declared, T.endpoint, "vision-mlops-staging-traffic-signs-endpoint").inputs.tags).to.deep.equal({
            ...JSON.parse(modelProvider.inputs.defaultTags).tags,
        });
        const provider = find(declared, T.provider, "vision-mlops-staging-aws");
        const tags = JSON.parse(provider.inputs.defaultTags).tags;
        expect(tags).to.deep.equal({
            team: "vision",
            "cost-center": "ml-platform",
            project: "vision-mlops",
            environment: "staging",
            "managed-by": "pulumi",
        });
        expect(provider.inputs.region).to.equal("us-east-1");
    });

    it("serves the newest registered package (not yet approved) from its image and artifact, recording the package", () => {
        const spec = find(declared, T.endpoint, "vision-mlops-staging-traffic-signs-endpoint").inputs;
        expect(spec.model.EnableNetworkIsolation).to.equal(true);
        expect(spec.model.PrimaryContainer).to.deep.equal({
            Image: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
            ModelDataUrl: `s3://${ARTIFACTS}/traffic-signs/executions/abc/model/job/output/model.tar.gz`,
            Environment: { VISION_MLOPS_MODEL_PACKAGE_ARN: pkgArn("traffic-signs") },
        });
        expect(spec.modelName).to.match(/^vision-mlops-staging-traffic-signs-[0-9a-f]{8}$/);
        expect(spec.modelPackageArn).to.equal(pkgArn("traffic-signs"));
    });

    it("names models and endpoint configs after their content, within 63 characters for the longest model name", () => {
        const spec = find(declared, T.endpoint, "vision-mlops-staging-traffic-signs-endpoint").inputs;
        expect(spec.endpointConfigName).to.match(/^vision-mlops-staging-traffic-signs-[0-9a-f]{8}$/);
        expect(spec.endpointConfigName).to.not.equal(spec.modelName);
        expect(versionedName("staging", ["a-very-long-model-name-for-road-sign-recognition"], { x: 1 })).to.have.length.at.most(63);
        expect(versionedName("staging", ["m"], { x: 1 })).to.not.equal(versionedName("staging", ["m"], { x: 2 }));
    });

    it("captures every request and response, encrypted, as JSON, under the model's prefix", () => {
        const c = find(declared, T.endpoint, "vision-mlops-staging-traffic-signs-endpoint").inputs;
        expect(c.kmsKeyId).to.match(/^arn:aws:kms:us-east-1:\d{12}:key\//);
        expect(c.dataCapture).to.deep.include({
            EnableCapture: true,
            InitialSamplingPercentage: 100,
            DestinationS3Uri: `s3://vision-mlops-staging-capture-${TEST_ACCOUNT}-us-east-1/traffic-signs/capture/`,
            KmsKeyId: c.kmsKeyId,
        });
        expect(c.dataCapture.CaptureOptions).to.deep.equal([{ CaptureMode: "Input" }, { CaptureMode: "Output" }]);
        expect(c.dataCapture.CaptureContentTypeHeader).to.deep.equal({ JsonContentTypes: ["application/json"] });
        expect(c).to.include({ variantName: "AllTraffic", instanceType: "ml.m5.large", instanceCount: 1 });
    });

    it("names endpoints stably and updates staging all at once (no blue/green)", () => {
        const e = find(declared, T.endpoint, "vision-mlops-staging-traffic-signs-endpoint").inputs;
        expect(e.endpointName).to.equal("vision-mlops-staging-traffic-signs");
        expect(e.deploymentConfig).to.equal(undefined);
    });

    it("scales on invocations per instance within the configured bounds; no scaling where none is configured", () => {
        // The deployment registers the target and a target-tracking policy on SageMakerVariantInvocationsPerInstance.
        const spec = find(declared, T.endpoint, "vision-mlops-staging-traffic-signs-endpoint").inputs;
        expect(spec.scaling).to.deep.equal({
            minCapacity: 1,
            maxCapacity: 2,
            targetInvocationsPerInstance: 100,
            scaleInCooldownSeconds: 300,
            scaleOutCooldownSeconds: 60,
        });
        expect(find(declared, T.endpoint, "vision-mlops-staging-bikes-vs-motorcycles-endpoint").inputs.scaling).to.equal(undefined);
    });

    it("alarms on 5XX errors and p99 latency (in microseconds) to the stack's topic", () => {
        const errors = find(declared, T.alarm, "vision-mlops-staging-traffic-signs-5xx").inputs;
        expect(errors).to.include({ namespace: "AWS/SageMaker", metricName: "Invocation5XXErrors", statistic: "Sum", threshold: 1 });
        expect(errors.dimensions).to.deep.equal({ EndpointName: "vision-mlops-staging-traffic-signs", VariantName: "AllTraffic" });
        const latency = find(declared, T.alarm, "vision-mlops-staging-traffic-signs-latency").inputs;
        expect(latency).to.include({ metricName: "ModelLatency", extendedStatistic: "p99", threshold: 500_000 });
        expect(errors.alarmActions).to.deep.equal([`arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-staging-alerts`]);
    });

    it("scopes the endpoint role to its model artifact, capture prefix, keys and image, with no wildcard writes", () => {
        const doc = JSON.parse(find(declared, T.rolePolicy, "vision-mlops-staging-traffic-signs-role-policy").inputs.policy);
        expect(writeActionsWithWildcardResource(doc)).to.deep.equal([]);
        const resources = doc.Statement.flatMap((s: any) => s.Resource);
        expect(resources).to.include(`arn:aws:s3:::${ARTIFACTS}/traffic-signs/executions/abc/model/job/output/model.tar.gz*`);
        expect(resources).to.include(`arn:aws:s3:::vision-mlops-staging-capture-${TEST_ACCOUNT}-us-east-1/traffic-signs/capture/*`);
        expect(resources).to.include("arn:aws:ecr:us-east-1:811284229777:repository/image-classification");
    });

    it("alerts at 80% and 100% of the monthly budget and on a forecast overrun", () => {
        const budget = find(declared, "aws:budgets/budget:Budget", "vision-mlops-staging-budget-monthly").inputs;
        expect(budget).to.include({ budgetType: "COST", timeUnit: "MONTHLY", limitAmount: "1500.00", limitUnit: "USD" });
        expect(budget.costFilters).to.deep.equal([{ name: "TagKeyValue", values: ["user:environment$staging"] }]);
        expect(budget.notifications.map((n: any) => `${n.notificationType}@${n.threshold}`)).to.deep.equal([
            "ACTUAL@80",
            "ACTUAL@100",
            "FORECASTED@100",
        ]);
        for (const n of budget.notifications)
            expect(n.subscriberSnsTopicArns).to.deep.equal([`arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-staging-alerts`]);
    });

    it("trains in staging: one pipeline per model, built from the jobs image", () => {
        const pipelines = declared.filter(ofType("aws:sagemaker/pipeline:Pipeline")).map((r) => r.inputs.pipelineName);
        expect(pipelines.filter((p) => p.endsWith("-training"))).to.have.members([
            "vision-mlops-staging-traffic-signs-training",
            "vision-mlops-staging-bikes-vs-motorcycles-training",
            "vision-mlops-staging-dog-breeds-training",
            "vision-mlops-staging-birds-200-training",
        ]);
        expect(declared.filter(ofType("awsx:ecr:Image"))).to.have.length(1);
    });

    it("monitors each served endpoint on the default (pipeline) engine against the package's own baseline", async () => {
        const schedules = declared.filter(ofType("aws:scheduler/schedule:Schedule")).map((r) => r.inputs.name);
        expect(schedules).to.have.members([
            "vision-mlops-staging-traffic-signs-monitor",
            "vision-mlops-staging-bikes-vs-motorcycles-monitor",
            "vision-mlops-staging-dog-breeds-monitor",
            "vision-mlops-staging-birds-200-monitor",
        ]);
        expect(declared.filter(ofType("aws:sagemaker/monitoringSchedule:MonitoringSchedule"))).to.have.length(0);
        const monitor = JSON.parse(
            find(declared, "aws:sagemaker/pipeline:Pipeline", "vision-mlops-staging-traffic-signs-monitor-pipeline").inputs
                .pipelineDefinition,
        );
        // Every step of the monitoring pipeline that reads a baseline reads the served package's own.
        const baselines = monitor.Steps.flatMap((step: any) =>
            (step.Arguments?.ProcessingInputs ?? []).filter((i: any) => i.InputName === "baseline").map((i: any) => i.S3Input.S3Uri),
        );
        expect(baselines).to.not.be.empty;
        expect(new Set(baselines)).to.deep.equal(
            new Set([`s3://${ARTIFACTS}/traffic-signs/executions/abc/evaluation/monitoring_baseline.json`]),
        );
        const dashboard = JSON.parse(
            find(declared, "aws:cloudwatch/dashboard:Dashboard", "vision-mlops-staging-dashboard-dashboard").inputs.dashboardBody,
        );
        // The model's pipeline-executions chart counts its training pipeline's runs.
        const executions = dashboard.widgets
            .map((w: any) => w.properties)
            .filter((p: any) => p.title === "Pipeline executions")
            .flatMap((p: any) => p.metrics)
            .filter((m: any) => m[3] === "vision-mlops-staging-traffic-signs-training");
        expect(executions.map((m: any) => m.slice(0, 4))).to.deep.equal(
            ["ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed"].map((metric) => [
                "AWS/Sagemaker/ModelBuildingPipeline",
                metric,
                "PipelineName",
                "vision-mlops-staging-traffic-signs-training",
            ]),
        );
        // Each served model's row charts its own inference workflow's executions, by its state machine's ARN.
        const charted = Object.fromEntries(
            dashboard.widgets
                .filter((w: any) => w.properties.title === "Inference workflow: executions")
                .map((w: any) => [w.properties.metrics[0][3], w.properties.metrics.length]),
        );
        const machines = await Promise.all(
            ["birds-200", "bikes-vs-motorcycles", "dog-breeds", "traffic-signs"].map((m) =>
                unwrapOutput(platform.inferenceWorkflows[m].stateMachineArn),
            ),
        );
        expect(charted).to.deep.equal(Object.fromEntries(machines.map((arn) => [arn, 4])));
    });

    it("exports what prod and the CLIs need", async () => {
        const out = (await unwrapOutput(pulumi.output(platform.outputs))) as any;
        expect(out[SERVED_PACKAGES_OUTPUT]).to.deep.equal({
            "traffic-signs": pkgArn("traffic-signs"),
            "bikes-vs-motorcycles": pkgArn("bikes-vs-motorcycles"),
            "dog-breeds": pkgArn("dog-breeds"),
            "birds-200": pkgArn("birds-200"),
        });
        expect(out.dataKeyArn).to.match(/^arn:aws:kms:/);
        expect(out.models["traffic-signs"]).to.deep.include({
            endpointName: "vision-mlops-staging-traffic-signs",
            serving: "newest package, PendingManualApproval",
            trainingPipelineName: "vision-mlops-staging-traffic-signs-training",
        });
    });
});

describe("platform: staging before any model is registered", function () {
    // A whole platform on mocks: tens of seconds on a busy machine.
    this.timeout(300_000);
    it("deploys everything but the endpoints and says why", async () => {
        const { platform, declared } = await build("staging", registry("PendingManualApproval", false));
        expect(declared.filter(ofType(T.endpoint))).to.have.length(0);
        expect(declared.filter(ofType("aws:s3/bucket:Bucket")), "the lake's five and the prediction page's").to.have.length(6);
        const out = (await unwrapOutput(pulumi.output(platform.outputs))) as any;
        expect(out.models["traffic-signs"]).to.deep.include({
            servedPackage: null,
            endpointName: null,
            serving: "no endpoint yet: no model package registered; ingest a batch to start the training pipeline",
        });
    });
});

describe("platform: prod", function () {
    // A whole platform on mocks: tens of seconds on a busy machine.
    this.timeout(300_000);
    let declared: DeclaredResource[];
    before(async () => ({ declared } = await build("prod", registry(ModelApprovalStatus.APPROVED))));

    it("does not train in prod: prod serves what staging trained", () => {
        expect(
            declared.filter((r) => r.type === "aws:sagemaker/pipeline:Pipeline" && r.inputs.pipelineName.endsWith("-training")),
        ).to.have.length(0);
        expect(declared.filter(ofType("aws:sagemaker/modelPackageGroup:ModelPackageGroup"))).to.have.length(0);
    });

    it("reads staging through a StackReference named in config", () => {
        expect(find(declared, "pulumi:pulumi:StackReference", "promotion-source").inputs.name).to.equal(STAGING_STACK);
    });

    it("serves staging's approved package with at least two instances and captures 80%", () => {
        for (const model of ["traffic-signs", "bikes-vs-motorcycles"]) {
            const c = find(declared, T.endpoint, `vision-mlops-prod-${model}-endpoint`).inputs;
            expect(c.instanceCount, model).to.be.at.least(2);
            expect(c.dataCapture.InitialSamplingPercentage, model).to.equal(80);
            expect(c.model.PrimaryContainer).to.deep.equal({ ModelPackageName: pkgArn(model) });
            expect(c.scaling.minCapacity, model).to.be.at.least(2);
        }
    });

    it("deploys blue/green with a one-instance canary and rolls back on the endpoint's alarms", () => {
        const e = find(declared, T.endpoint, "vision-mlops-prod-traffic-signs-endpoint").inputs;
        const policy = e.deploymentConfig.BlueGreenUpdatePolicy;
        expect(policy.TrafficRoutingConfiguration).to.deep.equal({
            Type: "CANARY",
            CanarySize: { Type: "INSTANCE_COUNT", Value: 1 },
            WaitIntervalInSeconds: 600,
        });
        expect(e.deploymentConfig.AutoRollbackConfiguration.Alarms).to.deep.equal([
            { AlarmName: "vision-mlops-prod-traffic-signs-5xx" },
            { AlarmName: "vision-mlops-prod-traffic-signs-latency-p99" },
        ]);
        expect(find(declared, T.alarm, "vision-mlops-prod-traffic-signs-latency").inputs.threshold).to.equal(300_000);
    });

    it("lets prod endpoints and monitors decrypt staging's model artifacts and baselines with staging's key", () => {
        const endpointDoc = JSON.parse(find(declared, T.rolePolicy, "vision-mlops-prod-traffic-signs-role-policy").inputs.policy);
        expect(endpointDoc.Statement.find((s: any) => s.Sid === "ModelArtifactKey").Resource).to.deep.equal([STAGING_KEY]);
        const monitorDoc = JSON.parse(find(declared, T.rolePolicy, "vision-mlops-prod-traffic-signs-monitor-role-policy").inputs.policy);
        expect(monitorDoc.Statement.find((s: any) => s.Sid === "BaselineKey").Resource).to.deep.equal([STAGING_KEY]);
        expect(writeActionsWithWildcardResource(monitorDoc)).to.deep.equal([]);
    });

    it("lets SageMaker read the rollback alarms with the endpoint's role, as blue/green deployments require", () => {
        const doc = JSON.parse(find(declared, T.rolePolicy, "vision-mlops-prod-traffic-signs-role-policy").inputs.policy);
        expect(doc.Statement.find((s: any) => s.Sid === "RollbackAlarms")).to.deep.equal({
            Sid: "RollbackAlarms",
            Effect: "Allow",
            Action: ["cloudwatch:DescribeAlarms"],
            Resource: [
                `arn:aws:cloudwatch:us-east-1:${TEST_ACCOUNT}:alarm:vision-mlops-prod-traffic-signs-5xx`,
                `arn:aws:cloudwatch:us-east-1:${TEST_ACCOUNT}:alarm:vision-mlops-prod-traffic-signs-latency-p99`,
            ],
        });
    });
});

describe("platform: prod after an update SageMaker rolled back", function () {
    // A whole platform on mocks: tens of seconds on a busy machine.
    this.timeout(300_000);
    it("exports the package the endpoint reports serving, never the one the failed update asked for", async () => {
        // What Pulumi keeps for the endpoint after the failed update, or records on refresh: the old config and package.
        const servingBefore = pkgArn("traffic-signs", 0);
        const { platform } = await build("prod", registry(ModelApprovalStatus.APPROVED), (r) =>
            r.type === T.endpoint && r.inputs.endpointName === "vision-mlops-prod-traffic-signs"
                ? { endpointConfigName: "vision-mlops-prod-traffic-signs-0ba5e11e", modelPackageArn: servingBefore }
                : undefined,
        );
        const out = (await unwrapOutput(pulumi.output(platform.outputs))) as any;
        expect(out[SERVED_PACKAGES_OUTPUT]).to.deep.equal({
            "traffic-signs": servingBefore,
            "bikes-vs-motorcycles": pkgArn("bikes-vs-motorcycles"),
            // No Approved package in this test's registry: prod serves neither yet.
            "dog-breeds": null,
            "birds-200": null,
        });
        expect(out.models["traffic-signs"].servedPackage).to.equal(servingBefore);
    });
});
