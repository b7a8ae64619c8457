import { createEndpoint, updateEndpoint } from "../../infra/endpoint-deployer";
import { EndpointSpec, EndpointState, SPEC_KEYS } from "../../infra/endpoint-update";
import { DeclaredResource } from "./mocks";
import { FakeEndpointAws } from "./fake-endpoint-aws";

/**
 * Applies what a program declared for one endpoint to the SageMaker stand-in, the way `pulumi up` would, so
 * a test can compare two versions of a stack by what they do to a live endpoint. A program that declares an
 * EndpointDeployment runs the deployer; one that declares the AWS provider's resources (aws.sagemaker.Model,
 * EndpointConfiguration, Endpoint, aws.appautoscaling.Target and Policy) gets what that provider does,
 * read from terraform-provider-aws's internal/service/sagemaker/endpoint.go (resourceEndpointUpdate):
 * UpdateEndpoint with the config name and deployment config only, a wait for InService, and then Pulumi's
 * create-before-delete replacement deleting the old model and endpoint config.
 */

/** What one `pulumi up` left in the state for the endpoint. */
export type Applied =
    | { readonly kind: "deployment"; readonly state: EndpointState }
    | { readonly kind: "aws-provider"; readonly declared: DeclaredResource[] };

export const DYNAMIC = "pulumi-nodejs:dynamic:Resource";

/** The spec an EndpointDeployment was declared with (its inputs without the serialized provider). */
export function declaredSpec(declared: readonly DeclaredResource[], endpointName: string): EndpointSpec | undefined {
    const r = declared.find((d) => d.type === DYNAMIC && d.inputs.endpointName === endpointName);
    return (
        r &&
        (Object.fromEntries(SPEC_KEYS.filter((k) => r.inputs[k] !== undefined).map((k) => [k, r.inputs[k]])) as unknown as EndpointSpec)
    );
}

export async function applyDeclared(
    aws: FakeEndpointAws,
    declared: DeclaredResource[],
    endpointName: string,
    previous?: Applied,
): Promise<Applied> {
    const spec = declaredSpec(declared, endpointName);
    if (spec) {
        const state =
            previous?.kind === "deployment"
                ? await updateEndpoint(aws.clients(), previous.state, spec, aws.timing())
                : await createEndpoint(aws.clients(), spec, aws.timing());
        return { kind: "deployment", state };
    }
    await applyAwsProviderResources(aws, declared, endpointName, previous?.kind === "aws-provider" ? previous.declared : undefined);
    return { kind: "aws-provider", declared };
}

const byType = (declared: readonly DeclaredResource[], type: string) => declared.filter((r) => r.type === type);

async function applyAwsProviderResources(
    aws: FakeEndpointAws,
    declared: DeclaredResource[],
    endpointName: string,
    before?: DeclaredResource[],
) {
    const sm = aws.clients().sagemaker;
    const endpoint = byType(declared, "aws:sagemaker/endpoint:Endpoint").find((r) => r.inputs.name === endpointName);
    if (!endpoint) throw new Error(`the program declares no endpoint ${endpointName}`);
    const model = byType(declared, "aws:sagemaker/model:Model").find((r) => r.name === endpoint.name.replace(/-endpoint$/, "-model"))!;
    const config = byType(declared, "aws:sagemaker/endpointConfiguration:EndpointConfiguration").find(
        (r) => r.inputs.name === endpoint.inputs.endpointConfigName,
    )!;
    const oldModel = before?.find((r) => r.type === model.type && r.name === model.name);
    const oldConfig = before?.find((r) => r.type === config.type && r.name === config.name);

    const c = model.inputs.primaryContainer;
    if (!aws.models.has(model.inputs.name))
        await sm.createModel({
            ModelName: model.inputs.name,
            ExecutionRoleArn: model.inputs.executionRoleArn,
            EnableNetworkIsolation: model.inputs.enableNetworkIsolation,
            PrimaryContainer: {
                ModelPackageName: c.modelPackageName,
                Image: c.image,
                ModelDataUrl: c.modelDataUrl,
                Environment: c.environment,
            },
        });
    if (!aws.configs.has(config.inputs.name)) {
        const v = config.inputs.productionVariants[0];
        const d = config.inputs.dataCaptureConfig;
        await sm.createEndpointConfig({
            EndpointConfigName: config.inputs.name,
            KmsKeyId: config.inputs.kmsKeyArn,
            ProductionVariants: [
                {
                    VariantName: v.variantName,
                    ModelName: v.modelName,
                    InstanceType: v.instanceType,
                    InitialInstanceCount: v.initialInstanceCount,
                    InitialVariantWeight: v.initialVariantWeight,
                },
            ],
            DataCaptureConfig: {
                InitialSamplingPercentage: d.initialSamplingPercentage,
                DestinationS3Uri: d.destinationS3Uri,
                CaptureOptions: [],
            },
        });
    }

    if (!aws.endpoints.has(endpointName)) {
        await sm.createEndpoint({ EndpointName: endpointName, EndpointConfigName: config.inputs.name });
        await waitUntilInService(aws, endpointName);
    } else if (aws.endpoint(endpointName).configName !== config.inputs.name) {
        // resourceEndpointUpdate: only the config name and the deployment config, then WaitUntilEndpointInService.
        await sm.updateEndpoint({ EndpointName: endpointName, EndpointConfigName: config.inputs.name });
        await waitUntilInService(aws, endpointName);
    }

    const target = byType(declared, "aws:appautoscaling/target:Target").find(
        (r) => r.inputs.resourceId === `endpoint/${endpointName}/variant/AllTraffic`,
    );
    if (target) {
        await aws.autoscaling.registerScalableTarget({
            ServiceNamespace: "sagemaker",
            ResourceId: target.inputs.resourceId,
            ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
            MinCapacity: target.inputs.minCapacity,
            MaxCapacity: target.inputs.maxCapacity,
        });
        const policy = byType(declared, "aws:appautoscaling/policy:Policy").find((r) => r.inputs.resourceId === target.inputs.resourceId);
        if (policy)
            await aws.autoscaling.putScalingPolicy({
                ServiceNamespace: "sagemaker",
                ResourceId: target.inputs.resourceId,
                ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
                PolicyName: policy.name,
                PolicyType: "TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration: {
                    TargetValue: policy.inputs.targetTrackingScalingPolicyConfiguration.targetValue,
                },
            });
    }

    // Replaced resources are deleted once their dependents were updated (create-before-delete).
    if (oldConfig && oldConfig.inputs.name !== config.inputs.name)
        await sm.deleteEndpointConfig({ EndpointConfigName: oldConfig.inputs.name });
    if (oldModel && oldModel.inputs.name !== model.inputs.name) await sm.deleteModel({ ModelName: oldModel.inputs.name });
}

/** The SDK waiter the provider uses: DescribeEndpoint until InService; Failed is an error. */
async function waitUntilInService(aws: FakeEndpointAws, endpointName: string): Promise<void> {
    for (;;) {
        const d = await aws.sagemaker.describeEndpoint({ EndpointName: endpointName });
        if (d.EndpointStatus === "InService") return;
        if (d.EndpointStatus === "Failed")
            throw new Error(`waiting for SageMaker Endpoint (${endpointName}) to be in service: Failed (${d.FailureReason})`);
        await aws.timing().sleep(30_000);
    }
}
