import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts } from "../components/alerts";
import { DataLake } from "../components/data-lake";
import { PlatformConfig } from "../infra/config";
import { BucketPurpose, modelPackageGroupName } from "../infra/naming";
import { ModelRegistry, resolvePromotion, resolveStagingPackages, SERVED_PACKAGES_OUTPUT, ServedPackage } from "../infra/promotion";
import { platformTags } from "../infra/tags";

/** What the program needs from outside: the registry, and where the source lives. */
export interface PlatformDeps {
    /** Model registry lookups; the program uses SageMaker, the offline plan and tests a stand-in. */
    readonly registry: ModelRegistry;
    /** Commit the stack was deployed from; recorded with registered models. */
    readonly gitCommit?: string;
}

/** Everything one stack exports. */
export interface PlatformOutputs {
    readonly environment: string;
    readonly region: string;
    readonly dataKeyArn: pulumi.Output<string>;
    readonly buckets: pulumi.Output<Record<BucketPurpose, string>>;
    readonly alertTopicArn: pulumi.Output<string>;
    /** Per model, the package its endpoint serves (prod promotes from staging's). */
    readonly [SERVED_PACKAGES_OUTPUT]: Record<string, string | null>;
    readonly models: Record<string, ModelOutputs>;
}

export interface ModelOutputs {
    readonly modelPackageGroup: string;
    readonly servedPackage: string | null;
    /** Why the package is served (newest, pinned, promoted), or why there is no endpoint yet. */
    readonly serving: string;
}

/**
 * The platform for one environment, under one root component so the whole stack reads as one tree.
 */
export class Platform extends pulumi.ComponentResource {
    public readonly provider: aws.Provider;
    public readonly lake: DataLake;
    public readonly alerts: Alerts;
    public readonly outputs: PlatformOutputs;

    constructor(name: string, config: PlatformConfig, served: Record<string, ServedPackage | undefined>, deps: PlatformDeps, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:stack:Platform", name, {}, opts);
        const env = config.environment;
        this.provider = new aws.Provider(`${name}-aws`, {
            region: config.region as aws.Region,
            defaultTags: { tags: platformTags(env, config.tags) },
        }, { parent: this });
        const inRegion = { parent: this, providers: [this.provider] };
        const account = aws.getCallerIdentityOutput({}, { parent: this, provider: this.provider }).accountId;

        this.lake = new DataLake(`${name}-lake`, { environment: env, accountId: account, region: config.region }, inRegion);
        this.alerts = new Alerts(`${name}-alerts`, {
            environment: env,
            kmsKeyArn: this.lake.key.arn,
            accountId: account,
            emails: config.alerts.emails,
        }, inRegion);

        const models: Record<string, ModelOutputs> = {};
        for (const [model] of Object.entries(config.models)) {
            const pkg = served[model];
            models[model] = {
                modelPackageGroup: modelPackageGroupName(env === "prod" ? "staging" : env, model),
                servedPackage: pkg?.packageArn ?? null,
                serving: servingNote(env, pkg, deps),
            };
        }

        this.outputs = {
            environment: env,
            region: config.region,
            dataKeyArn: this.lake.key.arn,
            buckets: this.lake.bucketNames,
            alertTopicArn: this.alerts.topicArn,
            [SERVED_PACKAGES_OUTPUT]: Object.fromEntries(Object.entries(served).map(([m, p]) => [m, p?.packageArn ?? null])),
            models,
        };
        this.registerOutputs({ ...this.outputs });
    }
}

function servingNote(env: string, pkg: ServedPackage | undefined, _deps: PlatformDeps): string {
    if (!pkg) {
        return env === "prod"
            ? "no endpoint: staging serves no package for this model yet"
            : "no endpoint yet: no model package registered; ingest a batch to start the training pipeline";
    }
    return `${pkg.source} package, ${pkg.info.approvalStatus}`;
}

/**
 * Builds the platform for one stack. Staging serves the newest registered (or pinned) package per model;
 * prod reads what staging serves through a StackReference and refuses, before declaring anything else,
 * any package that is not Approved.
 */
export async function createPlatform(config: PlatformConfig, deps: PlatformDeps, opts?: pulumi.ComponentResourceOptions): Promise<Platform> {
    const env = config.environment;
    const modelSettings = Object.fromEntries(Object.entries(config.models).map(([m, c]) => [m, {
        pin: c.endpoint.modelPackageArn,
        group: modelPackageGroupName("staging", m),
    }]));
    let served: Record<string, ServedPackage | undefined>;
    if (env === "prod") {
        const source = config.promotion!.sourceStack;
        const staging = new pulumi.StackReference(`promotion-source`, { name: source });
        const details = await staging.getOutputDetails(SERVED_PACKAGES_OUTPUT);
        const servedByStaging = (details.value ?? details.secretValue ?? {}) as Record<string, string | null>;
        served = await resolvePromotion(
            modelSettings,
            Object.fromEntries(Object.entries(servedByStaging).map(([m, arn]) => [m, arn ?? undefined])),
            deps.registry,
            source,
        );
    } else {
        served = await resolveStagingPackages(modelSettings, deps.registry);
    }
    return new Platform(`vision-mlops-${env}`, config, served, deps, opts);
}
