import type { ProcessingInstanceType } from "@aws-sdk/client-sagemaker";
import { volumeKmsKey } from "../instance-storage";
import { groundTruthPrefix, JOBS_ENTRYPOINT, MONITOR_THRESHOLDS_ENV, PROCESSING_PATHS } from "../job-contract";
import { prefixes } from "../naming";
import { execution, Expression, join, PipelineBuilder, PipelineDefinition, ProcessingArguments } from "../pipeline/builder";
import { commonJobFlags, MonitorJobInput, monitoringOutputUri } from "./job";
import { MONITOR_STEP_NAME, WINDOW_PARAMETERS } from "./schedule";

/** Where the sharded run's steps mount their inputs and outputs. */
const SHARD_PATHS = {
    manifest: "/opt/ml/processing/manifest",
    partial: "/opt/ml/processing/partial",
    partials: "/opt/ml/processing/input/partials",
} as const;
export const MONITOR_STEP_NAMES = { list: "ListCapture", monitor: MONITOR_STEP_NAME, merge: "Merge" } as const;

/**
 * The monitoring pipeline (pipeline engine). With one instance: one step that reads the window's capture
 * from S3, judges it and uploads the run. With N: ListCapture writes the window's capture files as a
 * manifest; Monitor runs on N instances over that manifest distributed ShardedByS3Key, each writing its
 * partial statistics; Merge adds them (counts and histograms exactly), judges the sum, publishes the metrics
 * and uploads the run. Every step names the execution as its run id, so a retried step takes its own claim over.
 */
export function monitoringPipelineDefinition(
    i: MonitorJobInput & {
        readonly scheduleName: string;
        /** The CloudWatch namespace the job publishes its metrics to (`monitoringNamespace`). */
        readonly metricsNamespace: string;
        /** The name the pipeline is deployed under, which tags its jobs. */
        readonly pipelineName: string;
    },
): PipelineDefinition {
    const p = new PipelineBuilder({ pipelineName: i.pipelineName });
    const start = p.parameter(WINDOW_PARAMETERS.start, "String", { default: "auto" });
    const end = p.parameter(WINDOW_PARAMETERS.end, "String", { default: "auto" });
    const captureUri = `s3://${i.captureBucket}/${prefixes.captureModel(i.model)}`;
    const upload = monitoringOutputUri(i.captureBucket, i.model, i.endpointName, i.scheduleName);
    const windowFlags = [
        "--endpoint",
        i.endpointName,
        "--schedule",
        i.scheduleName,
        "--period",
        i.period,
        "--start-time",
        start,
        "--end-time",
        end,
        "--execution-time",
        execution.startDateTime,
        "--run-id",
        execution.pipelineExecutionId,
    ];
    const judgeFlags = [
        "--output",
        PROCESSING_PATHS.monitor.output,
        "--put-metrics",
        i.metricsNamespace,
        "--upload",
        upload,
        "--kms-key",
        i.kmsKeyArn,
    ];
    const baselineInput = {
        InputName: "baseline",
        S3Input: {
            S3Uri: i.baselineUri,
            LocalPath: PROCESSING_PATHS.monitor.baseline,
            S3DataType: "S3Prefix" as const,
            S3InputMode: "File" as const,
            S3DataDistributionType: "FullyReplicated" as const,
        },
    };
    const step = (
        count: number,
        args: readonly (string | Expression)[],
        inputs: NonNullable<ProcessingArguments<string>["ProcessingInputs"]>,
        outputs?: { name: string; localPath: string; uri: Expression },
    ): ProcessingArguments<string> => ({
        RoleArn: i.roleArn,
        AppSpecification: { ImageUri: i.jobsImageUri, ContainerEntrypoint: [...JOBS_ENTRYPOINT, "monitor"], ContainerArguments: [...args] },
        Environment: { [MONITOR_THRESHOLDS_ENV]: i.thresholdsJson },
        ProcessingInputs: inputs,
        ...(outputs
            ? {
                  ProcessingOutputConfig: {
                      KmsKeyId: i.kmsKeyArn,
                      Outputs: [
                          {
                              OutputName: outputs.name,
                              S3Output: { S3Uri: outputs.uri, LocalPath: outputs.localPath, S3UploadMode: "EndOfJob" as const },
                          },
                      ],
                  },
              }
            : {}),
        ProcessingResources: {
            ClusterConfig: {
                InstanceType: i.instanceType as ProcessingInstanceType,
                InstanceCount: count,
                VolumeSizeInGB: i.volumeSizeGb,
                ...volumeKmsKey(i.instanceType, i.kmsKeyArn),
            },
        },
        StoppingCondition: { MaxRuntimeInSeconds: i.maxRuntimeSeconds },
        // The job reads capture data, publishes metrics and uploads its outputs itself, so it needs the network.
        NetworkConfig: { EnableInterContainerTrafficEncryption: true, EnableNetworkIsolation: false },
    });
    const retryPolicies = [
        {
            ExceptionType: ["SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"] as const,
            IntervalSeconds: 60,
            BackoffRate: 2,
            MaxAttempts: 3,
        },
        { ExceptionType: ["Step.THROTTLING", "Step.SERVICE_FAULT"] as const, IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 5 },
    ];
    const description = `Image-aware drift and quality checks of ${i.endpointName}'s captured traffic against the model's monitoring baseline`;
    const groundTruth = ["--ground-truth", `s3://${i.captureBucket}/${groundTruthPrefix(i.model)}`];
    if (i.instanceCount <= 1) {
        p.processing(MONITOR_STEP_NAME, {
            description,
            arguments: step(
                1,
                [
                    "--capture",
                    captureUri,
                    "--baseline",
                    PROCESSING_PATHS.monitor.baseline,
                    ...groundTruth,
                    ...judgeFlags,
                    ...windowFlags,
                    ...commonJobFlags(i),
                ],
                [baselineInput],
            ),
            retryPolicies,
        });
        return p.build();
    }
    // Work files of one execution: the manifest and the instances' partial statistics.
    const work = join([upload, "_shards/", execution.pipelineExecutionId, "/"]);
    const list = p.processing(MONITOR_STEP_NAMES.list, {
        description: `Lists ${i.endpointName}'s capture files of the window for ${i.instanceCount} monitor instances`,
        arguments: step(
            1,
            [
                "--capture",
                captureUri,
                "--baseline",
                PROCESSING_PATHS.monitor.baseline,
                "--upload",
                upload,
                "--kms-key",
                i.kmsKeyArn,
                "--list-manifest",
                SHARD_PATHS.manifest,
                "--shards",
                String(i.instanceCount),
                ...windowFlags,
            ],
            [baselineInput],
            { name: "manifest", localPath: SHARD_PATHS.manifest, uri: join([work, "manifest"]) },
        ),
        retryPolicies,
    });
    const shards = p.processing(MONITOR_STEP_NAMES.monitor, {
        description: `${description}, on ${i.instanceCount} instances, each over its share of the capture files`,
        arguments: step(
            i.instanceCount,
            [
                // The manifest's prefix is s3://<bucket>/<model>/, so the capture files land under <LocalPath>/capture/.
                "--capture",
                `${PROCESSING_PATHS.monitor.capture}/capture`,
                "--baseline",
                PROCESSING_PATHS.monitor.baseline,
                ...groundTruth,
                "--partial-output",
                SHARD_PATHS.partial,
                ...windowFlags,
                ...commonJobFlags(i),
            ],
            [
                baselineInput,
                {
                    InputName: "capture",
                    S3Input: {
                        S3Uri: join([list.outputUri("manifest"), "/manifest.json"]),
                        LocalPath: PROCESSING_PATHS.monitor.capture,
                        S3DataType: "ManifestFile",
                        S3InputMode: "File",
                        S3DataDistributionType: "ShardedByS3Key",
                    },
                },
            ],
            { name: "partial", localPath: SHARD_PATHS.partial, uri: join([work, "partials"]) },
        ),
        retryPolicies,
    });
    p.processing(MONITOR_STEP_NAMES.merge, {
        description: `Adds the ${i.instanceCount} instances' statistics, judges the window and uploads the run`,
        arguments: step(
            1,
            [
                "--capture",
                captureUri,
                "--baseline",
                PROCESSING_PATHS.monitor.baseline,
                "--merge-from",
                SHARD_PATHS.partials,
                ...groundTruth,
                ...judgeFlags,
                ...windowFlags,
                ...commonJobFlags(i),
            ],
            [
                baselineInput,
                {
                    InputName: "partials",
                    S3Input: {
                        S3Uri: shards.outputUri("partial"),
                        LocalPath: SHARD_PATHS.partials,
                        S3DataType: "S3Prefix",
                        S3InputMode: "File",
                        S3DataDistributionType: "FullyReplicated",
                    },
                },
            ],
        ),
        retryPolicies,
    });
    return p.build();
}
