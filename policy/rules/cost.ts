import * as aws from "@pulumi/aws";
import { PolicyConfigSchema, ReportViolation, ResourceValidationArgs, StackValidationArgs, validateResourceOfType } from "@pulumi/policy";
import { Environment } from "../../infra/config";
import { isGpuInstance } from "../../infra/instance-types";
import {
    bucketIdentifiers,
    describe,
    environmentLabel,
    environmentOf,
    message,
    PlatformRule,
    referencedBy,
    s3Location,
    typeOf,
} from "../support";
import { endpointValidations, endpointViewOf } from "./endpoints";
import { pipelineSteps } from "./sagemaker";

/**
 * Cost rules, with limits per stack: staging is for trying models out (no GPU endpoints, small fleets),
 * prod for serving them. The limits below are the defaults; a stack raises or lowers one through policy
 * pack config, e.g. `{ "cost-endpoint-instance-caps": { "prod": 20 } }` in the file passed to
 * `--policy-pack-config`. A resource whose environment cannot be read gets the stricter of the two.
 */
export const COST_LIMITS: Readonly<Record<Environment, CostLimits>> = {
    staging: { endpointInstances: 4, trainingSeconds: 12 * 3600, capturePercent: 100, captureRetentionDays: 400 },
    prod: { endpointInstances: 10, trainingSeconds: 24 * 3600, capturePercent: 80, captureRetentionDays: 400 },
};

export interface CostLimits {
    /** Instances per endpoint variant: initial count and autoscaling maximum. */
    readonly endpointInstances: number;
    /** A training job's MaxRuntimeInSeconds. */
    readonly trainingSeconds: number;
    /** Data capture's initialSamplingPercentage. */
    readonly capturePercent: number;
    /** Days captured traffic may be kept before a lifecycle rule expires it. */
    readonly captureRetentionDays: number;
}

/** A limit per environment, as policy pack config may set it. */
const perEnvironment = (description: string): PolicyConfigSchema => ({
    properties: {
        staging: { type: "number", minimum: 0, description: `${description} in staging` },
        prod: { type: "number", minimum: 0, description: `${description} in prod` },
    },
});

/** The limit that applies: config for the environment, else the table; unknown environment takes the smaller. */
function limit(args: { getConfig<T extends object>(): T }, environment: Environment | undefined, key: keyof CostLimits): number {
    const config = args.getConfig<Partial<Record<Environment, number>>>();
    const of = (e: Environment) => config[e] ?? COST_LIMITS[e][key];
    return environment ? of(environment) : Math.min(of("staging"), of("prod"));
}

function where(args: ResourceValidationArgs): string {
    return describe(args.type, args.name);
}

// -------------------------------------------------------------------------------------------------------

const GPU = ["cost: no GPU endpoints in staging"];
export const noGpuEndpointsInStaging: PlatformRule = {
    name: "cost-no-gpu-endpoints-in-staging",
    description:
        "Staging endpoints run on CPU instances (ml.p*/ml.g* and accelerators cost several times more and staging traffic does not need them).",
    controls: GPU,
    enforcementLevel: "mandatory",
    remediationSteps: "Set models.<model>.endpoint.instanceType in Pulumi.staging.yaml to a CPU type such as ml.m5.large.",
    validateResource: endpointValidations((endpoint, args, report) => {
        const environment = environmentOf(args);
        if (environment === "prod") return;
        for (const variant of endpoint.variants) {
            const type = variant.instanceType;
            if ((type && isGpuInstance(type)) || variant.acceleratorType)
                report(
                    message(
                        GPU,
                        `${endpoint.label} serves variant ${variant.name} on ${variant.acceleratorType ?? type} in ${environmentLabel(environment, "staging")}`,
                        "use a CPU instance type in staging (e.g. ml.m5.large); GPUs belong to training and, where latency needs them, prod",
                    ),
                );
        }
    }),
};

const CAPS = ["cost: endpoint instance caps"];
export const endpointInstanceCaps: PlatformRule = {
    name: "cost-endpoint-instance-caps",
    description: `Endpoint variants start and scale to at most ${COST_LIMITS.staging.endpointInstances} instances in staging and ${COST_LIMITS.prod.endpointInstances} in prod.`,
    controls: CAPS,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Lower endpoint.instanceCount / endpoint.autoscaling.maxCapacity, or raise the cap for the stack in policy pack config.",
    configSchema: perEnvironment("Most instances per endpoint variant"),
    validateResource: [
        ...endpointValidations((endpoint, args, report) => {
            const environment = environmentOf(args);
            const cap = limit(args, environment, "endpointInstances");
            const inEnv = `allowed in ${environmentLabel(environment, "staging")}`;
            for (const variant of endpoint.variants)
                if ((variant.instanceCount ?? 0) > cap)
                    report(
                        message(
                            CAPS,
                            `${endpoint.label} starts ${variant.instanceCount} instances for variant ${variant.name}, more than the ${cap} ${inEnv}`,
                            "lower endpoint.instanceCount, or raise cost-endpoint-instance-caps for the stack",
                        ),
                    );
            if (endpoint.scaling && endpoint.scaling.maxCapacity > cap)
                report(
                    message(
                        CAPS,
                        `${endpoint.label} lets autoscaling take it to ${endpoint.scaling.maxCapacity} instances, more than the ${cap} ${inEnv}`,
                        "lower endpoint.autoscaling.maxCapacity, or raise cost-endpoint-instance-caps for the stack",
                    ),
                );
        }),
        validateResourceOfType(aws.appautoscaling.Target, (target, args, report) => {
            if (target.serviceNamespace !== "sagemaker") return;
            const environment = environmentOf(args);
            const cap = limit(args, environment, "endpointInstances");
            if (target.maxCapacity > cap)
                report(
                    message(
                        CAPS,
                        `${where(args)} lets ${target.resourceId} scale to ${target.maxCapacity} instances, more than the ${cap} allowed in ${environmentLabel(environment, "staging")}`,
                        "lower endpoint.autoscaling.maxCapacity, or raise cost-endpoint-instance-caps for the stack",
                    ),
                );
        }),
    ],
};

const TRAINING = ["cost: training runtime bound, managed spot"];

interface TrainingLimits {
    readonly label: string;
    readonly maxRuntime?: unknown;
    readonly maxWait?: unknown;
    readonly spot?: unknown;
    readonly checkpoint?: unknown;
}

function checkTraining(t: TrainingLimits, cap: number, environment: Environment | undefined, report: ReportViolation): void {
    const runtime = typeof t.maxRuntime === "number" ? t.maxRuntime : undefined;
    if (runtime === undefined)
        report(
            message(
                TRAINING,
                `${t.label} has no MaxRuntimeInSeconds, so a stuck job bills until SageMaker's 28-day limit`,
                "set StoppingCondition.MaxRuntimeInSeconds (training.maxRuntimeSeconds)",
            ),
        );
    else if (runtime > cap)
        report(
            message(
                TRAINING,
                `${t.label} may run ${runtime} s, more than the ${cap} s allowed in ${environmentLabel(environment, "staging")}`,
                "lower training.maxRuntimeSeconds, or raise cost-training-limits for the stack",
            ),
        );
    if (t.spot !== true) {
        report(
            message(
                TRAINING,
                `${t.label} trains on demand`,
                "turn on managed spot training (training.spot: true), about 70% cheaper for the same job",
            ),
        );
        return;
    }
    if (typeof t.maxWait !== "number" || (runtime !== undefined && t.maxWait < runtime))
        report(
            message(
                TRAINING,
                `${t.label} uses spot without a MaxWaitTimeInSeconds of at least its runtime`,
                "set StoppingCondition.MaxWaitTimeInSeconds >= MaxRuntimeInSeconds (SageMaker requires it for spot)",
            ),
        );
    if (!t.checkpoint)
        report(
            message(
                TRAINING,
                `${t.label} uses spot without checkpoints, so every interruption starts training over`,
                "set CheckpointConfig.S3Uri",
            ),
        );
}

export const trainingLimits: PlatformRule = {
    name: "cost-training-limits",
    description: `Training jobs run on managed spot with checkpoints and stop within ${COST_LIMITS.staging.trainingSeconds / 3600} h in staging (${COST_LIMITS.prod.trainingSeconds / 3600} h in prod).`,
    controls: TRAINING,
    enforcementLevel: "mandatory",
    remediationSteps: "Set training.spot: true and training.maxRuntimeSeconds within the stack's limit.",
    configSchema: perEnvironment("Most seconds a training job may run"),
    validateResource: [
        validateResourceOfType(aws.sagemaker.Pipeline, (pipeline, args, report) => {
            const environment = environmentOf(args);
            const cap = limit(args, environment, "trainingSeconds");
            for (const step of pipelineSteps(pipeline, args, report, TRAINING).filter((s) => s.Type === "Training")) {
                const a = step.Arguments ?? {};
                checkTraining(
                    {
                        label: `Training step ${step.Name} of ${where(args)}`,
                        maxRuntime: a.StoppingCondition?.MaxRuntimeInSeconds,
                        maxWait: a.StoppingCondition?.MaxWaitTimeInSeconds,
                        spot: a.EnableManagedSpotTraining,
                        checkpoint: a.CheckpointConfig?.S3Uri,
                    },
                    cap,
                    environment,
                    report,
                );
            }
        }),
        validateResourceOfType(aws.sagemaker.TrainingJob, (job, args, report) => {
            const environment = environmentOf(args);
            checkTraining(
                {
                    label: where(args),
                    maxRuntime: job.stoppingCondition?.maxRuntimeInSeconds,
                    maxWait: job.stoppingCondition?.maxWaitTimeInSeconds,
                    spot: job.enableManagedSpotTraining,
                    checkpoint: job.checkpointConfig?.s3Uri,
                },
                limit(args, environment, "trainingSeconds"),
                environment,
                report,
            );
        }),
    ],
};

const CAPTURE = ["cost: data capture sampling caps"];
export const captureSamplingCaps: PlatformRule = {
    name: "cost-capture-sampling-caps",
    description: `Data capture samples at most ${COST_LIMITS.staging.capturePercent}% of requests in staging and ${COST_LIMITS.prod.capturePercent}% in prod.`,
    controls: CAPTURE,
    enforcementLevel: "mandatory",
    remediationSteps: "Lower endpoint.dataCapturePercent, or raise the cap for the stack in policy pack config.",
    configSchema: perEnvironment("Most percent of requests data capture samples"),
    validateResource: endpointValidations((endpoint, args, report) => {
        const capture = endpoint.capture;
        if (!capture?.enabled) return;
        const environment = environmentOf(args);
        const cap = limit(args, environment, "capturePercent");
        if (capture.percent > cap)
            report(
                message(
                    CAPTURE,
                    `${endpoint.label} captures ${capture.percent}% of requests, more than the ${cap}% allowed in ${environmentLabel(environment, "staging")}`,
                    "lower endpoint.dataCapturePercent (monitoring needs a sample, not every request), or raise cost-capture-sampling-caps",
                ),
            );
    }),
};

const RETENTION = ["cost: lifecycle on capture data"];
interface LifecycleRule {
    readonly status?: string;
    readonly prefix?: string;
    readonly filter?: { readonly prefix?: string; readonly and?: { readonly prefix?: string } };
    readonly expiration?: { readonly days?: number };
}

/** The key prefix a lifecycle rule applies to ("" for the whole bucket), or undefined if it filters on more than a prefix. */
function rulePrefix(rule: LifecycleRule): string | undefined {
    const f = rule.filter as Record<string, unknown> | undefined;
    if (f && Object.keys(f).some((k) => k !== "prefix" && f[k] !== undefined)) return undefined;
    return rule.filter?.prefix ?? rule.prefix ?? "";
}

export const captureDataExpires: PlatformRule = {
    name: "cost-capture-lifecycle",
    description: `Captured traffic expires: the bucket each endpoint captures into has an enabled lifecycle rule covering the capture prefix that expires objects within ${COST_LIMITS.prod.captureRetentionDays} days.`,
    controls: RETENTION,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Give the capture bucket a lifecycle rule with expiration.days (DataLake's captureExpirationDays) over the capture prefix.",
    configSchema: perEnvironment("Most days captured traffic is kept"),
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const bucketTypes = [typeOf(aws.s3.Bucket), typeOf(aws.s3.BucketV2)];
        const lifecycleTypes = [typeOf(aws.s3.BucketLifecycleConfiguration), typeOf(aws.s3.BucketLifecycleConfigurationV2)];
        const buckets = args.resources.filter((r) => bucketTypes.includes(r.type));
        const lifecycles = args.resources.filter((r) => lifecycleTypes.includes(r.type));
        for (const resource of args.resources) {
            const endpoint = endpointViewOf(resource);
            const capture = endpoint?.capture;
            if (!endpoint || !capture?.enabled) continue;
            const environment = environmentOf(resource);
            const days = limit(args, environment, "captureRetentionDays");
            const destination = s3Location(capture.destination);
            const what = endpoint.label;
            const bucket = destination && buckets.find((b) => b.props.bucket === destination.bucket);
            if (!destination || !bucket) {
                report(
                    message(
                        RETENTION,
                        `${what} captures to ${capture.destination ?? "nowhere declared"}, not a bucket of this stack, so nothing here ages the data out`,
                        "capture into the data lake's capture bucket",
                    ),
                    resource.urn,
                );
                continue;
            }
            const rules = lifecycles
                .filter((l) => referencedBy(l, "bucket", buckets, bucketIdentifiers) === bucket)
                .flatMap((l) => (l.props.rules ?? []) as LifecycleRule[]);
            const expiring = rules.filter((r) => {
                const prefix = rulePrefix(r);
                return (
                    r.status === "Enabled" &&
                    prefix !== undefined &&
                    destination.key.startsWith(prefix) &&
                    typeof r.expiration?.days === "number"
                );
            });
            if (expiring.length === 0)
                report(
                    message(
                        RETENTION,
                        `${what} captures into ${capture.destination}, where no enabled lifecycle rule expires the captured objects`,
                        "add a lifecycle rule with expiration.days over the capture prefix",
                    ),
                    resource.urn,
                );
            else if (Math.min(...expiring.map((r) => r.expiration!.days!)) > days)
                report(
                    message(
                        RETENTION,
                        `${what} keeps captured traffic ${Math.min(...expiring.map((r) => r.expiration!.days!))} days, more than the ${days} allowed in ${environmentLabel(environment, "staging")}`,
                        "shorten the capture expiration (captureExpirationDays), or raise cost-capture-lifecycle for the stack",
                    ),
                    resource.urn,
                );
        }
    },
};

export const COST_RULES: readonly PlatformRule[] = [
    noGpuEndpointsInStaging,
    endpointInstanceCaps,
    trainingLimits,
    captureSamplingCaps,
    captureDataExpires,
];
