import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EndpointFleet } from "../infra/endpoint-serving";
import type { MonitoringEngine } from "../infra/monitoring/schedule";
import { BucketPurpose, bucketName, endpointName, Environment, modelPackageGroupName, pipelineName } from "../infra/naming";
import { TrainingModelSettings } from "../infra/pipeline/training-model";
import { CatalogModel } from "../infra/prediction-api";
import { SERVED_PACKAGES_OUTPUT, ServedPackage } from "../infra/promotion";
import { modelTags, platformTags } from "../infra/tags";
import type { SiteFile } from "../web/build";
import { Alerts } from "./alerts";
import { CostBudget, CostBudgetArgs } from "./cost-budget";
import { Dashboard, DashboardModel } from "./dashboard";
import { DataLake } from "./data-lake";
import { InferenceWorkflow, InferenceWorkflowArgs } from "./inference-workflow";
import { JobsImage } from "./jobs-image";
import { LogsKey } from "./logs-key";
import { ModelEndpoint } from "./model-endpoint";
import { ModelMonitor, ModelMonitorArgs } from "./model-monitor";
import { PredictionApp } from "./prediction-app";
import { TrainingPipeline } from "./training-pipeline";

/** One model of the platform: what it is, whether it trains here, what it serves and how it is watched. */
export interface PlatformModel {
    /** What the model is (classes, image shape, description) and what its training pipeline trains, judges and registers. */
    readonly settings: TrainingModelSettings;
    /**
     * Train the model here: a training pipeline, started by ingested batches and, with `retrainSchedule`, on a
     * schedule. Absent: the platform serves packages another stack trained (prod serves what staging trained).
     */
    readonly training?: { readonly retrainSchedule?: string };
    /** The package the endpoint serves. Absent: no endpoint, monitor or inference workflow yet. */
    readonly served?: ServedPackage;
    /** Why that package is served (newest, pinned, promoted, kept), or why there is no endpoint; reported in the outputs. */
    readonly servingNote: string;
    /** A package that waits for approval before this platform serves it; reported in the outputs. Defaults to none. */
    readonly awaitingApproval?: string;
    /** Instance type and count, autoscaling and the latency alarm of the endpoint. */
    readonly endpoint: EndpointFleet;
    /** Share of requests the endpoint captures, in percent. */
    readonly capturePercent: number;
    /** How often and by what the monitor judges captured traffic. */
    readonly monitoring: Pick<ModelMonitorArgs, "schedule" | "thresholds" | "imageSampleSize" | "instanceCount" | "unjudgedPeriods"> & {
        /** Periods of persistent drift after which the training pipeline is started; only where the model trains. Defaults to never. */
        readonly retrainAfterPeriods?: number;
    };
    /** The inference workflow's confidence rule and review loop. */
    readonly inference: Pick<
        InferenceWorkflowArgs,
        | "confidenceThreshold"
        | "confidenceMargin"
        | "topK"
        | "reviewTimeoutSeconds"
        | "reviewHeartbeatSeconds"
        | "reviewBatchSize"
        | "reviewBatchSchedule"
        | "triggerPrefix"
        | "lowConfidenceAlarmRate"
    >;
}

export interface PlatformArgs {
    /** Environment name: part of every physical name, and the `environment` tag. */
    readonly environment: Environment;
    /** Region every resource is declared in (the page's web ACL excepted: CloudFront's live in us-east-1). */
    readonly region: string;
    /** Tags on every resource, besides the platform's own. Defaults to none. */
    readonly tags?: Readonly<Record<string, string>>;
    /** Addresses the alert topic sends to by e-mail. Defaults to none. */
    readonly alertEmails?: readonly string[];
    /** A monthly cost budget that alerts to the alert topic. Defaults to none. */
    readonly budget?: Pick<CostBudgetArgs, "monthlyUsd" | "alertAtPercent" | "filter">;
    /** The models, by name. */
    readonly models: Readonly<Record<string, PlatformModel>>;
    /** Refuse to delete or replace the data lake's key and buckets and the model registry (`protect`). Defaults to false. */
    readonly protect?: boolean;
    /** Keep the data lake's key and buckets in AWS when they leave the program (`retainOnDelete`). Defaults to false. */
    readonly retainOnDelete?: boolean;
    /**
     * How endpoints deploy a package: `package` (by ARN; SageMaker takes versioned packages only once Approved) or
     * `artifacts` (its image and model data, so candidates can be served). Defaults to `artifacts`.
     */
    readonly deployFrom?: "package" | "artifacts";
    /** Endpoint updates shift traffic through a canary and roll back on the endpoint's alarms. Defaults to false. */
    readonly blueGreen?: boolean;
    /** Which scheduler runs the monitor job. */
    readonly monitoringEngine: MonitoringEngine;
    /**
     * The key of the stack that trained the served packages, when that is another stack: endpoints decrypt its
     * artifacts and monitors read its baselines with it. Defaults to none (the packages are this stack's own).
     */
    readonly sourceDataKeyArn?: string;
    /** Commit the stack is deployed from; recorded with registered models. Defaults to none. */
    readonly gitCommit?: string;
    /** The prediction page and its API. */
    readonly web: {
        /** The page's files, built from `web/`. */
        readonly site: { readonly files: readonly SiteFile[]; readonly version: string };
        /** Open to anyone behind a WAF rate limit instead of Cognito sign-in. Defaults to false. */
        readonly public?: boolean;
        readonly rateLimit?: number;
        readonly burstLimit?: number;
        readonly wafRequestsPer5Minutes?: number;
        /** A line the page shows above everything, e.g. that staging's models are candidates. Defaults to none. */
        readonly banner?: string;
        /** Refuse to delete the page's user pool. Defaults to false. */
        readonly deletionProtection?: boolean;
    };
}

/** Everything one stack exports. */
export interface PlatformOutputs {
    readonly environment: string;
    readonly region: string;
    readonly dataKeyArn: pulumi.Output<string>;
    readonly buckets: pulumi.Output<Record<BucketPurpose, string>>;
    readonly alertTopicArn: pulumi.Output<string>;
    readonly dashboardName: pulumi.Output<string>;
    /** The prediction page (and its API under `/api/`). */
    readonly predictionPageUrl: pulumi.Output<string>;
    /** The page's user pool, where people are invited (`aws cognito-idp admin-create-user`); null when `web.public`. */
    readonly predictionUserPoolId: pulumi.Output<string> | null;
    /** Per model, the package its endpoint serves (prod promotes from staging's). */
    readonly [SERVED_PACKAGES_OUTPUT]: Record<string, pulumi.Output<string> | null>;
    readonly models: Record<string, ModelOutputs>;
}

export interface ModelOutputs {
    readonly modelPackageGroup: string;
    readonly servedPackage: pulumi.Output<string> | null;
    /** Why the package is served (newest, pinned, promoted, kept), or why there is no endpoint yet. */
    readonly serving: string;
    /** Prod: staging's package when prod does not take it because it is not Approved (yet). */
    readonly awaitingApproval: string | null;
    readonly endpointName: pulumi.Output<string> | null;
    readonly captureS3Uri: pulumi.Output<string> | null;
    /** Where the model trains: the pipeline that trains and registers it. */
    readonly trainingPipelineName: pulumi.Output<string> | null;
    /** The monitoring schedule (both engines name their runs after it), when the model is served. */
    readonly monitoringSchedule: string | null;
}

/**
 * The platform for one environment, under one root component so the whole stack reads as one tree: the data
 * lake, alerts, budget and jobs image; per model its training pipeline, endpoint, monitor and inference
 * workflow; the dashboard and the prediction page. It reads no stack config: the program (stacks/) maps the
 * config and the environment onto these args.
 */
export class Platform extends pulumi.ComponentResource {
    public readonly provider: aws.Provider;
    public readonly lake: DataLake;
    public readonly alerts: Alerts;
    /** Encrypts the log groups of the stack's Lambda functions and state machines. */
    public readonly logsKey: LogsKey;
    public readonly jobsImage: JobsImage;
    /** The models that train here (staging): prod serves what staging trained and a person approved. */
    public readonly trainingPipelines: Record<string, TrainingPipeline>;
    public readonly endpoints: Record<string, ModelEndpoint>;
    public readonly monitors: Record<string, ModelMonitor>;
    /** One per served model: classification by S3 URI, and the review loop back into training. */
    public readonly inferenceWorkflows: Record<string, InferenceWorkflow>;
    public readonly dashboard: Dashboard;
    public readonly predictionApp: PredictionApp;
    public readonly outputs: PlatformOutputs;

    constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        // The type token is the one the platform was first deployed with: every URN of the stack starts with it.
        super("vision-mlops:stack:Platform", name, {}, opts);
        const env = args.environment;
        this.provider = new aws.Provider(
            `${name}-aws`,
            {
                region: args.region as aws.Region,
                defaultTags: { tags: platformTags(env, args.tags) },
            },
            { parent: this },
        );
        const inRegion = { parent: this, providers: [this.provider] };
        const account = aws.getCallerIdentityOutput({}, { parent: this, provider: this.provider }).accountId;

        this.lake = new DataLake(
            `${name}-lake`,
            { environment: env, accountId: account, region: args.region, protect: args.protect, retainOnDelete: args.retainOnDelete },
            inRegion,
        );
        this.logsKey = new LogsKey(
            `${name}-logs`,
            { aliasName: `vision-mlops-${env}-logs`, accountId: account, region: args.region },
            inRegion,
        );
        this.alerts = new Alerts(
            `${name}-alerts`,
            { environment: env, kmsKeyArn: this.lake.key.arn, accountId: account, emails: args.alertEmails },
            inRegion,
        );

        if (args.budget) {
            new CostBudget(
                `${name}-budget`,
                { environment: env, ...args.budget, alertTopicArn: this.alerts.topicArn, region: args.region },
                inRegion,
            );
        }

        this.jobsImage = new JobsImage(`${name}-jobs`, { environment: env, kmsKeyArn: this.lake.key.arn }, inRegion);

        this.trainingPipelines = {};
        this.endpoints = {};
        this.monitors = {};
        this.inferenceWorkflows = {};
        const dashboardModels: pulumi.Input<DashboardModel>[] = [];
        const models: Record<string, ModelOutputs> = {};
        for (const [model, m] of Object.entries(args.models)) {
            // One provider per model so every resource of the model also carries its `model` tag.
            const tags = { ...platformTags(env, args.tags), ...modelTags(model) };
            const modelProvider = new aws.Provider(
                `${name}-${model}-aws`,
                { region: args.region as aws.Region, defaultTags: { tags } },
                { parent: this },
            );
            const inModel = { parent: this, providers: [modelProvider] };
            const training =
                m.training &&
                new TrainingPipeline(
                    `${name}-${model}-training`,
                    {
                        environment: env,
                        model,
                        settings: m.settings,
                        retrainSchedule: m.training.retrainSchedule,
                        protectRegistry: args.protect ?? false,
                        buckets: {
                            raw: this.lake.raw.bucketName,
                            curated: this.lake.curated.bucketName,
                            artifacts: this.lake.artifacts.bucketName,
                        },
                        kmsKeyArn: this.lake.key.arn,
                        jobsImageUri: this.jobsImage.imageUri,
                        jobsRepositoryArn: this.jobsImage.repositoryArn,
                        accountId: account,
                        region: args.region,
                        gitCommit: args.gitCommit,
                        alarmTopicArn: this.alerts.topicArn,
                    },
                    inModel,
                );
            if (training) this.trainingPipelines[model] = training;
            const pkg = m.served;
            const endpoint =
                pkg &&
                new ModelEndpoint(
                    `${name}-${model}`,
                    {
                        environment: env,
                        model,
                        endpoint: m.endpoint,
                        capturePercent: m.capturePercent,
                        modelPackageArn: pkg.packageArn,
                        deployFrom: args.deployFrom ?? "artifacts",
                        modelDataUrl: requirePackageField(model, pkg, "modelDataUrl"),
                        servingImage: requirePackageField(model, pkg, "image"),
                        kmsKeyArn: this.lake.key.arn,
                        modelDataKmsKeyArn: args.sourceDataKeyArn,
                        captureBucket: this.lake.capture.bucketName,
                        alarmTopicArn: this.alerts.topicArn,
                        accountId: account,
                        region: args.region,
                        blueGreen: args.blueGreen ?? false,
                        tags,
                    },
                    inModel,
                );
            if (endpoint) this.endpoints[model] = endpoint;
            const { retrainAfterPeriods, ...monitoring } = m.monitoring;
            const monitor =
                endpoint &&
                new ModelMonitor(
                    `${name}-${model}-monitor`,
                    {
                        environment: env,
                        model,
                        ...monitoring,
                        // Retraining is wired only where the model trains: elsewhere drift raises alarms, never a retraining it cannot start.
                        retrainOnDrift:
                            training && retrainAfterPeriods !== undefined
                                ? { afterPeriods: retrainAfterPeriods, trainingPipelineArn: training.pipelineArn }
                                : undefined,
                        classCount: m.settings.classes.length,
                        engine: args.monitoringEngine,
                        endpointName: endpointName(env, model),
                        captureBucket: this.lake.capture.bucketName,
                        kmsKeyArn: this.lake.key.arn,
                        monitoringBaselineUri: requirePackageField(model, pkg, "monitoringBaselineUri"),
                        baselineKmsKeyArn: args.sourceDataKeyArn,
                        jobsImageUri: this.jobsImage.imageUri,
                        jobsRepositoryArn: this.jobsImage.repositoryArn,
                        alarmTopicArn: this.alerts.topicArn,
                        accountId: account,
                        region: args.region,
                    },
                    { ...inModel, dependsOn: [endpoint.endpoint] },
                );
            if (monitor) this.monitors[model] = monitor;
            const workflow =
                endpoint &&
                pkg &&
                new InferenceWorkflow(
                    `${name}-${model}-inference`,
                    {
                        environment: env,
                        model,
                        classes: m.settings.classes,
                        endpointName: endpointName(env, model),
                        modelPackageArn: pkg.packageArn,
                        ...m.inference,
                        rawBucket: this.lake.raw.bucketName,
                        dataKeyArn: this.lake.key.arn,
                        logsKmsKeyArn: this.logsKey.arn,
                        alarmTopicArn: this.alerts.topicArn,
                        accountId: account,
                        region: args.region,
                    },
                    { ...inModel, dependsOn: [endpoint.endpoint] },
                );
            if (workflow) this.inferenceWorkflows[model] = workflow;
            if (monitor) {
                const row: DashboardModel = {
                    ...monitor.dashboardModel,
                    trainingPipelineName: training ? pipelineName(env, model, "training") : undefined,
                };
                dashboardModels.push(
                    workflow
                        ? workflow.stateMachineArn.apply((stateMachineArn) => ({
                              ...row,
                              inference: { environment: env, stateMachineArn },
                          }))
                        : row,
                );
            }
            models[model] = {
                modelPackageGroup: modelPackageGroupName("staging", model),
                servedPackage: endpoint?.modelPackageArn ?? null,
                serving: m.servingNote,
                awaitingApproval: m.awaitingApproval ?? null,
                endpointName: endpoint?.endpointName ?? null,
                captureS3Uri: endpoint?.captureS3Uri ?? null,
                trainingPipelineName: training?.pipelineName ?? null,
                monitoringSchedule: monitor?.scheduleName ?? null,
            };
        }

        const web = args.web;
        this.predictionApp = new PredictionApp(
            `${name}-web`,
            {
                environment: env,
                accountId: account,
                region: args.region,
                models: servedModels(env, args.models, this.endpoints),
                site: web.site,
                banner: web.banner,
                siteBucketName: account.apply((a) => bucketName(env, "site", a, args.region)),
                accessLogs: { bucket: this.lake.logs.bucket.id, prefix: "site/", dependsOn: this.lake.logs.policy },
                reviewBucket: { bucketName: this.lake.raw.bucketName, kmsKeyArn: this.lake.key.arn },
                logsKmsKeyArn: this.logsKey.arn,
                public: web.public,
                throttle: { rateLimit: web.rateLimit, burstLimit: web.burstLimit },
                wafRequestsPer5Minutes: web.wafRequestsPer5Minutes,
                // CloudFront's web ACLs live in us-east-1, whatever the stack's region.
                globalProvider: web.public
                    ? new aws.Provider(
                          `${name}-aws-global`,
                          { region: "us-east-1", defaultTags: { tags: platformTags(env, args.tags) } },
                          { parent: this },
                      )
                    : undefined,
                deletionProtection: web.deletionProtection ?? false,
            },
            inRegion,
        );

        this.dashboard = new Dashboard(`${name}-dashboard`, { environment: env, region: args.region, models: dashboardModels }, inRegion);

        this.outputs = {
            environment: env,
            region: args.region,
            dataKeyArn: this.lake.key.arn,
            buckets: this.lake.bucketNames,
            alertTopicArn: this.alerts.topicArn,
            dashboardName: this.dashboard.dashboardName,
            predictionPageUrl: this.predictionApp.url,
            predictionUserPoolId: this.predictionApp.userPool?.id ?? null,
            // What each endpoint reports serving, so a rolled-back update never exports the package it did not deploy.
            [SERVED_PACKAGES_OUTPUT]: Object.fromEntries(
                Object.keys(args.models).map((m) => [m, this.endpoints[m]?.modelPackageArn ?? null]),
            ),
            models,
        };
        this.registerOutputs({ ...this.outputs });
    }
}

/** The served models as the prediction API lists and calls them: classes and shape from the model's settings, the package the endpoint reports. */
function servedModels(
    environment: Environment,
    models: Readonly<Record<string, PlatformModel>>,
    endpoints: Record<string, ModelEndpoint>,
): pulumi.Output<CatalogModel[]> {
    return pulumi.all(
        Object.entries(endpoints).map(([model, endpoint]) =>
            endpoint.modelPackageArn.apply((arn): CatalogModel => {
                const { settings, inference } = models[model];
                const [, group, version] = /model-package\/([^/]+)\/(\d+)$/.exec(arn) ?? [];
                return {
                    name: model,
                    ...(settings.description ? { description: settings.description } : {}),
                    task: "image-classification",
                    classes: settings.classes,
                    imageShape: settings.imageShape,
                    confidenceThreshold: inference.confidenceThreshold,
                    endpointName: endpointName(environment, model),
                    package: { arn, group: group ?? modelPackageGroupName("staging", model), version: Number(version ?? 0) },
                };
            }),
        ),
    );
}

const PACKAGE_FIELDS = {
    image: "a container image in its inference specification, so it cannot be served",
    modelDataUrl: "a model data URL in its inference specification, so it cannot be served",
    monitoringBaselineUri:
        "a drift-check baseline (DriftCheckBaselines.ModelDataQuality.Statistics), so it cannot be monitored; register it with the training pipeline",
} as const;

function requirePackageField(model: string, pkg: ServedPackage, field: keyof typeof PACKAGE_FIELDS): string {
    const value = pkg.info[field];
    if (!value) throw new Error(`${model}: model package ${pkg.packageArn} lacks ${PACKAGE_FIELDS[field]}`);
    return value;
}
