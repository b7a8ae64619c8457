import type {
    DeleteScalingPolicyRequest,
    DeregisterScalableTargetRequest,
    PutScalingPolicyRequest,
    RegisterScalableTargetRequest,
    TargetTrackingScalingPolicyConfiguration,
} from "@aws-sdk/client-application-auto-scaling";
import type { AlarmHistoryItem, MetricAlarm } from "@aws-sdk/client-cloudwatch";
import type {
    ContainerDefinition,
    CreateEndpointConfigInput,
    CreateEndpointInput,
    CreateModelInput,
    DataCaptureConfig,
    DeploymentConfig,
    DescribeEndpointOutput,
    ProductionVariantInstanceType,
    UpdateEndpointInput,
    UpdateEndpointWeightsAndCapacitiesInput,
} from "@aws-sdk/client-sagemaker";

/**
 * The decisions of a verified endpoint update, as pure functions over plain values: what the endpoint should
 * be (`EndpointSpec`), what it is (`LiveEndpoint`), and the calls that take it from one to the other, in
 * order. The executor (`endpoint-deployer.ts`) makes the calls; nothing here talks to AWS.
 *
 * What a careful operator does by hand, and what this encodes (SageMaker developer guide, "Update endpoints
 * that use auto scaling", and the UpdateEndpoint API reference):
 * - UpdateEndpoint always sends RetainAllVariantProperties, so the live instance count (what autoscaling grew
 *   the fleet to) is kept; only the data capture settings are taken from the new config, because they are
 *   declared, never adjusted live.
 * - A new instance type on an autoscaled variant fails unless its scaling policy is deleted and its scalable
 *   target deregistered first; both come back afterwards, with the new bounds when the update landed and
 *   with the old ones when it did not.
 * - After UpdateEndpoint, wait until the deployment is over and compare the config the endpoint serves with
 *   the one requested: SageMaker rolls a failed or alarmed deployment back and the endpoint returns to
 *   InService on the old config, which is a failed update, never a success.
 * - Endpoint configs are never deleted with the update: the newest few are kept for rolling back, and older
 *   ones are pruned only after a verified deployment, never the one serving.
 */

/** Target tracking on invocations per instance, within bounds. */
export interface ScalingSpec {
    readonly minCapacity: number;
    readonly maxCapacity: number;
    /** Invocations per instance per minute the autoscaler aims at. */
    readonly targetInvocationsPerInstance: number;
    readonly scaleInCooldownSeconds: number;
    readonly scaleOutCooldownSeconds: number;
}

/** What an endpoint should be: the inputs of the EndpointDeployment resource (plain JSON). */
export interface EndpointSpec {
    /** Region of the endpoint; the deployment's clients are built for it. */
    readonly region: string;
    readonly endpointName: string;
    /** The one production variant; blue/green and retained properties match variants by this name. */
    readonly variantName: string;
    /** The registered package the model serves. */
    readonly modelPackageArn: string;
    /** Named after its content, so a changed model is a new model and an unchanged one is reused. */
    readonly modelName: string;
    readonly model: {
        readonly ExecutionRoleArn: string;
        readonly PrimaryContainer: ContainerDefinition;
        readonly EnableNetworkIsolation: boolean;
    };
    /** Named after what it serves (model, instance type, capture, key), not after the fleet size. */
    readonly endpointConfigName: string;
    readonly instanceType: string;
    /** The fleet size without autoscaling; with it, the size a new endpoint starts at (the autoscaler owns it after). */
    readonly instanceCount: number;
    /** Key of the instance volumes; absent for instance types with local NVMe storage. */
    readonly kmsKeyId?: string;
    readonly dataCapture: DataCaptureConfig;
    /** Blue/green traffic shifting with auto-rollback alarms, sent with every UpdateEndpoint; absent: all at once. */
    readonly deploymentConfig?: DeploymentConfig;
    readonly scaling?: ScalingSpec;
    /** How many endpoint configs, the serving one included, are kept for rolling back. */
    readonly retainedEndpointConfigs: number;
    readonly tags: Record<string, string>;
}

/** What the EndpointDeployment resource reports: the spec that serves, and what was observed. */
export interface EndpointState extends EndpointSpec {
    readonly endpointArn: string;
    /** The instance count the variant had at the end of the last deployment. */
    readonly liveInstanceCount: number;
    /** Endpoint configs of this endpoint kept in the account, newest first. */
    readonly keptEndpointConfigs: readonly string[];
    /** One line on what the last create or update did. */
    readonly lastDeployment: string;
}

/** What the endpoint is: DescribeEndpoint, the serving config's variant, and its scaling registration. */
export interface LiveEndpoint {
    readonly status: string;
    readonly endpointConfigName: string;
    readonly modelName?: string;
    readonly instanceType?: string;
    readonly desiredInstanceCount?: number;
    readonly samplingPercent?: number;
    readonly scaling?: { readonly minCapacity: number; readonly maxCapacity: number };
    readonly scalingPolicy?: {
        readonly PolicyName: string;
        readonly TargetTrackingScalingPolicyConfiguration?: TargetTrackingScalingPolicyConfiguration;
    };
}

/** What a finished deployment must show for the update to count as done. */
export interface DeploymentExpectation {
    /** The config the endpoint must serve. */
    readonly endpointConfigName?: string;
    /** The capture sampling percent it must report. */
    readonly samplingPercent?: number;
    /** The desired instance count the variant must have. */
    readonly instanceCount?: number;
}

/** One call of an update, with its request. `Wait` polls DescribeEndpoint until the deployment is over and judges it. */
export type EndpointStep =
    | { readonly call: "CreateModel"; readonly input: CreateModelInput }
    | { readonly call: "CreateEndpointConfig"; readonly input: CreateEndpointConfigInput }
    | { readonly call: "CreateEndpoint"; readonly input: CreateEndpointInput }
    | { readonly call: "DeleteScalingPolicy"; readonly input: DeleteScalingPolicyRequest }
    | { readonly call: "DeregisterScalableTarget"; readonly input: DeregisterScalableTargetRequest }
    | { readonly call: "UpdateEndpoint"; readonly input: UpdateEndpointInput }
    | { readonly call: "UpdateEndpointWeightsAndCapacities"; readonly input: UpdateEndpointWeightsAndCapacitiesInput }
    | { readonly call: "Wait"; readonly expect: DeploymentExpectation }
    | { readonly call: "RegisterScalableTarget"; readonly input: RegisterScalableTargetRequest }
    | { readonly call: "PutScalingPolicy"; readonly input: PutScalingPolicyRequest }
    | { readonly call: "PruneEndpointConfigs"; readonly keep: number };

/** The kinds of change a user makes, as seen between the live endpoint and the spec. */
export type EndpointChange = "model" | "instanceType" | "dataCapture" | "endpointConfig" | "instanceCount" | "scaling";

export interface UpdatePlan {
    readonly changes: readonly EndpointChange[];
    readonly steps: readonly EndpointStep[];
    /** Puts scaling back as it was, for when the deployment does not land and the old config keeps serving. */
    readonly restoreScaling: readonly EndpointStep[];
}

const SAGEMAKER_VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount";

/** Statuses of an endpoint whose deployment (or scaling, or maintenance) is still under way. */
export const TRANSITIONAL_STATUSES: readonly string[] = ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"];

/** The scalable target of the spec's variant (Application Auto Scaling's resource id). */
export function scalableTarget(spec: Pick<EndpointSpec, "endpointName" | "variantName">) {
    return {
        ServiceNamespace: "sagemaker" as const,
        ResourceId: `endpoint/${spec.endpointName}/variant/${spec.variantName}`,
        ScalableDimension: SAGEMAKER_VARIANT_DIMENSION as "sagemaker:variant:DesiredInstanceCount",
    };
}

/** Our target-tracking policy's name: one per endpoint variant. */
export function scalingPolicyName(spec: Pick<EndpointSpec, "endpointName">): string {
    return `${spec.endpointName}-invocations-per-instance`;
}

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

export function createModelRequest(spec: EndpointSpec): CreateModelInput {
    return { ModelName: spec.modelName, ...spec.model, Tags: tagList(spec.tags) };
}

export function createEndpointConfigRequest(spec: EndpointSpec): CreateEndpointConfigInput {
    return {
        EndpointConfigName: spec.endpointConfigName,
        ProductionVariants: [
            {
                VariantName: spec.variantName,
                ModelName: spec.modelName,
                InstanceType: spec.instanceType as ProductionVariantInstanceType,
                InitialInstanceCount: spec.instanceCount,
                InitialVariantWeight: 1,
            },
        ],
        DataCaptureConfig: spec.dataCapture,
        ...(spec.kmsKeyId ? { KmsKeyId: spec.kmsKeyId } : {}),
        Tags: tagList(spec.tags),
    };
}

export function createEndpointRequest(spec: EndpointSpec): CreateEndpointInput {
    return {
        EndpointName: spec.endpointName,
        EndpointConfigName: spec.endpointConfigName,
        ...(spec.deploymentConfig ? { DeploymentConfig: spec.deploymentConfig } : {}),
        Tags: tagList(spec.tags),
    };
}

function registerRequest(spec: EndpointSpec, bounds: { minCapacity: number; maxCapacity: number }): RegisterScalableTargetRequest {
    return { ...scalableTarget(spec), MinCapacity: bounds.minCapacity, MaxCapacity: bounds.maxCapacity };
}

function policyConfiguration(scaling: ScalingSpec): TargetTrackingScalingPolicyConfiguration {
    return {
        TargetValue: scaling.targetInvocationsPerInstance,
        PredefinedMetricSpecification: { PredefinedMetricType: "SageMakerVariantInvocationsPerInstance" },
        ScaleInCooldown: scaling.scaleInCooldownSeconds,
        ScaleOutCooldown: scaling.scaleOutCooldownSeconds,
    };
}

function putPolicyRequest(
    spec: EndpointSpec,
    policyName: string,
    configuration: TargetTrackingScalingPolicyConfiguration | undefined,
): PutScalingPolicyRequest {
    return {
        ...scalableTarget(spec),
        PolicyName: policyName,
        PolicyType: "TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration: configuration,
    };
}

/** The calls that stand up a new endpoint: model, config, endpoint, a verified first deployment, then scaling. */
export function planCreate(spec: EndpointSpec): readonly EndpointStep[] {
    return [
        { call: "CreateModel", input: createModelRequest(spec) },
        { call: "CreateEndpointConfig", input: createEndpointConfigRequest(spec) },
        { call: "CreateEndpoint", input: createEndpointRequest(spec) },
        { call: "Wait", expect: { endpointConfigName: spec.endpointConfigName } },
        ...scalingSteps(spec, undefined, undefined),
    ];
}

/** Register and attach the spec's scaling where the live registration differs (all of it when there is none). */
function scalingSteps(spec: EndpointSpec, bounds: LiveEndpoint["scaling"], policy: LiveEndpoint["scalingPolicy"]): EndpointStep[] {
    const s = spec.scaling;
    if (!s) return [];
    const steps: EndpointStep[] = [];
    if (!bounds || bounds.minCapacity !== s.minCapacity || bounds.maxCapacity !== s.maxCapacity)
        steps.push({ call: "RegisterScalableTarget", input: registerRequest(spec, s) });
    const wanted = policyConfiguration(s);
    if (!policy || policy.PolicyName !== scalingPolicyName(spec) || !samePolicy(policy.TargetTrackingScalingPolicyConfiguration, wanted))
        steps.push({ call: "PutScalingPolicy", input: putPolicyRequest(spec, scalingPolicyName(spec), wanted) });
    return steps;
}

function samePolicy(a: TargetTrackingScalingPolicyConfiguration | undefined, b: TargetTrackingScalingPolicyConfiguration): boolean {
    return (
        !!a &&
        a.TargetValue === b.TargetValue &&
        a.ScaleInCooldown === b.ScaleInCooldown &&
        a.ScaleOutCooldown === b.ScaleOutCooldown &&
        a.PredefinedMetricSpecification?.PredefinedMetricType === b.PredefinedMetricSpecification?.PredefinedMetricType &&
        !a.CustomizedMetricSpecification &&
        !a.DisableScaleIn
    );
}

/** What differs between the live endpoint and the spec. */
export function changesBetween(spec: EndpointSpec, live: LiveEndpoint): EndpointChange[] {
    const changes: EndpointChange[] = [];
    if (live.endpointConfigName !== spec.endpointConfigName) {
        if (live.modelName !== spec.modelName) changes.push("model");
        if (live.instanceType !== spec.instanceType) changes.push("instanceType");
        if (live.samplingPercent !== spec.dataCapture.InitialSamplingPercentage) changes.push("dataCapture");
        if (changes.length === 0) changes.push("endpointConfig");
    }
    if (!spec.scaling && live.desiredInstanceCount !== spec.instanceCount) changes.push("instanceCount");
    if (scalingSteps(spec, live.scaling, live.scalingPolicy).length > 0 || (!spec.scaling && live.scaling)) changes.push("scaling");
    return changes;
}

/**
 * The calls that take the live endpoint to the spec, in order. The live endpoint must be InService (the
 * executor waits for that first).
 */
export function planUpdate(spec: EndpointSpec, live: LiveEndpoint): UpdatePlan {
    const changes = changesBetween(spec, live);
    const steps: EndpointStep[] = [];
    const restoreScaling: EndpointStep[] = [];
    const newConfig = live.endpointConfigName !== spec.endpointConfigName;
    const target = scalableTarget(spec);

    // Scaling comes off before an instance-type change (AWS refuses the update otherwise) and when the spec drops it.
    const suspend = !!live.scaling && ((newConfig && live.instanceType !== spec.instanceType) || !spec.scaling);
    if (suspend) {
        if (live.scalingPolicy)
            steps.push({ call: "DeleteScalingPolicy", input: { ...target, PolicyName: live.scalingPolicy.PolicyName } });
        steps.push({ call: "DeregisterScalableTarget", input: target });
        restoreScaling.push({ call: "RegisterScalableTarget", input: registerRequest(spec, live.scaling!) });
        if (live.scalingPolicy)
            restoreScaling.push({
                call: "PutScalingPolicy",
                input: putPolicyRequest(spec, live.scalingPolicy.PolicyName, live.scalingPolicy.TargetTrackingScalingPolicyConfiguration),
            });
    }

    if (newConfig) {
        steps.push({ call: "CreateModel", input: createModelRequest(spec) });
        steps.push({ call: "CreateEndpointConfig", input: createEndpointConfigRequest(spec) });
        steps.push({
            call: "UpdateEndpoint",
            input: {
                EndpointName: spec.endpointName,
                EndpointConfigName: spec.endpointConfigName,
                // Keep the live instance count and weight; capture follows the new config, as declared.
                RetainAllVariantProperties: true,
                ExcludeRetainedVariantProperties: [{ VariantPropertyType: "DataCaptureConfig" }],
                ...(spec.deploymentConfig ? { DeploymentConfig: spec.deploymentConfig } : {}),
            },
        });
        steps.push({
            call: "Wait",
            expect: { endpointConfigName: spec.endpointConfigName, samplingPercent: spec.dataCapture.InitialSamplingPercentage },
        });
    }

    if (spec.scaling) {
        // RegisterScalableTarget moves the live count into the new bounds itself (Application Auto Scaling API reference).
        steps.push(...(suspend ? scalingSteps(spec, undefined, undefined) : scalingSteps(spec, live.scaling, live.scalingPolicy)));
    } else if (live.desiredInstanceCount !== spec.instanceCount) {
        // Without autoscaling the declared count is the fleet size; it changes in place, without a new fleet.
        steps.push({
            call: "UpdateEndpointWeightsAndCapacities",
            input: {
                EndpointName: spec.endpointName,
                DesiredWeightsAndCapacities: [{ VariantName: spec.variantName, DesiredInstanceCount: spec.instanceCount }],
            },
        });
        steps.push({ call: "Wait", expect: { instanceCount: spec.instanceCount } });
    }

    if (newConfig) steps.push({ call: "PruneEndpointConfigs", keep: spec.retainedEndpointConfigs });
    return { changes, steps, restoreScaling };
}

/** How a finished (or unfinished) deployment compares with what was requested. */
export type DeploymentVerdict =
    | { readonly kind: "deployed" }
    | { readonly kind: "inProgress"; readonly status: string }
    | { readonly kind: "rolledBack"; readonly servingConfig: string; readonly failureReason?: string }
    | { readonly kind: "failed"; readonly status: string; readonly failureReason?: string }
    | { readonly kind: "notApplied"; readonly detail: string };

/** Judges one DescribeEndpoint answer against the expectation. */
export function judgeDeployment(
    expect: DeploymentExpectation,
    described: Pick<
        DescribeEndpointOutput,
        "EndpointStatus" | "EndpointConfigName" | "FailureReason" | "ProductionVariants" | "DataCaptureConfig"
    >,
): DeploymentVerdict {
    const status = described.EndpointStatus ?? "unknown";
    if (TRANSITIONAL_STATUSES.includes(status)) return { kind: "inProgress", status };
    if (status !== "InService") return { kind: "failed", status, failureReason: described.FailureReason };
    if (expect.endpointConfigName && described.EndpointConfigName !== expect.endpointConfigName)
        return { kind: "rolledBack", servingConfig: described.EndpointConfigName ?? "unknown", failureReason: described.FailureReason };
    const sampling = described.DataCaptureConfig?.CurrentSamplingPercentage;
    if (expect.samplingPercent !== undefined && sampling !== undefined && sampling !== expect.samplingPercent)
        return { kind: "notApplied", detail: `data capture samples ${sampling}%, not the ${expect.samplingPercent}% requested` };
    const desired = described.ProductionVariants?.[0]?.DesiredInstanceCount;
    if (expect.instanceCount !== undefined && desired !== expect.instanceCount)
        return {
            kind: "notApplied",
            detail: `the variant runs ${desired ?? "an unknown number of"} instances, not the ${expect.instanceCount} requested${described.FailureReason ? ` (${described.FailureReason})` : ""}`,
        };
    return { kind: "deployed" };
}

/** An alarm that went into ALARM while a deployment ran. */
export interface FiredAlarm {
    readonly name: string;
    readonly at?: Date;
    readonly reason?: string;
}

/**
 * The rollback alarms that fired since the deployment started: ALARM transitions in their history, and any
 * still in ALARM now (the history is the only record of one that fired and cleared once traffic went back).
 */
export function firedAlarms(
    alarmNames: readonly string[],
    history: readonly AlarmHistoryItem[],
    current: readonly Pick<MetricAlarm, "AlarmName" | "StateValue" | "StateReason" | "StateUpdatedTimestamp">[],
): FiredAlarm[] {
    const fired = new Map<string, FiredAlarm>();
    for (const item of history) {
        if (!item.AlarmName || !alarmNames.includes(item.AlarmName) || fired.has(item.AlarmName)) continue;
        let data: { newState?: { stateValue?: string; stateReason?: string } };
        try {
            data = JSON.parse(item.HistoryData ?? "{}");
        } catch {
            continue;
        }
        if (data.newState?.stateValue === "ALARM")
            fired.set(item.AlarmName, { name: item.AlarmName, at: item.Timestamp, reason: data.newState.stateReason });
    }
    for (const a of current)
        if (a.AlarmName && alarmNames.includes(a.AlarmName) && a.StateValue === "ALARM" && !fired.has(a.AlarmName))
            fired.set(a.AlarmName, { name: a.AlarmName, at: a.StateUpdatedTimestamp, reason: a.StateReason });
    return alarmNames.filter((n) => fired.has(n)).map((n) => fired.get(n)!);
}

/** The alarm names a deployment config rolls back on. */
export function rollbackAlarmNames(deploymentConfig: DeploymentConfig | undefined): string[] {
    return (deploymentConfig?.AutoRollbackConfiguration?.Alarms ?? []).map((a) => a.AlarmName).filter((n): n is string => !!n);
}

/** The message `pulumi up` fails with when a deployment did not land. */
export function deploymentFailureMessage(p: {
    readonly endpointName: string;
    readonly requestedConfig: string;
    readonly requestedPackage: string;
    readonly verdict: Exclude<DeploymentVerdict, { kind: "deployed" }>;
    /** The package of the config that serves, when known. */
    readonly servingPackage?: string;
    readonly alarms: readonly FiredAlarm[];
    /** Why the alarm history could not be read, when it could not. */
    readonly alarmHistoryProblem?: string;
}): string {
    const head = `endpoint ${p.endpointName}: the update to endpoint config ${p.requestedConfig} (package ${p.requestedPackage})`;
    const v = p.verdict;
    const why = [
        ...p.alarms.map((a) => `alarm ${a.name} fired${a.at ? ` at ${a.at.toISOString()}` : ""}${a.reason ? ` (${a.reason})` : ""}`),
        ...("failureReason" in v && v.failureReason ? [`SageMaker reports: ${v.failureReason}`] : []),
    ];
    const cause = why.length > 0 ? why.join("; ") : "no rollback alarm fired and SageMaker gave no reason";
    const history = p.alarmHistoryProblem ? ` (alarm history unavailable: ${p.alarmHistoryProblem})` : "";
    switch (v.kind) {
        case "rolledBack":
            return (
                `${head} was rolled back: ${cause}${history}. Endpoint config ${v.servingConfig}` +
                `${p.servingPackage ? ` (package ${p.servingPackage})` : ""} is serving, and it and the configs before it were kept. ` +
                `Fix the model, or pin endpoint.modelPackageArn to a good package, and run pulumi up again.`
            );
        case "failed":
            return `${head} left the endpoint ${v.status}: ${cause}${history}. Nothing was deleted; see the endpoint in the SageMaker console before running pulumi up again.`;
        case "inProgress":
            return `${head} did not finish in time: the endpoint is still ${v.status}. Nothing was deleted; run pulumi refresh once it settles, then pulumi up.`;
        case "notApplied":
            return `${head} landed, but ${v.detail}${why.length > 0 ? `: ${cause}` : ""}.`;
    }
}

/**
 * Which endpoint configs to delete: all but the `keep` newest, never one in `protect` (the serving one, the
 * one just requested).
 */
export function configsToPrune(configs: readonly { name: string; created: Date }[], keep: number, protect: readonly string[]): string[] {
    const newestFirst = [...configs].sort((a, b) => b.created.getTime() - a.created.getTime());
    return newestFirst
        .slice(keep)
        .map((c) => c.name)
        .filter((n) => !protect.includes(n));
}

/** The spec's keys that change what is deployed (the state's other keys are observations). */
export const SPEC_KEYS: readonly (keyof EndpointSpec)[] = [
    "region",
    "endpointName",
    "variantName",
    "modelPackageArn",
    "modelName",
    "model",
    "endpointConfigName",
    "instanceType",
    "instanceCount",
    "kmsKeyId",
    "dataCapture",
    "deploymentConfig",
    "scaling",
    "retainedEndpointConfigs",
    "tags",
];

/** A changed endpoint name or region is another endpoint; everything else is an update of this one. */
const REPLACING_KEYS: readonly (keyof EndpointSpec)[] = ["region", "endpointName"];

/** The dynamic provider's diff: which spec keys changed, and whether that needs a new endpoint. */
export function diffSpecs(
    olds: Partial<EndpointSpec>,
    news: Partial<EndpointSpec>,
): { changes: boolean; replaces: string[]; changed: string[] } {
    const changed = SPEC_KEYS.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes: changed.length > 0, replaces: changed.filter((k) => REPLACING_KEYS.includes(k)), changed };
}

/**
 * Problems with a spec, each naming the input and what is allowed. A preview may pass values that are not
 * known yet (outputs of resources still to be created); only known values are checked.
 */
export function specProblems(spec: EndpointSpec): string[] {
    const problems: string[] = [];
    const known = (v: unknown): v is number => typeof v === "number";
    if (known(spec.retainedEndpointConfigs) && (!Number.isInteger(spec.retainedEndpointConfigs) || spec.retainedEndpointConfigs < 2))
        problems.push(
            `retainedEndpointConfigs: ${spec.retainedEndpointConfigs} must be a whole number >= 2 (the serving config and one to roll back to)`,
        );
    if (known(spec.instanceCount) && (!Number.isInteger(spec.instanceCount) || spec.instanceCount < 1))
        problems.push(`instanceCount: ${spec.instanceCount} must be a whole number >= 1`);
    const s = spec.scaling;
    if (s && known(s.minCapacity) && known(s.maxCapacity) && known(spec.instanceCount))
        if (s.minCapacity > s.maxCapacity || spec.instanceCount < s.minCapacity || spec.instanceCount > s.maxCapacity)
            problems.push(
                `scaling: instanceCount ${spec.instanceCount} must lie within minCapacity ${s.minCapacity} .. maxCapacity ${s.maxCapacity}`,
            );
    const canary = spec.deploymentConfig?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration?.CanarySize;
    const smallestFleet = s?.minCapacity ?? spec.instanceCount;
    if (canary?.Type === "INSTANCE_COUNT" && known(canary.Value) && known(smallestFleet) && canary.Value * 2 > smallestFleet)
        problems.push(
            `deploymentConfig: a canary of ${canary.Value} instances is more than half of the smallest fleet; SageMaker allows at most 50%`,
        );
    // "Deployment guardrails exclusions": an Inf1 endpoint silently falls back to all at once, with no alarms watched.
    if (spec.deploymentConfig?.BlueGreenUpdatePolicy && typeof spec.instanceType === "string" && spec.instanceType.startsWith("ml.inf1."))
        problems.push(
            `deploymentConfig: SageMaker does not run blue/green deployments with rollback alarms on ${spec.instanceType} (Inf1); choose another instance type or turn blue/green off`,
        );
    return problems;
}
