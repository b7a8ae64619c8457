import { expect } from "chai";
import { declared, endpointDeployment, expectFail, expectPass } from "./support";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/data-key";
const T = {
    config: "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    scaling: "aws:appautoscaling/target:Target",
    model: "aws:sagemaker/model:Model",
    pipeline: "aws:sagemaker/pipeline:Pipeline",
    schedule: "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
    dataQuality: "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
    trainingJob: "aws:sagemaker/trainingJob:TrainingJob",
};

/** An endpoint configuration as ModelEndpoint declares it. */
const endpointConfig = (env: "staging" | "prod" | "untagged", variant: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    declared(
        T.config,
        `vision-mlops-${env}-traffic-signs-config`,
        {
            kmsKeyArn: KEY,
            productionVariants: [
                { variantName: "AllTraffic", modelName: "m", instanceType: "ml.m5.large", initialInstanceCount: 2, ...variant },
            ],
            dataCaptureConfig: {
                enableCapture: true,
                initialSamplingPercentage: 80,
                destinationS3Uri: "s3://capture-bucket/traffic-signs/capture/",
                kmsKeyId: KEY,
                captureOptions: [{ captureMode: "Input" }, { captureMode: "Output" }],
            },
            ...extra,
        },
        env,
    );

const scalingTarget = (env: "staging" | "prod", minCapacity: number) =>
    declared(
        T.scaling,
        `vision-mlops-${env}-traffic-signs-scaling-target`,
        {
            serviceNamespace: "sagemaker",
            resourceId: `endpoint/vision-mlops-${env}-traffic-signs/variant/AllTraffic`,
            scalableDimension: "sagemaker:variant:DesiredInstanceCount",
            minCapacity,
            maxCapacity: 6,
        },
        env,
    );

/** A pipeline resource whose definition has the given steps. */
const pipeline = (...steps: unknown[]) =>
    declared(T.pipeline, "vision-mlops-staging-traffic-signs-training-pipeline", {
        pipelineName: "vision-mlops-staging-traffic-signs-training",
        pipelineDefinition: JSON.stringify({ Version: "2020-12-01", Steps: steps }),
    });

const processing = (name: string, args: Record<string, unknown> = {}) => ({
    Name: name,
    Type: "Processing",
    Arguments: {
        ProcessingResources: { ClusterConfig: { InstanceType: "ml.m5.xlarge", InstanceCount: 1, VolumeSizeInGB: 30, VolumeKmsKeyId: KEY } },
        ProcessingOutputConfig: {
            KmsKeyId: KEY,
            Outputs: [
                { OutputName: "out", S3Output: { S3Uri: "s3://b/k", LocalPath: "/opt/ml/processing/output", S3UploadMode: "EndOfJob" } },
            ],
        },
        NetworkConfig: { EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: true },
        StoppingCondition: { MaxRuntimeInSeconds: 3600 },
        ...args,
    },
});

const training = (args: Record<string, unknown> = {}) => ({
    Name: "Train",
    Type: "Training",
    Arguments: {
        ResourceConfig: { InstanceType: "ml.g4dn.xlarge", InstanceCount: 1, VolumeSizeInGB: 50 },
        OutputDataConfig: { S3OutputPath: "s3://artifacts/model", KmsKeyId: KEY },
        StoppingCondition: { MaxRuntimeInSeconds: 14400, MaxWaitTimeInSeconds: 28800 },
        EnableManagedSpotTraining: true,
        CheckpointConfig: { S3Uri: "s3://artifacts/checkpoints" },
        EnableNetworkIsolation: true,
        EnableInterContainerTrafficEncryption: true,
        ...args,
    },
});

const transform = (args: Record<string, unknown> = {}) => ({
    Name: "Transform",
    Type: "Transform",
    Arguments: {
        TransformOutput: { S3OutputPath: "s3://curated/predictions", KmsKeyId: KEY },
        TransformResources: { InstanceType: "ml.m5.xlarge", InstanceCount: 1, VolumeKmsKeyId: KEY },
        ...args,
    },
});

/** A MonitoringSchedule with an inline job definition, as the model-monitor engine declares it. */
const schedule = (
    network: Record<string, unknown>,
    output: Record<string, unknown> = { kmsKeyId: KEY },
    cluster: Record<string, unknown> = {},
) =>
    declared(
        T.schedule,
        "vision-mlops-prod-traffic-signs-monitor-schedule",
        {
            name: "vision-mlops-prod-traffic-signs-monitor",
            monitoringScheduleConfig: {
                monitoringType: "DataQuality",
                scheduleConfig: { scheduleExpression: "cron(0 * ? * * *)" },
                monitoringJobDefinition: {
                    roleArn: "arn:aws:iam::123456789012:role/monitor",
                    monitoringAppSpecification: { imageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs@sha256:0" },
                    monitoringInputs: {
                        endpointInput: { endpointName: "vision-mlops-prod-traffic-signs", localPath: "/opt/ml/processing/input" },
                    },
                    monitoringOutputConfig: {
                        monitoringOutputs: {
                            s3Output: { s3Uri: "s3://capture/traffic-signs/monitoring", localPath: "/opt/ml/processing/output" },
                        },
                        ...output,
                    },
                    monitoringResources: {
                        clusterConfig: {
                            instanceType: "ml.m5.large",
                            instanceCount: 1,
                            volumeSizeInGb: 30,
                            volumeKmsKeyId: KEY,
                            ...cluster,
                        },
                    },
                    networkConfig: network,
                    stoppingConditions: [{ maxRuntimeInSeconds: 3000 }],
                },
            },
        },
        "prod",
    );

const dataQualityJob = (network: Record<string, unknown>, outputKms?: string) =>
    declared(T.dataQuality, "quality-job", {
        roleArn: "arn:aws:iam::123456789012:role/monitor",
        dataQualityAppSpecification: { imageUri: "image" },
        dataQualityJobInput: { endpointInput: { endpointName: "e" } },
        dataQualityJobOutputConfig: {
            monitoringOutputs: { s3Output: { s3Uri: "s3://b/k" } },
            ...(outputKms ? { kmsKeyId: outputKms } : {}),
        },
        jobResources: { clusterConfig: { instanceType: "ml.m5.large", instanceCount: 1, volumeSizeInGb: 30, volumeKmsKeyId: KEY } },
        networkConfig: network,
    });

describe("policy pack: SageMaker rules", function () {
    this.timeout(30_000);

    describe("sagemaker-prod-variants-several-instances (SageMaker.4)", () => {
        const rule = "sagemaker-prod-variants-several-instances";
        it("passes two prod instances, and a single staging instance (staging is sized for cost)", async () => {
            await expectPass(rule, [endpointConfig("prod"), scalingTarget("prod", 2)]);
            await expectPass(rule, [endpointConfig("staging", { initialInstanceCount: 1 }), scalingTarget("staging", 1)]);
        });
        it("fails one prod instance, a serverless prod variant and autoscaling that scales prod in to one", async () => {
            await expectFail(
                rule,
                [endpointConfig("prod", { initialInstanceCount: 1 })],
                /^\[SageMaker\.4\] .*variant AllTraffic in prod starts 1 instance.*Fix: set initialInstanceCount >= 2/,
            );
            await expectFail(
                rule,
                [
                    endpointConfig("prod", {
                        instanceType: undefined,
                        initialInstanceCount: undefined,
                        serverlessConfig: { maxConcurrency: 5, memorySizeInMb: 2048 },
                    }),
                ],
                /is serverless/,
            );
            await expectFail(
                rule,
                [scalingTarget("prod", 1)],
                /autoscaling take endpoint\/vision-mlops-prod-traffic-signs\/variant\/AllTraffic down to 1 instance.*minCapacity >= 2/,
            );
        });
        it("reads the platform's EndpointDeployment the same way: instance count and autoscaling floor", async () => {
            await expectPass(rule, [endpointDeployment("prod"), endpointDeployment("staging", { instanceCount: 1, scaling: undefined })]);
            await expectFail(
                rule,
                [endpointDeployment("prod", { instanceCount: 1, scaling: { minCapacity: 1, maxCapacity: 4 } })],
                /^\[SageMaker\.4\] EndpointDeployment "vision-mlops-prod-traffic-signs-endpoint" variant AllTraffic in prod starts 1 instance.*Fix: set instanceCount >= 2/,
                /EndpointDeployment .* lets autoscaling take it down to 1 instance in prod.*scaling\.minCapacity >= 2/,
            );
        });
        it("reads an untagged resource as prod, and says so", async () => {
            await expectFail(
                rule,
                [endpointConfig("untagged", { initialInstanceCount: 1 })],
                /an unknown environment \(no environment tag on the resource or its provider; treated as prod\)/,
            );
        });
    });

    describe("sagemaker-model-network-isolation (SageMaker.5, CKV_AWS_370)", () => {
        const rule = "sagemaker-model-network-isolation";
        const model = (isolation?: boolean) =>
            declared(T.model, "vision-mlops-staging-traffic-signs-model", {
                executionRoleArn: "arn:aws:iam::123456789012:role/r",
                primaryContainer: { image: "i", modelDataUrl: "s3://b/model.tar.gz" },
                ...(isolation === undefined ? {} : { enableNetworkIsolation: isolation }),
            });
        const modelStep = (isolation: unknown) => ({
            Name: "CreateModel",
            Type: "Model",
            Arguments: { ExecutionRoleArn: "r", PrimaryContainer: { Image: "i" }, EnableNetworkIsolation: isolation },
        });
        it("passes isolated models, and pipelines whose Model steps are isolated", async () => {
            await expectPass(rule, [model(true), pipeline(modelStep(true))]);
        });
        it("checks the model an EndpointDeployment creates", async () => {
            await expectPass(rule, [endpointDeployment("staging")]);
            await expectFail(
                rule,
                [
                    endpointDeployment("staging", {
                        model: { ExecutionRoleArn: "r", PrimaryContainer: { Image: "i" }, EnableNetworkIsolation: false },
                    }),
                ],
                /^\[SageMaker\.5, CKV_AWS_370\] EndpointDeployment "vision-mlops-staging-traffic-signs-endpoint" creates its model without network isolation.*Fix: set model\.EnableNetworkIsolation: true/,
            );
        });
        it("fails a model without isolation (unset counts as off), and a Model step without it", async () => {
            await expectFail(
                rule,
                [model()],
                /^\[SageMaker\.5, CKV_AWS_370\] sagemaker Model "vision-mlops-staging-traffic-signs-model" runs without network isolation/,
            );
            await expectFail(rule, [model(false)], /Fix: set enableNetworkIsolation: true/);
            await expectFail(
                rule,
                [pipeline(modelStep(false))],
                /Model step CreateModel of sagemaker Pipeline .* creates a model without network isolation/,
            );
        });
    });

    describe("sagemaker-endpoint-config-kms (CKV_AWS_98)", () => {
        const rule = "sagemaker-endpoint-config-kms";
        it("passes a key on EBS-backed instances, and no key on local-NVMe instances that refuse one", async () => {
            await expectPass(rule, [endpointConfig("prod")]);
            await expectPass(rule, [endpointConfig("prod", { instanceType: "ml.g4dn.xlarge" }, { kmsKeyArn: undefined })]);
        });
        it("checks an EndpointDeployment's kmsKeyId the same way", async () => {
            await expectPass(rule, [
                endpointDeployment("prod"),
                endpointDeployment("staging", { instanceType: "ml.g4dn.xlarge", kmsKeyId: undefined }),
            ]);
            await expectFail(
                rule,
                [endpointDeployment("prod", { kmsKeyId: undefined })],
                /EndpointDeployment .* without a customer-managed key\. Fix: set kmsKeyId/,
            );
            await expectFail(
                rule,
                [endpointDeployment("prod", { instanceType: "ml.g5.xlarge" })],
                /asks for a KMS key on ml\.g5\.xlarge.*leave kmsKeyId out/,
            );
        });
        it("fails a config without a key, and a key on an instance type SageMaker refuses it for", async () => {
            await expectFail(
                rule,
                [endpointConfig("prod", {}, { kmsKeyArn: undefined })],
                /^\[CKV_AWS_98\] .* without a customer-managed key\. Fix: set kmsKeyArn/,
            );
            await expectFail(
                rule,
                [endpointConfig("prod", { instanceType: "ml.g5.xlarge" })],
                /asks for a KMS key on ml\.g5\.xlarge, whose local NVMe storage SageMaker encrypts in hardware/,
            );
        });
    });

    describe("sagemaker-data-capture-kms (CKV_AWS_98 for captured data, S3.17)", () => {
        const rule = "sagemaker-data-capture-kms";
        it("passes capture with a key, and a config that captures nothing", async () => {
            await expectPass(rule, [endpointConfig("staging")]);
            await expectPass(rule, [endpointConfig("staging", {}, { dataCaptureConfig: undefined })]);
        });
        it("checks an EndpointDeployment's dataCapture the same way", async () => {
            await expectPass(rule, [endpointDeployment("staging")]);
            const deployment = endpointDeployment("staging");
            delete deployment.inputs.dataCapture.KmsKeyId;
            await expectFail(
                rule,
                [deployment],
                /EndpointDeployment .* captures 100% of requests and responses .* without a KMS key\. Fix: set dataCapture\.KmsKeyId/,
            );
        });
        it("fails capture without a key", async () => {
            const config = endpointConfig("staging");
            delete config.inputs.dataCaptureConfig.kmsKeyId;
            await expectFail(
                rule,
                [config],
                /^\[CKV_AWS_98, S3\.17\] .* captures 80% of requests and responses .* without a KMS key\. Fix: set dataCaptureConfig\.kmsKeyId/,
            );
        });
    });

    describe("monitoring jobs: sagemaker-monitoring-network-isolation, -inter-container-encryption, -kms", () => {
        const secure = { enableNetworkIsolation: true, enableInterContainerTrafficEncryption: true };
        it("pass a schedule and a data quality job definition that isolate, encrypt traffic and use the key", async () => {
            for (const rule of [
                "sagemaker-monitoring-network-isolation",
                "sagemaker-monitoring-inter-container-encryption",
                "sagemaker-monitoring-kms",
            ])
                await expectPass(rule, [schedule(secure), dataQualityJob(secure, KEY)]);
        });
        it("fail a schedule without isolation (SageMaker.14) and a job definition without it (SageMaker.11)", async () => {
            await expectFail(
                "sagemaker-monitoring-network-isolation",
                [schedule({ enableInterContainerTrafficEncryption: true })],
                /^\[SageMaker\.14, SageMaker\.25\] sagemaker MonitoringSchedule .* runs its monitoring job with network access/,
            );
            await expectFail(
                "sagemaker-monitoring-network-isolation",
                [dataQualityJob({ enableNetworkIsolation: false }, KEY)],
                /^\[SageMaker\.11, SageMaker\.25\] sagemaker DataQualityJobDefinition "quality-job"/,
            );
        });
        it("fail unencrypted inter-container traffic (SageMaker.22 / SageMaker.9, CKV_AWS_369)", async () => {
            await expectFail(
                "sagemaker-monitoring-inter-container-encryption",
                [schedule({ enableNetworkIsolation: true })],
                /^\[SageMaker\.22, SageMaker\.13, CKV_AWS_369\] /,
            );
            await expectFail(
                "sagemaker-monitoring-inter-container-encryption",
                [dataQualityJob({ enableNetworkIsolation: true }, KEY)],
                /^\[SageMaker\.9, SageMaker\.13, CKV_AWS_369\] /,
            );
        });
        it("fail outputs without a key (CKV_AWS_367) and EBS volumes without one (CKV_AWS_368), not NVMe volumes", async () => {
            await expectFail(
                "sagemaker-monitoring-kms",
                [schedule(secure, {}, { volumeKmsKeyId: undefined })],
                /^\[CKV_AWS_367\] .*writes its reports without a KMS key/,
                /^\[CKV_AWS_368\] .*leaves the ml\.m5\.large job volume without a KMS key/,
            );
            await expectFail("sagemaker-monitoring-kms", [dataQualityJob(secure)], /^\[CKV_AWS_367\]/);
            await expectPass("sagemaker-monitoring-kms", [
                schedule(secure, { kmsKeyId: KEY }, { instanceType: "ml.m5d.large", volumeKmsKeyId: undefined }),
            ]);
        });
    });

    describe("sagemaker-pipeline-job-encryption (pipeline and training jobs)", () => {
        const rule = "sagemaker-pipeline-job-encryption";
        it("passes processing, training (NVMe: no volume key) and transform steps with keys and encrypted traffic", async () => {
            await expectPass(rule, [
                pipeline(processing("Preprocess"), training(), transform(), { Name: "Gate", Type: "Condition", Arguments: {} }),
            ]);
            await expectPass(rule, [pipeline(processing("Monitor", { ProcessingOutputConfig: undefined }))]);
        });
        it("fails each missing key and unencrypted inter-container traffic, naming the step and the field", async () => {
            await expectFail(
                rule,
                [
                    pipeline(
                        processing("Evaluate", {
                            NetworkConfig: { EnableInterContainerTrafficEncryption: false },
                            ProcessingOutputConfig: { Outputs: [{ OutputName: "o" }] },
                            ProcessingResources: { ClusterConfig: { InstanceType: "ml.m5.xlarge" } },
                        }),
                    ),
                ],
                /Processing step Evaluate of .* sends data between its instances unencrypted/,
                /writes its outputs to S3 without a KMS key\. Fix: set ProcessingOutputConfig\.KmsKeyId/,
                /leaves its ml\.m5\.xlarge volume without a KMS key\. Fix: set ProcessingResources\.ClusterConfig\.VolumeKmsKeyId/,
            );
            await expectFail(
                rule,
                [
                    pipeline(
                        training({
                            OutputDataConfig: { S3OutputPath: "s3://a" },
                            ResourceConfig: { InstanceType: "ml.p3.2xlarge", InstanceCount: 1 },
                        }),
                    ),
                ],
                /OutputDataConfig\.KmsKeyId/,
                /ResourceConfig\.VolumeKmsKeyId/,
            );
            await expectFail(
                rule,
                [pipeline(transform({ TransformResources: { InstanceType: "ml.g4dn.xlarge", InstanceCount: 1, VolumeKmsKeyId: KEY } }))],
                /asks for a KMS key on ml\.g4dn\.xlarge/,
            );
        });
        it("checks aws.sagemaker.TrainingJob resources the same way, and refuses a definition it cannot read", async () => {
            const job = declared(T.trainingJob, "job", {
                roleArn: "r",
                resourceConfig: { instanceType: "ml.m5.xlarge", instanceCount: 1 },
                outputDataConfig: { s3OutputPath: "s3://a", kmsKeyId: KEY },
            });
            await expectFail(
                rule,
                [job],
                /sends data between its instances unencrypted/,
                /volume without a KMS key\. Fix: set resourceConfig\.volumeKmsKeyId/,
            );
            await expectFail(
                rule,
                [declared(T.pipeline, "from-s3", { pipelineDefinitionS3Location: { bucket: "b", objectKey: "k" } })],
                /reads its definition from S3/,
            );
            await expectFail(
                rule,
                [declared(T.pipeline, "broken", { pipelineDefinition: "{oops" })],
                /pipelineDefinition that is not JSON/,
            );
        });
    });

    describe("sagemaker-training-network-isolation", () => {
        const rule = "sagemaker-training-network-isolation";
        it("passes isolated training steps and jobs", async () => {
            await expectPass(rule, [pipeline(training()), declared(T.trainingJob, "job", { roleArn: "r", enableNetworkIsolation: true })]);
        });
        it("fails a training step or job that can reach the network", async () => {
            await expectFail(
                rule,
                [pipeline(training({ EnableNetworkIsolation: false }))],
                /Training step Train of .* lets the training container reach the network/,
            );
            await expectFail(rule, [declared(T.trainingJob, "job", { roleArn: "r" })], /Fix: set enableNetworkIsolation: true/);
        });
    });

    describe("sagemaker-training-gpu", () => {
        const rule = "sagemaker-training-gpu";
        const on = (InstanceType: unknown, extra: Record<string, unknown> = {}) =>
            training({ ResourceConfig: { InstanceType, InstanceCount: 1, VolumeSizeInGB: 50, ...extra } });
        it("passes training on GPU instances (and Trainium accelerators), in steps and training jobs", async () => {
            await expectPass(rule, [
                pipeline(on("ml.g4dn.xlarge")),
                declared(T.pipeline, "p5", { pipelineName: "p5", pipelineDefinition: JSON.stringify({ Steps: [on("ml.p3.2xlarge")] }) }),
                declared(T.trainingJob, "job", { roleArn: "r", resourceConfig: { instanceType: "ml.trn1.2xlarge", instanceCount: 1 } }),
                declared(T.trainingJob, "groups", {
                    roleArn: "r",
                    resourceConfig: { instanceGroups: [{ instanceGroupName: "a", instanceType: "ml.g5.xlarge", instanceCount: 1 }] },
                }),
            ]);
        });
        it("fails a CPU training type, a type a parameter decides, and a CPU instance group", async () => {
            await expectFail(
                rule,
                [
                    pipeline(on("ml.m5.xlarge")),
                    declared(T.pipeline, "param", {
                        pipelineName: "param",
                        pipelineDefinition: JSON.stringify({ Steps: [on({ Get: "Parameters.TrainingInstanceType" })] }),
                    }),
                    declared(T.trainingJob, "job", { roleArn: "r", resourceConfig: { instanceType: "ml.c5.4xlarge", instanceCount: 1 } }),
                    declared(T.trainingJob, "groups", {
                        roleArn: "r",
                        resourceConfig: {
                            instanceGroups: [
                                { instanceGroupName: "gpu", instanceType: "ml.g5.xlarge", instanceCount: 1 },
                                { instanceGroupName: "cpu", instanceType: "ml.m5.large", instanceCount: 2 },
                            ],
                        },
                    }),
                ],
                /^\[sagemaker-training-gpu\] Training step Train of sagemaker Pipeline "vision-mlops-staging-traffic-signs-training-pipeline" trains on ml\.m5\.xlarge, which has no GPU or training accelerator\. Fix: use a GPU instance type such as ml\.g4dn\.xlarge/,
                /Training step Train of sagemaker Pipeline "param" trains on an instance type a pipeline parameter decides \(Parameters\.TrainingInstanceType\), which the rule cannot check/,
                /sagemaker TrainingJob "job" trains on ml\.c5\.4xlarge, which has no GPU/,
                /sagemaker TrainingJob "groups" trains on ml\.m5\.large \(instance group cpu\), which has no GPU/,
            );
        });
    });

    describe("sagemaker-pipeline-jobs-tagged", () => {
        const rule = "sagemaker-pipeline-jobs-tagged";
        const TAG = { Key: "vision-mlops:pipeline", Value: "vision-mlops-staging-traffic-signs-training" };
        it("passes job steps tagged with the pipeline's own name, beside other tags", async () => {
            await expectPass(rule, [
                pipeline(processing("Preprocess", { Tags: [{ Key: "team", Value: "vision" }, TAG] }), training({ Tags: [TAG] }), {
                    Name: "Gate",
                    Type: "Condition",
                    Arguments: { IfSteps: [{ Name: "Register", Type: "RegisterModel", Arguments: {} }], ElseSteps: [] },
                }),
            ]);
        });
        it("fails an untagged job step, one tagged for another pipeline, and one inside a condition's branch", async () => {
            await expectFail(
                rule,
                [
                    pipeline(processing("Preprocess"), training({ Tags: [{ ...TAG, Value: "vision-mlops-staging-birds-training" }] }), {
                        Name: "Gate",
                        Type: "Condition",
                        Arguments: { IfSteps: [processing("Late", { Tags: [] })], ElseSteps: [] },
                    }),
                ],
                /^\[cross-model reach: pipeline job tag\] Processing step Preprocess of .* creates its job untagged instead of vision-mlops:pipeline="vision-mlops-staging-traffic-signs-training"/,
                /Training step Train of .* tags its job vision-mlops:pipeline="vision-mlops-staging-birds-training" instead of/,
                /Processing step Late of .* creates its job untagged/,
            );
        });
    });

    describe("sagemaker-processing-network-isolation (advisory)", () => {
        const rule = "sagemaker-processing-network-isolation";
        it("passes an isolated processing step", async () => {
            await expectPass(rule, [pipeline(processing("Preprocess"))]);
        });
        it("warns, without failing, on a processing step with network access", async () => {
            const [v] = await expectFail(
                rule,
                [
                    pipeline(
                        processing("Evaluate", {
                            NetworkConfig: { EnableNetworkIsolation: false, EnableInterContainerTrafficEncryption: true },
                        }),
                    ),
                ],
                /Processing step Evaluate .* runs with network access/,
            );
            expect(v.enforcementLevel).to.equal("advisory");
        });
    });
});
