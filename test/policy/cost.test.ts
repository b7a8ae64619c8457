import { expect } from "chai";
import { COST_LIMITS } from "../../policy/rules/cost";
import { runPolicies } from "../../policy/offline";
import { declared, endpointDeployment, Env, expectFail, expectPass } from "./support";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/data-key";
const T = {
    config: "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    scaling: "aws:appautoscaling/target:Target",
    pipeline: "aws:sagemaker/pipeline:Pipeline",
    trainingJob: "aws:sagemaker/trainingJob:TrainingJob",
    bucket: "aws:s3/bucket:Bucket",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
};
const CAPTURE_BUCKET = "vision-mlops-staging-capture-123456789012-us-east-1";

const config = (env: Env, variant: Record<string, unknown> = {}, capture: Record<string, unknown> = {}) =>
    declared(
        T.config,
        `vision-mlops-${env}-m-config`,
        {
            kmsKeyArn: KEY,
            productionVariants: [
                { variantName: "AllTraffic", modelName: "m", instanceType: "ml.m5.large", initialInstanceCount: 1, ...variant },
            ],
            dataCaptureConfig: {
                enableCapture: true,
                initialSamplingPercentage: 100,
                destinationS3Uri: `s3://${CAPTURE_BUCKET}/m/capture/`,
                kmsKeyId: KEY,
                captureOptions: [{ captureMode: "Input" }],
                ...capture,
            },
        },
        env,
    );

const scaling = (env: Env, maxCapacity: number) =>
    declared(
        T.scaling,
        `vision-mlops-${env}-m-scaling-target`,
        {
            serviceNamespace: "sagemaker",
            resourceId: "endpoint/e/variant/AllTraffic",
            scalableDimension: "sagemaker:variant:DesiredInstanceCount",
            minCapacity: 2,
            maxCapacity,
        },
        env,
    );

const trainingPipeline = (env: Env, args: Record<string, unknown> = {}) =>
    declared(
        T.pipeline,
        `vision-mlops-${env}-m-training-pipeline`,
        {
            pipelineName: "p",
            pipelineDefinition: JSON.stringify({
                Steps: [
                    {
                        Name: "Train",
                        Type: "Training",
                        Arguments: {
                            StoppingCondition: { MaxRuntimeInSeconds: 14400, MaxWaitTimeInSeconds: 28800 },
                            EnableManagedSpotTraining: true,
                            CheckpointConfig: { S3Uri: "s3://artifacts/checkpoints" },
                            ...args,
                        },
                    },
                ],
            }),
        },
        env,
    );

/** The capture bucket and its lifecycle rules, as the data lake declares them. */
const captureBucket = (rules: unknown[]) => [
    declared(T.bucket, "capture", { bucket: CAPTURE_BUCKET }),
    declared(T.lifecycle, "capture-lifecycle", { bucket: "capture-id", rules }),
];
const ageOut = (days: number, filter: Record<string, unknown> = {}) => ({
    id: "age-out",
    status: "Enabled",
    filter,
    transitions: [{ days: 30, storageClass: "STANDARD_IA" }],
    expiration: { days },
});

describe("policy pack: cost rules, with limits per stack", function () {
    this.timeout(30_000);

    it("cost-no-gpu-endpoints-in-staging: passes CPU in staging and GPU in prod; fails GPU or accelerators in staging", async () => {
        const rule = "cost-no-gpu-endpoints-in-staging";
        await expectPass(rule, [config("staging"), config("prod", { instanceType: "ml.g5.xlarge", initialInstanceCount: 2 })]);
        await expectFail(
            rule,
            [config("staging", { instanceType: "ml.g4dn.xlarge" })],
            /^\[cost: no GPU endpoints in staging\] .* serves variant AllTraffic on ml\.g4dn\.xlarge in staging\. Fix: use a CPU instance type/,
        );
        await expectFail(rule, [config("staging", { acceleratorType: "ml.eia2.medium" })], /on ml\.eia2\.medium/);
        await expectFail(rule, [config("untagged", { instanceType: "ml.p3.2xlarge" })], /treated as staging/);
    });

    it("cost-endpoint-instance-caps: the initial count and the autoscaling maximum, per stack", async () => {
        const rule = "cost-endpoint-instance-caps";
        const { staging, prod } = COST_LIMITS;
        await expectPass(rule, [
            config("staging", { initialInstanceCount: staging.endpointInstances }),
            scaling("staging", staging.endpointInstances),
            scaling("prod", prod.endpointInstances),
        ]);
        await expectFail(
            rule,
            [config("staging", { initialInstanceCount: staging.endpointInstances + 1 })],
            new RegExp(
                `starts ${staging.endpointInstances + 1} instances for variant AllTraffic, more than the ${staging.endpointInstances} allowed in staging`,
            ),
        );
        await expectFail(
            rule,
            [scaling("prod", prod.endpointInstances + 1)],
            new RegExp(`scale to ${prod.endpointInstances + 1} instances, more than the ${prod.endpointInstances} allowed in prod`),
        );
        await expectFail(
            rule,
            [scaling("untagged", staging.endpointInstances + 1)],
            new RegExp(`more than the ${staging.endpointInstances} allowed`),
        );
    });

    it("reads the platform's EndpointDeployment for the endpoint cost rules", async () => {
        await expectPass("cost-no-gpu-endpoints-in-staging", [endpointDeployment("staging")]);
        await expectFail(
            "cost-no-gpu-endpoints-in-staging",
            [endpointDeployment("staging", { instanceType: "ml.g5.xlarge", kmsKeyId: undefined })],
            /EndpointDeployment .* serves variant AllTraffic on ml\.g5\.xlarge in staging/,
        );
        await expectPass("cost-endpoint-instance-caps", [endpointDeployment("staging"), endpointDeployment("prod")]);
        await expectFail(
            "cost-endpoint-instance-caps",
            [endpointDeployment("staging", { instanceCount: 5, scaling: { minCapacity: 5, maxCapacity: 8 } })],
            /starts 5 instances for variant AllTraffic, more than the 4 allowed in staging/,
            /lets autoscaling take it to 8 instances, more than the 4 allowed in staging/,
        );
        await expectPass("cost-capture-sampling-caps", [endpointDeployment("staging"), endpointDeployment("prod")]);
        await expectFail(
            "cost-capture-sampling-caps",
            [
                endpointDeployment("prod", {
                    dataCapture: { EnableCapture: true, InitialSamplingPercentage: 100, KmsKeyId: KEY, DestinationS3Uri: "s3://b/k" },
                }),
            ],
            /captures 100% of requests, more than the 80% allowed in prod/,
        );
        const capture = (rules: unknown[]) => [
            endpointDeployment("staging", {
                dataCapture: {
                    EnableCapture: true,
                    InitialSamplingPercentage: 100,
                    KmsKeyId: KEY,
                    DestinationS3Uri: `s3://${CAPTURE_BUCKET}/m/capture/`,
                },
            }),
            ...captureBucket(rules),
        ];
        await expectPass("cost-capture-lifecycle", capture([ageOut(365)]));
        await expectFail(
            "cost-capture-lifecycle",
            capture([]),
            /EndpointDeployment .* where no enabled lifecycle rule expires the captured objects/,
        );
    });

    it("takes a stack's own limit from policy pack config", async () => {
        const report = await runPolicies(
            [
                {
                    type: "pulumi:providers:aws",
                    name: "prod-aws",
                    id: "prod-aws-id",
                    inputs: { defaultTags: JSON.stringify({ tags: { environment: "prod" } }) },
                },
                scaling("prod", 15),
            ],
            { stack: "prod", openItems: [], config: { "cost-endpoint-instance-caps": { prod: 20 } } },
        );
        expect(report.violations.filter((v) => v.policy === "cost-endpoint-instance-caps")).to.deep.equal([]);
        const lowered = await runPolicies(
            [
                {
                    type: "pulumi:providers:aws",
                    name: "prod-aws",
                    id: "prod-aws-id",
                    inputs: { defaultTags: JSON.stringify({ tags: { environment: "prod" } }) },
                },
                scaling("prod", 15),
            ],
            { stack: "prod", openItems: [], config: { "cost-endpoint-instance-caps": { enforcementLevel: "advisory", prod: 12 } } },
        );
        expect(
            lowered.violations
                .filter((v) => v.policy === "cost-endpoint-instance-caps")
                .map((v) => [v.enforcementLevel, /more than the 12 allowed/.test(v.message)]),
        ).to.deep.equal([["advisory", true]]);
    });

    it("cost-training-limits: a bounded runtime on spot with a wait cap and checkpoints", async () => {
        const rule = "cost-training-limits";
        await expectPass(rule, [trainingPipeline("staging")]);
        await expectFail(
            rule,
            [trainingPipeline("staging", { StoppingCondition: {} })],
            /has no MaxRuntimeInSeconds/,
            /without a MaxWaitTimeInSeconds of at least its runtime/,
        );
        await expectFail(
            rule,
            [
                trainingPipeline("staging", {
                    StoppingCondition: {
                        MaxRuntimeInSeconds: COST_LIMITS.staging.trainingSeconds + 1,
                        MaxWaitTimeInSeconds: 2 * COST_LIMITS.staging.trainingSeconds + 2,
                    },
                }),
            ],
            new RegExp(
                `may run ${COST_LIMITS.staging.trainingSeconds + 1} s, more than the ${COST_LIMITS.staging.trainingSeconds} s allowed in staging`,
            ),
        );
        await expectFail(
            rule,
            [trainingPipeline("staging", { EnableManagedSpotTraining: false })],
            /^\[cost: training runtime bound, managed spot\] Training step Train of .* trains on demand\. Fix: turn on managed spot training/,
        );
        await expectFail(rule, [trainingPipeline("staging", { CheckpointConfig: undefined })], /uses spot without checkpoints/);
        await expectFail(
            rule,
            [trainingPipeline("staging", { StoppingCondition: { MaxRuntimeInSeconds: 14400, MaxWaitTimeInSeconds: 600 } })],
            /uses spot without a MaxWaitTimeInSeconds of at least its runtime/,
        );
        await expectFail(
            rule,
            [
                declared(T.trainingJob, "job", {
                    roleArn: "r",
                    stoppingCondition: { maxRuntimeInSeconds: 3600 },
                    enableManagedSpotTraining: false,
                }),
            ],
            /sagemaker TrainingJob "job" trains on demand/,
        );
    });

    it("cost-capture-sampling-caps: all of staging's requests, at most 80% of prod's", async () => {
        const rule = "cost-capture-sampling-caps";
        await expectPass(rule, [config("staging"), config("prod", { initialInstanceCount: 2 }, { initialSamplingPercentage: 80 })]);
        await expectFail(
            rule,
            [config("prod", { initialInstanceCount: 2 })],
            /captures 100% of requests, more than the 80% allowed in prod\. Fix: lower endpoint\.dataCapturePercent/,
        );
    });

    it("cost-capture-lifecycle: the capture bucket expires captured objects under the capture prefix, within the limit", async () => {
        const rule = "cost-capture-lifecycle";
        await expectPass(rule, [config("staging"), ...captureBucket([ageOut(365)])]);
        await expectPass(rule, [config("staging"), ...captureBucket([ageOut(30, { prefix: "m/capture/" })])]);
        await expectFail(
            rule,
            [
                config("staging"),
                ...captureBucket([{ id: "versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 90 } }]),
            ],
            /where no enabled lifecycle rule expires the captured objects/,
        );
        await expectFail(
            rule,
            [config("staging"), ...captureBucket([ageOut(365, { prefix: "other-model/" })])],
            /no enabled lifecycle rule expires/,
        );
        await expectFail(
            rule,
            [config("staging"), ...captureBucket([ageOut(3650)])],
            new RegExp(`keeps captured traffic 3650 days, more than the ${COST_LIMITS.staging.captureRetentionDays} allowed`),
        );
        await expectFail(rule, [config("staging", {}, { destinationS3Uri: "s3://somewhere-else/x/" })], /not a bucket of this stack/);
    });
});
