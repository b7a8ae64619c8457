import { expect } from "chai";
import {
    configsToPrune,
    deploymentFailureMessage,
    diffSpecs,
    EndpointSpec,
    firedAlarms,
    judgeDeployment,
    LiveEndpoint,
    planCreate,
    planUpdate,
    scalingPolicyName,
    specProblems,
} from "../../infra/endpoint-update";
import { ALARMS, ENDPOINT, pkg, prodSpec, versioned } from "../support/endpoint-spec";

/** The live endpoint serving `spec`, autoscaled as the spec says, grown to `count` instances. */
function serving(spec: EndpointSpec, count = spec.instanceCount): LiveEndpoint {
    return {
        status: "InService",
        endpointConfigName: spec.endpointConfigName,
        modelName: spec.modelName,
        instanceType: spec.instanceType,
        desiredInstanceCount: count,
        samplingPercent: spec.dataCapture.InitialSamplingPercentage,
        scaling: spec.scaling && { minCapacity: spec.scaling.minCapacity, maxCapacity: spec.scaling.maxCapacity },
        scalingPolicy: spec.scaling && {
            PolicyName: scalingPolicyName(spec),
            TargetTrackingScalingPolicyConfiguration: {
                TargetValue: spec.scaling.targetInvocationsPerInstance,
                PredefinedMetricSpecification: { PredefinedMetricType: "SageMakerVariantInvocationsPerInstance" },
                ScaleInCooldown: spec.scaling.scaleInCooldownSeconds,
                ScaleOutCooldown: spec.scaling.scaleOutCooldownSeconds,
            },
        },
    };
}

const calls = (steps: readonly { call: string }[]) => steps.map((s) => s.call);
const step = <C extends string>(steps: readonly { call: string }[], call: C) => steps.find((s) => s.call === call) as any;

describe("infra/endpoint-update: what an update calls, in which order", () => {
    const v6 = prodSpec(6);
    const live = serving(v6, 6); // autoscaling grew the fleet from 2 to 6

    it("new package: a new model and config, UpdateEndpoint keeping the live variant properties, verified, no scaling calls", () => {
        const plan = planUpdate(prodSpec(7), live);
        expect(plan.changes).to.deep.equal(["model"]);
        expect(calls(plan.steps)).to.deep.equal(["CreateModel", "CreateEndpointConfig", "UpdateEndpoint", "Wait", "PruneEndpointConfigs"]);
        expect(step(plan.steps, "UpdateEndpoint").input).to.deep.equal({
            EndpointName: ENDPOINT,
            EndpointConfigName: prodSpec(7).endpointConfigName,
            RetainAllVariantProperties: true,
            ExcludeRetainedVariantProperties: [{ VariantPropertyType: "DataCaptureConfig" }],
            DeploymentConfig: prodSpec(7).deploymentConfig,
        });
        expect(step(plan.steps, "Wait").expect).to.deep.equal({ endpointConfigName: prodSpec(7).endpointConfigName, samplingPercent: 80 });
        expect(step(plan.steps, "PruneEndpointConfigs").keep).to.equal(3);
        // Changing only the model is the one change AWS allows on an autoscaled variant: scaling stays registered.
        expect(plan.restoreScaling).to.deep.equal([]);
    });

    it("new instance type on an autoscaled variant: scaling comes off first and back after, with the way back ready", () => {
        const spec = prodSpec(6, { instanceType: "ml.c5.2xlarge" });
        const plan = planUpdate(spec, live);
        expect(plan.changes).to.deep.equal(["instanceType"]);
        expect(calls(plan.steps)).to.deep.equal([
            "DeleteScalingPolicy",
            "DeregisterScalableTarget",
            "CreateModel",
            "CreateEndpointConfig",
            "UpdateEndpoint",
            "Wait",
            "RegisterScalableTarget",
            "PutScalingPolicy",
            "PruneEndpointConfigs",
        ]);
        expect(step(plan.steps, "DeregisterScalableTarget").input).to.deep.equal({
            ServiceNamespace: "sagemaker",
            ResourceId: `endpoint/${ENDPOINT}/variant/AllTraffic`,
            ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
        });
        expect(step(plan.steps, "UpdateEndpoint").input.RetainAllVariantProperties).to.equal(true);
        expect(step(plan.steps, "RegisterScalableTarget").input).to.include({ MinCapacity: 2, MaxCapacity: 6 });
        expect(step(plan.steps, "PutScalingPolicy").input.TargetTrackingScalingPolicyConfiguration).to.deep.include({ TargetValue: 200 });
        expect(calls(plan.restoreScaling)).to.deep.equal(["RegisterScalableTarget", "PutScalingPolicy"]);
        expect(plan.restoreScaling[0]).to.deep.include({
            input: { ...step(plan.steps, "DeregisterScalableTarget").input, MinCapacity: 2, MaxCapacity: 6 },
        });
    });

    it("new instance type without autoscaling: no scaling calls; the declared count stays the fleet size", () => {
        const spec = prodSpec(6, { instanceType: "ml.c5.2xlarge", scaling: undefined });
        const plan = planUpdate(spec, serving(prodSpec(6, { scaling: undefined })));
        expect(calls(plan.steps)).to.deep.equal(["CreateModel", "CreateEndpointConfig", "UpdateEndpoint", "Wait", "PruneEndpointConfigs"]);
    });

    it("new count without autoscaling: the fleet is resized in place (no new fleet, no new config) and checked", () => {
        const before = prodSpec(6, { scaling: undefined });
        const plan = planUpdate({ ...before, instanceCount: 3 }, serving(before));
        expect(plan.changes).to.deep.equal(["instanceCount"]);
        expect(plan.steps).to.deep.equal([
            {
                call: "UpdateEndpointWeightsAndCapacities",
                input: { EndpointName: ENDPOINT, DesiredWeightsAndCapacities: [{ VariantName: "AllTraffic", DesiredInstanceCount: 3 }] },
            },
            { call: "Wait", expect: { instanceCount: 3 } },
        ]);
    });

    it("new count with autoscaling: nothing is called; the autoscaler keeps the live count (the count sizes new endpoints)", () => {
        const plan = planUpdate({ ...v6, instanceCount: 3 }, live);
        expect(plan.steps).to.deep.equal([]);
        expect(plan.changes).to.deep.equal([]);
    });

    it("new autoscaling bounds: only the scalable target is registered again (it moves the live count into the bounds)", () => {
        const plan = planUpdate({ ...v6, scaling: { ...v6.scaling!, minCapacity: 3, maxCapacity: 8 }, instanceCount: 3 }, live);
        expect(plan.changes).to.deep.equal(["scaling"]);
        expect(plan.steps).to.deep.equal([
            {
                call: "RegisterScalableTarget",
                input: {
                    ServiceNamespace: "sagemaker",
                    ResourceId: `endpoint/${ENDPOINT}/variant/AllTraffic`,
                    ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
                    MinCapacity: 3,
                    MaxCapacity: 8,
                },
            },
        ]);
        const target = planUpdate({ ...v6, scaling: { ...v6.scaling!, targetInvocationsPerInstance: 300 } }, live);
        expect(calls(target.steps)).to.deep.equal(["PutScalingPolicy"]);
    });

    it("capture percent: a new config deployed with capture taken from it (everything else retained), and the percent checked", () => {
        const spec = prodSpec(6, { samplingPercent: 50 });
        const plan = planUpdate(spec, live);
        expect(plan.changes).to.deep.equal(["dataCapture"]);
        expect(calls(plan.steps)).to.deep.equal(["CreateModel", "CreateEndpointConfig", "UpdateEndpoint", "Wait", "PruneEndpointConfigs"]);
        expect(step(plan.steps, "UpdateEndpoint").input.ExcludeRetainedVariantProperties).to.deep.equal([
            { VariantPropertyType: "DataCaptureConfig" },
        ]);
        expect(step(plan.steps, "Wait").expect.samplingPercent).to.equal(50);
    });

    it("autoscaling removed: policy deleted and target deregistered, then the declared count applied in place", () => {
        const plan = planUpdate({ ...v6, scaling: undefined }, live);
        expect(calls(plan.steps)).to.deep.equal([
            "DeleteScalingPolicy",
            "DeregisterScalableTarget",
            "UpdateEndpointWeightsAndCapacities",
            "Wait",
        ]);
        expect(step(plan.steps, "UpdateEndpointWeightsAndCapacities").input.DesiredWeightsAndCapacities[0].DesiredInstanceCount).to.equal(
            2,
        );
    });

    it("autoscaling added: the target registered and the policy attached", () => {
        const plain = prodSpec(6, { scaling: undefined });
        expect(calls(planUpdate(v6, serving(plain)).steps)).to.deep.equal(["RegisterScalableTarget", "PutScalingPolicy"]);
    });

    it("nothing to call when the endpoint already is what the spec says, or when only the deployment settings changed", () => {
        expect(planUpdate(v6, live).steps).to.deep.equal([]);
        expect(planUpdate({ ...v6, deploymentConfig: undefined }, live).steps).to.deep.equal([]);
    });

    it("a new endpoint: model, config, endpoint, a verified first deployment, then scaling", () => {
        expect(calls(planCreate(v6))).to.deep.equal([
            "CreateModel",
            "CreateEndpointConfig",
            "CreateEndpoint",
            "Wait",
            "RegisterScalableTarget",
            "PutScalingPolicy",
        ]);
        const config = (planCreate(v6)[1] as any).input;
        expect(config.ProductionVariants).to.deep.equal([
            {
                VariantName: "AllTraffic",
                ModelName: v6.modelName,
                InstanceType: "ml.m5.xlarge",
                InitialInstanceCount: 2,
                InitialVariantWeight: 1,
            },
        ]);
        expect(config.KmsKeyId).to.equal(v6.kmsKeyId);
        expect(config.Tags).to.deep.include({ Key: "environment", Value: "prod" });
        expect((planCreate({ ...v6, kmsKeyId: undefined })[1] as any).input).to.not.have.property("KmsKeyId");
    });
});

describe("infra/endpoint-update: judging a deployment", () => {
    const want = { endpointConfigName: versioned(2), samplingPercent: 80 };
    const described = (o: object) => ({ EndpointStatus: "InService", EndpointConfigName: versioned(2), ...o }) as any;

    it("waits while SageMaker is still deploying or rolling back", () => {
        for (const status of ["Creating", "Updating", "SystemUpdating", "RollingBack"])
            expect(judgeDeployment(want, described({ EndpointStatus: status })).kind, status).to.equal("inProgress");
    });

    it("InService on the old config is a rollback, not a success", () => {
        expect(judgeDeployment(want, described({ EndpointConfigName: versioned(1) }))).to.deep.equal({
            kind: "rolledBack",
            servingConfig: versioned(1),
            failureReason: undefined,
        });
    });

    it("Failed and UpdateRollbackFailed fail with SageMaker's reason", () => {
        expect(judgeDeployment(want, described({ EndpointStatus: "Failed", FailureReason: "ping failed" }))).to.deep.equal({
            kind: "failed",
            status: "Failed",
            failureReason: "ping failed",
        });
        expect(judgeDeployment(want, described({ EndpointStatus: "UpdateRollbackFailed" })).kind).to.equal("failed");
    });

    it("the right config with the wrong capture percent or instance count did not apply what was asked", () => {
        expect(judgeDeployment(want, described({ DataCaptureConfig: { CurrentSamplingPercentage: 100 } }))).to.deep.equal({
            kind: "notApplied",
            detail: "data capture samples 100%, not the 80% requested",
        });
        expect(judgeDeployment({ instanceCount: 3 }, described({ ProductionVariants: [{ DesiredInstanceCount: 2 }] })).kind).to.equal(
            "notApplied",
        );
        expect(judgeDeployment(want, described({ DataCaptureConfig: { CurrentSamplingPercentage: 80 } })).kind).to.equal("deployed");
    });
});

describe("infra/endpoint-update: naming the alarm that rolled a deployment back", () => {
    const since = new Date("2026-03-01T10:00:00Z");
    const item = (alarm: string, state: string, minutes: number, reason = "Threshold Crossed") => ({
        AlarmName: alarm,
        Timestamp: new Date(since.getTime() + minutes * 60_000),
        HistoryItemType: "StateUpdate" as const,
        HistoryData: JSON.stringify({ newState: { stateValue: state, stateReason: reason } }),
    });

    it("finds the alarm in its history even after it cleared, with when and why", () => {
        const history = [item(ALARMS[0], "ALARM", 12, "Threshold Crossed: 2 datapoints >= 1.0"), item(ALARMS[0], "OK", 14)];
        const current = [{ AlarmName: ALARMS[0], StateValue: "OK" as const }];
        expect(firedAlarms(ALARMS, history, current)).to.deep.equal([
            { name: ALARMS[0], at: new Date("2026-03-01T10:12:00Z"), reason: "Threshold Crossed: 2 datapoints >= 1.0" },
        ]);
    });

    it("counts an alarm still in ALARM, ignores other alarms, other transitions and unreadable history", () => {
        const history = [
            item("someone-elses-alarm", "ALARM", 1),
            item(ALARMS[1], "INSUFFICIENT_DATA", 2),
            { ...item(ALARMS[1], "ALARM", 3), HistoryData: "{" },
        ];
        const current = [{ AlarmName: ALARMS[1], StateValue: "ALARM" as const, StateReason: "p99 above 300 ms" }];
        expect(firedAlarms(ALARMS, history, current)).to.deep.equal([{ name: ALARMS[1], at: undefined, reason: "p99 above 300 ms" }]);
    });

    it("fails the update with a message that names the alarm, the config now serving and its package", () => {
        const message = deploymentFailureMessage({
            endpointName: ENDPOINT,
            requestedConfig: versioned(2),
            requestedPackage: pkg(7),
            verdict: { kind: "rolledBack", servingConfig: versioned(1) },
            servingPackage: pkg(6),
            alarms: [{ name: ALARMS[0], at: new Date("2026-03-01T10:12:00Z"), reason: "Threshold Crossed" }],
        });
        expect(message).to.equal(
            `endpoint ${ENDPOINT}: the update to endpoint config ${versioned(2)} (package ${pkg(7)}) was rolled back: ` +
                `alarm ${ALARMS[0]} fired at 2026-03-01T10:12:00.000Z (Threshold Crossed). Endpoint config ${versioned(1)} (package ${pkg(6)}) ` +
                `is serving, and it and the configs before it were kept. Fix the model, or pin endpoint.modelPackageArn to a good package, and run pulumi up again.`,
        );
    });

    it("says so when no alarm fired and SageMaker gave no reason, and when the history could not be read", () => {
        const message = deploymentFailureMessage({
            endpointName: ENDPOINT,
            requestedConfig: versioned(2),
            requestedPackage: pkg(7),
            verdict: { kind: "rolledBack", servingConfig: versioned(1) },
            alarms: [],
            alarmHistoryProblem: "AccessDenied",
        });
        expect(message).to.include(
            "was rolled back: no rollback alarm fired and SageMaker gave no reason (alarm history unavailable: AccessDenied).",
        );
    });
});

describe("infra/endpoint-update: old configs, diffs and checks", () => {
    const configs = [1, 2, 3, 4, 5].map((n) => ({ name: versioned(n), created: new Date(2026, 0, n) }));

    it("keeps the newest N endpoint configs for rollback and never prunes the serving one", () => {
        expect(configsToPrune(configs, 3, [versioned(5)])).to.deep.equal([versioned(2), versioned(1)]);
        // Pinned back to an old package: its config is reused and serves, so it stays although it is old.
        expect(configsToPrune(configs, 3, [versioned(1)])).to.deep.equal([versioned(2)]);
        expect(configsToPrune(configs, 0, [])).to.have.length(5);
    });

    it("diffs the spec only: observations never cause an update; a new name or region is a new endpoint", () => {
        const state = { ...prodSpec(6), endpointArn: "arn", liveInstanceCount: 6, keptEndpointConfigs: [], lastDeployment: "created" };
        expect(diffSpecs(state, prodSpec(6))).to.deep.equal({ changes: false, replaces: [], changed: [] });
        expect(diffSpecs(state, prodSpec(7))).to.deep.include({ changes: true, replaces: [] });
        expect(diffSpecs(state, prodSpec(7)).changed).to.have.members(["modelPackageArn", "modelName", "model", "endpointConfigName"]);
        expect(diffSpecs(state, { ...prodSpec(6), endpointName: "other" }).replaces).to.deep.equal(["endpointName"]);
    });

    it("refuses a spec that keeps fewer than two configs, a count outside the bounds, a canary over half the fleet, or blue/green on Inf1", () => {
        expect(specProblems(prodSpec(6))).to.deep.equal([]);
        expect(specProblems({ ...prodSpec(6), retainedEndpointConfigs: 1 })).to.deep.equal([
            "retainedEndpointConfigs: 1 must be a whole number >= 2 (the serving config and one to roll back to)",
        ]);
        expect(specProblems({ ...prodSpec(6), instanceCount: 7 })[0]).to.match(
            /instanceCount 7 must lie within minCapacity 2 .. maxCapacity 6/,
        );
        expect(specProblems({ ...prodSpec(6), scaling: undefined, instanceCount: 1 })[0]).to.match(/more than half of the smallest fleet/);
        expect(specProblems(prodSpec(6, { instanceType: "ml.inf1.xlarge" }))[0]).to.match(
            /^deploymentConfig: SageMaker does not run blue\/green deployments .* on ml.inf1.xlarge/,
        );
        expect(specProblems(prodSpec(6, { instanceType: "ml.inf1.xlarge", deploymentConfig: undefined }))).to.deep.equal([]);
    });
});
