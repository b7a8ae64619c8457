import { expect } from "chai";
import { ModelEndpoint, ModelEndpointArgs } from "../../components/model-endpoint";
import { EndpointConfig } from "../../infra/config";
import { readStackFile } from "../../infra/stack-file";
import { Applied, applyDeclared } from "../support/endpoint-harness";
import { FakeEndpointAws } from "../support/fake-endpoint-aws";
import { DeclaredResource, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";

/**
 * What `pulumi up` does to a live prod endpoint when a user changes one thing: the component is declared
 * twice (before and after the change) and what it declares is applied to a SageMaker stand-in that behaves
 * as AWS documents (see test/support/fake-endpoint-aws.ts).
 */

const ENDPOINT = "vision-mlops-prod-traffic-signs";
const pkg = (v: number) => `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:model-package/vision-mlops-staging-traffic-signs/${v}`;
const ALARM_5XX = `${ENDPOINT}-5xx`;
const PROD_ENDPOINT: EndpointConfig = readStackFile(".", "prod").models["traffic-signs"].endpoint;

function prodArgs(version: number, endpoint: Partial<EndpointConfig> = {}, capturePercent = 80): ModelEndpointArgs {
    return {
        environment: "prod",
        model: "traffic-signs",
        endpoint: { ...PROD_ENDPOINT, ...endpoint },
        capturePercent,
        modelPackageArn: pkg(version),
        deployFrom: "package",
        modelDataUrl: `s3://vision-mlops-staging-artifacts-${TEST_ACCOUNT}-us-east-1/traffic-signs/executions/e${version}/model/train/output/model.tar.gz`,
        servingImage: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
        kmsKeyArn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/prod-key`,
        modelDataKmsKeyArn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/staging-key`,
        captureBucket: `vision-mlops-prod-capture-${TEST_ACCOUNT}-us-east-1`,
        alarmTopicArn: `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-prod-alerts`,
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
        blueGreen: true,
        tags: { environment: "prod", model: "traffic-signs" },
    };
}

const declarations = new Map<string, DeclaredResource[]>();

/** What the component declares for these arguments (the same arguments always declare the same resources). */
async function declare(args: ModelEndpointArgs): Promise<DeclaredResource[]> {
    const key = JSON.stringify(args);
    if (!declarations.has(key)) {
        const declared = useMocks("prod");
        new ModelEndpoint(ENDPOINT, args);
        await settled(declared);
        declarations.set(key, declared);
    }
    return declarations.get(key)!;
}

/** The package of the model behind the config the stand-in endpoint serves. */
function servingPackage(aws: FakeEndpointAws): string | undefined {
    const config = aws.configs.get(aws.endpoint(ENDPOINT).configName)!;
    const c = aws.models.get(config.input.ProductionVariants![0].ModelName!)?.PrimaryContainer;
    return c?.ModelPackageName ?? c?.Environment?.VISION_MLOPS_MODEL_PACKAGE_ARN;
}

/** Prod traffic-signs deployed on package v6, then grown by autoscaling to 6 instances. */
async function grownProd(): Promise<{ aws: FakeEndpointAws; applied: Applied }> {
    const aws = new FakeEndpointAws();
    aws.defineAlarm(ALARM_5XX);
    aws.defineAlarm(`${ENDPOINT}-latency-p99`);
    const applied = await applyDeclared(aws, await declare(prodArgs(6)), ENDPOINT);
    aws.autoscaleTo(ENDPOINT, "AllTraffic", 6);
    return { aws, applied };
}

async function outcome(p: Promise<unknown>): Promise<Error | undefined> {
    return p.then(
        () => undefined,
        (e: Error) => e,
    );
}

describe("ModelEndpoint: each change a user makes, applied to a live prod endpoint", function () {
    this.timeout(30_000);

    it("a new package keeps the 6 instances autoscaling grew the fleet to", async () => {
        const { aws, applied } = await grownProd();
        await applyDeclared(aws, await declare(prodArgs(7)), ENDPOINT, applied);
        expect(servingPackage(aws)).to.equal(pkg(7));
        expect(aws.endpoint(ENDPOINT).desiredCount, "live instances after the promotion").to.equal(6);
    });

    it("a new instance type deploys on the autoscaled endpoint, and autoscaling is back with its bounds and policy", async () => {
        const { aws, applied } = await grownProd();
        const failed = await outcome(applyDeclared(aws, await declare(prodArgs(6, { instanceType: "ml.c5.2xlarge" })), ENDPOINT, applied));
        expect(failed?.message, "pulumi up").to.equal(undefined);
        expect(aws.servingInstanceType(ENDPOINT)).to.equal("ml.c5.2xlarge");
        expect(aws.endpoint(ENDPOINT).desiredCount).to.equal(6);
        expect(aws.targets.get(`endpoint/${ENDPOINT}/variant/AllTraffic`)).to.deep.equal({ min: 2, max: 6 });
        expect(aws.policies.get(`endpoint/${ENDPOINT}/variant/AllTraffic`)?.size).to.equal(1);
    });

    it("a blue/green rollback fails the update, naming the alarm and the config now serving, and keeps that config", async () => {
        const { aws, applied } = await grownProd();
        const servingBefore = aws.endpoint(ENDPOINT).configName;
        aws.rollBackNextUpdate = { alarm: ALARM_5XX, reason: "Threshold Crossed: 2 out of the last 3 datapoints were >= 1.0" };
        const failed = await outcome(applyDeclared(aws, await declare(prodArgs(7)), ENDPOINT, applied));
        expect(failed, "pulumi up must fail").to.be.instanceOf(Error);
        expect(failed!.message).to.include(`alarm ${ALARM_5XX} fired`);
        expect(failed!.message).to.include(`Endpoint config ${servingBefore} (package ${pkg(6)}) is serving`);
        expect(aws.endpoint(ENDPOINT).configName).to.equal(servingBefore);
        expect(aws.configs.has(servingBefore), "the serving config still exists").to.equal(true);
        expect(servingPackage(aws)).to.equal(pkg(6));
    });

    it("a capture-percent change samples the new percent and keeps the instances", async () => {
        const { aws, applied } = await grownProd();
        await applyDeclared(aws, await declare(prodArgs(6, {}, 50)), ENDPOINT, applied);
        expect(aws.endpoint(ENDPOINT)).to.include({ samplingPercent: 50, desiredCount: 6 });
    });

    it("new autoscaling bounds are registered; the live count stays within them", async () => {
        const { aws, applied } = await grownProd();
        await applyDeclared(
            aws,
            await declare(prodArgs(6, { autoscaling: { ...PROD_ENDPOINT.autoscaling!, maxCapacity: 8 } })),
            ENDPOINT,
            applied,
        );
        expect(aws.targets.get(`endpoint/${ENDPOINT}/variant/AllTraffic`)).to.deep.equal({ min: 2, max: 8 });
        expect(aws.endpoint(ENDPOINT).desiredCount).to.equal(6);
    });

    it("a new count without autoscaling resizes the fleet to it", async () => {
        const aws = new FakeEndpointAws();
        const fixed = { autoscaling: undefined, instanceCount: 2 };
        const applied = await applyDeclared(aws, await declare(prodArgs(6, fixed)), ENDPOINT);
        await applyDeclared(aws, await declare(prodArgs(6, { ...fixed, instanceCount: 3 })), ENDPOINT, applied);
        expect(aws.endpoint(ENDPOINT).desiredCount).to.equal(3);
    });
});

/**
 * The same changes through the resources the AWS provider offers (aws.sagemaker.Model, EndpointConfiguration,
 * Endpoint and aws.appautoscaling.Target/Policy, as this component declared them before), applied the way
 * that provider's update reads in terraform-provider-aws: what the EndpointDeployment exists to avoid.
 */
describe("for comparison: the AWS provider's endpoint resources on the same live endpoint", function () {
    this.timeout(30_000);

    function awsProviderDeclared(version: number, instanceType = "ml.m5.xlarge"): DeclaredResource[] {
        const model = `${ENDPOINT}-${(0x1000 + version).toString(16).padStart(8, "0")}`;
        const config = `${ENDPOINT}-${(0x2000 + version * 2 + (instanceType === "ml.m5.xlarge" ? 0 : 1)).toString(16).padStart(8, "0")}`;
        const resource = (type: string, name: string, inputs: Record<string, unknown>) => ({ type, name, inputs, id: `${name}-id` });
        return [
            resource("aws:sagemaker/model:Model", `${ENDPOINT}-model`, {
                name: model,
                executionRoleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/${ENDPOINT}-endpoint`,
                enableNetworkIsolation: true,
                primaryContainer: { modelPackageName: pkg(version) },
            }),
            resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", `${ENDPOINT}-config`, {
                name: config,
                productionVariants: [
                    { variantName: "AllTraffic", modelName: model, instanceType, initialInstanceCount: 2, initialVariantWeight: 1 },
                ],
                dataCaptureConfig: { initialSamplingPercentage: 80, destinationS3Uri: "s3://capture/traffic-signs/capture/" },
            }),
            resource("aws:sagemaker/endpoint:Endpoint", `${ENDPOINT}-endpoint`, { name: ENDPOINT, endpointConfigName: config }),
            resource("aws:appautoscaling/target:Target", `${ENDPOINT}-scaling-target`, {
                resourceId: `endpoint/${ENDPOINT}/variant/AllTraffic`,
                minCapacity: 2,
                maxCapacity: 6,
            }),
            resource("aws:appautoscaling/policy:Policy", `${ENDPOINT}-scaling-policy`, {
                resourceId: `endpoint/${ENDPOINT}/variant/AllTraffic`,
                targetTrackingScalingPolicyConfiguration: { targetValue: 200 },
            }),
        ];
    }

    async function grownThroughAwsProvider() {
        const aws = new FakeEndpointAws();
        aws.defineAlarm(ALARM_5XX);
        const applied = await applyDeclared(aws, awsProviderDeclared(6), ENDPOINT);
        aws.autoscaleTo(ENDPOINT, "AllTraffic", 6);
        return { aws, applied };
    }

    it("a new package shrinks the fleet autoscaling grew back to the configured 2 instances", async () => {
        const { aws, applied } = await grownThroughAwsProvider();
        await applyDeclared(aws, awsProviderDeclared(7), ENDPOINT, applied);
        expect(aws.endpoint(ENDPOINT).desiredCount).to.equal(2);
    });

    it("a new instance type fails: the autoscaled variant was never deregistered", async () => {
        const { aws, applied } = await grownThroughAwsProvider();
        const failed = await outcome(applyDeclared(aws, awsProviderDeclared(6, "ml.c5.2xlarge"), ENDPOINT, applied));
        expect(failed?.message).to.match(
            /must be deregistered as scalable targets .* before they can be removed or have their instance type updated/,
        );
    });

    it("a rollback is reported as a success, and the config still serving is deleted", async () => {
        const { aws, applied } = await grownThroughAwsProvider();
        const serving = aws.endpoint(ENDPOINT).configName;
        aws.rollBackNextUpdate = { alarm: ALARM_5XX, reason: "Threshold Crossed" };
        expect(await outcome(applyDeclared(aws, awsProviderDeclared(7), ENDPOINT, applied))).to.equal(undefined);
        expect(aws.endpoint(ENDPOINT).configName).to.equal(serving);
        expect(aws.configs.has(serving)).to.equal(false);
    });
});
