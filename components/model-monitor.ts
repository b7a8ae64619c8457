import type { ProcessingInstanceType } from "@aws-sdk/client-sagemaker";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Environment, MonitoringConfig } from "../infra/config";
import {
    assumeRolePolicy,
    ecrPullStatements,
    kmsUseStatement,
    passRoleStatement,
    policyDocument,
    PolicyDocument,
    putMetricDataStatement,
    s3BucketArn,
    s3ReadStatements,
    s3WriteStatements,
    sagemakerArn,
    sagemakerLogsStatement,
    sagemakerStatement,
} from "../infra/iam";
import {
    encodeMonitorThresholds,
    groundTruthPrefix,
    JOBS_ENTRYPOINT,
    MONITOR_THRESHOLDS_ENV,
    MONITORING_METRICS,
    monitoringNamespace,
    MonitorThresholds,
    PROCESSING_PATHS,
} from "../infra/job-contract";
import { iamName, monitoringScheduleName, pipelineName, prefixes } from "../infra/naming";
import { execution, Expression, join, PipelineBuilder, PipelineDefinition, ProcessingArguments } from "../infra/pipeline/builder";
import { volumeKmsKey } from "../infra/instance-storage";
import { BATCH_MANIFEST_PARAMETER, latestDatasetKey } from "../infra/pipeline/image-classification";
import type { DashboardModel } from "./dashboard";
import { parseS3Uri } from "../infra/s3-uri";

export type MonitoringEngine = "pipeline" | "model-monitor";
export type MonitoringPeriod = MonitoringConfig["schedule"];

export interface ModelMonitorArgs {
    readonly environment: Environment;
    /** Model name from config; scopes the capture and monitoring prefixes and names the children. */
    readonly model: string;
    /** The model's monitoring settings: schedule, drift thresholds, retrainAfterPeriods. */
    readonly monitoring: MonitoringConfig;
    /** The inference confidence threshold (`inference.confidenceThreshold`); below it a prediction counts as low-confidence. */
    readonly confidenceThreshold: number;
    /** `pipeline` (EventBridge Scheduler -> SageMaker Pipeline) or `model-monitor` (MonitoringSchedule). Defaults to pipeline. */
    readonly engine?: MonitoringEngine;
    /** The endpoint whose captured traffic is monitored (its stable name). */
    readonly endpointName: string;
    /** Bucket holding `<model>/capture/` (data capture) and receiving `<model>/monitoring/` (the outputs). */
    readonly captureBucket: pulumi.Input<string>;
    /** The data lake key: capture data, outputs, job volumes. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** `s3://.../monitoring_baseline.json` of the served model package (its DriftCheckBaselines). */
    readonly monitoringBaselineUri: pulumi.Input<string>;
    /** Key the baseline is encrypted with when it is another stack's (prod monitors staging's models). Defaults to kmsKeyArn. */
    readonly baselineKmsKeyArn?: pulumi.Input<string>;
    /** The jobs image (by digest) and its repository, the only one the job may pull from. */
    readonly jobsImageUri: pulumi.Input<string>;
    readonly jobsRepositoryArn: pulumi.Input<string>;
    /** The stack's alert topic. */
    readonly alarmTopicArn: pulumi.Input<string>;
    readonly accountId: pulumi.Input<string>;
    readonly region: string;
    /** The model's number of classes; the job refuses a baseline registered for another model. */
    readonly classCount?: number;
    /** The model's training pipeline; with `monitoring.retrainAfterPeriods` set, persistent drift starts it. */
    readonly trainingPipelineArn?: pulumi.Input<string>;
    /** Instance for the monitor job. Defaults to ml.m5.large. */
    readonly instanceType?: string;
    /** Job volume in GiB. Defaults to 30. */
    readonly volumeSizeGb?: number;
    /** Job time limit. Defaults to 50 minutes for hourly schedules (Model Monitor allows at most an hour) and 4 hours for daily. */
    readonly maxRuntimeSeconds?: number;
}

export const DEFAULT_MONITOR_INSTANCE = "ml.m5.large";
const DEFAULT_VOLUME_GB = 30;
const PERIOD_SECONDS: Record<MonitoringPeriod, number> = { hourly: 3600, daily: 86400 };
/** CloudWatch refuses alarms whose periods x evaluation periods exceed 7 days (for periods of an hour or more). */
const MAX_ALARM_RANGE_SECONDS = 7 * 86400;

/**
 * Monitoring of one model endpoint with the image-aware monitor job, by either engine:
 * - `pipeline` (default): a one-step SageMaker Pipeline running the job, started by an EventBridge Scheduler
 *   schedule. Scheduler's SageMaker target passes only fixed parameter values, so it passes
 *   `StartTime=auto`/`EndTime=auto` and the job derives the window (the previous whole hour or day) from the
 *   execution's start time; an operator re-runs any window by starting the pipeline with explicit times.
 *   The job publishes its metrics with PutMetricData and uploads its outputs to the monitoring prefix; it
 *   reads ground-truth labels from `<model>/ground-truth/yyyy/mm/dd/hh/` and reports model quality.
 * - `model-monitor`: a MonitoringSchedule with an inline bring-your-own-container job definition running the
 *   same image, with network isolation, inter-container encryption and KMS on output and volume; Model
 *   Monitor mounts the window's capture data and publishes the job's metric files.
 * Both: alarms on the job's verdicts to the alert topic, and optionally a rule that starts the training
 * pipeline when drift persists for `retrainAfterPeriods` runs.
 */
export class ModelMonitor extends pulumi.ComponentResource {
    public readonly engine: MonitoringEngine;
    /** The MonitoringSchedule name (model-monitor) or the Scheduler schedule name (pipeline); also the metrics' MonitoringSchedule dimension. */
    public readonly scheduleName: string;
    /** The monitoring pipeline's name (pipeline engine only). */
    public readonly pipelineName?: string;
    public readonly role: aws.iam.Role;
    public readonly pipeline?: aws.sagemaker.Pipeline;
    public readonly schedule?: aws.scheduler.Schedule;
    public readonly monitoringSchedule?: aws.sagemaker.MonitoringSchedule;
    public readonly alarms: aws.cloudwatch.MetricAlarm[];
    public readonly alarmNames: pulumi.Output<string[]>;
    public readonly retrainRule?: aws.cloudwatch.EventRule;
    /** This model's entry for the stack's Dashboard (add `trainingPipelineName`). */
    public readonly dashboardModel: DashboardModel;

    constructor(name: string, args: ModelMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:monitoring:ModelMonitor", name, {}, opts);
        const child = { parent: this };
        const engine = args.engine ?? "pipeline";
        const period = args.monitoring.schedule;
        const instanceType = args.instanceType ?? DEFAULT_MONITOR_INSTANCE;
        const volumeSizeGb = args.volumeSizeGb ?? DEFAULT_VOLUME_GB;
        const maxRuntimeSeconds = args.maxRuntimeSeconds ?? defaultMaxRuntime(period);
        if (engine === "model-monitor" && period === "hourly" && maxRuntimeSeconds > 3600)
            throw new Error(
                `models.${args.model}: an hourly Model Monitor schedule allows at most 3600 seconds per run, got maxRuntimeSeconds ${maxRuntimeSeconds}`,
            );
        const thresholds: MonitorThresholds = { ...args.monitoring.drift, confidenceThreshold: args.confidenceThreshold };
        const thresholdsJson = encodeMonitorThresholds(thresholds);
        const retrainAfter = args.monitoring.retrainAfterPeriods;
        if (retrainAfter !== undefined) checkAlarmRange(args.model, "retrainAfterPeriods", period, retrainAfter);
        const unjudgedPeriods = args.monitoring.unjudgedPeriods ?? DEFAULT_UNJUDGED_PERIODS;
        checkAlarmRange(args.model, "unjudgedPeriods", period, unjudgedPeriods);
        const instanceCount = args.monitoring.instanceCount ?? 1;
        if (engine === "model-monitor" && instanceCount > 1)
            throw new Error(
                `models.${args.model}.monitoring.instanceCount: ${instanceCount} needs the pipeline engine (monitoring.engine: pipeline); ` +
                    "a Model Monitor schedule runs one job with no merge step",
            );
        const sampling = {
            imageSampleSize: args.monitoring.imageSampleSize ?? DEFAULT_IMAGE_SAMPLE_SIZE,
            instanceCount,
            classCount: args.classCount,
        };
        this.engine = engine;
        this.scheduleName = monitoringScheduleName(args.environment, args.model);
        const scheduleName = this.scheduleName;
        const monitoringPipelineName = engine === "pipeline" ? pipelineName(args.environment, args.model, "monitoring") : undefined;
        this.pipelineName = monitoringPipelineName;

        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                name: iamName(args.environment, args.model, "monitor"),
                description: `Runs the ${engine} monitor job of ${args.model}`,
                assumeRolePolicy: JSON.stringify(assumeRolePolicy("sagemaker.amazonaws.com")),
            },
            child,
        );
        new aws.iam.RolePolicy(
            `${name}-role-policy`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([
                        this.role.arn,
                        args.captureBucket,
                        args.monitoringBaselineUri,
                        args.kmsKeyArn,
                        args.baselineKmsKeyArn ?? args.kmsKeyArn,
                        args.jobsRepositoryArn,
                        args.accountId,
                    ])
                    .apply(([roleArn, captureBucket, baselineUri, kmsKeyArn, baselineKmsKeyArn, repositoryArn, accountId]) =>
                        JSON.stringify(
                            monitorJobPolicy({
                                engine,
                                model: args.model,
                                region: args.region,
                                accountId,
                                roleArn,
                                captureBucket,
                                baselineUri,
                                kmsKeyArn,
                                baselineKmsKeyArn,
                                repositoryArn,
                            }),
                        ),
                    ),
            },
            child,
        );

        const job = pulumi.all([this.role.arn, args.captureBucket, args.monitoringBaselineUri, args.kmsKeyArn, args.jobsImageUri]);
        if (engine === "pipeline") {
            this.pipeline = new aws.sagemaker.Pipeline(
                `${name}-pipeline`,
                {
                    pipelineName: monitoringPipelineName!,
                    pipelineDisplayName: monitoringPipelineName!,
                    pipelineDescription: `Image-aware monitoring of ${args.endpointName}, ${period}`,
                    roleArn: this.role.arn,
                    pipelineDefinition: job.apply(([roleArn, captureBucket, baselineUri, kmsKeyArn, jobsImageUri]) =>
                        JSON.stringify(
                            monitoringPipelineDefinition({
                                model: args.model,
                                endpointName: args.endpointName,
                                scheduleName,
                                period,
                                roleArn,
                                captureBucket,
                                baselineUri,
                                kmsKeyArn,
                                jobsImageUri,
                                instanceType,
                                volumeSizeGb,
                                maxRuntimeSeconds,
                                thresholdsJson,
                                ...sampling,
                            }),
                        ),
                    ),
                },
                child,
            );
            const schedulerRole = new aws.iam.Role(
                `${name}-scheduler-role`,
                {
                    name: iamName(args.environment, args.model, "monitor-scheduler"),
                    description: `Lets EventBridge Scheduler start the monitoring pipeline of ${args.model}`,
                    assumeRolePolicy: JSON.stringify(assumeRolePolicy("scheduler.amazonaws.com")),
                },
                child,
            );
            new aws.iam.RolePolicy(
                `${name}-scheduler-role-policy`,
                {
                    role: schedulerRole.id,
                    policy: this.pipeline.arn.apply((arn) => JSON.stringify(startPipelinePolicy(arn))),
                },
                child,
            );
            this.schedule = new aws.scheduler.Schedule(
                `${name}-schedule`,
                {
                    name: scheduleName,
                    description: `Starts ${monitoringPipelineName} ${period}; the job monitors the previous whole ${period === "hourly" ? "hour" : "day"}`,
                    scheduleExpression: schedulerExpression(period),
                    scheduleExpressionTimezone: "UTC",
                    flexibleTimeWindow: { mode: "OFF" },
                    target: {
                        arn: this.pipeline.arn,
                        roleArn: schedulerRole.arn,
                        sagemakerPipelineParameters: {
                            pipelineParameters: [
                                { name: WINDOW_PARAMETERS.start, value: "auto" },
                                { name: WINDOW_PARAMETERS.end, value: "auto" },
                            ],
                        },
                        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
                    },
                },
                child,
            );
        } else {
            this.monitoringSchedule = new aws.sagemaker.MonitoringSchedule(
                `${name}-schedule`,
                {
                    name: scheduleName,
                    monitoringScheduleConfig: job.apply(([roleArn, captureBucket, baselineUri, kmsKeyArn, jobsImageUri]) =>
                        monitoringScheduleConfig({
                            model: args.model,
                            endpointName: args.endpointName,
                            period,
                            roleArn,
                            captureBucket,
                            baselineUri,
                            kmsKeyArn,
                            jobsImageUri,
                            instanceType,
                            volumeSizeGb,
                            maxRuntimeSeconds,
                            thresholdsJson,
                            ...sampling,
                        }),
                    ),
                },
                child,
            );
        }

        const specs = monitorAlarmSpecs({
            engine,
            model: args.model,
            endpointName: args.endpointName,
            scheduleName,
            period,
            thresholds,
            retrainAfterPeriods: retrainAfter,
            unjudgedPeriods,
            monitoringPipelineName,
        });
        this.alarms = specs.map(
            (s) =>
                new aws.cloudwatch.MetricAlarm(
                    `${name}-${s.id}`,
                    {
                        name: s.name,
                        alarmDescription: s.description,
                        namespace: s.namespace,
                        metricName: s.metricName,
                        dimensions: s.dimensions,
                        statistic: s.statistic,
                        period: s.period,
                        evaluationPeriods: s.evaluationPeriods,
                        datapointsToAlarm: s.evaluationPeriods,
                        comparisonOperator: s.comparisonOperator,
                        threshold: s.threshold,
                        treatMissingData: s.treatMissingData ?? "notBreaching",
                        alarmActions: [args.alarmTopicArn],
                        okActions: [args.alarmTopicArn],
                    },
                    child,
                ),
        );
        this.alarmNames = pulumi.output(specs.map((s) => s.name));

        if (retrainAfter !== undefined && args.trainingPipelineArn !== undefined) {
            const persistent = this.alarms[specs.findIndex((s) => s.id === "drift-persistent")];
            this.retrainRule = new aws.cloudwatch.EventRule(
                `${name}-retrain`,
                {
                    name: iamName(args.environment, args.model, "retrain-on-drift"),
                    description: `Starts the training pipeline of ${args.model} when drift persists for ${retrainAfter} ${period} runs`,
                    eventPattern: persistent.arn.apply((arn) => JSON.stringify(retrainEventPattern(arn))),
                },
                child,
            );
            const retrainRole = new aws.iam.Role(
                `${name}-retrain-role`,
                {
                    name: iamName(args.environment, args.model, "retrain-on-drift"),
                    description: `Lets EventBridge start the training pipeline of ${args.model}`,
                    assumeRolePolicy: JSON.stringify(assumeRolePolicy("events.amazonaws.com")),
                },
                child,
            );
            new aws.iam.RolePolicy(
                `${name}-retrain-role-policy`,
                {
                    role: retrainRole.id,
                    policy: pulumi.output(args.trainingPipelineArn).apply((arn) => JSON.stringify(startPipelinePolicy(arn))),
                },
                child,
            );
            // EventBridge passes fixed values only: the pointer to the newest complete dataset, which the training
            // pipeline's Dataset step resolves to a manifest when the run starts.
            new aws.cloudwatch.EventTarget(
                `${name}-retrain-target`,
                {
                    rule: this.retrainRule.name,
                    arn: args.trainingPipelineArn,
                    roleArn: retrainRole.arn,
                    sagemakerPipelineTarget: {
                        pipelineParameterLists: [{ name: BATCH_MANIFEST_PARAMETER, value: latestDatasetKey(args.model) }],
                    },
                },
                child,
            );
        }

        this.dashboardModel = {
            model: args.model,
            endpointName: args.endpointName,
            scheduleName,
            engine,
            thresholds,
            monitoringPipelineName,
        };

        this.registerOutputs({
            engine: this.engine,
            scheduleName: this.scheduleName,
            pipelineName: this.pipelineName,
            alarmNames: this.alarmNames,
        });
    }
}

/** The monitoring pipeline's window parameters; "auto" (the default) lets the job derive the window. */
export const WINDOW_PARAMETERS = { start: "StartTime", end: "EndTime" } as const;
export const MONITOR_STEP_NAME = "Monitor";

function defaultMaxRuntime(period: MonitoringPeriod): number {
    return period === "hourly" ? 50 * 60 : 4 * 3600;
}

/** Windows in a row without a verdict before the not-judged alarm fires, when the model does not say. */
const DEFAULT_UNJUDGED_PERIODS = 3;
/** The job's own default (jobs/monitor/sample.ts DEFAULT_IMAGE_SAMPLE), for components built without config defaults. */
const DEFAULT_IMAGE_SAMPLE_SIZE = 2000;

function checkAlarmRange(model: string, key: string, period: MonitoringPeriod, n: number): void {
    if (n * PERIOD_SECONDS[period] > MAX_ALARM_RANGE_SECONDS)
        throw new Error(
            `models.${model}.monitoring.${key}: ${n} ${period} periods is more than CloudWatch's 7-day alarm range; ` +
                `use at most ${Math.floor(MAX_ALARM_RANGE_SECONDS / PERIOD_SECONDS[period])} with a ${period} schedule`,
        );
}

/**
 * EventBridge Scheduler expression: ten minutes past each hour (or half past midnight UTC), so SageMaker has
 * finished writing the previous period's capture files when the job reads them.
 */
export function schedulerExpression(period: MonitoringPeriod): string {
    return period === "hourly" ? "cron(10 * * * ? *)" : "cron(30 0 * * ? *)";
}

/** Model Monitor's own expressions; it starts each run within its first 20 minutes and passes the window. */
export function modelMonitorExpression(period: MonitoringPeriod): string {
    return period === "hourly" ? "cron(0 * ? * * *)" : "cron(0 0 ? * * *)";
}

export interface MonitorJobInput {
    readonly model: string;
    readonly endpointName: string;
    readonly period: MonitoringPeriod;
    readonly roleArn: string;
    readonly captureBucket: string;
    readonly baselineUri: string;
    readonly kmsKeyArn: string;
    readonly jobsImageUri: string;
    readonly instanceType: string;
    readonly volumeSizeGb: number;
    readonly maxRuntimeSeconds: number;
    /** `encodeMonitorThresholds` of the model's thresholds. */
    readonly thresholdsJson: string;
    /** Images decoded per window at most. */
    readonly imageSampleSize: number;
    /** Processing instances (pipeline engine): above 1, a sharded run (list, monitor on N instances, merge). */
    readonly instanceCount: number;
    /** The model's number of classes, when known. */
    readonly classCount?: number;
}

/** Flags every engine passes the job: the image sample, the claim's lease (the job's time limit), the class count. */
function commonJobFlags(i: MonitorJobInput): string[] {
    return [
        "--image-sample",
        String(i.imageSampleSize),
        "--claim-lease",
        String(i.maxRuntimeSeconds),
        ...(i.classCount !== undefined ? ["--class-count", String(i.classCount)] : []),
    ];
}

/** `s3://<capture bucket>/<model>/monitoring/<endpoint>/<schedule>/`: runs add `yyyy/mm/dd/hh/` (MONITORING_OUTPUT_FILES). */
export function monitoringOutputUri(captureBucket: string, model: string, endpoint: string, schedule: string): string {
    return `s3://${captureBucket}/${prefixes.monitoringModel(model)}${endpoint}/${schedule}/`;
}

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
export function monitoringPipelineDefinition(i: MonitorJobInput & { readonly scheduleName: string }): PipelineDefinition {
    const p = new PipelineBuilder();
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
        monitoringNamespace("pipeline"),
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

export interface MonitorPolicyInput {
    readonly engine: MonitoringEngine;
    readonly model: string;
    readonly region: string;
    readonly accountId: string;
    readonly roleArn: string;
    readonly captureBucket: string;
    readonly baselineUri: string;
    readonly kmsKeyArn: string;
    /** Defaults to kmsKeyArn. */
    readonly baselineKmsKeyArn?: string;
    readonly repositoryArn: string;
}

/**
 * The monitor job's role: read the model's capture and ground-truth prefixes and its baseline object, write (never delete) its
 * monitoring prefix, use the data key, pull the jobs image, log, and publish metrics to its namespace only.
 * The pipeline engine's role also runs the pipeline, so it may create processing jobs named by SageMaker
 * Pipelines and pass itself to them.
 */
export function monitorJobPolicy(i: MonitorPolicyInput): PolicyDocument {
    const capture = s3BucketArn(i.captureBucket);
    const baseline = parseS3Uri(i.baselineUri);
    const statements = [
        // The monitoring prefix is read too: the window's claim and completion record, and a sharded run's work files.
        s3ReadStatements([
            {
                bucketArn: capture,
                prefixes: [prefixes.captureModel(i.model), groundTruthPrefix(i.model), prefixes.monitoringModel(i.model)],
            },
            { bucketArn: s3BucketArn(baseline.bucket), prefixes: [baseline.key] },
        ]),
        s3WriteStatements([{ bucketArn: capture, prefixes: [prefixes.monitoringModel(i.model)] }]),
        kmsUseStatement(i.kmsKeyArn, { grants: true }),
        i.baselineKmsKeyArn && i.baselineKmsKeyArn !== i.kmsKeyArn ? kmsUseStatement(i.baselineKmsKeyArn, { sid: "BaselineKey" }) : [],
        ecrPullStatements(i.repositoryArn),
        sagemakerLogsStatement(i.region, i.accountId),
        putMetricDataStatement([monitoringNamespace(i.engine)]),
    ];
    if (i.engine === "pipeline")
        statements.push(
            [
                sagemakerStatement(
                    ["CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob", "AddTags"],
                    [sagemakerArn(i.region, i.accountId, "processing-job", "pipelines-*")],
                    "PipelineProcessingJobs",
                ),
            ],
            [passRoleStatement(i.roleArn)],
        );
    return policyDocument(...statements);
}

/** StartPipelineExecution of one pipeline: the Scheduler role (monitoring) and the EventBridge role (retraining). */
export function startPipelinePolicy(pipelineArn: string): PolicyDocument {
    return policyDocument(sagemakerStatement(["StartPipelineExecution"], [pipelineArn], "StartPipeline"));
}

/** Matches the persistent-drift alarm entering ALARM. */
export function retrainEventPattern(alarmArn: string): Record<string, unknown> {
    return {
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        resources: [alarmArn],
        detail: { state: { value: ["ALARM"] } },
    };
}

export interface AlarmSpec {
    /** Child resource suffix. */
    readonly id: string;
    readonly name: string;
    readonly description: string;
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Record<string, string>;
    readonly statistic: "Maximum" | "Sum";
    readonly period: number;
    readonly evaluationPeriods: number;
    readonly comparisonOperator: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold";
    readonly threshold: number;
    /** Defaults to notBreaching. */
    readonly treatMissingData?: "breaching" | "notBreaching";
}

export interface AlarmInput {
    readonly engine: MonitoringEngine;
    readonly model: string;
    readonly endpointName: string;
    readonly scheduleName: string;
    readonly period: MonitoringPeriod;
    readonly thresholds: MonitorThresholds;
    readonly retrainAfterPeriods?: number;
    /** Periods in a row without a verdict before the not-judged alarm fires. Defaults to 3. */
    readonly unjudgedPeriods?: number;
    readonly monitoringPipelineName?: string;
}

/**
 * Alarms on what the job concluded (it publishes drift metrics only for windows with enough records, so
 * missing data is "not breaching"): drift, low-confidence rate, undecodable payloads, image types never
 * seen in training, accuracy drop; for the pipeline engine also failed monitoring runs, since a monitor
 * that stopped running would otherwise look healthy; with retraining, drift in N consecutive runs.
 */
export function monitorAlarmSpecs(i: AlarmInput): AlarmSpec[] {
    const namespace = monitoringNamespace(i.engine);
    const dimensions = { Endpoint: i.endpointName, MonitoringSchedule: i.scheduleName };
    const period = PERIOD_SECONDS[i.period];
    const t = i.thresholds;
    const M = MONITORING_METRICS;
    const spec = (
        id: string,
        metricName: string,
        comparisonOperator: AlarmSpec["comparisonOperator"],
        threshold: number,
        description: string,
        evaluationPeriods = 1,
    ): AlarmSpec => ({
        id,
        name: `${i.scheduleName}-${id}`,
        description: `${i.model}: ${description}`,
        namespace,
        metricName,
        dimensions,
        statistic: "Maximum",
        period,
        evaluationPeriods,
        comparisonOperator,
        threshold,
    });
    const specs: AlarmSpec[] = [
        spec(
            "drift",
            M.driftDetected,
            "GreaterThanOrEqualToThreshold",
            1,
            "the monitor found drift in predicted classes, confidence or image properties; see report.html of the run",
        ),
        spec(
            "low-confidence",
            M.lowConfidenceRate,
            "GreaterThanThreshold",
            t.lowConfidenceRate,
            `more than ${t.lowConfidenceRate * 100}% of predictions are below confidence ${t.confidenceThreshold}`,
        ),
        spec(
            "decode-errors",
            M.decodeErrorRate,
            "GreaterThanThreshold",
            t.decodeErrorRate,
            `more than ${t.decodeErrorRate * 100}% of captured requests could not be decoded`,
        ),
        spec(
            "unseen-content-types",
            M.unseenContentTypes,
            "GreaterThanOrEqualToThreshold",
            1,
            "requests carry image types never seen in training",
        ),
        {
            // Published by every run; missing data counts too, since a monitor that stopped running judges nothing.
            ...spec(
                "not-judged",
                M.notJudged,
                "GreaterThanOrEqualToThreshold",
                1,
                `${i.unjudgedPeriods ?? DEFAULT_UNJUDGED_PERIODS} ${i.period} monitoring runs in a row judged nothing (no or too few ` +
                    "captured records, or no run at all): check the endpoint's data capture and the monitoring schedule",
                i.unjudgedPeriods ?? DEFAULT_UNJUDGED_PERIODS,
            ),
            treatMissingData: "breaching",
        },
    ];
    // Model Monitor's inline job definition has no ground-truth input and its network isolation keeps the job off
    // S3, so only the pipeline engine measures accuracy; an alarm that could never fire is left out.
    if (i.engine === "pipeline")
        specs.push(
            spec(
                "accuracy-drop",
                M.accuracyDrop,
                "GreaterThanThreshold",
                t.accuracyDrop,
                `accuracy on labelled traffic fell more than ${t.accuracyDrop} below the evaluation baseline`,
            ),
        );
    if (i.engine === "pipeline" && i.monitoringPipelineName)
        specs.push({
            id: "run-failed",
            name: `${i.scheduleName}-run-failed`,
            description: `${i.model}: a monitoring pipeline run failed`,
            namespace: "AWS/Sagemaker/ModelBuildingPipeline",
            metricName: "ExecutionFailed",
            dimensions: { PipelineName: i.monitoringPipelineName },
            statistic: "Sum",
            period,
            evaluationPeriods: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: 1,
        });
    if (i.retrainAfterPeriods !== undefined)
        specs.push(
            spec(
                "drift-persistent",
                M.driftDetected,
                "GreaterThanOrEqualToThreshold",
                1,
                `drift in ${i.retrainAfterPeriods} consecutive ${i.period} runs; the training pipeline is started`,
                i.retrainAfterPeriods,
            ),
        );
    return specs;
}
