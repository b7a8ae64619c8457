import type * as aws from "@pulumi/aws";
import { volumeKmsKey } from "../instance-storage";
import { JOBS_ENTRYPOINT, MONITOR_THRESHOLDS_ENV, PROCESSING_PATHS } from "../job-contract";
import { prefixes } from "../naming";
import { commonJobFlags, MonitorJobInput } from "./job";
import { modelMonitorExpression } from "./schedule";

/**
 * The MonitoringSchedule's config (model-monitor engine): the jobs image as a bring-your-own container,
 * Model Monitor's contract in the environment plus the thresholds, and the settings Security Hub's
 * SageMaker controls check (network isolation, inter-container encryption, KMS on output and volume).
 */
export function monitoringScheduleConfig(i: MonitorJobInput): aws.types.input.sagemaker.MonitoringScheduleMonitoringScheduleConfig {
    return {
        monitoringType: "DataQuality",
        scheduleConfig: { scheduleExpression: modelMonitorExpression(i.period) },
        monitoringJobDefinition: {
            roleArn: i.roleArn,
            monitoringAppSpecification: {
                imageUri: i.jobsImageUri,
                containerEntrypoints: [...JOBS_ENTRYPOINT, "monitor"],
                containerArguments: commonJobFlags(i),
            },
            environment: { [MONITOR_THRESHOLDS_ENV]: i.thresholdsJson, publish_cloudwatch_metrics: "Enabled" },
            baseline: { statisticsResource: { s3Uri: i.baselineUri } },
            monitoringInputs: {
                endpointInput: {
                    endpointName: i.endpointName,
                    localPath: PROCESSING_PATHS.monitor.capture,
                    s3InputMode: "File",
                    s3DataDistributionType: "FullyReplicated",
                },
            },
            monitoringOutputConfig: {
                kmsKeyId: i.kmsKeyArn,
                monitoringOutputs: {
                    s3Output: {
                        // Model Monitor appends <endpoint>/<schedule>/yyyy/mm/dd/hh/ itself.
                        s3Uri: `s3://${i.captureBucket}/${prefixes.monitoringModel(i.model).replace(/\/$/, "")}`,
                        localPath: PROCESSING_PATHS.monitor.output,
                        s3UploadMode: "EndOfJob",
                    },
                },
            },
            monitoringResources: {
                clusterConfig: {
                    instanceType: i.instanceType,
                    instanceCount: 1,
                    volumeSizeInGb: i.volumeSizeGb,
                    ...(volumeKmsKey(i.instanceType, i.kmsKeyArn).VolumeKmsKeyId ? { volumeKmsKeyId: i.kmsKeyArn } : {}),
                },
            },
            networkConfig: { enableNetworkIsolation: true, enableInterContainerTrafficEncryption: true },
            stoppingConditions: [{ maxRuntimeInSeconds: i.maxRuntimeSeconds }],
        },
    };
}
