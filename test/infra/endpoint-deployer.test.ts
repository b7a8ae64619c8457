import { expect } from "chai";
import { createEndpoint, deleteEndpoint, DEPLOYMENT_ERROR, readEndpoint, updateEndpoint } from "../../infra/endpoint-deployer";
import { EndpointSpec, EndpointState } from "../../infra/endpoint-update";
import { ALARMS, ENDPOINT, pkg, prodSpec } from "../support/endpoint-spec";
import { FakeEndpointAws } from "../support/fake-endpoint-aws";

const TARGET = `endpoint/${ENDPOINT}/variant/AllTraffic`;
/** The calls that change something, in order (reads and polls left out). */
const mutations = (aws: FakeEndpointAws, from = 0) => aws.calls.slice(from).filter((c) => !/^(Describe|List)/.test(c));

/** What an instance-type change on an autoscaled variant calls (the model is unchanged, so it is reused). */
const INSTANCE_TYPE_CHANGE = [
    "DeleteScalingPolicy",
    "DeregisterScalableTarget",
    "CreateEndpointConfig",
    "UpdateEndpoint",
    "RegisterScalableTarget",
    "PutScalingPolicy",
];

/** The prod endpoint on package v6, autoscaled 2..6, grown to 6 instances by traffic. */
async function grownProdEndpoint(spec = prodSpec(6)): Promise<{ aws: FakeEndpointAws; state: EndpointState }> {
    const aws = new FakeEndpointAws();
    for (const a of ALARMS) aws.defineAlarm(a);
    let state = await createEndpoint(aws.clients(), spec, aws.timing());
    if (spec.scaling) {
        aws.autoscaleTo(ENDPOINT, "AllTraffic", 6);
        state = { ...state, liveInstanceCount: 6 };
    }
    return { aws, state };
}

async function update(aws: FakeEndpointAws, state: EndpointState, spec: EndpointSpec) {
    const from = aws.calls.length;
    const next = await updateEndpoint(aws.clients(), state, spec, aws.timing());
    return { next, calls: mutations(aws, from) };
}

async function failure(p: Promise<unknown>): Promise<Error> {
    const e = await p.then(
        () => undefined,
        (err: Error) => err,
    );
    if (!e) throw new Error("expected the update to fail, and it reported success");
    return e;
}

describe("infra/endpoint-deployer: each change a user makes, against a SageMaker stand-in", () => {
    it("creates: model, config, endpoint verified InService, then autoscaling with its policy", async () => {
        const aws = new FakeEndpointAws();
        const state = await createEndpoint(aws.clients(), prodSpec(6), aws.timing());
        expect(mutations(aws)).to.deep.equal([
            "CreateModel",
            "CreateEndpointConfig",
            "CreateEndpoint",
            "RegisterScalableTarget",
            "PutScalingPolicy",
        ]);
        expect(aws.endpoint(ENDPOINT)).to.include({ status: "InService", configName: prodSpec(6).endpointConfigName, desiredCount: 2 });
        expect(aws.targets.get(TARGET)).to.deep.equal({ min: 2, max: 6 });
        expect(state).to.deep.include({
            modelPackageArn: pkg(6),
            endpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${ENDPOINT}`,
            liveInstanceCount: 2,
        });
        expect(aws.requests.CreateEndpoint[0]).to.deep.include({ DeploymentConfig: prodSpec(6).deploymentConfig });
    });

    it("new package: keeps the 6 instances autoscaling grew to, blue/green, verified, scaling untouched", async () => {
        const { aws, state } = await grownProdEndpoint();
        const { next, calls } = await update(aws, state, prodSpec(7));
        expect(calls).to.deep.equal(["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"]);
        expect(aws.requests.UpdateEndpoint[0]).to.deep.include({
            RetainAllVariantProperties: true,
            DeploymentConfig: prodSpec(7).deploymentConfig,
        });
        expect(aws.endpoint(ENDPOINT)).to.include({ configName: prodSpec(7).endpointConfigName, desiredCount: 6 });
        expect(aws.targets.get(TARGET)).to.deep.equal({ min: 2, max: 6 });
        expect(next).to.deep.include({ modelPackageArn: pkg(7), endpointConfigName: prodSpec(7).endpointConfigName, liveInstanceCount: 6 });
        expect(next.lastDeployment).to.match(
            /^updated model: .*UpdateEndpoint .* \(retaining variant properties, except DataCaptureConfig, blue\/green\).*instances 6 -> 6$/,
        );
    });

    it("new instance type: deregisters scaling, updates keeping 6 instances, then registers 2..6 and the policy again", async () => {
        const { aws, state } = await grownProdEndpoint();
        const spec = prodSpec(6, { instanceType: "ml.c5.2xlarge" });
        const { next, calls } = await update(aws, state, spec);
        expect(calls).to.deep.equal(INSTANCE_TYPE_CHANGE);
        expect(aws.servingInstanceType(ENDPOINT)).to.equal("ml.c5.2xlarge");
        expect(aws.endpoint(ENDPOINT).desiredCount).to.equal(6);
        expect(aws.targets.get(TARGET)).to.deep.equal({ min: 2, max: 6 });
        expect([...aws.policies.get(TARGET)!.keys()]).to.deep.equal([`${ENDPOINT}-invocations-per-instance`]);
        expect(next.instanceType).to.equal("ml.c5.2xlarge");
    });

    it("new count without autoscaling: resizes in place to the declared count and checks it", async () => {
        const { aws, state } = await grownProdEndpoint(prodSpec(6, { scaling: undefined }));
        const { next, calls } = await update(aws, state, prodSpec(6, { scaling: undefined, instanceCount: 4 }));
        expect(calls).to.deep.equal(["UpdateEndpointWeightsAndCapacities"]);
        expect(aws.endpoint(ENDPOINT)).to.include({ desiredCount: 4, configName: prodSpec(6).endpointConfigName });
        expect(next.liveInstanceCount).to.equal(4);
    });

    it("new count with autoscaling: calls nothing and keeps the live count", async () => {
        const { aws, state } = await grownProdEndpoint();
        const { next, calls } = await update(aws, state, prodSpec(6, { instanceCount: 3 }));
        expect(calls).to.deep.equal([]);
        expect(next).to.deep.include({ liveInstanceCount: 6, instanceCount: 3 });
        expect(next.lastDeployment).to.match(/^no change/);
    });

    it("new autoscaling bounds: registers them; the live count moves into them", async () => {
        const { aws, state } = await grownProdEndpoint();
        const narrower = prodSpec(6, { scaling: { ...prodSpec(6).scaling!, maxCapacity: 4 } });
        const { next, calls } = await update(aws, state, narrower);
        expect(calls).to.deep.equal(["RegisterScalableTarget"]);
        expect(aws.targets.get(TARGET)).to.deep.equal({ min: 2, max: 4 });
        expect(next.liveInstanceCount).to.equal(4);
        const { calls: raised } = await update(
            aws,
            next,
            prodSpec(6, { instanceCount: 5, scaling: { ...prodSpec(6).scaling!, minCapacity: 5, maxCapacity: 8 } }),
        );
        expect(raised).to.deep.equal(["RegisterScalableTarget"]);
        expect(aws.endpoint(ENDPOINT).desiredCount).to.equal(5);
    });

    it("capture percent: reuses the model, deploys a config that samples 50%, keeps 6 instances, checks the percent", async () => {
        const { aws, state } = await grownProdEndpoint();
        const { next, calls } = await update(aws, state, prodSpec(6, { samplingPercent: 50 }));
        expect(calls).to.deep.equal(["CreateEndpointConfig", "UpdateEndpoint"]);
        expect(aws.endpoint(ENDPOINT)).to.include({ samplingPercent: 50, desiredCount: 6 });
        expect(aws.requests.UpdateEndpoint[0]).to.deep.include({
            ExcludeRetainedVariantProperties: [{ VariantPropertyType: "DataCaptureConfig" }],
        });
        expect(next.dataCapture.InitialSamplingPercentage).to.equal(50);
    });
});

describe("infra/endpoint-deployer: a deployment that does not land", () => {
    it("a blue/green rollback fails the update, naming the alarm and the config now serving; nothing is deleted", async () => {
        const { aws, state } = await grownProdEndpoint();
        aws.rollBackNextUpdate = { alarm: ALARMS[0], reason: "Threshold Crossed: 2 out of the last 3 datapoints were >= 1.0" };
        const from = aws.calls.length;
        const e = await failure(updateEndpoint(aws.clients(), state, prodSpec(7), aws.timing()));
        expect(e.name).to.equal(DEPLOYMENT_ERROR);
        expect(e.message).to.match(
            new RegExp(
                `^endpoint ${ENDPOINT}: the update to endpoint config ${prodSpec(7).endpointConfigName} \\(package ${pkg(7)}\\) was rolled back: ` +
                    `alarm ${ALARMS[0]} fired at 2026-03-01T10:\\d\\d:\\d\\d.000Z \\(Threshold Crossed: 2 out of the last 3 datapoints were >= 1.0\\). ` +
                    `Endpoint config ${prodSpec(6).endpointConfigName} \\(package ${pkg(6)}\\) is serving`,
            ),
        );
        // The old config serves and is kept, and so is everything else: no deletion at all.
        expect(aws.endpoint(ENDPOINT)).to.include({ configName: prodSpec(6).endpointConfigName, desiredCount: 6, status: "InService" });
        expect(aws.configs.has(prodSpec(6).endpointConfigName)).to.equal(true);
        expect(aws.models.has(prodSpec(6).modelName)).to.equal(true);
        expect(mutations(aws, from).filter((c) => c.startsWith("Delete"))).to.deep.equal([]);
        expect(aws.targets.get(TARGET)).to.deep.equal({ min: 2, max: 6 });
    });

    it("a rollback during an instance-type change puts autoscaling back as it was before failing", async () => {
        const { aws, state } = await grownProdEndpoint();
        aws.rollBackNextUpdate = { alarm: ALARMS[1], reason: "p99 above 300 ms" };
        const from = aws.calls.length;
        const e = await failure(updateEndpoint(aws.clients(), state, prodSpec(6, { instanceType: "ml.c5.2xlarge" }), aws.timing()));
        expect(e.message).to.include(`alarm ${ALARMS[1]} fired`);
        // The same calls whether it lands or not: scaling comes back either way, with the bounds it had.
        expect(mutations(aws, from)).to.deep.equal(INSTANCE_TYPE_CHANGE);
        expect(aws.servingInstanceType(ENDPOINT)).to.equal("ml.m5.xlarge");
        expect(aws.targets.get(TARGET)).to.deep.equal({ min: 2, max: 6 });
        expect(aws.policies.get(TARGET)?.size).to.equal(1);
    });

    it("an update SageMaker undoes without an alarm (health check) fails with SageMaker's reason", async () => {
        const { aws, state } = await grownProdEndpoint();
        aws.failNextDeployment = "The primary container for production variant AllTraffic did not pass the ping health check.";
        const e = await failure(updateEndpoint(aws.clients(), state, prodSpec(7), aws.timing()));
        expect(e.message).to.include(
            "was rolled back: SageMaker reports: The primary container for production variant AllTraffic did not pass the ping health check.",
        );
    });

    it("an endpoint that fails to create fails the create with the reason, and the next attempt replaces it", async () => {
        const aws = new FakeEndpointAws();
        aws.failNextDeployment = "CannotStartContainerError";
        const e = await failure(createEndpoint(aws.clients(), prodSpec(6), aws.timing()));
        expect(e.message).to.include("left the endpoint Failed: SageMaker reports: CannotStartContainerError");
        const from = aws.calls.length;
        await createEndpoint(aws.clients(), prodSpec(6), aws.timing());
        expect(mutations(aws, from)).to.deep.equal(["DeleteEndpoint", "CreateEndpoint", "RegisterScalableTarget", "PutScalingPolicy"]);
        expect(aws.endpoint(ENDPOINT).status).to.equal("InService");
    });

    it("waits for an endpoint that is busy (maintenance) before planning, instead of failing on it", async () => {
        const { aws, state } = await grownProdEndpoint();
        Object.assign(aws.endpoint(ENDPOINT), {
            status: "SystemUpdating",
            pending: { pollsLeft: 2, configName: prodSpec(6).endpointConfigName, desiredCount: 6, samplingPercent: 80 },
        });
        const { calls } = await update(aws, state, prodSpec(7));
        expect(calls).to.deep.equal(["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"]);
    });
});

describe("infra/endpoint-deployer: old endpoint configs", () => {
    it("keeps the three newest configs after each verified update and deletes older ones with their models", async () => {
        const grown = await grownProdEndpoint();
        const aws = grown.aws;
        let state = grown.state;
        for (const v of [7, 8, 9, 10]) state = (await update(aws, state, prodSpec(v))).next;
        const configs = [...aws.configs.keys()];
        expect(configs).to.have.members([8, 9, 10].map((v) => prodSpec(v).endpointConfigName));
        expect([...aws.models.keys()]).to.have.members([8, 9, 10].map((v) => prodSpec(v).modelName));
        expect(state.keptEndpointConfigs).to.deep.equal([10, 9, 8].map((v) => prodSpec(v).endpointConfigName));
    });

    it("rolls back to a kept config by reusing it (no new model or config)", async () => {
        const grown = await grownProdEndpoint();
        const aws = grown.aws;
        let state = grown.state;
        state = (await update(aws, state, prodSpec(7))).next;
        const { calls, next } = await update(aws, state, prodSpec(6));
        expect(calls).to.deep.equal(["UpdateEndpoint"]);
        expect(next.modelPackageArn).to.equal(pkg(6));
        expect(aws.endpoint(ENDPOINT).configName).to.equal(prodSpec(6).endpointConfigName);
    });

    it("never prunes after a rollback, so the old config and the configs before it stay", async () => {
        const grown = await grownProdEndpoint();
        const aws = grown.aws;
        let state = grown.state;
        for (const v of [7, 8]) state = (await update(aws, state, prodSpec(v))).next;
        aws.rollBackNextUpdate = { alarm: ALARMS[0], reason: "5XX" };
        await failure(updateEndpoint(aws.clients(), state, prodSpec(9), aws.timing()));
        expect([...aws.configs.keys()]).to.have.members([6, 7, 8, 9].map((v) => prodSpec(v).endpointConfigName));
    });
});

describe("infra/endpoint-deployer: adopt, refresh, delete", () => {
    it("adopts an endpoint that already exists under the name (created by an earlier version of the stack) instead of failing", async () => {
        const { aws } = await grownProdEndpoint();
        const from = aws.calls.length;
        const state = await createEndpoint(aws.clients(), prodSpec(7), aws.timing());
        expect(mutations(aws, from)).to.deep.equal(["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"]);
        expect(state.liveInstanceCount).to.equal(6);
    });

    it("refresh reports the config and package that actually serve", async () => {
        const grown = await grownProdEndpoint();
        const aws = grown.aws;
        let state = grown.state;
        state = (await update(aws, state, prodSpec(7))).next;
        // Someone rolled the endpoint back by hand, outside the stack.
        aws.endpoint(ENDPOINT).configName = prodSpec(6).endpointConfigName;
        const read = await readEndpoint(aws.clients(), state);
        expect(read).to.deep.include({
            endpointConfigName: prodSpec(6).endpointConfigName,
            modelName: prodSpec(6).modelName,
            modelPackageArn: pkg(6),
        });
        expect(await readEndpoint(aws.clients(), { ...state, endpointName: "gone" })).to.equal(undefined);
    });

    it("delete removes scaling, the endpoint, and every config and model it kept", async () => {
        const grown = await grownProdEndpoint();
        const aws = grown.aws;
        let state = grown.state;
        state = (await update(aws, state, prodSpec(7))).next;
        await deleteEndpoint(aws.clients(), state, aws.timing());
        expect(aws.endpoints.size).to.equal(0);
        expect(aws.targets.size).to.equal(0);
        expect(aws.configs.size).to.equal(0);
        expect(aws.models.size).to.equal(0);
    });
});
