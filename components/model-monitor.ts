import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { eventRuleArn, iamRoleArn, PIPELINE_GENERATED, sagemakerArn, scheduleGroupArn, ServiceTrust } from "../infra/iam";
import { encodeMonitorThresholds, monitoringNamespace, MonitorThresholds } from "../infra/job-contract";
import { monitorAlarmSpecs, retrainEventPattern } from "../infra/monitoring/alarms";
import { monitoringScheduleConfig } from "../infra/monitoring/model-monitor-engine";
import { monitoringPipelineDefinition } from "../infra/monitoring/pipeline-engine";
import { monitorJobPolicy, startPipelinePolicy } from "../infra/monitoring/policy";
import {
    DEFAULT_IMAGE_SAMPLE_SIZE,
    DEFAULT_MONITOR_INSTANCE,
    DEFAULT_MONITOR_VOLUME_GB,
    DEFAULT_UNJUDGED_PERIODS,
    defaultMaxRuntime,
    formatMonitoringLimitProblems,
    monitoringLimitProblems,
    MonitoringEngine,
    MonitoringPeriod,
    schedulerExpression,
    WINDOW_PARAMETERS,
} from "../infra/monitoring/schedule";
import { Environment, iamName, monitoringScheduleName, pipelineName } from "../infra/naming";
import { BATCH_MANIFEST_PARAMETER, latestDatasetKey } from "../infra/pipeline/image-classification";
import type { DashboardModel } from "./dashboard";
import { ServiceRole } from "./service-role";

export interface ModelMonitorArgs {
    /** Environment name; part of every physical name. */
    readonly environment: Environment;
    /** Model name; scopes the capture and monitoring prefixes and names the children. */
    readonly model: string;
    /** How often a window is judged. */
    readonly schedule: MonitoringPeriod;
    /** What the job judges by: the drift thresholds and the inference confidence threshold. */
    readonly thresholds: MonitorThresholds;
    /** Images decoded per window at most (a uniform sample). Defaults to 2000. */
    readonly imageSampleSize?: number;
    /** Processing instances per run (pipeline engine only); above 1 the window is sharded and merged. Defaults to 1. */
    readonly instanceCount?: number;
    /** Runs in a row that judge nothing before the not-judged alarm fires. Defaults to 3. */
    readonly unjudgedPeriods?: number;
    /**
     * Start this training pipeline when drift persists for `afterPeriods` runs in a row. None by default: no
     * persistent-drift alarm, since nothing would act on it (prod, which trains nothing).
     */
    readonly retrainOnDrift?: { readonly afterPeriods: number; readonly trainingPipelineArn: pulumi.Input<string> };
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
    /** Instance for the monitor job. Defaults to ml.m5.large. */
    readonly instanceType?: string;
    /** Job volume in GiB. Defaults to 30. */
    readonly volumeSizeGb?: number;
    /** Job time limit. Defaults to 50 minutes for hourly schedules (Model Monitor allows at most an hour) and 4 hours for daily. */
    readonly maxRuntimeSeconds?: number;
}

/**
 * Monitoring of one model endpoint with the image-aware monitor job, by either engine:
 * - `pipeline` (default): a one-step SageMaker Pipeline running the job, started by an EventBridge Scheduler
 *   schedule. Scheduler's SageMaker target passes only fixed parameter values, so it passes
 *   `StartTime=auto`/`EndTime=auto` and the job derives the window (the previous whole hour or day) from the
 *   execution's start time; an operator re-runs any window by starting the pipeline with explicit times.
 *   The job publishes its metrics with PutMetricData to the endpoint's own namespace and uploads its outputs
 *   to the monitoring prefix; it reads ground-truth labels from `<model>/ground-truth/yyyy/mm/dd/hh/` and
 *   reports model quality.
 * - `model-monitor`: a MonitoringSchedule with an inline bring-your-own-container job definition running the
 *   same image, with network isolation, inter-container encryption and KMS on output and volume; Model
 *   Monitor mounts the window's capture data and publishes the job's metric files.
 * Both: alarms on the job's verdicts to the alert topic, and with `retrainOnDrift` a rule that starts the
 * training pipeline when drift persists. The builders are in infra/monitoring/, one per engine.
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
        const period = args.schedule;
        const instanceType = args.instanceType ?? DEFAULT_MONITOR_INSTANCE;
        const volumeSizeGb = args.volumeSizeGb ?? DEFAULT_MONITOR_VOLUME_GB;
        const maxRuntimeSeconds = args.maxRuntimeSeconds ?? defaultMaxRuntime(period);
        const thresholds = args.thresholds;
        const thresholdsJson = encodeMonitorThresholds(thresholds);
        const retrain = args.retrainOnDrift;
        const unjudgedPeriods = args.unjudgedPeriods ?? DEFAULT_UNJUDGED_PERIODS;
        const instanceCount = args.instanceCount ?? 1;
        // The stack config reports these with every other problem; a program without one still gets them.
        const problems = monitoringLimitProblems({
            engine,
            period,
            retrainAfterPeriods: retrain?.afterPeriods,
            unjudgedPeriods,
            instanceCount,
            maxRuntimeSeconds,
        });
        if (problems.length) throw new Error(`ModelMonitor ${name} (${args.model}): ${formatMonitoringLimitProblems(problems)}`);
        const namespace = monitoringNamespace(engine, args.endpointName);
        const sampling = {
            imageSampleSize: args.imageSampleSize ?? DEFAULT_IMAGE_SAMPLE_SIZE,
            instanceCount,
            classCount: args.classCount,
        };
        this.engine = engine;
        this.scheduleName = monitoringScheduleName(args.environment, args.model);
        const scheduleName = this.scheduleName;
        const monitoringPipelineName = engine === "pipeline" ? pipelineName(args.environment, args.model, "monitoring") : undefined;
        this.pipelineName = monitoringPipelineName;

        const roleName = iamName(args.environment, args.model, "monitor");
        const jobInputs = pulumi.all({
            accountId: args.accountId,
            captureBucket: args.captureBucket,
            baselineUri: args.monitoringBaselineUri,
            kmsKeyArn: args.kmsKeyArn,
            baselineKmsKeyArn: args.baselineKmsKeyArn ?? args.kmsKeyArn,
            repositoryArn: args.jobsRepositoryArn,
        });
        const jobRole = new ServiceRole(
            `${name}-role`,
            {
                roleName,
                description: `Runs the ${engine} monitor job of ${args.model}`,
                // The pipeline runs the job in processing jobs it names pipelines-*; Model Monitor names its own model-monitoring-*.
                trust: jobInputs.apply(({ accountId }): ServiceTrust[] => [
                    {
                        service: "sagemaker.amazonaws.com",
                        sourceAccount: accountId,
                        sourceArns:
                            engine === "pipeline"
                                ? [
                                      sagemakerArn(args.region, accountId, "pipeline", monitoringPipelineName!),
                                      sagemakerArn(args.region, accountId, "pipeline", `${monitoringPipelineName!}/execution/*`),
                                      sagemakerArn(args.region, accountId, "processing-job", PIPELINE_GENERATED),
                                  ]
                                : [
                                      sagemakerArn(args.region, accountId, "monitoring-schedule", scheduleName),
                                      sagemakerArn(args.region, accountId, "processing-job", "model-monitoring-*"),
                                  ],
                    },
                ]),
                policy: jobInputs.apply(({ accountId, captureBucket, baselineUri, kmsKeyArn, baselineKmsKeyArn, repositoryArn }) =>
                    monitorJobPolicy({
                        engine,
                        model: args.model,
                        region: args.region,
                        accountId,
                        roleArn: iamRoleArn(accountId, roleName),
                        captureBucket,
                        baselineUri,
                        kmsKeyArn,
                        baselineKmsKeyArn,
                        repositoryArn,
                        metricsNamespace: namespace,
                        pipelineName: monitoringPipelineName,
                    }),
                ),
            },
            child,
        );
        this.role = jobRole.role;

        const job = pulumi.all({
            roleArn: jobRole.arn,
            captureBucket: args.captureBucket,
            baselineUri: args.monitoringBaselineUri,
            kmsKeyArn: args.kmsKeyArn,
            jobsImageUri: args.jobsImageUri,
        });
        if (engine === "pipeline") {
            this.pipeline = new aws.sagemaker.Pipeline(
                `${name}-pipeline`,
                {
                    pipelineName: monitoringPipelineName!,
                    pipelineDisplayName: monitoringPipelineName!,
                    pipelineDescription: `Image-aware monitoring of ${args.endpointName}, ${period}`,
                    roleArn: jobRole.arn,
                    pipelineDefinition: job.apply(({ roleArn, captureBucket, baselineUri, kmsKeyArn, jobsImageUri }) =>
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
                                metricsNamespace: namespace,
                                pipelineName: monitoringPipelineName!,
                                ...sampling,
                            }),
                        ),
                    ),
                },
                child,
            );
            const pipelineArn = this.pipeline.arn;
            const schedulerRole = new ServiceRole(
                `${name}-scheduler-role`,
                {
                    roleName: iamName(args.environment, args.model, "monitor-scheduler"),
                    description: `Lets EventBridge Scheduler start the monitoring pipeline of ${args.model}`,
                    // Scheduler sends the schedule group as the source ARN; the schedule is in the default group.
                    trust: pulumi.output(args.accountId).apply((accountId): ServiceTrust[] => [
                        {
                            service: "scheduler.amazonaws.com",
                            sourceAccount: accountId,
                            sourceArns: [scheduleGroupArn(args.region, accountId)],
                        },
                    ]),
                    policy: pipelineArn.apply((arn) => startPipelinePolicy(arn)),
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
                    monitoringScheduleConfig: job.apply(({ roleArn, captureBucket, baselineUri, kmsKeyArn, jobsImageUri }) =>
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
            namespace,
            retrainAfterPeriods: retrain?.afterPeriods,
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

        if (retrain) {
            const persistent = this.alarms[specs.findIndex((s) => s.id === "drift-persistent")];
            const ruleName = iamName(args.environment, args.model, "retrain-on-drift");
            this.retrainRule = new aws.cloudwatch.EventRule(
                `${name}-retrain`,
                {
                    name: ruleName,
                    description: `Starts the training pipeline of ${args.model} when drift persists for ${retrain.afterPeriods} ${period} runs`,
                    eventPattern: persistent.arn.apply((arn) => JSON.stringify(retrainEventPattern(arn))),
                },
                child,
            );
            const retrainRole = new ServiceRole(
                `${name}-retrain-role`,
                {
                    roleName: iamName(args.environment, args.model, "retrain-on-drift"),
                    description: `Lets EventBridge start the training pipeline of ${args.model}`,
                    trust: pulumi.output(args.accountId).apply((accountId): ServiceTrust[] => [
                        {
                            service: "events.amazonaws.com",
                            sourceAccount: accountId,
                            sourceArns: [eventRuleArn(args.region, accountId, ruleName)],
                        },
                    ]),
                    policy: pulumi.output(retrain.trainingPipelineArn).apply((arn) => startPipelinePolicy(arn)),
                },
                child,
            );
            // EventBridge passes fixed values only: the pointer to the newest complete dataset, which the training
            // pipeline's Dataset step resolves to a manifest when the run starts.
            new aws.cloudwatch.EventTarget(
                `${name}-retrain-target`,
                {
                    rule: this.retrainRule.name,
                    arn: retrain.trainingPipelineArn,
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
