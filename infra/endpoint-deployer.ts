import type {
    DeleteScalingPolicyRequest,
    DeleteScalingPolicyResponse,
    DeregisterScalableTargetRequest,
    DeregisterScalableTargetResponse,
    DescribeScalableTargetsRequest,
    DescribeScalableTargetsResponse,
    DescribeScalingPoliciesRequest,
    DescribeScalingPoliciesResponse,
    PutScalingPolicyRequest,
    PutScalingPolicyResponse,
    RegisterScalableTargetRequest,
    RegisterScalableTargetResponse,
} from "@aws-sdk/client-application-auto-scaling";
import type {
    DescribeAlarmHistoryInput,
    DescribeAlarmHistoryOutput,
    DescribeAlarmsInput,
    DescribeAlarmsOutput,
} from "@aws-sdk/client-cloudwatch";
import type {
    CreateEndpointConfigInput,
    CreateEndpointConfigOutput,
    CreateEndpointInput,
    CreateEndpointOutput,
    CreateModelInput,
    CreateModelOutput,
    DeleteEndpointConfigInput,
    DeleteEndpointInput,
    DeleteModelInput,
    DescribeEndpointConfigInput,
    DescribeEndpointConfigOutput,
    DescribeEndpointInput,
    DescribeEndpointOutput,
    DescribeModelInput,
    DescribeModelOutput,
    ListEndpointConfigsInput,
    ListEndpointConfigsOutput,
    UpdateEndpointInput,
    UpdateEndpointOutput,
    UpdateEndpointWeightsAndCapacitiesInput,
    UpdateEndpointWeightsAndCapacitiesOutput,
} from "@aws-sdk/client-sagemaker";
import {
    configsToPrune,
    DeploymentExpectation,
    deploymentFailureMessage,
    DeploymentVerdict,
    EndpointSpec,
    EndpointState,
    EndpointStep,
    FiredAlarm,
    firedAlarms,
    judgeDeployment,
    LiveEndpoint,
    planCreate,
    planUpdate,
    rollbackAlarmNames,
    scalableTarget,
    scalingPolicyName,
    TRANSITIONAL_STATUSES,
} from "./endpoint-update";
import { versionedFamily } from "./naming";
import { packageOfContainer } from "./served-package";

/**
 * Carries out the decisions of `endpoint-update.ts` against SageMaker, Application Auto Scaling and
 * CloudWatch. The clients are injected as the few calls used (the SDK's aggregated clients, `new
 * SageMaker({ region })` and the like, satisfy these types), so tests run the same code against a stand-in
 * or an emulator. Only types are imported from the SDK: the EndpointDeployment provider is serialized with
 * this module, and builds the real clients inside its own methods.
 */

type Call<I, O> = (input: I) => Promise<O>;

export interface SageMakerCalls {
    createModel: Call<CreateModelInput, CreateModelOutput>;
    describeModel: Call<DescribeModelInput, DescribeModelOutput>;
    deleteModel: Call<DeleteModelInput, unknown>;
    createEndpointConfig: Call<CreateEndpointConfigInput, CreateEndpointConfigOutput>;
    describeEndpointConfig: Call<DescribeEndpointConfigInput, DescribeEndpointConfigOutput>;
    deleteEndpointConfig: Call<DeleteEndpointConfigInput, unknown>;
    listEndpointConfigs: Call<ListEndpointConfigsInput, ListEndpointConfigsOutput>;
    createEndpoint: Call<CreateEndpointInput, CreateEndpointOutput>;
    describeEndpoint: Call<DescribeEndpointInput, DescribeEndpointOutput>;
    updateEndpoint: Call<UpdateEndpointInput, UpdateEndpointOutput>;
    updateEndpointWeightsAndCapacities: Call<UpdateEndpointWeightsAndCapacitiesInput, UpdateEndpointWeightsAndCapacitiesOutput>;
    deleteEndpoint: Call<DeleteEndpointInput, unknown>;
}

export interface AutoScalingCalls {
    describeScalableTargets: Call<DescribeScalableTargetsRequest, DescribeScalableTargetsResponse>;
    registerScalableTarget: Call<RegisterScalableTargetRequest, RegisterScalableTargetResponse>;
    deregisterScalableTarget: Call<DeregisterScalableTargetRequest, DeregisterScalableTargetResponse>;
    describeScalingPolicies: Call<DescribeScalingPoliciesRequest, DescribeScalingPoliciesResponse>;
    putScalingPolicy: Call<PutScalingPolicyRequest, PutScalingPolicyResponse>;
    deleteScalingPolicy: Call<DeleteScalingPolicyRequest, DeleteScalingPolicyResponse>;
}

export interface CloudWatchCalls {
    describeAlarmHistory: Call<DescribeAlarmHistoryInput, DescribeAlarmHistoryOutput>;
    describeAlarms: Call<DescribeAlarmsInput, DescribeAlarmsOutput>;
}

export interface EndpointClients {
    readonly sagemaker: SageMakerCalls;
    readonly autoscaling: AutoScalingCalls;
    readonly cloudwatch: CloudWatchCalls;
}

/** How the deployer waits; tests pass a clock that does not sleep. */
export interface DeploymentTiming {
    sleep(ms: number): Promise<void>;
    now(): Date;
    /** Seconds between DescribeEndpoint polls while a deployment runs. */
    readonly pollSeconds: number;
    /** Progress lines for the person running `pulumi up`. */
    log?(line: string): void;
}

/** Seconds to wait for one deployment: a blue/green one's own time limit and bake, plus an hour for provisioning. */
export function deploymentTimeoutSeconds(spec: Pick<EndpointSpec, "deploymentConfig">): number {
    const bg = spec.deploymentConfig?.BlueGreenUpdatePolicy;
    return 3600 + (bg ? (bg.MaximumExecutionTimeoutInSeconds ?? 3600) + (bg.TerminationWaitInSeconds ?? 0) : 0);
}

/** The name of the error a deployment that did not land fails with; `pulumi up` prints its message. */
export const DEPLOYMENT_ERROR = "EndpointDeploymentError";

// Plain errors and objects rather than classes: this module is serialized with the provider.
function deploymentError(message: string): Error {
    return Object.assign(new Error(message), { name: DEPLOYMENT_ERROR });
}

function isNotFound(e: unknown): boolean {
    const err = e as { name?: string; message?: string };
    return (
        ["ValidationException", "ValidationError", "ResourceNotFound", "ObjectNotFoundException"].includes(err?.name ?? "") &&
        /could not find|not found|does not exist/i.test(err?.message ?? "")
    );
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
    try {
        return await p;
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
}

/** One run of the deployer: its clients, clock, the spec, and what it did. */
interface Run {
    readonly clients: EndpointClients;
    readonly spec: EndpointSpec;
    readonly timing: DeploymentTiming;
    readonly previous: Partial<EndpointState> | undefined;
    readonly calls: string[];
    scalingSuspended: boolean;
    deploymentStarted: Date;
    kept: string[] | undefined;
}

function startRun(
    clients: EndpointClients,
    spec: EndpointSpec,
    timing: DeploymentTiming,
    previous: Partial<EndpointState> | undefined,
): Run {
    return { clients, spec, timing, previous, calls: [], scalingSuspended: false, deploymentStarted: timing.now(), kept: undefined };
}

function record(run: Run, call: string): void {
    run.calls.push(call);
    run.timing.log?.(`${run.spec.endpointName}: ${call}`);
}

async function describeEndpoint(run: Run): Promise<DescribeEndpointOutput | undefined> {
    return orUndefined(run.clients.sagemaker.describeEndpoint({ EndpointName: run.spec.endpointName }));
}

/** The live endpoint, its serving config's variant, and its scaling registration; waits while it is busy. */
async function observe(run: Run): Promise<{ live: LiveEndpoint; described: DescribeEndpointOutput } | undefined> {
    let described = await describeEndpoint(run);
    const deadline = run.timing.now().getTime() + deploymentTimeoutSeconds(run.spec) * 1000;
    while (described && TRANSITIONAL_STATUSES.includes(described.EndpointStatus ?? "") && run.timing.now().getTime() < deadline) {
        await run.timing.sleep(run.timing.pollSeconds * 1000);
        described = await describeEndpoint(run);
    }
    if (!described) return undefined;
    const status = described.EndpointStatus ?? "unknown";
    if (status !== "InService")
        throw deploymentError(
            `endpoint ${run.spec.endpointName} is ${status}${described.FailureReason ? ` (${described.FailureReason})` : ""}, so it cannot be updated; ` +
                `SageMaker allows only deleting a Failed endpoint. Nothing was changed.`,
        );
    const configName = described.EndpointConfigName ?? "";
    // The serving config may be gone (deleted by hand, or by a tool that took a rollback for a success).
    const config = configName
        ? await orUndefined(run.clients.sagemaker.describeEndpointConfig({ EndpointConfigName: configName }))
        : undefined;
    const variant = config?.ProductionVariants?.find((v) => v.VariantName === run.spec.variantName);
    const liveVariant = described.ProductionVariants?.find((v) => v.VariantName === run.spec.variantName);
    const target = scalableTarget(run.spec);
    const targets = await run.clients.autoscaling.describeScalableTargets({
        ServiceNamespace: target.ServiceNamespace,
        ResourceIds: [target.ResourceId],
        ScalableDimension: target.ScalableDimension,
    });
    const registered = targets.ScalableTargets?.[0];
    const policies = registered
        ? await run.clients.autoscaling.describeScalingPolicies({
              ServiceNamespace: target.ServiceNamespace,
              ResourceId: target.ResourceId,
              ScalableDimension: target.ScalableDimension,
          })
        : undefined;
    const policy = policies?.ScalingPolicies?.find((p) => p.PolicyName === scalingPolicyName(run.spec));
    return {
        described,
        live: {
            status,
            endpointConfigName: configName,
            modelName: variant?.ModelName,
            instanceType: variant?.InstanceType,
            desiredInstanceCount: liveVariant?.DesiredInstanceCount,
            samplingPercent: described.DataCaptureConfig?.CurrentSamplingPercentage,
            scaling:
                registered && registered.MinCapacity !== undefined && registered.MaxCapacity !== undefined
                    ? { minCapacity: registered.MinCapacity, maxCapacity: registered.MaxCapacity }
                    : undefined,
            scalingPolicy:
                policy?.PolicyName !== undefined
                    ? {
                          PolicyName: policy.PolicyName,
                          TargetTrackingScalingPolicyConfiguration: policy.TargetTrackingScalingPolicyConfiguration,
                      }
                    : undefined,
        },
    };
}

/** The package a config serves (config -> model -> container), when it can be found. */
async function packageOfConfig(run: Run, configName: string): Promise<string | undefined> {
    if (run.previous?.endpointConfigName === configName && run.previous.modelPackageArn) return run.previous.modelPackageArn;
    try {
        const config = await run.clients.sagemaker.describeEndpointConfig({ EndpointConfigName: configName });
        const modelName = config.ProductionVariants?.find((v) => v.VariantName === run.spec.variantName)?.ModelName;
        if (!modelName) return undefined;
        const model = await run.clients.sagemaker.describeModel({ ModelName: modelName });
        return packageOfContainer(model.PrimaryContainer ?? model.Containers?.[0]);
    } catch {
        return undefined;
    }
}

/** The rollback alarms that fired since the deployment started, and why the history could not be read if it could not. */
async function alarmsFiredSince(run: Run, since: Date): Promise<{ alarms: FiredAlarm[]; problem?: string }> {
    const names = rollbackAlarmNames(run.spec.deploymentConfig);
    if (names.length === 0) return { alarms: [] };
    const problems: string[] = [];
    const history = [];
    for (const name of names) {
        try {
            const page = await run.clients.cloudwatch.describeAlarmHistory({
                AlarmName: name,
                HistoryItemType: "StateUpdate",
                StartDate: since,
                ScanBy: "TimestampAscending",
            });
            history.push(...(page.AlarmHistoryItems ?? []));
        } catch (e) {
            problems.push(`DescribeAlarmHistory ${name}: ${(e as Error).message}`);
        }
    }
    let current: NonNullable<DescribeAlarmsOutput["MetricAlarms"]> = [];
    try {
        current = (await run.clients.cloudwatch.describeAlarms({ AlarmNames: names })).MetricAlarms ?? [];
    } catch (e) {
        problems.push(`DescribeAlarms: ${(e as Error).message}`);
    }
    return { alarms: firedAlarms(names, history, current), problem: problems.length > 0 ? problems.join("; ") : undefined };
}

async function failDeployment(run: Run, verdict: Exclude<DeploymentVerdict, { kind: "deployed" }>): Promise<never> {
    const { alarms, problem } =
        verdict.kind === "rolledBack" || verdict.kind === "failed" ? await alarmsFiredSince(run, run.deploymentStarted) : { alarms: [] };
    const servingPackage = verdict.kind === "rolledBack" ? await packageOfConfig(run, verdict.servingConfig) : undefined;
    throw deploymentError(
        deploymentFailureMessage({
            endpointName: run.spec.endpointName,
            requestedConfig: run.spec.endpointConfigName,
            requestedPackage: run.spec.modelPackageArn,
            verdict,
            servingPackage,
            alarms,
            alarmHistoryProblem: problem,
        }),
    );
}

/** Polls DescribeEndpoint until the deployment is over, then judges it; anything but the requested result fails. */
async function waitFor(run: Run, expect: DeploymentExpectation): Promise<DescribeEndpointOutput> {
    const deadline = run.timing.now().getTime() + deploymentTimeoutSeconds(run.spec) * 1000;
    for (;;) {
        const described = await describeEndpoint(run);
        if (!described)
            return failDeployment(run, {
                kind: "failed",
                status: "deleted",
                failureReason: "the endpoint disappeared during the deployment",
            });
        const verdict = judgeDeployment(expect, described);
        if (verdict.kind === "deployed") return described;
        if (verdict.kind !== "inProgress" || run.timing.now().getTime() >= deadline) return failDeployment(run, verdict);
        await run.timing.sleep(run.timing.pollSeconds * 1000);
    }
}

/** Deletes the endpoint configs of this endpoint beyond the newest `keep`, and the models only they used. */
async function prune(run: Run, family: string, keep: number, protect: readonly string[]): Promise<string[]> {
    const sm = run.clients.sagemaker;
    const mine: { name: string; created: Date }[] = [];
    let token: string | undefined;
    do {
        const page = await sm.listEndpointConfigs({
            NameContains: family,
            SortBy: "CreationTime",
            SortOrder: "Descending",
            MaxResults: 100,
            NextToken: token,
        });
        for (const c of page.EndpointConfigs ?? [])
            if (c.EndpointConfigName && versionedFamily(c.EndpointConfigName) === family)
                mine.push({ name: c.EndpointConfigName, created: c.CreationTime ?? new Date(0) });
        token = page.NextToken;
    } while (token);
    const doomed = configsToPrune(mine, keep, protect);
    const kept = mine.filter((c) => !doomed.includes(c.name)).map((c) => c.name);
    const modelsOf = async (name: string) =>
        ((await orUndefined(sm.describeEndpointConfig({ EndpointConfigName: name })))?.ProductionVariants ?? []).map(
            (v) => v.ModelName ?? "",
        );
    const keptModels = new Set((await Promise.all(kept.map(modelsOf))).flat());
    const doomedModels = new Set((await Promise.all(doomed.map(modelsOf))).flat());
    for (const name of doomed) {
        await orUndefined(sm.deleteEndpointConfig({ EndpointConfigName: name }));
        record(run, `DeleteEndpointConfig ${name}`);
    }
    for (const model of doomedModels) {
        if (!model || keptModels.has(model)) continue;
        await orUndefined(sm.deleteModel({ ModelName: model }));
        record(run, `DeleteModel ${model}`);
    }
    return kept;
}

async function runStep(run: Run, step: EndpointStep): Promise<void> {
    const { sagemaker: sm, autoscaling: aas } = run.clients;
    switch (step.call) {
        case "CreateModel":
            // Models and configs are named after their content: one that exists is the same one, so it is reused.
            if (await orUndefined(sm.describeModel({ ModelName: step.input.ModelName })))
                return record(run, `CreateModel skipped: ${step.input.ModelName} exists`);
            await sm.createModel(step.input);
            return record(run, `CreateModel ${step.input.ModelName}`);
        case "CreateEndpointConfig":
            if (await orUndefined(sm.describeEndpointConfig({ EndpointConfigName: step.input.EndpointConfigName })))
                return record(run, `CreateEndpointConfig skipped: ${step.input.EndpointConfigName} exists`);
            await sm.createEndpointConfig(step.input);
            return record(run, `CreateEndpointConfig ${step.input.EndpointConfigName}`);
        case "CreateEndpoint":
            run.deploymentStarted = run.timing.now();
            await sm.createEndpoint(step.input);
            return record(run, `CreateEndpoint ${step.input.EndpointName}`);
        case "DeleteScalingPolicy":
            await aas.deleteScalingPolicy(step.input);
            return record(run, `DeleteScalingPolicy ${step.input.PolicyName}`);
        case "DeregisterScalableTarget":
            await aas.deregisterScalableTarget(step.input);
            run.scalingSuspended = true;
            return record(run, `DeregisterScalableTarget ${step.input.ResourceId}`);
        case "UpdateEndpoint": {
            run.deploymentStarted = run.timing.now();
            await sm.updateEndpoint(step.input);
            const how = [
                step.input.RetainAllVariantProperties ? "retaining variant properties" : "",
                ...(step.input.ExcludeRetainedVariantProperties ?? []).map((p) => `except ${p.VariantPropertyType}`),
                step.input.DeploymentConfig?.BlueGreenUpdatePolicy ? "blue/green" : "all at once",
            ].filter(Boolean);
            return record(run, `UpdateEndpoint ${step.input.EndpointConfigName} (${how.join(", ")})`);
        }
        case "UpdateEndpointWeightsAndCapacities":
            run.deploymentStarted = run.timing.now();
            await sm.updateEndpointWeightsAndCapacities(step.input);
            return record(
                run,
                `UpdateEndpointWeightsAndCapacities ${step.input.DesiredWeightsAndCapacities?.[0]?.DesiredInstanceCount} instances`,
            );
        case "Wait": {
            const d = await waitFor(run, step.expect);
            return record(
                run,
                `verified: serves ${d.EndpointConfigName}, ${d.ProductionVariants?.[0]?.DesiredInstanceCount ?? "?"} instances`,
            );
        }
        case "RegisterScalableTarget":
            await aas.registerScalableTarget(step.input);
            run.scalingSuspended = false;
            return record(run, `RegisterScalableTarget ${step.input.MinCapacity}..${step.input.MaxCapacity}`);
        case "PutScalingPolicy":
            await aas.putScalingPolicy(step.input);
            return record(run, `PutScalingPolicy ${step.input.PolicyName}`);
        case "PruneEndpointConfigs":
            run.kept = await prune(run, versionedFamily(run.spec.endpointConfigName) ?? run.spec.endpointConfigName, step.keep, [
                run.spec.endpointConfigName,
            ]);
            return;
    }
}

async function runSteps(run: Run, steps: readonly EndpointStep[]): Promise<void> {
    for (const step of steps) await runStep(run, step);
}

async function finalState(run: Run, summary: string): Promise<EndpointState> {
    const described = await describeEndpoint(run);
    const variant = described?.ProductionVariants?.find((v) => v.VariantName === run.spec.variantName);
    return {
        ...run.spec,
        endpointArn: described?.EndpointArn ?? run.previous?.endpointArn ?? "",
        liveInstanceCount: variant?.DesiredInstanceCount ?? run.spec.instanceCount,
        keptEndpointConfigs: run.kept ?? [...new Set([run.spec.endpointConfigName, ...(run.previous?.keptEndpointConfigs ?? [])])],
        lastDeployment: `${summary}: ${run.calls.join("; ")}`,
    };
}

/**
 * Takes the endpoint to the spec: the calls `planUpdate` decides, each deployment verified. When a
 * deployment does not land, scaling is put back as it was, nothing is pruned, and this throws with a message
 * that names the alarm that fired and the config now serving.
 */
export async function updateEndpoint(
    clients: EndpointClients,
    previous: Partial<EndpointState> | undefined,
    spec: EndpointSpec,
    timing: DeploymentTiming,
): Promise<EndpointState> {
    const run = startRun(clients, spec, timing, previous);
    const observed = await observe(run);
    if (!observed) return createEndpoint(clients, spec, timing);
    const plan = planUpdate(spec, observed.live);
    const before = observed.live.desiredInstanceCount;
    try {
        await runSteps(run, plan.steps);
    } catch (e) {
        if (run.scalingSuspended) {
            try {
                await runSteps(run, plan.restoreScaling);
            } catch (restoreError) {
                throw deploymentError(
                    `${(e as Error).message} Restoring autoscaling failed too (${(restoreError as Error).message}); register the scalable target by hand.`,
                );
            }
        }
        throw e;
    }
    const state = await finalState(run, plan.changes.length > 0 ? `updated ${plan.changes.join(", ")}` : "no change");
    return { ...state, lastDeployment: `${state.lastDeployment}; instances ${before ?? "?"} -> ${state.liveInstanceCount}` };
}

/** Stands the endpoint up; adopts one that already exists under the name, and replaces one that failed to create. */
export async function createEndpoint(clients: EndpointClients, spec: EndpointSpec, timing: DeploymentTiming): Promise<EndpointState> {
    const run = startRun(clients, spec, timing, undefined);
    const existing = await describeEndpoint(run);
    if (existing?.EndpointStatus === "Failed") {
        await deleteEndpointOnly(run);
    } else if (existing) {
        return updateEndpoint(clients, undefined, spec, timing);
    }
    await runSteps(run, planCreate(spec));
    return finalState(run, "created");
}

async function deleteEndpointOnly(run: Run): Promise<void> {
    await orUndefined(run.clients.sagemaker.deleteEndpoint({ EndpointName: run.spec.endpointName }));
    record(run, `DeleteEndpoint ${run.spec.endpointName}`);
    while (await describeEndpoint(run)) await run.timing.sleep(run.timing.pollSeconds * 1000);
}

/** Deletes the endpoint, its scaling registration, and every endpoint config and model it kept. */
export async function deleteEndpoint(clients: EndpointClients, state: EndpointState, timing: DeploymentTiming): Promise<void> {
    const run = startRun(clients, state, timing, state);
    const target = scalableTarget(state);
    const registered = await clients.autoscaling.describeScalableTargets({
        ServiceNamespace: target.ServiceNamespace,
        ResourceIds: [target.ResourceId],
        ScalableDimension: target.ScalableDimension,
    });
    if (registered.ScalableTargets?.length) {
        await orUndefined(clients.autoscaling.deleteScalingPolicy({ ...target, PolicyName: scalingPolicyName(state) }));
        await clients.autoscaling.deregisterScalableTarget(target);
        record(run, `DeregisterScalableTarget ${target.ResourceId}`);
    }
    await deleteEndpointOnly(run);
    await prune(run, versionedFamily(state.endpointConfigName) ?? state.endpointConfigName, 0, []);
}

/**
 * What `pulumi refresh` records: the state with the config, model and package that actually serve, or
 * undefined when the endpoint is gone.
 */
export async function readEndpoint(clients: EndpointClients, state: EndpointState): Promise<EndpointState | undefined> {
    const run = startRun(clients, state, { sleep: async () => undefined, now: () => new Date(), pollSeconds: 0 }, state);
    const described = await describeEndpoint(run);
    if (!described) return undefined;
    const serving = described.EndpointConfigName ?? "";
    const variant = described.ProductionVariants?.find((v) => v.VariantName === state.variantName);
    const live = {
        ...state,
        endpointArn: described.EndpointArn ?? state.endpointArn,
        liveInstanceCount: variant?.DesiredInstanceCount ?? state.liveInstanceCount,
    };
    if (serving === state.endpointConfigName) return live;
    const config = await orUndefined(clients.sagemaker.describeEndpointConfig({ EndpointConfigName: serving }));
    const servingVariant = config?.ProductionVariants?.find((v) => v.VariantName === state.variantName);
    return {
        ...live,
        endpointConfigName: serving,
        modelName: servingVariant?.ModelName ?? "unknown",
        instanceType: servingVariant?.InstanceType ?? "unknown",
        modelPackageArn: (await packageOfConfig(run, serving)) ?? "unknown",
        lastDeployment: `refresh: the endpoint serves ${serving}, not ${state.endpointConfigName}`,
    };
}
