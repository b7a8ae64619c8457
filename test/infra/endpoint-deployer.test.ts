import { expect } from "chai";
import {
    createEndpoint,
    deleteEndpoint,
    DEPLOYMENT_ERROR,
    deploymentTimeoutSeconds,
    EndpointClients,
    readEndpoint,
    updateEndpoint,
} from "../../infra/endpoint-deployer";
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
        const updateSent = new Date(aws.now().getTime() + 1000).toISOString();
        const e = await failure(updateEndpoint(aws.clients(), state, prodSpec(7), aws.timing()));
        expect(e.name).to.equal(DEPLOYMENT_ERROR);
        // Each rollback alarm's state changes since UpdateEndpoint was sent (on the stand-in's clock, 1 s after the update
        // began: its CreateEndpointConfig takes 1 s), not since the run began, oldest first.
        expect(aws.requests.DescribeAlarmHistory).to.deep.equal(
            ALARMS.map((a) => ({
                AlarmName: a,
                HistoryItemType: "StateUpdate",
                StartDate: updateSent,
                ScanBy: "TimestampAscending",
            })),
        );
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
        // Newest first, a full page at a time: the order the keep-three rule reads them in.
        for (const r of aws.requests.ListEndpointConfigs)
            expect(r).to.deep.include({ SortBy: "CreationTime", SortOrder: "Descending", MaxResults: 100 });
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

    it("reads and updates the declared variant by its name when SageMaker lists another variant first", async () => {
        const { aws, state } = await grownProdEndpoint();
        // A second variant (a shadow, or one added by hand) before ours, on another model, type and count.
        const other = {
            VariantName: "Shadow",
            ModelName: "another-model",
            InstanceType: "ml.t2.medium",
            InitialInstanceCount: 1,
            DesiredInstanceCount: 1,
            CurrentInstanceCount: 1,
        };
        const clients: EndpointClients = {
            ...aws.clients(),
            sagemaker: {
                ...aws.sagemaker,
                describeEndpoint: async (input) => {
                    const d = await aws.sagemaker.describeEndpoint(input);
                    return { ...d, ProductionVariants: [other, ...(d.ProductionVariants ?? [])] } as never;
                },
                describeEndpointConfig: async (input) => {
                    const c = await aws.sagemaker.describeEndpointConfig(input);
                    return { ...c, ProductionVariants: [other, ...(c.ProductionVariants ?? [])] } as never;
                },
            },
        };
        const from = aws.calls.length;
        const next = await updateEndpoint(clients, state, prodSpec(7), aws.timing());
        expect(mutations(aws, from), "a package update, not an instance-type change").to.deep.equal([
            "CreateModel",
            "CreateEndpointConfig",
            "UpdateEndpoint",
        ]);
        expect(next.liveInstanceCount).to.equal(6);
        expect(next.lastDeployment).to.match(/; instances 6 -> 6$/);
        aws.endpoint(ENDPOINT).configName = prodSpec(6).endpointConfigName;
        expect(await readEndpoint(clients, next)).to.deep.include({
            endpointConfigName: prodSpec(6).endpointConfigName,
            modelName: prodSpec(6).modelName,
            instanceType: prodSpec(6).instanceType,
            modelPackageArn: pkg(6),
            liveInstanceCount: 6,
        });
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

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });
const m = (v: number) => prodSpec(v).modelName;
const c = (v: number) => prodSpec(v).endpointConfigName;

describe("infra/endpoint-deployer: what it reports, how long it waits, which errors it takes for absence", () => {
    it("waits an hour for provisioning, plus a blue/green update's own limit and bake (SageMaker's default limit: an hour)", () => {
        expect(deploymentTimeoutSeconds({})).to.equal(3600);
        const policy = (p: object) => ({
            deploymentConfig: { BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: "ALL_AT_ONCE" }, ...p } },
        });
        expect(
            deploymentTimeoutSeconds(policy({ MaximumExecutionTimeoutInSeconds: 1800, TerminationWaitInSeconds: 300 }) as never),
        ).to.equal(5700);
        expect(deploymentTimeoutSeconds(policy({ TerminationWaitInSeconds: 300 }) as never)).to.equal(7500);
        expect(deploymentTimeoutSeconds(policy({ MaximumExecutionTimeoutInSeconds: 1800 }) as never)).to.equal(5400);
    });

    it("a create reports each call, the verified result and the scaling, in the state and as progress lines", async () => {
        const aws = new FakeEndpointAws();
        const lines: string[] = [];
        const state = await createEndpoint(aws.clients(), prodSpec(6), { ...aws.timing(), log: (l) => lines.push(l) });
        const calls = [
            `CreateModel ${m(6)}`,
            `CreateEndpointConfig ${c(6)}`,
            `CreateEndpoint ${ENDPOINT}`,
            `verified: serves ${c(6)}, 2 instances`,
            "RegisterScalableTarget 2..6",
            `PutScalingPolicy ${ENDPOINT}-invocations-per-instance`,
        ];
        expect(state.lastDeployment).to.equal(`created: ${calls.join("; ")}`);
        expect(lines).to.deep.equal(calls.map((call) => `${ENDPOINT}: ${call}`));
        expect(state.keptEndpointConfigs).to.deep.equal([c(6)]);
    });

    it("an update reports what changed, the calls (a reused model named as skipped) and the instances before and after", async () => {
        const { aws, state } = await grownProdEndpoint();
        const next = await updateEndpoint(aws.clients(), state, prodSpec(7), aws.timing());
        expect(next.lastDeployment).to.equal(
            `updated model: CreateModel ${m(7)}; CreateEndpointConfig ${c(7)}; ` +
                `UpdateEndpoint ${c(7)} (retaining variant properties, except DataCaptureConfig, blue/green); ` +
                `verified: serves ${c(7)}, 6 instances; instances 6 -> 6`,
        );
        expect(next.endpointArn).to.equal(`arn:aws:sagemaker:us-east-1:123456789012:endpoint/${ENDPOINT}`);
        const back = await updateEndpoint(aws.clients(), next, prodSpec(6), aws.timing());
        expect(back.lastDeployment).to.equal(
            `updated model: CreateModel skipped: ${m(6)} exists; CreateEndpointConfig skipped: ${c(6)} exists; ` +
                `UpdateEndpoint ${c(6)} (retaining variant properties, except DataCaptureConfig, blue/green); ` +
                `verified: serves ${c(6)}, 6 instances; instances 6 -> 6`,
        );
        const fixed = prodSpec(6, { scaling: undefined, deploymentConfig: undefined });
        const { aws: plain, state: fixedState } = await grownProdEndpoint(fixed);
        const resized = await updateEndpoint(plain.clients(), fixedState, { ...fixed, instanceCount: 3 }, plain.timing());
        expect(resized.lastDeployment).to.equal(
            `updated instanceCount: UpdateEndpointWeightsAndCapacities 3 instances; verified: serves ${c(6)}, 3 instances; instances 2 -> 3`,
        );
        const retype = prodSpec(6, { scaling: undefined, deploymentConfig: undefined, instanceCount: 3, instanceType: "ml.c5.2xlarge" });
        const retyped = await updateEndpoint(plain.clients(), resized, retype, plain.timing());
        expect(retyped.lastDeployment).to.match(
            /; UpdateEndpoint \S+ \(retaining variant properties, except DataCaptureConfig, all at once\); /,
        );
    });

    it("takes only SageMaker's and Auto Scaling's not-found errors for an absent endpoint; any other error stops the run", async () => {
        for (const name of ["ValidationException", "ValidationError", "ResourceNotFound", "ObjectNotFoundException"]) {
            const aws = new FakeEndpointAws();
            const clients: EndpointClients = {
                ...aws.clients(),
                sagemaker: {
                    ...aws.sagemaker,
                    describeEndpoint: async (input) => {
                        if (!aws.endpoints.has(input.EndpointName!)) throw awsError(name, `Endpoint ${input.EndpointName} does not exist`);
                        return aws.sagemaker.describeEndpoint(input);
                    },
                },
            };
            const state = await createEndpoint(clients, prodSpec(6), aws.timing());
            expect(state.lastDeployment, name).to.match(/^created: /);
        }
        for (const [name, message] of [
            ["ThrottlingException", "Rate exceeded"],
            ["ValidationException", "1 validation error detected: Value at 'endpointName' failed to satisfy constraint"],
            ["AccessDeniedException", "endpoint not found in the caller's permissions"],
        ]) {
            const aws = new FakeEndpointAws();
            const clients: EndpointClients = {
                ...aws.clients(),
                sagemaker: {
                    ...aws.sagemaker,
                    describeEndpoint: async () => {
                        throw awsError(name, message);
                    },
                },
            };
            const e = await failure(updateEndpoint(clients, undefined, prodSpec(6), aws.timing()));
            expect(e.message, name).to.equal(message);
            expect(mutations(aws), name).to.deep.equal([]);
        }
    });

    it("waits for a busy endpoint only up to the deployment's time limit, then refuses without changing anything", async () => {
        const { aws, state } = await grownProdEndpoint();
        Object.assign(aws.endpoint(ENDPOINT), {
            status: "Updating",
            pending: { pollsLeft: 1e9, configName: c(6), desiredCount: 6, samplingPercent: 80 },
        });
        const from = aws.calls.length;
        const e = await failure(updateEndpoint(aws.clients(), state, prodSpec(7), aws.timing()));
        expect(e.message).to.equal(
            `endpoint ${ENDPOINT} is Updating, so it cannot be updated; SageMaker allows only deleting a Failed endpoint. Nothing was changed.`,
        );
        // 3600 + 3600 + 600 s at one DescribeEndpoint every 30 s, after the first.
        expect(aws.calls.slice(from).filter((call) => call === "DescribeEndpoint")).to.have.length(1 + 7800 / 30);
        expect(mutations(aws, from)).to.deep.equal([]);
        aws.endpoint(ENDPOINT).pending = undefined;
        Object.assign(aws.endpoint(ENDPOINT), { status: "Failed", failureReason: "CannotStartContainerError" });
        expect((await failure(updateEndpoint(aws.clients(), state, prodSpec(7), aws.timing()))).message).to.match(
            new RegExp(`^endpoint ${ENDPOINT} is Failed \\(CannotStartContainerError\\), so it cannot be updated`),
        );
    });

    it("a deployment that does not settle in time fails, polling until the limit and not past it", async () => {
        const { aws, state } = await grownProdEndpoint();
        aws.pollsPerDeployment = 1e9;
        const from = aws.calls.length;
        const e = await failure(updateEndpoint(aws.clients(), state, prodSpec(7), aws.timing()));
        expect(e.message).to.equal(
            `endpoint ${ENDPOINT}: the update to endpoint config ${c(7)} (package ${pkg(7)}) did not finish in time: the endpoint is still Updating. ` +
                "Nothing was deleted; run pulumi refresh once it settles, then pulumi up.",
        );
        const afterUpdate = aws.calls.slice(from).slice(aws.calls.slice(from).indexOf("UpdateEndpoint"));
        expect(afterUpdate.filter((call) => call === "DescribeEndpoint")).to.have.length(1 + 7800 / 30);
        // No alarm fired or rolled it back: the alarms are not read.
        expect(afterUpdate.filter((call) => call.startsWith("DescribeAlarm"))).to.deep.equal([]);
    });

    it("a rollback whose alarm history cannot be read says so, alarm by alarm", async () => {
        const { aws, state } = await grownProdEndpoint();
        aws.rollBackNextUpdate = { alarm: ALARMS[0], reason: "5XX" };
        const clients: EndpointClients = {
            ...aws.clients(),
            cloudwatch: {
                describeAlarmHistory: async () => {
                    throw awsError("ThrottlingException", "Rate exceeded");
                },
                describeAlarms: async () => {
                    throw awsError("AccessDenied", "not authorized to perform cloudwatch:DescribeAlarms");
                },
            },
        };
        const e = await failure(updateEndpoint(clients, state, prodSpec(7), aws.timing()));
        expect(e.message).to.include(
            `(alarm history unavailable: DescribeAlarmHistory ${ALARMS[0]}: Rate exceeded; DescribeAlarmHistory ${ALARMS[1]}: Rate exceeded; ` +
                "DescribeAlarms: not authorized to perform cloudwatch:DescribeAlarms)",
        );
        expect(e.message).to.include(`Endpoint config ${c(6)} (package ${pkg(6)}) is serving`);
    });

    it("finds its old configs across pages of ListEndpointConfigs, and never deletes another endpoint's", async () => {
        const grown = await grownProdEndpoint();
        const aws = grown.aws;
        const other = `${ENDPOINT}-v2-00000001`;
        aws.configs.set(other, { input: { EndpointConfigName: other, ProductionVariants: [] }, created: new Date(0) });
        const paged: EndpointClients = {
            ...aws.clients(),
            sagemaker: {
                ...aws.sagemaker,
                listEndpointConfigs: async (input) => {
                    const all = (await aws.sagemaker.listEndpointConfigs({ ...input, NextToken: undefined })).EndpointConfigs ?? [];
                    const at = Number(input.NextToken ?? 0);
                    return { EndpointConfigs: all.slice(at, at + 1), NextToken: at + 1 < all.length ? String(at + 1) : undefined };
                },
            },
        };
        let state = grown.state;
        for (const v of [7, 8, 9, 10]) state = await updateEndpoint(paged, state, prodSpec(v), aws.timing());
        expect([...aws.configs.keys()]).to.have.members([other, ...[8, 9, 10].map(c)]);
        expect(state.lastDeployment).to.include(`; DeleteEndpointConfig ${c(7)}; DeleteModel ${m(7)}`);
    });

    it("refresh of an endpoint serving a config that is gone reports it as unknown rather than failing", async () => {
        const grown = await grownProdEndpoint();
        const aws = grown.aws;
        const state = (await update(aws, grown.state, prodSpec(7))).next;
        aws.endpoint(ENDPOINT).configName = "deleted-by-hand";
        aws.endpoint(ENDPOINT).desiredCount = 5;
        expect(await readEndpoint(aws.clients(), state)).to.deep.include({
            endpointConfigName: "deleted-by-hand",
            modelName: "unknown",
            instanceType: "unknown",
            modelPackageArn: "unknown",
            liveInstanceCount: 5,
            lastDeployment: `refresh: the endpoint serves deleted-by-hand, not ${c(7)}`,
        });
        // Serving what the state says: only the live count is read.
        aws.endpoint(ENDPOINT).configName = c(7);
        expect(await readEndpoint(aws.clients(), state)).to.deep.equal({ ...state, liveInstanceCount: 5 });
    });

    it("an instance-type change reports suspending and restoring scaling; two changes at once are both named", async () => {
        const { aws, state } = await grownProdEndpoint();
        const spec = prodSpec(6, { instanceType: "ml.c5.2xlarge", samplingPercent: 50 });
        const next = await updateEndpoint(aws.clients(), state, spec, aws.timing());
        expect(next.lastDeployment).to.equal(
            `updated instanceType, dataCapture: DeleteScalingPolicy ${ENDPOINT}-invocations-per-instance; DeregisterScalableTarget ${TARGET}; ` +
                `CreateModel skipped: ${m(6)} exists; CreateEndpointConfig ${spec.endpointConfigName}; ` +
                `UpdateEndpoint ${spec.endpointConfigName} (retaining variant properties, except DataCaptureConfig, blue/green); ` +
                `verified: serves ${spec.endpointConfigName}, 6 instances; RegisterScalableTarget 2..6; ` +
                `PutScalingPolicy ${ENDPOINT}-invocations-per-instance; instances 6 -> 6`,
        );
    });

    it("when putting scaling back fails too, says so and what to do by hand", async () => {
        const { aws, state } = await grownProdEndpoint();
        aws.rollBackNextUpdate = { alarm: ALARMS[0], reason: "5XX" };
        const clients: EndpointClients = {
            ...aws.clients(),
            autoscaling: {
                ...aws.autoscaling,
                registerScalableTarget: async () => {
                    throw awsError("ValidationException", "Unable to register: the endpoint is updating");
                },
            },
        };
        const e = await failure(updateEndpoint(clients, state, prodSpec(6, { instanceType: "ml.c5.2xlarge" }), aws.timing()));
        expect(e.name).to.equal(DEPLOYMENT_ERROR);
        expect(e.message).to.match(/was rolled back: /);
        expect(e.message).to.match(
            / Restoring autoscaling failed too \(Unable to register: the endpoint is updating\); register the scalable target by hand\.$/,
        );
    });

    it("an endpoint deleted by hand since the last deployment is created again; one that vanishes mid-deployment fails", async () => {
        const { aws, state } = await grownProdEndpoint();
        aws.endpoints.delete(ENDPOINT);
        const again = await updateEndpoint(aws.clients(), state, prodSpec(7), aws.timing());
        expect(again.lastDeployment).to.match(
            new RegExp(`^created: CreateModel ${m(7)}; CreateEndpointConfig ${c(7)}; CreateEndpoint ${ENDPOINT}; `),
        );
        expect(aws.endpoint(ENDPOINT).status).to.equal("InService");
        let updating = false;
        const clients: EndpointClients = {
            ...aws.clients(),
            sagemaker: {
                ...aws.sagemaker,
                updateEndpoint: async (input) => {
                    updating = true;
                    return aws.sagemaker.updateEndpoint(input);
                },
                describeEndpoint: async (input) => {
                    if (updating) throw awsError("ValidationException", `Could not find endpoint "${input.EndpointName}".`);
                    return aws.sagemaker.describeEndpoint(input);
                },
            },
        };
        const e = await failure(updateEndpoint(clients, again, prodSpec(8), aws.timing()));
        expect(e.message).to.equal(
            `endpoint ${ENDPOINT}: the update to endpoint config ${c(8)} (package ${pkg(8)}) left the endpoint deleted: ` +
                "SageMaker reports: the endpoint disappeared during the deployment. Nothing was deleted; see the endpoint in the SageMaker console before running pulumi up again.",
        );
    });

    it("prunes a config but keeps its model while a kept config still uses it", async () => {
        const { aws, state: first } = await grownProdEndpoint();
        let state = first;
        for (const spec of [prodSpec(6, { samplingPercent: 50 }), prodSpec(7), prodSpec(8)])
            state = await updateEndpoint(aws.clients(), state, spec, aws.timing());
        // The 80% config of package 6 is the oldest of four and goes; package 6's model stays, the 50% config serves it.
        expect([...aws.configs.keys()]).to.have.members([prodSpec(6, { samplingPercent: 50 }).endpointConfigName, c(7), c(8)]);
        expect([...aws.models.keys()]).to.have.members([m(6), m(7), m(8)]);
        expect(state.lastDeployment).to.include(`; DeleteEndpointConfig ${c(6)}; instances`);
    });

    it("delete with autoscaling removes the policy and the target before the endpoint, and reports each step", async () => {
        const { aws, state } = await grownProdEndpoint();
        const lines: string[] = [];
        const from = aws.calls.length;
        await deleteEndpoint(aws.clients(), state, { ...aws.timing(), log: (l) => lines.push(l) });
        expect(mutations(aws, from)).to.deep.equal([
            "DeleteScalingPolicy",
            "DeregisterScalableTarget",
            "DeleteEndpoint",
            "DeleteEndpointConfig",
            "DeleteModel",
        ]);
        expect(lines).to.deep.equal([
            `${ENDPOINT}: DeregisterScalableTarget ${TARGET}`,
            `${ENDPOINT}: DeleteEndpoint ${ENDPOINT}`,
            `${ENDPOINT}: DeleteEndpointConfig ${c(6)}`,
            `${ENDPOINT}: DeleteModel ${m(6)}`,
        ]);
    });

    it("delete of an endpoint without autoscaling deregisters nothing", async () => {
        const { aws, state } = await grownProdEndpoint(prodSpec(6, { scaling: undefined }));
        const from = aws.calls.length;
        await deleteEndpoint(aws.clients(), state, aws.timing());
        expect(mutations(aws, from)).to.deep.equal(["DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"]);
    });
});
