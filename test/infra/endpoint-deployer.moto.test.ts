import { ApplicationAutoScaling } from "@aws-sdk/client-application-auto-scaling";
import { CloudWatch } from "@aws-sdk/client-cloudwatch";
import { SageMaker, UpdateEndpointInput } from "@aws-sdk/client-sagemaker";
import { expect } from "chai";
import { createEndpoint, deleteEndpoint, EndpointClients, updateEndpoint } from "../../infra/endpoint-deployer";
import { EndpointState } from "../../infra/endpoint-update";
import { ALARMS, ENDPOINT, pkg, prodSpec } from "../support/endpoint-spec";
import { MotoServer, resetMoto, startMoto } from "../support/moto";

/**
 * The deployer's API sequence against moto, the real SageMaker, Application Auto Scaling and CloudWatch
 * APIs as moto emulates them. moto has every call the deployer makes but two:
 * - UpdateEndpoint: moto has no such action. The stand-in below replaces it with calls moto has (delete the
 *   endpoint, create it on the new config, set the retained instance count), or, to stand for a rollback,
 *   leaves the endpoint as it was. It says nothing about blue/green traffic shifting, which moto lacks too.
 * - DescribeAlarmHistory: moto has no such action either; the deployer then names the alarm from
 *   DescribeAlarms (one still in ALARM) and says the history was unavailable.
 * moto also does not refuse an instance-type change on an autoscaled variant, does not move the live count
 * into new scaling bounds, puts endpoints InService at once, and drops CreateModel's EnableNetworkIsolation
 * (it describes every model as not isolated); the stand-in and mock tests cover those.
 */
describe("infra/endpoint-deployer against moto", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let sagemaker: SageMaker;
    let autoscaling: ApplicationAutoScaling;
    let cloudwatch: CloudWatch;
    const standIns: string[] = [];
    let rollBack = false;

    /** UpdateEndpoint, which moto lacks, from calls moto has. */
    async function updateEndpointStandIn(input: UpdateEndpointInput) {
        standIns.push(`UpdateEndpoint ${input.EndpointConfigName}`);
        const before = await sagemaker.describeEndpoint({ EndpointName: input.EndpointName });
        if (rollBack) return { EndpointArn: before.EndpointArn };
        const count = before.ProductionVariants?.[0]?.DesiredInstanceCount;
        await sagemaker.deleteEndpoint({ EndpointName: input.EndpointName });
        await sagemaker.createEndpoint({ EndpointName: input.EndpointName, EndpointConfigName: input.EndpointConfigName });
        if (input.RetainAllVariantProperties && count)
            await sagemaker.updateEndpointWeightsAndCapacities({
                EndpointName: input.EndpointName,
                DesiredWeightsAndCapacities: [{ VariantName: "AllTraffic", DesiredInstanceCount: count }],
            });
        return { EndpointArn: before.EndpointArn };
    }

    function clients(): EndpointClients {
        const sm = new Proxy(sagemaker, {
            get: (target, p) => (p === "updateEndpoint" ? updateEndpointStandIn : Reflect.get(target, p)),
        });
        return { sagemaker: sm, autoscaling, cloudwatch };
    }

    const timing = { sleep: async () => undefined, now: () => new Date(), pollSeconds: 0 };
    const target = { ServiceNamespace: "sagemaker" as const, ResourceIds: [`endpoint/${ENDPOINT}/variant/AllTraffic`] };

    before(async () => {
        moto = await startMoto();
        sagemaker = new SageMaker(moto.clientConfig);
        autoscaling = new ApplicationAutoScaling(moto.clientConfig);
        cloudwatch = new CloudWatch(moto.clientConfig);
    });
    after(async () => moto?.stop());
    beforeEach(async () => {
        await resetMoto(moto);
        standIns.length = 0;
        rollBack = false;
        for (const AlarmName of ALARMS)
            await cloudwatch.putMetricAlarm({
                AlarmName,
                Namespace: "AWS/SageMaker",
                MetricName: "Invocation5XXErrors",
                Statistic: "Sum",
                Period: 60,
                EvaluationPeriods: 3,
                Threshold: 1,
                ComparisonOperator: "GreaterThanOrEqualToThreshold",
            });
    });

    /** The endpoint on v6, autoscaled 2..6, grown to 6 instances. */
    async function grown(): Promise<EndpointState> {
        const state = await createEndpoint(clients(), prodSpec(6), timing);
        await sagemaker.updateEndpointWeightsAndCapacities({
            EndpointName: ENDPOINT,
            DesiredWeightsAndCapacities: [{ VariantName: "AllTraffic", DesiredInstanceCount: 6 }],
        });
        return state;
    }

    it("creates the model, config, endpoint and scaling with the real calls", async () => {
        const state = await createEndpoint(clients(), prodSpec(6), timing);
        const endpoint = await sagemaker.describeEndpoint({ EndpointName: ENDPOINT });
        expect(endpoint).to.deep.include({ EndpointStatus: "InService", EndpointConfigName: prodSpec(6).endpointConfigName });
        const config = await sagemaker.describeEndpointConfig({ EndpointConfigName: prodSpec(6).endpointConfigName });
        expect(config.ProductionVariants?.[0]).to.deep.include({
            ModelName: prodSpec(6).modelName,
            InstanceType: "ml.m5.xlarge",
            InitialInstanceCount: 2,
        });
        expect(config.KmsKeyId).to.equal(prodSpec(6).kmsKeyId);
        const model = await sagemaker.describeModel({ ModelName: prodSpec(6).modelName });
        expect(model.PrimaryContainer?.ModelPackageName).to.equal(pkg(6));
        const targets = await autoscaling.describeScalableTargets(target);
        expect(targets.ScalableTargets?.[0]).to.deep.include({ MinCapacity: 2, MaxCapacity: 6 });
        const policies = await autoscaling.describeScalingPolicies({ ServiceNamespace: "sagemaker", ResourceId: target.ResourceIds[0] });
        expect(policies.ScalingPolicies?.map((p) => p.PolicyName)).to.deep.equal([`${ENDPOINT}-invocations-per-instance`]);
        expect(policies.ScalingPolicies?.[0].TargetTrackingScalingPolicyConfiguration).to.deep.include({
            TargetValue: 200,
            ScaleInCooldown: 300,
        });
        expect(state.endpointArn).to.equal(endpoint.EndpointArn);
        expect(standIns).to.deep.equal([]);
    });

    it("an instance-type change: scaling deregistered and registered again around the update, 6 instances kept", async () => {
        const state = await grown();
        const next = await updateEndpoint(clients(), state, prodSpec(6, { instanceType: "ml.c5.2xlarge" }), timing);
        const endpoint = await sagemaker.describeEndpoint({ EndpointName: ENDPOINT });
        expect(endpoint.EndpointConfigName).to.equal(prodSpec(6, { instanceType: "ml.c5.2xlarge" }).endpointConfigName);
        expect(endpoint.ProductionVariants?.[0].DesiredInstanceCount).to.equal(6);
        expect((await autoscaling.describeScalableTargets(target)).ScalableTargets?.[0]).to.deep.include({
            MinCapacity: 2,
            MaxCapacity: 6,
        });
        const policies = await autoscaling.describeScalingPolicies({ ServiceNamespace: "sagemaker", ResourceId: target.ResourceIds[0] });
        expect(policies.ScalingPolicies).to.have.length(1);
        expect(next.lastDeployment).to.match(
            /DeleteScalingPolicy .*; DeregisterScalableTarget .*; .*UpdateEndpoint .*; RegisterScalableTarget 2..6; PutScalingPolicy/,
        );
        expect(standIns).to.have.length(1);
    });

    it("a rollback: the update fails naming the alarm (from DescribeAlarms; moto has no history) and the serving config", async () => {
        const state = await grown();
        rollBack = true;
        await cloudwatch.setAlarmState({
            AlarmName: ALARMS[0],
            StateValue: "ALARM",
            StateReason: "Threshold Crossed: 3 datapoints >= 1.0",
        });
        const error = await updateEndpoint(clients(), state, prodSpec(7), timing).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(error?.message).to.include(`was rolled back: alarm ${ALARMS[0]} fired`);
        expect(error?.message).to.include("(Threshold Crossed: 3 datapoints >= 1.0)");
        expect(error?.message).to.include(`Endpoint config ${prodSpec(6).endpointConfigName} (package ${pkg(6)}) is serving`);
        expect(error?.message).to.match(/alarm history unavailable: DescribeAlarmHistory/);
        const configs = await sagemaker.listEndpointConfigs({});
        expect(configs.EndpointConfigs?.map((c) => c.EndpointConfigName)).to.have.members(
            [6, 7].map((v) => prodSpec(v).endpointConfigName),
        );
        expect((await sagemaker.describeEndpoint({ EndpointName: ENDPOINT })).EndpointConfigName).to.equal(prodSpec(6).endpointConfigName);
    });

    it("keeps the three newest configs (and their models), deletes the rest, then deletes everything with the endpoint", async () => {
        let state = await grown();
        for (const v of [7, 8, 9]) state = await updateEndpoint(clients(), state, prodSpec(v), timing);
        const configs = (await sagemaker.listEndpointConfigs({})).EndpointConfigs?.map((c) => c.EndpointConfigName);
        expect(configs).to.have.members([7, 8, 9].map((v) => prodSpec(v).endpointConfigName));
        const models = (await sagemaker.listModels({})).Models?.map((m) => m.ModelName);
        expect(models).to.have.members([7, 8, 9].map((v) => prodSpec(v).modelName));
        await deleteEndpoint(clients(), state, timing);
        expect((await sagemaker.listEndpoints({})).Endpoints).to.deep.equal([]);
        expect((await sagemaker.listEndpointConfigs({})).EndpointConfigs).to.deep.equal([]);
        expect((await sagemaker.listModels({})).Models).to.deep.equal([]);
        expect((await autoscaling.describeScalableTargets(target)).ScalableTargets).to.deep.equal([]);
    });
});
