import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts } from "../components/alerts";
import { CostBudget } from "../components/cost-budget";
import { Dashboard, DashboardModel } from "../components/dashboard";
import { DataLake } from "../components/data-lake";
import { InferenceWorkflow } from "../components/inference-workflow";
import { JobsImage } from "../components/jobs-image";
import { LogsKey } from "../components/logs-key";
import { PredictionApp } from "../components/prediction-app";
import { TrainingPipeline } from "../components/training-pipeline";
import { ModelEndpoint } from "../components/model-endpoint";
import { ModelMonitor } from "../components/model-monitor";
import { defaultCapturePercent, PlatformConfig } from "../infra/config";
import { BucketPurpose, bucketName, endpointName, modelPackageGroupName, pipelineName } from "../infra/naming";
import {
    ModelRegistry,
    PromotionPlan,
    promotionSourceStack,
    PromotionSourceStack,
    resolvePromotion,
    resolveStagingPackages,
    SERVED_PACKAGES_OUTPUT,
    ServedPackage,
    sourceStackProblem,
} from "../infra/promotion";
import { CatalogModel } from "../infra/prediction-api";
import { dataProtection } from "../infra/resource-options";
import { modelTags, platformTags } from "../infra/tags";
import { buildWebsite } from "../web/build";
import { endpointFleet, monitorSettings, trainingModelSettings } from "./component-args";

/** What the program needs from outside: the registry, and where the source lives. */
export interface PlatformDeps {
    /** Model registry lookups; the program uses SageMaker, the offline plan and tests a stand-in. */
    readonly registry: ModelRegistry;
    /** Commit the stack was deployed from; recorded with registered models. */
    readonly gitCommit?: string;
    /** Where to tell the person deploying what prod did not take from staging, and why. Defaults to pulumi.log.warn. */
    readonly log?: (message: string) => void;
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
    /** Staging only: the pipeline that trains and registers this model. */
    readonly trainingPipelineName: pulumi.Output<string> | null;
    /** The monitoring schedule (both engines name their runs after it), when the model is served. */
    readonly monitoringSchedule: string | null;
}

/** What prod takes from the staging stack. */
export interface PromotionSource {
    /** The key staging's model artifacts are encrypted with; prod's endpoints decrypt them. */
    readonly dataKeyArn: string;
    /** Per model, why prod keeps its package or has no endpoint, and staging's package that awaits approval. */
    readonly promotion?: Pick<PromotionPlan, "notes" | "awaiting">;
}

/**
 * The platform for one environment, under one root component so the whole stack reads as one tree.
 */
export class Platform extends pulumi.ComponentResource {
    public readonly provider: aws.Provider;
    public readonly lake: DataLake;
    public readonly alerts: Alerts;
    /** Encrypts the log groups of the stack's Lambda functions and state machines. */
    public readonly logsKey: LogsKey;
    public readonly jobsImage: JobsImage;
    /** Staging only: training happens once, and prod serves what staging trained and a person approved. */
    public readonly trainingPipelines: Record<string, TrainingPipeline>;
    public readonly endpoints: Record<string, ModelEndpoint>;
    public readonly monitors: Record<string, ModelMonitor>;
    /** One per served model: classification by S3 URI, and the review loop back into training. */
    public readonly inferenceWorkflows: Record<string, InferenceWorkflow>;
    public readonly dashboard: Dashboard;
    public readonly predictionApp: PredictionApp;
    public readonly outputs: PlatformOutputs;

    constructor(
        name: string,
        config: PlatformConfig,
        served: Record<string, ServedPackage | undefined>,
        deps: PlatformDeps,
        promotionSource?: PromotionSource,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("vision-mlops:stack:Platform", name, {}, opts);
        const env = config.environment;
        this.provider = new aws.Provider(
            `${name}-aws`,
            {
                region: config.region as aws.Region,
                defaultTags: { tags: platformTags(env, config.tags) },
            },
            { parent: this },
        );
        const inRegion = { parent: this, providers: [this.provider] };
        const account = aws.getCallerIdentityOutput({}, { parent: this, provider: this.provider }).accountId;

        this.lake = new DataLake(
            `${name}-lake`,
            { environment: env, accountId: account, region: config.region, ...dataProtection(env) },
            inRegion,
        );
        this.logsKey = new LogsKey(
            `${name}-logs`,
            { aliasName: `vision-mlops-${env}-logs`, accountId: account, region: config.region },
            inRegion,
        );
        this.alerts = new Alerts(
            `${name}-alerts`,
            {
                environment: env,
                kmsKeyArn: this.lake.key.arn,
                accountId: account,
                emails: config.alerts.emails,
            },
            inRegion,
        );

        if (config.budget) {
            new CostBudget(
                `${name}-budget`,
                {
                    environment: env,
                    monthlyUsd: config.budget.monthlyUsd,
                    alertAtPercent: config.budget.alertAtPercent,
                    alertTopicArn: this.alerts.topicArn,
                    filter: config.budget.filter,
                    region: config.region,
                },
                inRegion,
            );
        }

        this.jobsImage = new JobsImage(`${name}-jobs`, { environment: env, kmsKeyArn: this.lake.key.arn }, inRegion);

        this.trainingPipelines = {};
        this.endpoints = {};
        this.monitors = {};
        this.inferenceWorkflows = {};
        const dashboardModels: DashboardModel[] = [];
        const models: Record<string, ModelOutputs> = {};
        for (const [model, settings] of Object.entries(config.models)) {
            // One provider per model so every resource of the model also carries its `model` tag.
            const tags = { ...platformTags(env, config.tags), ...modelTags(model) };
            const modelProvider = new aws.Provider(
                `${name}-${model}-aws`,
                {
                    region: config.region as aws.Region,
                    defaultTags: { tags },
                },
                { parent: this },
            );
            const inModel = { parent: this, providers: [modelProvider] };
            const training =
                env === "prod"
                    ? undefined
                    : new TrainingPipeline(
                          `${name}-${model}-training`,
                          {
                              environment: env,
                              model,
                              settings: trainingModelSettings(settings),
                              retrainSchedule: settings.training.retrainSchedule,
                              protectRegistry: dataProtection(env).protect,
                              buckets: {
                                  raw: this.lake.raw.bucketName,
                                  curated: this.lake.curated.bucketName,
                                  artifacts: this.lake.artifacts.bucketName,
                              },
                              kmsKeyArn: this.lake.key.arn,
                              jobsImageUri: this.jobsImage.imageUri,
                              jobsRepositoryArn: this.jobsImage.repositoryArn,
                              accountId: account,
                              region: config.region,
                              gitCommit: deps.gitCommit,
                              alarmTopicArn: this.alerts.topicArn,
                          },
                          inModel,
                      );
            if (training) this.trainingPipelines[model] = training;
            const pkg = served[model];
            const endpoint =
                pkg &&
                new ModelEndpoint(
                    `${name}-${model}`,
                    {
                        environment: env,
                        model,
                        endpoint: endpointFleet(settings.endpoint),
                        capturePercent: settings.endpoint.dataCapturePercent ?? defaultCapturePercent(env),
                        modelPackageArn: pkg.packageArn,
                        // SageMaker deploys versioned packages by ARN only once Approved; staging serves candidates.
                        deployFrom: env === "prod" ? "package" : "artifacts",
                        modelDataUrl: requirePackageField(model, pkg, "modelDataUrl"),
                        servingImage: requirePackageField(model, pkg, "image"),
                        kmsKeyArn: this.lake.key.arn,
                        modelDataKmsKeyArn: promotionSource?.dataKeyArn,
                        captureBucket: this.lake.capture.bucketName,
                        alarmTopicArn: this.alerts.topicArn,
                        accountId: account,
                        region: config.region,
                        // Prod updates shift traffic through a canary and roll back on the endpoint's alarms.
                        blueGreen: env === "prod",
                        tags,
                    },
                    inModel,
                );
            if (endpoint) this.endpoints[model] = endpoint;
            const monitor =
                endpoint &&
                new ModelMonitor(
                    `${name}-${model}-monitor`,
                    {
                        environment: env,
                        model,
                        ...monitorSettings(settings),
                        // Prod trains nothing: drift there raises alarms, never a retraining it cannot start.
                        retrainOnDrift:
                            training && settings.monitoring.retrainAfterPeriods !== undefined
                                ? { afterPeriods: settings.monitoring.retrainAfterPeriods, trainingPipelineArn: training.pipelineArn }
                                : undefined,
                        classCount: settings.classes.length,
                        engine: config.monitoring.engine,
                        endpointName: endpointName(env, model),
                        captureBucket: this.lake.capture.bucketName,
                        kmsKeyArn: this.lake.key.arn,
                        monitoringBaselineUri: requirePackageField(model, pkg, "monitoringBaselineUri"),
                        baselineKmsKeyArn: promotionSource?.dataKeyArn,
                        jobsImageUri: this.jobsImage.imageUri,
                        jobsRepositoryArn: this.jobsImage.repositoryArn,
                        alarmTopicArn: this.alerts.topicArn,
                        accountId: account,
                        region: config.region,
                    },
                    { ...inModel, dependsOn: [endpoint.endpoint] },
                );
            if (monitor) {
                this.monitors[model] = monitor;
                dashboardModels.push({
                    ...monitor.dashboardModel,
                    trainingPipelineName: training ? pipelineName(env, model, "training") : undefined,
                });
            }
            if (endpoint && pkg)
                this.inferenceWorkflows[model] = new InferenceWorkflow(
                    `${name}-${model}-inference`,
                    {
                        environment: env,
                        model,
                        classes: settings.classes,
                        endpointName: endpointName(env, model),
                        modelPackageArn: pkg.packageArn,
                        ...settings.inference,
                        lowConfidenceAlarmRate: settings.monitoring.drift.lowConfidenceRate,
                        rawBucket: this.lake.raw.bucketName,
                        dataKeyArn: this.lake.key.arn,
                        logsKmsKeyArn: this.logsKey.arn,
                        alarmTopicArn: this.alerts.topicArn,
                        accountId: account,
                        region: config.region,
                    },
                    { ...inModel, dependsOn: [endpoint.endpoint] },
                );
            models[model] = {
                modelPackageGroup: modelPackageGroupName("staging", model),
                servedPackage: endpoint?.modelPackageArn ?? null,
                serving: promotionSource?.promotion?.notes[model] ?? servingNote(env, pkg),
                awaitingApproval: promotionSource?.promotion?.awaiting[model] ?? null,
                endpointName: endpoint?.endpointName ?? null,
                captureS3Uri: endpoint?.captureS3Uri ?? null,
                trainingPipelineName: training?.pipelineName ?? null,
                monitoringSchedule: monitor?.scheduleName ?? null,
            };
        }

        this.predictionApp = new PredictionApp(
            `${name}-web`,
            {
                environment: env,
                accountId: account,
                region: config.region,
                models: servedModels(config, this.endpoints),
                site: buildWebsite(),
                banner: env === "staging" ? "Staging: these models are candidates, not approved for production." : undefined,
                siteBucketName: account.apply((a) => bucketName(env, "site", a, config.region)),
                accessLogs: { bucket: this.lake.logs.bucket.id, prefix: "site/", dependsOn: this.lake.logs.policy },
                reviewBucket: { bucketName: this.lake.raw.bucketName, kmsKeyArn: this.lake.key.arn },
                logsKmsKeyArn: this.logsKey.arn,
                public: config.web.public,
                throttle: { rateLimit: config.web.rateLimit, burstLimit: config.web.burstLimit },
                wafRequestsPer5Minutes: config.web.wafRequestsPer5Minutes,
                // CloudFront's web ACLs live in us-east-1, whatever the stack's region.
                globalProvider: config.web.public
                    ? new aws.Provider(
                          `${name}-aws-global`,
                          { region: "us-east-1", defaultTags: { tags: platformTags(env, config.tags) } },
                          { parent: this },
                      )
                    : undefined,
                deletionProtection: env === "prod",
            },
            inRegion,
        );

        this.dashboard = new Dashboard(`${name}-dashboard`, { environment: env, region: config.region, models: dashboardModels }, inRegion);

        this.outputs = {
            environment: env,
            region: config.region,
            dataKeyArn: this.lake.key.arn,
            buckets: this.lake.bucketNames,
            alertTopicArn: this.alerts.topicArn,
            dashboardName: this.dashboard.dashboardName,
            predictionPageUrl: this.predictionApp.url,
            predictionUserPoolId: this.predictionApp.userPool?.id ?? null,
            // What each endpoint reports serving, so a rolled-back update never exports the package it did not deploy.
            [SERVED_PACKAGES_OUTPUT]: Object.fromEntries(Object.keys(served).map((m) => [m, this.endpoints[m]?.modelPackageArn ?? null])),
            models,
        };
        this.registerOutputs({ ...this.outputs });
    }
}

/** The served models as the prediction API lists and calls them: classes and shape from the stack file, the package the endpoint reports. */
function servedModels(config: PlatformConfig, endpoints: Record<string, ModelEndpoint>): pulumi.Output<CatalogModel[]> {
    return pulumi.all(
        Object.entries(endpoints).map(([model, endpoint]) =>
            endpoint.modelPackageArn.apply((arn): CatalogModel => {
                const settings = config.models[model];
                const [, group, version] = /model-package\/([^/]+)\/(\d+)$/.exec(arn) ?? [];
                return {
                    name: model,
                    ...(settings.description ? { description: settings.description } : {}),
                    task: "image-classification",
                    classes: settings.classes,
                    imageShape: settings.imageShape,
                    confidenceThreshold: settings.inference.confidenceThreshold,
                    endpointName: endpointName(config.environment, model),
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
    if (!value) throw new Error(`${model}: model package ${pkg.packageArn} has no ${PACKAGE_FIELDS[field]}`);
    return value;
}

function servingNote(env: string, pkg: ServedPackage | undefined): string {
    if (!pkg) {
        return env === "prod"
            ? "no endpoint: staging serves no package for this model yet"
            : "no endpoint yet: no model package registered; ingest a batch to start the training pipeline";
    }
    return `${pkg.source} package, ${pkg.info.approvalStatus}`;
}

/** Where prod promotes from: promotion.sourceStack, else `<this stack's organization>/<project>/staging`. */
function promotionSource(config: PlatformConfig): PromotionSourceStack {
    const configured = config.promotion?.sourceStack;
    if (configured) return promotionSourceStack(configured, "", "");
    let organization: string;
    try {
        organization = pulumi.getOrganization();
    } catch (e) {
        throw new Error(
            `cannot tell this stack's Pulumi organization (${(e as Error).message}), so the staging stack's name is unknown; ` +
                "set vision-mlops:promotion.sourceStack in Pulumi.prod.yaml to its fully qualified name (<org>/vision-mlops/staging)",
            { cause: e },
        );
    }
    return promotionSourceStack(undefined, organization, pulumi.getProject());
}

async function stackOutput(ref: pulumi.StackReference, name: string, source: PromotionSourceStack): Promise<unknown> {
    try {
        const details = await ref.getOutputDetails(name);
        return details.value ?? details.secretValue;
    } catch (e) {
        throw new Error(sourceStackProblem(source, (e as Error).message), { cause: e });
    }
}

/**
 * Builds the platform for one stack. Staging serves the newest registered (or pinned) package per model.
 * Prod reads what staging serves through a StackReference and promotes it once Approved; until then it keeps
 * the Approved package its own endpoint serves (and says what waits for approval), and it removes an endpoint
 * only when its stack file says so (promotion.removeEndpoints). A package that is not Approved is refused
 * before anything else is declared (resolvePromotion).
 */
export async function createPlatform(
    config: PlatformConfig,
    deps: PlatformDeps,
    opts?: pulumi.ComponentResourceOptions,
): Promise<Platform> {
    const env = config.environment;
    const modelSettings = Object.fromEntries(
        Object.entries(config.models).map(([m, c]) => [
            m,
            {
                pin: c.endpoint.modelPackageArn,
                group: modelPackageGroupName("staging", m),
            },
        ]),
    );
    if (env !== "prod") {
        const served = await resolveStagingPackages(modelSettings, deps.registry);
        return new Platform(`vision-mlops-${env}`, config, served, deps, undefined, opts);
    }
    const source = promotionSource(config);
    const staging = new pulumi.StackReference("promotion-source", { name: source.name });
    const servedByStaging = await stackOutput(staging, SERVED_PACKAGES_OUTPUT, source);
    if (servedByStaging === undefined || servedByStaging === null || typeof servedByStaging !== "object")
        throw new Error(
            sourceStackProblem(
                source,
                `it has no ${SERVED_PACKAGES_OUTPUT} output (it is not this project's staging stack, or staging was not deployed with this version yet)`,
            ),
        );
    const removed = config.promotion?.removeEndpoints ?? [];
    const plan = await resolvePromotion(
        Object.fromEntries(
            Object.entries(modelSettings).map(([m, { pin }]) => [m, { pin, endpoint: endpointName(env, m), remove: removed.includes(m) }]),
        ),
        Object.fromEntries(Object.entries(servedByStaging as Record<string, string | null>).map(([m, arn]) => [m, arn ?? undefined])),
        deps.registry,
        source.name,
    );
    const log = deps.log ?? ((m: string) => void pulumi.log.warn(m));
    for (const message of plan.messages) log(message);
    const dataKeyArn = (await stackOutput(staging, "dataKeyArn", source)) as string | undefined;
    if (!dataKeyArn && Object.values(plan.served).some(Boolean))
        throw new Error(`${source.name} exports no dataKeyArn; deploy staging with this version of the platform first`);
    return new Platform(`vision-mlops-${env}`, config, plan.served, deps, { dataKeyArn: dataKeyArn ?? "", promotion: plan }, opts);
}
