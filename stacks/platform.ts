import * as pulumi from "@pulumi/pulumi";
import { Platform, PlatformArgs, PlatformModel } from "../components/platform";
import { defaultCapturePercent, PlatformConfig } from "../infra/config";
import { endpointName, modelPackageGroupName } from "../infra/naming";
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
import { dataProtection } from "../infra/resource-options";
import { buildWebsite } from "../web/build";
import { endpointFleet, monitorSettings, trainingModelSettings } from "./component-args";

export { ModelOutputs, Platform, PlatformOutputs } from "../components/platform";

/** What the program needs from outside: the registry, and where the source lives. */
export interface PlatformDeps {
    /** Model registry lookups; the program uses SageMaker, the offline plan and tests a stand-in. */
    readonly registry: ModelRegistry;
    /** Commit the stack was deployed from; recorded with registered models. */
    readonly gitCommit?: string;
    /** Where to tell the person deploying what prod did not take from staging, and why. Defaults to pulumi.log.warn. */
    readonly log?: (message: string) => void;
}

/** What prod takes from the staging stack. */
export interface PromotionSource {
    /** The key staging's model artifacts are encrypted with; prod's endpoints decrypt them. */
    readonly dataKeyArn: string;
    /** Per model, why prod keeps its package or has no endpoint, and staging's package that awaits approval. */
    readonly promotion?: Pick<PromotionPlan, "notes" | "awaiting">;
}

/**
 * The stack config and the environment onto the platform's own args: the one place that decides what each
 * environment does. Staging trains, serves candidates from their artifacts and can be torn down; prod trains
 * nothing, serves Approved packages by ARN through blue/green updates, and protects its data.
 */
export function platformArgs(
    config: PlatformConfig,
    served: Record<string, ServedPackage | undefined>,
    deps: Pick<PlatformDeps, "gitCommit">,
    promotionSource?: PromotionSource,
): PlatformArgs {
    const env = config.environment;
    const prod = env === "prod";
    const models = Object.fromEntries(
        Object.entries(config.models).map(([model, settings]): [string, PlatformModel] => [
            model,
            {
                settings: trainingModelSettings(settings),
                // Training happens once, in staging: prod serves what staging trained and a person approved.
                training: prod ? undefined : { retrainSchedule: settings.training.retrainSchedule },
                served: served[model],
                servingNote: promotionSource?.promotion?.notes[model] ?? servingNote(env, served[model]),
                awaitingApproval: promotionSource?.promotion?.awaiting[model],
                endpoint: endpointFleet(settings.endpoint),
                capturePercent: settings.endpoint.dataCapturePercent ?? defaultCapturePercent(env),
                monitoring: {
                    ...monitorSettings(settings),
                    // Prod trains nothing: drift there raises alarms, never a retraining it cannot start.
                    retrainAfterPeriods: prod ? undefined : settings.monitoring.retrainAfterPeriods,
                },
                inference: { ...settings.inference, lowConfidenceAlarmRate: settings.monitoring.drift.lowConfidenceRate },
            },
        ]),
    );
    return {
        environment: env,
        region: config.region,
        tags: config.tags,
        alertEmails: config.alerts.emails,
        budget: config.budget && {
            monthlyUsd: config.budget.monthlyUsd,
            alertAtPercent: config.budget.alertAtPercent,
            filter: config.budget.filter,
        },
        models,
        ...dataProtection(env),
        // SageMaker deploys versioned packages by ARN only once Approved; staging serves candidates.
        deployFrom: prod ? "package" : "artifacts",
        // Prod updates shift traffic through a canary and roll back on the endpoint's alarms.
        blueGreen: prod,
        monitoringEngine: config.monitoring.engine,
        sourceDataKeyArn: promotionSource?.dataKeyArn,
        gitCommit: deps.gitCommit,
        web: {
            site: buildWebsite(),
            public: config.web.public,
            rateLimit: config.web.rateLimit,
            burstLimit: config.web.burstLimit,
            wafRequestsPer5Minutes: config.web.wafRequestsPer5Minutes,
            banner: env === "staging" ? "Staging: these models are candidates, not approved for production." : undefined,
            deletionProtection: prod,
        },
    };
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
        return new Platform(`vision-mlops-${env}`, platformArgs(config, served, deps), opts);
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
    return new Platform(
        `vision-mlops-${env}`,
        platformArgs(config, plan.served, deps, { dataKeyArn: dataKeyArn ?? "", promotion: plan }),
        opts,
    );
}
