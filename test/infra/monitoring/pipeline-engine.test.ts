import { expect } from "chai";
import { MONITOR_STEP_NAMES, monitoringPipelineDefinition } from "../../../infra/monitoring/pipeline-engine";
import { KEY, monitorJob } from "./support";

const IMAGE = monitorJob.jobsImageUri;
const UPLOAD = "s3://capture-bucket/traffic-signs/monitoring/ep/sched/";
const CAPTURE = "s3://capture-bucket/traffic-signs/capture/";
const GROUND_TRUTH = "s3://capture-bucket/traffic-signs/ground-truth/";
const EXECUTION_ID = { Get: "Execution.PipelineExecutionId" };
const WINDOW = [
    "--endpoint",
    "ep",
    "--schedule",
    "sched",
    "--period",
    "hourly",
    "--start-time",
    { Get: "Parameters.StartTime" },
    "--end-time",
    { Get: "Parameters.EndTime" },
    "--execution-time",
    { Get: "Execution.StartDateTime" },
    "--run-id",
    EXECUTION_ID,
];
const JUDGE = [
    "--output",
    "/opt/ml/processing/resultdata",
    "--put-metrics",
    "VisionMLOps/Monitoring/ep",
    "--upload",
    UPLOAD,
    "--kms-key",
    KEY,
];
const BASELINE_INPUT = {
    InputName: "baseline",
    S3Input: {
        S3Uri: "s3://curated-bucket/traffic-signs/baselines/abc/monitoring_baseline.json",
        LocalPath: "/opt/ml/processing/baseline",
        S3DataType: "S3Prefix",
        S3InputMode: "File",
        S3DataDistributionType: "FullyReplicated",
    },
};
/** Capacity and internal errors back off from a minute, three tries; throttling and service faults from 5 s, five tries. */
const RETRIES = [
    { ExceptionType: ["SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"], IntervalSeconds: 60, BackoffRate: 2, MaxAttempts: 3 },
    { ExceptionType: ["Step.THROTTLING", "Step.SERVICE_FAULT"], IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 5 },
];
const build = (extra: Partial<typeof monitorJob> = {}) =>
    monitoringPipelineDefinition({
        ...monitorJob,
        ...extra,
        scheduleName: "sched",
        metricsNamespace: "VisionMLOps/Monitoring/ep",
        pipelineName: "vision-mlops-staging-ts-monitoring",
    });
const cluster = (count: number) => ({
    ClusterConfig: { InstanceType: "ml.m5.large", InstanceCount: count, VolumeSizeInGB: 30, VolumeKmsKeyId: KEY },
});
/** Every step: the jobs image's monitor command, the thresholds, a time limit, encrypted traffic, the network it uploads over. */
const stepArguments = (args: unknown[], inputs: unknown[], count = 1) => ({
    RoleArn: "arn:aws:iam::123456789012:role/monitor",
    AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ["/app/entrypoint.sh", "monitor"], ContainerArguments: args },
    Environment: { monitor_thresholds: '{"classPsi":0.2}' },
    ProcessingInputs: inputs,
    ProcessingResources: cluster(count),
    StoppingCondition: { MaxRuntimeInSeconds: 3000 },
    NetworkConfig: { EnableInterContainerTrafficEncryption: true, EnableNetworkIsolation: false },
    Tags: [{ Key: "vision-mlops:pipeline", Value: "vision-mlops-staging-ts-monitoring" }],
});
const output = (name: string, localPath: string, uri: unknown) => ({
    ProcessingOutputConfig: {
        KmsKeyId: KEY,
        Outputs: [{ OutputName: name, S3Output: { S3Uri: uri, LocalPath: localPath, S3UploadMode: "EndOfJob" } }],
    },
});
const WORK = { "Std:Join": { On: "", Values: [UPLOAD, "_shards/", EXECUTION_ID, "/"] } };

describe("infra/monitoring/pipeline-engine", () => {
    it("one instance: one Monitor step over the window's capture, judged and uploaded, with the window as parameters", () => {
        expect(build()).to.deep.equal({
            Version: "2020-12-01",
            Metadata: {},
            Parameters: [
                { Name: "StartTime", Type: "String", DefaultValue: "auto" },
                { Name: "EndTime", Type: "String", DefaultValue: "auto" },
            ],
            Steps: [
                {
                    Name: "Monitor",
                    Type: "Processing",
                    Description: "Image-aware drift and quality checks of ep's captured traffic against the model's monitoring baseline",
                    Arguments: stepArguments(
                        [
                            "--capture",
                            CAPTURE,
                            "--baseline",
                            "/opt/ml/processing/baseline",
                            "--ground-truth",
                            GROUND_TRUTH,
                            ...JUDGE,
                            ...WINDOW,
                            "--image-sample",
                            "2000",
                            "--claim-lease",
                            "3000",
                        ],
                        [BASELINE_INPUT],
                    ),
                    RetryPolicies: RETRIES,
                },
            ],
        });
        expect(build({ instanceCount: 0 }).Steps.map((s) => s.Name)).to.deep.equal(["Monitor"]);
    });

    it("N instances: ListCapture writes a manifest, Monitor runs on N instances ShardedByS3Key, Merge adds the partials", () => {
        expect(MONITOR_STEP_NAMES).to.deep.equal({ list: "ListCapture", monitor: "Monitor", merge: "Merge" });
        const steps = build({ instanceCount: 3, classCount: 5 }).Steps;
        const common = ["--image-sample", "2000", "--claim-lease", "3000", "--class-count", "5"];
        expect(steps).to.deep.equal([
            {
                Name: "ListCapture",
                Type: "Processing",
                Description: "Lists ep's capture files of the window for 3 monitor instances",
                Arguments: {
                    ...stepArguments(
                        [
                            "--capture",
                            CAPTURE,
                            "--baseline",
                            "/opt/ml/processing/baseline",
                            "--upload",
                            UPLOAD,
                            "--kms-key",
                            KEY,
                            "--list-manifest",
                            "/opt/ml/processing/manifest",
                            "--shards",
                            "3",
                            ...WINDOW,
                        ],
                        [BASELINE_INPUT],
                    ),
                    ...output("manifest", "/opt/ml/processing/manifest", { "Std:Join": { On: "", Values: [WORK, "manifest"] } }),
                },
                RetryPolicies: RETRIES,
            },
            {
                Name: "Monitor",
                Type: "Processing",
                Description:
                    "Image-aware drift and quality checks of ep's captured traffic against the model's monitoring baseline, " +
                    "on 3 instances, each over its share of the capture files",
                Arguments: {
                    ...stepArguments(
                        [
                            "--capture",
                            "/opt/ml/processing/input/endpoint/capture",
                            "--baseline",
                            "/opt/ml/processing/baseline",
                            "--ground-truth",
                            GROUND_TRUTH,
                            "--partial-output",
                            "/opt/ml/processing/partial",
                            ...WINDOW,
                            ...common,
                        ],
                        [
                            BASELINE_INPUT,
                            {
                                InputName: "capture",
                                S3Input: {
                                    S3Uri: {
                                        "Std:Join": {
                                            On: "",
                                            Values: [
                                                { Get: "Steps.ListCapture.ProcessingOutputConfig.Outputs['manifest'].S3Output.S3Uri" },
                                                "/manifest.json",
                                            ],
                                        },
                                    },
                                    LocalPath: "/opt/ml/processing/input/endpoint",
                                    S3DataType: "ManifestFile",
                                    S3InputMode: "File",
                                    S3DataDistributionType: "ShardedByS3Key",
                                },
                            },
                        ],
                        3,
                    ),
                    ...output("partial", "/opt/ml/processing/partial", { "Std:Join": { On: "", Values: [WORK, "partials"] } }),
                },
                RetryPolicies: RETRIES,
            },
            {
                Name: "Merge",
                Type: "Processing",
                Description: "Adds the 3 instances' statistics, judges the window and uploads the run",
                Arguments: stepArguments(
                    [
                        "--capture",
                        CAPTURE,
                        "--baseline",
                        "/opt/ml/processing/baseline",
                        "--merge-from",
                        "/opt/ml/processing/input/partials",
                        "--ground-truth",
                        GROUND_TRUTH,
                        ...JUDGE,
                        ...WINDOW,
                        ...common,
                    ],
                    [
                        BASELINE_INPUT,
                        {
                            InputName: "partials",
                            S3Input: {
                                S3Uri: { Get: "Steps.Monitor.ProcessingOutputConfig.Outputs['partial'].S3Output.S3Uri" },
                                LocalPath: "/opt/ml/processing/input/partials",
                                S3DataType: "S3Prefix",
                                S3InputMode: "File",
                                S3DataDistributionType: "FullyReplicated",
                            },
                        },
                    ],
                ),
                RetryPolicies: RETRIES,
            },
        ]);
    });

    it("gives no volume key to an instance with NVMe storage, which SageMaker encrypts itself and refuses a key for", () => {
        const [step] = build({ instanceType: "ml.m5d.large" }).Steps;
        expect((step as { Arguments: { ProcessingResources: unknown } }).Arguments.ProcessingResources).to.deep.equal({
            ClusterConfig: { InstanceType: "ml.m5d.large", InstanceCount: 1, VolumeSizeInGB: 30 },
        });
    });
});
