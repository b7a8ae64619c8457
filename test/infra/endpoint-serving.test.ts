import { expect } from "chai";
import {
    canaryDeployment,
    DEFAULT_RETAINED_ENDPOINT_CONFIGS,
    endpointAlarms,
    endpointRolePolicy,
    fleetSpec,
    modelContainer,
    servedModelFamily,
    servedRevision,
    VARIANT_NAME,
} from "../../infra/endpoint-serving";
import { packageOfContainer } from "../../infra/served-package";
import { KMS_USE_ACTIONS } from "../support/iam-literals";

const PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-m1/3";
const IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1";
const ARTIFACT = "s3://vision-mlops-staging-models-123456789012-us-east-1/m1/training/job-3/output/model.tar.gz";
const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ARTIFACT_KEY = "arn:aws:kms:us-east-1:123456789012:key/abcd1234-ab12-cd34-ef56-abcdef123456";
const ROLE = "arn:aws:iam::123456789012:role/vision-mlops-staging-m1-endpoint";
const CAPTURE = "s3://vision-mlops-staging-capture-123456789012-us-east-1/m1/capture/";

const revision = (
    over: {
        instanceType?: string;
        instanceCount?: number;
        capturePercent?: number;
        roleArn?: string;
        deployFrom?: "package" | "artifacts";
    } = {},
) =>
    servedRevision({
        environment: "staging",
        model: "m1",
        endpoint: { instanceType: over.instanceType ?? "ml.m5.xlarge", instanceCount: over.instanceCount ?? 1, latencyP99Ms: 300 },
        capturePercent: over.capturePercent ?? 100,
        modelPackageArn: PACKAGE,
        deployFrom: over.deployFrom,
        modelDataUrl: ARTIFACT,
        servingImage: IMAGE,
        roleArn: over.roleArn ?? ROLE,
        kmsKeyArn: KEY,
        captureDestination: CAPTURE,
    });

describe("infra/endpoint-serving: what an endpoint serves and how, as plain values", () => {
    it("serves the package by ARN, or (staging candidates) its image and artifact with the package recorded", () => {
        const args = { modelPackageArn: PACKAGE, servingImage: IMAGE, modelDataUrl: ARTIFACT };
        expect(modelContainer(args)).to.deep.equal({ ModelPackageName: PACKAGE });
        expect(modelContainer({ ...args, deployFrom: "package" })).to.deep.equal({ ModelPackageName: PACKAGE });
        // Either way, the package served reads back from the container.
        expect(packageOfContainer(modelContainer(args))).to.equal(PACKAGE);
        expect(packageOfContainer(modelContainer({ ...args, deployFrom: "artifacts" }))).to.equal(PACKAGE);
        expect(packageOfContainer({ Environment: {} })).to.equal(undefined);
        expect(packageOfContainer({})).to.equal(undefined);
        expect(packageOfContainer(undefined)).to.equal(undefined);
        expect(modelContainer({ ...args, deployFrom: "artifacts" })).to.deep.equal({
            Image: IMAGE,
            ModelDataUrl: ARTIFACT,
            Environment: { VISION_MLOPS_MODEL_PACKAGE_ARN: PACKAGE },
        });
    });

    it("the model runs isolated under the endpoint role; capture takes requests and answers, JSON as text, encrypted", () => {
        const r = revision({ deployFrom: "artifacts", capturePercent: 40 });
        expect(r.model).to.deep.equal({
            ExecutionRoleArn: ROLE,
            PrimaryContainer: { Image: IMAGE, ModelDataUrl: ARTIFACT, Environment: { VISION_MLOPS_MODEL_PACKAGE_ARN: PACKAGE } },
            EnableNetworkIsolation: true,
        });
        expect(r.dataCapture).to.deep.equal({
            EnableCapture: true,
            InitialSamplingPercentage: 40,
            DestinationS3Uri: CAPTURE,
            KmsKeyId: KEY,
            CaptureOptions: [{ CaptureMode: "Input" }, { CaptureMode: "Output" }],
            CaptureContentTypeHeader: { JsonContentTypes: ["application/json"] },
        });
        expect(r.kmsKeyId).to.equal(KEY);
        // Local NVMe storage (g4dn) is encrypted in hardware: SageMaker refuses a volume key for it. Capture keeps its key.
        const nvme = revision({ instanceType: "ml.g4dn.xlarge" });
        expect(nvme.kmsKeyId).to.equal(undefined);
        expect(nvme.dataCapture.KmsKeyId).to.equal(KEY);
    });

    it("names the model and config after their content: the same content the same names, the instance count left out", () => {
        const family = /^vision-mlops-staging-m1-[0-9a-f]{8}$/;
        const base = revision();
        expect(base.modelName).to.match(family);
        expect(base.endpointConfigName).to.match(family);
        expect(base.modelName).not.to.equal(base.endpointConfigName);
        expect(servedModelFamily("staging", "m1")).to.equal("vision-mlops-staging-m1");
        expect(revision()).to.deep.equal(base);
        expect(revision({ instanceCount: 4 }).endpointConfigName, "instance count").to.equal(base.endpointConfigName);
        const retyped = revision({ instanceType: "ml.c5.xlarge" });
        expect(retyped.modelName, "same model on another type").to.equal(base.modelName);
        expect(retyped.endpointConfigName).not.to.equal(base.endpointConfigName);
        expect(revision({ instanceType: "ml.g4dn.xlarge" }).endpointConfigName, "volume key").not.to.equal(base.endpointConfigName);
        expect(revision({ capturePercent: 50 }).endpointConfigName, "capture share").not.to.equal(base.endpointConfigName);
        expect(revision({ capturePercent: 50 }).modelName).to.equal(base.modelName);
        const otherRole = revision({ roleArn: "arn:aws:iam::123456789012:role/other" });
        expect(otherRole.modelName, "role").not.to.equal(base.modelName);
        expect(otherRole.endpointConfigName, "a new model is a new config").not.to.equal(base.endpointConfigName);
        expect(revision({ deployFrom: "artifacts" }).modelName, "container").not.to.equal(base.modelName);
    });

    it("the fleet: the variant, scaling as given, retention and tags defaulted, blue/green only with alarms to roll back on", () => {
        const autoscaling = {
            minCapacity: 2,
            maxCapacity: 6,
            targetInvocationsPerInstance: 200,
            scaleInCooldownSeconds: 300,
            scaleOutCooldownSeconds: 60,
        };
        const common = { modelPackageArn: PACKAGE, region: "eu-west-1", endpointName: "vision-mlops-prod-m1" };
        const scaled = fleetSpec({
            ...common,
            endpoint: { instanceType: "ml.m5.xlarge", instanceCount: 1, autoscaling, latencyP99Ms: 300 },
            rollbackAlarms: ["a", "b"],
            retainedEndpointConfigs: 5,
            tags: { team: "vision" },
        });
        expect(scaled).to.deep.equal({
            region: "eu-west-1",
            endpointName: "vision-mlops-prod-m1",
            variantName: "AllTraffic",
            modelPackageArn: PACKAGE,
            instanceType: "ml.m5.xlarge",
            instanceCount: 1,
            // The canary is sized from the smallest fleet autoscaling allows (2), not the creation count (1).
            deploymentConfig: canaryDeployment(["a", "b"], 2),
            scaling: autoscaling,
            retainedEndpointConfigs: 5,
            tags: { team: "vision" },
        });
        expect(scaled.deploymentConfig!.BlueGreenUpdatePolicy!.TrafficRoutingConfiguration!.CanarySize).to.deep.equal({
            Type: "INSTANCE_COUNT",
            Value: 1,
        });
        const fixed = fleetSpec({
            ...common,
            endpoint: { instanceType: "ml.m5.large", instanceCount: 1, latencyP99Ms: 300 },
            rollbackAlarms: ["a"],
        });
        expect(fixed.deploymentConfig!.BlueGreenUpdatePolicy!.TrafficRoutingConfiguration!.CanarySize).to.deep.equal({
            Type: "CAPACITY_PERCENT",
            Value: 50,
        });
        expect(fixed).to.deep.include({ scaling: undefined, retainedEndpointConfigs: 3, tags: {} });
        expect(DEFAULT_RETAINED_ENDPOINT_CONFIGS).to.equal(3);
        expect(VARIANT_NAME).to.equal("AllTraffic");
        const allAtOnce = fleetSpec({
            ...common,
            endpoint: { instanceType: "ml.m5.large", instanceCount: 2, latencyP99Ms: 300 },
            rollbackAlarms: [],
        });
        expect(allAtOnce.deploymentConfig).to.equal(undefined);
    });

    it("blue/green: a one-instance canary where the fleet has two (never more than half), a 10-minute bake, rollback on the alarms", () => {
        expect(canaryDeployment(["e-5xx", "e-latency-p99"], 3)).to.deep.equal({
            BlueGreenUpdatePolicy: {
                TrafficRoutingConfiguration: {
                    Type: "CANARY",
                    CanarySize: { Type: "INSTANCE_COUNT", Value: 1 },
                    WaitIntervalInSeconds: 600,
                },
                TerminationWaitInSeconds: 600,
                MaximumExecutionTimeoutInSeconds: 3600,
            },
            AutoRollbackConfiguration: { Alarms: [{ AlarmName: "e-5xx" }, { AlarmName: "e-latency-p99" }] },
        });
        expect(canaryDeployment(["a"], 2).BlueGreenUpdatePolicy!.TrafficRoutingConfiguration!.CanarySize).to.deep.equal({
            Type: "INSTANCE_COUNT",
            Value: 1,
        });
        expect(canaryDeployment(["a"], 1).BlueGreenUpdatePolicy!.TrafficRoutingConfiguration!.CanarySize).to.deep.equal({
            Type: "CAPACITY_PERCENT",
            Value: 50,
        });
    });

    it("alarms: 5XX in 2 of 3 minutes, and p99 ModelLatency (reported in microseconds) above the threshold for 3 minutes", () => {
        const dimensions = { EndpointName: "vision-mlops-prod-m1", VariantName: "AllTraffic" };
        expect(endpointAlarms("vision-mlops-prod-m1", 250)).to.deep.equal({
            errors: {
                name: "vision-mlops-prod-m1-5xx",
                alarmDescription: "vision-mlops-prod-m1 returned server errors (5XX) in 2 of the last 3 minutes",
                namespace: "AWS/SageMaker",
                metricName: "Invocation5XXErrors",
                dimensions,
                statistic: "Sum",
                period: 60,
                evaluationPeriods: 3,
                datapointsToAlarm: 2,
                threshold: 1,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
            },
            latency: {
                name: "vision-mlops-prod-m1-latency-p99",
                alarmDescription: "vision-mlops-prod-m1 p99 model latency above 250 ms for 3 minutes",
                namespace: "AWS/SageMaker",
                metricName: "ModelLatency",
                dimensions,
                extendedStatistic: "p99",
                period: 60,
                evaluationPeriods: 3,
                threshold: 250_000,
                comparisonOperator: "GreaterThanThreshold",
                treatMissingData: "notBreaching",
            },
        });
    });

    it("the endpoint role reads its one artifact, pulls its one image, writes its capture prefix, logs, and reads its rollback alarms", () => {
        const policy = endpointRolePolicy({
            model: "m1",
            modelDataUrl: ARTIFACT,
            servingImage: IMAGE,
            captureBucket: "vision-mlops-staging-capture-123456789012-us-east-1",
            kmsKeyArn: KEY,
            modelDataKmsKeyArn: ARTIFACT_KEY,
            accountId: "123456789012",
            region: "us-east-1",
            rollbackAlarms: ["vision-mlops-staging-m1-5xx"],
        });
        const models = "arn:aws:s3:::vision-mlops-staging-models-123456789012-us-east-1";
        const capture = "arn:aws:s3:::vision-mlops-staging-capture-123456789012-us-east-1";
        expect(policy.Statement.map((s) => [s.Sid, s.Action, s.Resource, s.Condition])).to.deep.equal([
            [
                "ModelArtifactObjects",
                ["s3:GetObject", "s3:GetObjectVersion"],
                [`${models}/m1/training/job-3/output/model.tar.gz*`],
                undefined,
            ],
            [
                "ModelArtifactList0",
                ["s3:ListBucket"],
                [models],
                { StringLike: { "s3:prefix": ["m1/training/job-3/output/model.tar.gz*"] } },
            ],
            ["ModelArtifactLocation", ["s3:GetBucketLocation"], [models], undefined],
            [
                "DataCapture",
                ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                [`${capture}/m1/capture/*`],
                undefined,
            ],
            ["KmsUse", KMS_USE_ACTIONS, [KEY], undefined],
            ["KmsUseGrants", ["kms:CreateGrant"], [KEY], { Bool: { "kms:GrantIsForAWSResource": true } }],
            ["ModelArtifactKey", KMS_USE_ACTIONS, [ARTIFACT_KEY], undefined],
            [
                "ServingImage",
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                ["arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"],
                undefined,
            ],
            ["ServingImageToken", ["ecr:GetAuthorizationToken"], ["*"], undefined],
            [
                "SageMakerLogs",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                [
                    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/*",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/*:log-stream:*",
                ],
                undefined,
            ],
            [
                "RollbackAlarms",
                ["cloudwatch:DescribeAlarms"],
                ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:vision-mlops-staging-m1-5xx"],
                undefined,
            ],
        ]);
        expect(policy.Statement.at(-1)!.Effect).to.equal("Allow");
        // One key for both, and no rollback alarms: no second key statement, no alarm statement.
        const sids = endpointRolePolicy({
            model: "m1",
            modelDataUrl: ARTIFACT,
            servingImage: IMAGE,
            captureBucket: "vision-mlops-staging-capture-123456789012-us-east-1",
            kmsKeyArn: KEY,
            modelDataKmsKeyArn: KEY,
            accountId: "123456789012",
            region: "us-east-1",
        }).Statement.map((s) => s.Sid);
        expect(sids).to.deep.equal([
            "ModelArtifactObjects",
            "ModelArtifactList0",
            "ModelArtifactLocation",
            "DataCapture",
            "KmsUse",
            "KmsUseGrants",
            "ServingImage",
            "ServingImageToken",
            "SageMakerLogs",
        ]);
    });
});
