import { SageMaker } from "@aws-sdk/client-sagemaker";
import { ApplicationAutoScaling } from "@aws-sdk/client-application-auto-scaling";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { createServer } from "http";
import { AddressInfo } from "net";
import { endpointDeploymentProvider } from "../../components/endpoint-deployment";
import { ModelEndpoint, ModelEndpointArgs } from "../../components/model-endpoint";
import { EndpointFleet, servedRevision } from "../../infra/endpoint-serving";
import { OfflineOptions } from "../../stacks/offline";
import { declaredSpec, DYNAMIC } from "../support/endpoint-harness";
import { DeclaredResource, find, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";
import { startMoto } from "../support/moto";
import { componentTree } from "./support/component-tree";

/** Written out by hand: the fleets of Pulumi.staging.yaml and Pulumi.prod.yaml for traffic-signs, with the schema's defaults. */
const FLEETS: Record<"staging" | "prod", EndpointFleet> = {
    staging: {
        instanceType: "ml.m5.large",
        instanceCount: 1,
        autoscaling: {
            minCapacity: 1,
            maxCapacity: 2,
            targetInvocationsPerInstance: 100,
            scaleInCooldownSeconds: 300,
            scaleOutCooldownSeconds: 60,
        },
        latencyP99Ms: 500,
    },
    prod: {
        instanceType: "ml.m5.xlarge",
        instanceCount: 2,
        autoscaling: {
            minCapacity: 2,
            maxCapacity: 6,
            targetInvocationsPerInstance: 200,
            scaleInCooldownSeconds: 300,
            scaleOutCooldownSeconds: 60,
        },
        latencyP99Ms: 300,
    },
};
const stackEndpoint = (stack: "staging" | "prod"): EndpointFleet => FLEETS[stack];
const pkg = (v: number) => `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:model-package/vision-mlops-staging-traffic-signs/${v}`;
const KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/data-key`;

function args(stack: "staging" | "prod", overrides: Partial<ModelEndpointArgs> = {}): ModelEndpointArgs {
    return {
        environment: stack,
        model: "traffic-signs",
        endpoint: stackEndpoint(stack),
        capturePercent: stack === "prod" ? 80 : 100,
        modelPackageArn: pkg(3),
        deployFrom: stack === "prod" ? "package" : "artifacts",
        modelDataUrl: `s3://vision-mlops-staging-artifacts-${TEST_ACCOUNT}-us-east-1/traffic-signs/executions/e3/model/train/output/model.tar.gz`,
        servingImage: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
        kmsKeyArn: KEY,
        captureBucket: `vision-mlops-${stack}-capture-${TEST_ACCOUNT}-us-east-1`,
        alarmTopicArn: `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-${stack}-alerts`,
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
        blueGreen: stack === "prod",
        tags: { environment: stack, model: "traffic-signs" },
        ...overrides,
    };
}

async function declare(stack: "staging" | "prod", a: ModelEndpointArgs, options: OfflineOptions = {}) {
    const declared = useMocks(stack, options);
    const component = new ModelEndpoint(`vision-mlops-${stack}-traffic-signs`, a);
    await settled(declared, component.modelPackageArn);
    return { declared, component };
}

const deployment = (declared: DeclaredResource[], stack: string) => find(declared, DYNAMIC, `vision-mlops-${stack}-traffic-signs-endpoint`);

describe("ModelEndpoint under mocks", function () {
    this.timeout(30_000);

    it("declares the role and its policy, two alarms, and one verified endpoint deployment (no AWS-provider endpoint resources)", async () => {
        const { declared } = await declare("prod", args("prod"));
        expect(declared.map((r) => `${r.type} ${r.name}`)).to.have.members([
            "vision-mlops:serving:ModelEndpoint vision-mlops-prod-traffic-signs",
            "vision-mlops:iam:ServiceRole vision-mlops-prod-traffic-signs-role",
            "aws:iam/role:Role vision-mlops-prod-traffic-signs-role",
            "aws:iam/rolePolicy:RolePolicy vision-mlops-prod-traffic-signs-role-policy",
            "aws:cloudwatch/metricAlarm:MetricAlarm vision-mlops-prod-traffic-signs-5xx",
            "aws:cloudwatch/metricAlarm:MetricAlarm vision-mlops-prod-traffic-signs-latency",
            `${DYNAMIC} vision-mlops-prod-traffic-signs-endpoint`,
        ]);
    });

    it("alarms to the topic and back, declares role and alarms before the deployment, all under itself, and registers what serves", async () => {
        const name = "vision-mlops-prod-traffic-signs";
        const endpointArn = `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:endpoint/${name}`;
        // The deployment's provider reports the endpoint's ARN; mocks stand in for it.
        const { declared, orphans, outputs, dependsOn } = await componentTree(
            (opts) => new ModelEndpoint(name, args("prod"), opts),
            "prod",
            {
                resourceState: (r) => (r.type === DYNAMIC ? { endpointArn } : undefined),
            },
        );
        const topic = `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-prod-alerts`;
        for (const alarm of [`${name}-5xx`, `${name}-latency`])
            expect(find(declared, "aws:cloudwatch/metricAlarm:MetricAlarm", alarm).inputs, alarm).to.deep.include({
                alarmActions: [topic],
                okActions: [topic],
            });
        // SageMaker checks the role can read the artifact when it creates the model, and a blue/green update's alarms exist.
        expect(dependsOn(DYNAMIC, `${name}-endpoint`)).to.deep.equal([
            `vision-mlops:iam:ServiceRole::${name}-role`,
            `aws:cloudwatch/metricAlarm:MetricAlarm::${name}-5xx`,
            `aws:cloudwatch/metricAlarm:MetricAlarm::${name}-latency`,
        ]);
        expect(orphans).to.deep.equal([]);
        expect(Object.keys(outputs).sort()).to.deep.equal([
            "captureS3Uri",
            "endpointArn",
            "endpointConfigName",
            "endpointName",
            "modelPackageArn",
        ]);
        expect(outputs).to.deep.include({
            endpointName: name,
            endpointArn,
            captureS3Uri: `s3://vision-mlops-prod-capture-${TEST_ACCOUNT}-us-east-1/traffic-signs/capture/`,
            modelPackageArn: pkg(3),
        });
    });

    it("lets SageMaker assume the endpoint role only for this account's endpoint and the models it serves", async () => {
        const { declared, component } = await declare("prod", args("prod"));
        const role = find(declared, "aws:iam/role:Role", "vision-mlops-prod-traffic-signs-role").inputs;
        expect(role.name).to.equal("vision-mlops-prod-traffic-signs-endpoint");
        expect(role.description).to.equal("Runs the traffic-signs endpoint: reads its model, writes captured traffic");
        expect(JSON.parse(role.assumeRolePolicy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Service: ["sagemaker.amazonaws.com"] },
                    Action: ["sts:AssumeRole"],
                    Condition: {
                        StringEquals: { "aws:SourceAccount": TEST_ACCOUNT },
                        ArnLike: {
                            "aws:SourceArn": [
                                `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:endpoint/vision-mlops-prod-traffic-signs`,
                                `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:model/vision-mlops-prod-traffic-signs-*`,
                            ],
                        },
                    },
                },
            ],
        });
        // The model the endpoint serves is one the trust admits.
        const modelName: string = deployment(declared, "prod").inputs.modelName;
        expect(modelName).to.match(/^vision-mlops-prod-traffic-signs-[0-9a-f]{8}$/);
        expect(await unwrapOutput(component.endpointName)).to.equal("vision-mlops-prod-traffic-signs");
    });

    it("staging: one instance autoscaled 1..2, every request captured, updates land at once", async () => {
        const { declared } = await declare("staging", args("staging"));
        const spec = declaredSpec(declared, "vision-mlops-staging-traffic-signs")!;
        expect(spec).to.deep.include({
            instanceType: "ml.m5.large",
            instanceCount: 1,
            variantName: "AllTraffic",
            retainedEndpointConfigs: 3,
        });
        expect(spec.scaling).to.deep.include({ minCapacity: 1, maxCapacity: 2 });
        expect(spec.dataCapture.InitialSamplingPercentage).to.equal(100);
        expect(spec.deploymentConfig).to.equal(undefined);
        expect(spec.model.PrimaryContainer.Environment).to.deep.equal({ VISION_MLOPS_MODEL_PACKAGE_ARN: pkg(3) });
        const policy = JSON.parse(
            find(declared, "aws:iam/rolePolicy:RolePolicy", "vision-mlops-staging-traffic-signs-role-policy").inputs.policy,
        );
        expect(policy.Statement.map((s: any) => s.Sid)).to.not.include("RollbackAlarms");
    });

    it("prod: two instances autoscaled 2..6, 80% captured, blue/green with a one-instance canary and both alarms", async () => {
        const { declared } = await declare("prod", args("prod"));
        const spec = deployment(declared, "prod").inputs;
        expect(spec).to.deep.include({
            endpointName: "vision-mlops-prod-traffic-signs",
            instanceType: "ml.m5.xlarge",
            instanceCount: 2,
            kmsKeyId: KEY,
        });
        expect(spec.scaling).to.deep.equal({
            minCapacity: 2,
            maxCapacity: 6,
            targetInvocationsPerInstance: 200,
            scaleInCooldownSeconds: 300,
            scaleOutCooldownSeconds: 60,
        });
        expect(spec.model).to.deep.equal({
            ExecutionRoleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-prod-traffic-signs-endpoint`,
            PrimaryContainer: { ModelPackageName: pkg(3) },
            EnableNetworkIsolation: true,
        });
        expect(spec.deploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.CanarySize).to.deep.equal({
            Type: "INSTANCE_COUNT",
            Value: 1,
        });
        expect(spec.deploymentConfig.AutoRollbackConfiguration.Alarms.map((a: any) => a.AlarmName)).to.deep.equal([
            "vision-mlops-prod-traffic-signs-5xx",
            "vision-mlops-prod-traffic-signs-latency-p99",
        ]);
        expect(spec.tags).to.deep.equal({ environment: "prod", model: "traffic-signs" });
    });

    it("names the config after what it serves, not the fleet size: a count change keeps the config, a capture change does not", () => {
        const revision = (a: ModelEndpointArgs) =>
            servedRevision({ ...a, roleArn: "arn:aws:iam::123456789012:role/r", kmsKeyArn: KEY, captureDestination: "s3://c/" });
        const base = revision(args("prod")).endpointConfigName;
        expect(base).to.match(/^vision-mlops-prod-traffic-signs-[0-9a-f]{8}$/);
        expect(revision(args("prod", { endpoint: { ...stackEndpoint("prod"), instanceCount: 3 } })).endpointConfigName).to.equal(base);
        expect(revision(args("prod", { capturePercent: 50 })).endpointConfigName).to.not.equal(base);
        expect(
            revision(args("prod", { endpoint: { ...stackEndpoint("prod"), instanceType: "ml.c5.xlarge" } })).endpointConfigName,
        ).to.not.equal(base);
        expect(revision(args("prod", { modelPackageArn: pkg(4) })).endpointConfigName).to.not.equal(base);
        // The same content is the same name, so rolling back to a kept config reuses it.
        expect(revision(args("prod")).modelName).to.equal(revision(args("prod")).modelName);
    });

    it("sends no volume key for instance types with local NVMe (c6gd, g5), and still encrypts captured data", () => {
        for (const instanceType of ["ml.c6gd.xlarge", "ml.g5.xlarge"]) {
            const r = servedRevision({
                ...args("prod", { endpoint: { ...stackEndpoint("prod"), instanceType } }),
                roleArn: "r",
                kmsKeyArn: KEY,
                captureDestination: "s3://c/",
            });
            expect(r.kmsKeyId, instanceType).to.equal(undefined);
            expect(r.dataCapture.KmsKeyId, instanceType).to.equal(KEY);
        }
    });

    it("reports what the deployment reports: after a rollback the old config and package, not the requested ones", async () => {
        const old = { endpointConfigName: "vision-mlops-prod-traffic-signs-0ba5e11e", modelPackageArn: pkg(2) };
        const { component } = await declare("prod", args("prod"), { resourceState: (r) => (r.type === DYNAMIC ? old : undefined) });
        expect(await unwrapOutput(component.modelPackageArn)).to.equal(pkg(2));
        expect(await unwrapOutput(component.endpointConfigName)).to.equal(old.endpointConfigName);
    });
});

describe("EndpointDeployment's provider, as Pulumi serializes and runs it", function () {
    this.timeout(60_000);
    let text: string;
    let spec: Record<string, any>;

    before(async () => {
        const { declared } = await declare("prod", args("prod", { retainedEndpointConfigs: 2 }));
        const r = deployment(declared, "prod");
        text = r.inputs.__provider;
        spec = declaredSpec(declared, "vision-mlops-prod-traffic-signs")!;
        expect(spec.retainedEndpointConfigs).to.equal(2);
    });

    /** What Pulumi's dynamic-provider host does with the text: load it as a module and call its handler. */
    function load(): pulumi.dynamic.ResourceProvider {
        const module = { exports: {} as { handler: () => pulumi.dynamic.ResourceProvider } };
        new Function("exports", "require", "module", text)(module.exports, require, module);
        return module.exports.handler();
    }

    /** Runs `fn` with the AWS SDK pointed at `endpoint` through the environment, as a provider process would be. */
    async function withAwsEndpoint<T>(endpoint: string, fn: () => Promise<T>): Promise<T> {
        const saved = { ...process.env };
        Object.assign(process.env, { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });
        try {
            return await fn();
        } finally {
            for (const k of ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
                if (saved[k] === undefined) delete process.env[k];
                else process.env[k] = saved[k];
            }
        }
    }

    it("is small and requires the AWS SDK only inside the function that builds the clients", function () {
        // Mutation testing serializes its instrumentation (stryMutAct_9fa48 calls) with the provider: not the code that ships.
        if (text.includes("stryMutAct_9fa48")) this.skip();
        expect(text.length).to.be.below(80_000);
        expect(text).to.not.match(/require\("@pulumi\//);
        const requires = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
        expect(requires).to.have.members([
            "@aws-sdk/client-sagemaker",
            "@aws-sdk/client-application-auto-scaling",
            "@aws-sdk/client-cloudwatch",
        ]);
        const clients = text.slice(text.indexOf("function /*awsClients*/"));
        expect(clients.indexOf('require("@aws-sdk/client-sagemaker")')).to.be.within(0, 400);
    });

    it("makes no AWS call in check and diff, the only methods a preview runs", async () => {
        const requests: string[] = [];
        const server = createServer((req, res) => {
            requests.push(`${req.method} ${req.headers["x-amz-target"] ?? req.url}`);
            res.writeHead(500).end();
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            await withAwsEndpoint(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, async () => {
                const provider = load();
                const checked = await provider.check!(spec, spec);
                expect(checked.failures).to.deep.equal([]);
                const refused = await provider.check!(spec, { ...spec, retainedEndpointConfigs: 1 });
                expect(refused.failures?.[0].reason).to.match(/^retainedEndpointConfigs: 1 must be a whole number >= 2/);
                const diff = await provider.diff!("vision-mlops-prod-traffic-signs", spec, { ...spec, modelPackageArn: pkg(4) });
                expect(diff).to.deep.equal({ changes: true, replaces: [], deleteBeforeReplace: false });
            });
        } finally {
            server.close();
        }
        expect(requests).to.deep.equal([]);
    });

    it("in a preview before the role exists, keeps the fleet settings known, passes check, and diffs as an update", async () => {
        const { declared } = await declare("prod", args("prod"), {
            preview: true,
            resourceState: (r) => (r.type === "aws:iam/role:Role" ? { arn: undefined } : undefined),
        });
        const previewed = deployment(declared, "prod").inputs;
        expect(previewed.modelName).to.deep.equal({ __pulumiUnknown: true });
        expect(previewed).to.deep.include({
            endpointName: "vision-mlops-prod-traffic-signs",
            instanceCount: 2,
            retainedEndpointConfigs: 3,
        });
        const provider = load();
        expect((await provider.check!(spec, previewed)).failures).to.deep.equal([]);
        expect(await provider.diff!("vision-mlops-prod-traffic-signs", spec, previewed)).to.deep.include({ changes: true, replaces: [] });
    });

    /**
     * A stand-in for SageMaker's and Application Auto Scaling's JSON APIs on a local port: answers each call from
     * `answers` (by its X-Amz-Target, `{}` when absent) and records the call with the region its signature names.
     */
    async function standIn<T>(answers: Record<string, Answer | (() => Answer)>, fn: (calls: string[]) => Promise<T>): Promise<T> {
        const calls: string[] = [];
        const server = createServer((req, res) => {
            const target = String(req.headers["x-amz-target"] ?? req.url);
            const region = /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization))?.[1];
            calls.push(`${region} ${target}`);
            req.resume();
            req.on("end", () => {
                const given = answers[target] ?? { body: {} };
                const answer = typeof given === "function" ? given() : given;
                res.writeHead(answer.status ?? 200, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(answer.body));
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            return await withAwsEndpoint(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, () => fn(calls));
        } finally {
            server.close();
        }
    }
    type Answer = { status?: number; body: unknown };
    const gone = {
        status: 400,
        body: { __type: "ValidationException", message: 'Could not find endpoint "vision-mlops-prod-traffic-signs".' },
    };

    it("checks a spec with each problem under the input it names, and diffs a new endpoint name or region as a replacement", async () => {
        const provider = endpointDeploymentProvider;
        expect(await provider.check!(spec, spec)).to.deep.equal({ inputs: spec, failures: [] });
        const bad = { ...spec, retainedEndpointConfigs: 1, instanceCount: 0 };
        expect((await provider.check!(spec, bad)).failures).to.deep.equal([
            {
                property: "retainedEndpointConfigs",
                reason: "retainedEndpointConfigs: 1 must be a whole number >= 2 (the serving config and one to roll back to)",
            },
            { property: "instanceCount", reason: "instanceCount: 0 must be a whole number >= 1" },
            { property: "scaling", reason: "scaling: instanceCount 0 must lie within minCapacity 2 .. maxCapacity 6" },
        ]);
        expect(await provider.diff!("e", spec, { ...spec, instanceCount: 3 })).to.deep.equal({
            changes: true,
            replaces: [],
            deleteBeforeReplace: false,
        });
        // The new endpoint is created before the old one is deleted (Pulumi's default), so nothing is left unserved.
        expect(await provider.diff!("e", spec, { ...spec, region: "eu-west-1" })).to.deep.equal({
            changes: true,
            replaces: ["region"],
            deleteBeforeReplace: false,
        });
        expect(await provider.diff!("e", spec, spec)).to.deep.equal({ changes: false, replaces: [], deleteBeforeReplace: false });
    });

    it("refuses an import it cannot describe, and on refresh reads the endpoint in its own region, or finds it gone", async () => {
        const message =
            "EndpointDeployment vision-mlops-prod-traffic-signs cannot be imported: declare it and run pulumi up, which adopts an existing endpoint";
        const provider = endpointDeploymentProvider;
        for (const props of [undefined, {}])
            await provider.read!("vision-mlops-prod-traffic-signs", props as never).then(
                () => expect.fail("read without a region"),
                (e: Error) => expect(e.message).to.equal(message),
            );
        const state = { ...spec, region: "eu-west-1", liveInstanceCount: 2, endpointArn: "arn:old" } as never;
        const live = {
            EndpointName: "vision-mlops-prod-traffic-signs",
            EndpointArn: "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/vision-mlops-prod-traffic-signs",
            EndpointConfigName: spec.endpointConfigName,
            EndpointStatus: "InService",
            ProductionVariants: [{ VariantName: "AllTraffic", DesiredInstanceCount: 4 }],
        };
        await standIn({ "SageMaker.DescribeEndpoint": { body: live } }, async (calls) => {
            const read = await provider.read!("vision-mlops-prod-traffic-signs", state);
            expect(read.id).to.equal("vision-mlops-prod-traffic-signs");
            expect(read.props).to.deep.include({ endpointArn: live.EndpointArn, liveInstanceCount: 4, region: "eu-west-1" });
            expect(calls).to.deep.equal(["eu-west-1 SageMaker.DescribeEndpoint"]);
        });
        await standIn({ "SageMaker.DescribeEndpoint": gone }, async () => {
            expect(await provider.read!("vision-mlops-prod-traffic-signs", state)).to.deep.equal({});
        });
    });

    it("creates in the endpoint's region and reports it by name, with what serves once SageMaker says it is in service", async () => {
        const inService = {
            EndpointName: "vision-mlops-prod-traffic-signs",
            EndpointArn: "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/vision-mlops-prod-traffic-signs",
            EndpointConfigName: spec.endpointConfigName,
            EndpointStatus: "InService",
            ProductionVariants: [{ VariantName: "AllTraffic", DesiredInstanceCount: 2, CurrentInstanceCount: 2 }],
        };
        let created = false;
        await standIn(
            {
                "SageMaker.CreateEndpoint": () => ((created = true), { body: {} }),
                "SageMaker.DescribeEndpoint": () => (created ? { body: inService } : gone),
                "SageMaker.ListEndpointConfigs": { body: { EndpointConfigs: [] } },
            },
            async (calls) => {
                const { id, outs } = await endpointDeploymentProvider.create!({ ...spec, region: "eu-west-1" } as never);
                expect(id).to.equal("vision-mlops-prod-traffic-signs");
                expect(outs).to.deep.include({
                    endpointArn: inService.EndpointArn,
                    endpointConfigName: spec.endpointConfigName,
                    liveInstanceCount: 2,
                });
                // The stand-in describes the model and config as present, so only the endpoint is created, then scaled.
                expect(calls).to.deep.equal([
                    "eu-west-1 SageMaker.DescribeEndpoint",
                    "eu-west-1 SageMaker.DescribeModel",
                    "eu-west-1 SageMaker.DescribeEndpointConfig",
                    "eu-west-1 SageMaker.CreateEndpoint",
                    "eu-west-1 SageMaker.DescribeEndpoint",
                    "eu-west-1 AnyScaleFrontendService.RegisterScalableTarget",
                    "eu-west-1 AnyScaleFrontendService.PutScalingPolicy",
                    "eu-west-1 SageMaker.DescribeEndpoint",
                ]);
            },
        );
    });

    it("updates in the endpoint's region and reports the config that now serves; after a rollback fails, having read the alarms there", async () => {
        const next = "vision-mlops-prod-traffic-signs-0000beef";
        const serving = (config: string) => ({
            body: {
                EndpointName: "vision-mlops-prod-traffic-signs",
                EndpointArn: "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/vision-mlops-prod-traffic-signs",
                EndpointConfigName: config,
                EndpointStatus: "InService",
                ProductionVariants: [{ VariantName: "AllTraffic", DesiredInstanceCount: 2, CurrentInstanceCount: 2 }],
            },
        });
        let updated = false;
        const olds = { ...spec, region: "eu-west-1", liveInstanceCount: 2, keptEndpointConfigs: [spec.endpointConfigName] };
        await standIn(
            {
                "SageMaker.UpdateEndpoint": () => ((updated = true), { body: {} }),
                "SageMaker.DescribeEndpoint": () => serving(updated ? next : spec.endpointConfigName),
                "SageMaker.ListEndpointConfigs": { body: { EndpointConfigs: [] } },
            },
            async (calls) => {
                const { outs } = await endpointDeploymentProvider.update!(
                    "vision-mlops-prod-traffic-signs",
                    olds as never,
                    {
                        ...spec,
                        region: "eu-west-1",
                        endpointConfigName: next,
                    } as never,
                );
                expect(outs).to.deep.include({ endpointConfigName: next, liveInstanceCount: 2 });
                expect(
                    calls.filter((c) => !c.startsWith("eu-west-1 ")),
                    calls.join(", "),
                ).to.deep.equal([]);
                expect(calls).to.include("eu-west-1 SageMaker.UpdateEndpoint");
            },
        );
        // SageMaker rolled the next update back: the old config still serves, and the alarm history is read in the region.
        await standIn({ "SageMaker.DescribeEndpoint": serving(spec.endpointConfigName) }, async (calls) => {
            const failed = await endpointDeploymentProvider.update!(
                "vision-mlops-prod-traffic-signs",
                olds as never,
                { ...spec, region: "eu-west-1", endpointConfigName: next } as never,
            ).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(failed?.message).to.contain(spec.endpointConfigName);
            expect(calls.filter((c) => c.includes("GraniteServiceVersion20100801.")).length, calls.join(", ")).to.be.above(0);
            expect(
                calls.filter((c) => !c.startsWith("eu-west-1 ")),
                calls.join(", "),
            ).to.deep.equal([]);
        });
    });

    it("deletes in the endpoint's region: its scaling registration, the endpoint, then the configs it kept", async () => {
        const state = { ...spec, region: "eu-west-1", liveInstanceCount: 2 } as never;
        await standIn(
            {
                "AnyScaleFrontendService.DescribeScalableTargets": {
                    body: { ScalableTargets: [{ ResourceId: "endpoint/vision-mlops-prod-traffic-signs/variant/AllTraffic" }] },
                },
                "SageMaker.DescribeEndpoint": gone,
                "SageMaker.ListEndpointConfigs": { body: { EndpointConfigs: [] } },
            },
            async (calls) => {
                await endpointDeploymentProvider.delete!("vision-mlops-prod-traffic-signs", state);
                expect(calls.slice(0, 5)).to.deep.equal([
                    "eu-west-1 AnyScaleFrontendService.DescribeScalableTargets",
                    "eu-west-1 AnyScaleFrontendService.DeleteScalingPolicy",
                    "eu-west-1 AnyScaleFrontendService.DeregisterScalableTarget",
                    "eu-west-1 SageMaker.DeleteEndpoint",
                    "eu-west-1 SageMaker.DescribeEndpoint",
                ]);
                expect(
                    calls.slice(5).every((c) => c.startsWith("eu-west-1 SageMaker.List")),
                    calls.join(", "),
                ).to.equal(true);
            },
        );
    });

    it("waits 30 seconds between polls while SageMaker is still deleting the endpoint, on the real clock", async () => {
        // The wall clock's timer, answered at once: the waits it was asked for are what is checked, not time.
        const waits: number[] = [];
        const realTimeout = global.setTimeout;
        const stub = (fn: () => void, ms?: number) => (ms === 30_000 ? (waits.push(ms), realTimeout(fn, 0)) : realTimeout(fn, ms));
        let described = 0;
        const state = { ...spec, region: "eu-west-1", liveInstanceCount: 2 } as never;
        await standIn(
            {
                "AnyScaleFrontendService.DescribeScalableTargets": { body: { ScalableTargets: [] } },
                // Still there once after DeleteEndpoint, then gone.
                "SageMaker.DescribeEndpoint": () =>
                    ++described === 1 ? { body: { EndpointName: "vision-mlops-prod-traffic-signs", EndpointStatus: "Deleting" } } : gone,
                "SageMaker.ListEndpointConfigs": { body: { EndpointConfigs: [] } },
            },
            async (calls) => {
                global.setTimeout = stub as typeof setTimeout;
                try {
                    await endpointDeploymentProvider.delete!("vision-mlops-prod-traffic-signs", state);
                } finally {
                    global.setTimeout = realTimeout;
                }
                expect(waits).to.deep.equal([30_000]);
                expect(calls.slice(0, 4)).to.deep.equal([
                    "eu-west-1 AnyScaleFrontendService.DescribeScalableTargets",
                    "eu-west-1 SageMaker.DeleteEndpoint",
                    "eu-west-1 SageMaker.DescribeEndpoint",
                    "eu-west-1 SageMaker.DescribeEndpoint",
                ]);
            },
        );
    });

    it("creates and deletes the endpoint on its own, from the serialized text, against moto", async () => {
        const moto = await startMoto();
        try {
            const sagemaker = new SageMaker(moto.clientConfig);
            const autoscaling = new ApplicationAutoScaling(moto.clientConfig);
            await withAwsEndpoint(moto.endpoint, async () => {
                const provider = load();
                const created = await provider.create!(spec);
                expect(created.id).to.equal("vision-mlops-prod-traffic-signs");
                expect(created.outs).to.deep.include({
                    endpointConfigName: spec.endpointConfigName,
                    modelPackageArn: pkg(3),
                    liveInstanceCount: 2,
                });
                const live = await sagemaker.describeEndpoint({ EndpointName: "vision-mlops-prod-traffic-signs" });
                expect(live).to.deep.include({ EndpointStatus: "InService", EndpointConfigName: spec.endpointConfigName });
                const targets = await autoscaling.describeScalableTargets({ ServiceNamespace: "sagemaker" });
                expect(targets.ScalableTargets?.map((t) => t.ResourceId)).to.deep.equal([
                    "endpoint/vision-mlops-prod-traffic-signs/variant/AllTraffic",
                ]);
                await provider.delete!(created.id, created.outs);
                expect((await sagemaker.listEndpoints({})).Endpoints).to.deep.equal([]);
                expect((await sagemaker.listEndpointConfigs({})).EndpointConfigs).to.deep.equal([]);
            });
        } finally {
            await moto.stop();
        }
    });
});
