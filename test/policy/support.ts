import { expect } from "chai";
import { OpenItem } from "../../policy/open-items";
import { DeclaredForPolicy, PolicyReport, PolicyViolation, runPolicies } from "../../policy/offline";
import { PLATFORM_RULES, platformPolicies } from "../../policy/pack";

/** Resources for policy tests, each under a provider whose default tags say which stack it is in. */
export type Env = "staging" | "prod" | "untagged";

const providerFor = (env: Env): DeclaredForPolicy => ({
    type: "pulumi:providers:aws",
    name: `${env}-aws`,
    id: `${env}-aws-id`,
    inputs: {
        region: "us-east-1",
        ...(env === "untagged" ? {} : { defaultTags: JSON.stringify({ tags: { project: "vision-mlops", environment: env } }) }),
    },
});

/** A declared resource of `type` in the given stack; `id` defaults to `<name>-id`, as the offline runtime gives. */
export function declared(type: string, name: string, inputs: Record<string, unknown>, env: Env = "staging"): DeclaredForPolicy {
    return {
        type,
        name,
        inputs,
        id: `${name}-id`,
        provider: `urn:pulumi:test::vision-mlops::pulumi:providers:aws::${env}-aws::${env}-aws-id`,
    };
}

/** Runs the whole pack over the resources (and the providers they use), with the given open items (none by default). */
export async function runPack(resources: DeclaredForPolicy[], openItems: readonly OpenItem[] = []): Promise<PolicyReport> {
    const envs = new Set(resources.map((r) => r.provider?.match(/::(\w+)-aws-id$/)?.[1]).filter(Boolean) as Env[]);
    return runPolicies([...[...envs].map(providerFor), ...resources], {
        stack: "test",
        policies: platformPolicies(PLATFORM_RULES, openItems),
        openItems,
    });
}

/** The violations one policy reported. */
export async function violationsOf(policy: string, resources: DeclaredForPolicy[]): Promise<PolicyViolation[]> {
    if (!PLATFORM_RULES.some((r) => r.name === policy)) throw new Error(`no rule named ${policy}`);
    const report = await runPack(resources);
    return report.violations.filter((v) => v.policy === policy);
}

/** Asserts the policy passes these resources: it ran (no unknown stopped it) and reported nothing. */
export async function expectPass(policy: string, resources: DeclaredForPolicy[]): Promise<void> {
    const found = await violationsOf(policy, resources);
    expect(
        found.map((v) => v.message),
        policy,
    ).to.deep.equal([]);
}

/** Asserts the policy fails these resources with mandatory (or the given level) violations whose messages match, in order. */
export async function expectFail(policy: string, resources: DeclaredForPolicy[], ...messages: RegExp[]): Promise<PolicyViolation[]> {
    const found = await violationsOf(policy, resources);
    const rule = PLATFORM_RULES.find((r) => r.name === policy)!;
    expect(found, `${policy} found nothing`).to.have.length(messages.length);
    found.forEach((v, i) => {
        expect(v.message).to.match(messages[i]);
        expect(v.enforcementLevel).to.equal(rule.enforcementLevel);
        expect(v.cannotRun, v.message).to.equal(undefined);
        // Every message names a control and says what to do.
        expect(v.message).to.match(/^\[[^\]]+\] .+\. Fix: .+/);
    });
    return found;
}

/** A trust policy that lets the service assume the role on behalf of anyone, as the roles had before serviceTrustPolicy. */
export const unconditionedTrust = (service: string) =>
    JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: [service] }, Action: ["sts:AssumeRole"] }],
    });

/** A JSON policy document of the given statements. */
export const doc = (...Statement: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement });

/**
 * An EndpointDeployment (the platform's dynamic endpoint resource) as ModelEndpoint declares it: its inputs
 * are an EndpointSpec (infra/endpoint-update.ts), its environment in its own tags.
 */
export function endpointDeployment(env: "staging" | "prod", spec: Record<string, unknown> = {}): DeclaredForPolicy {
    const name = `vision-mlops-${env}-traffic-signs-endpoint`;
    const key = "arn:aws:kms:us-east-1:123456789012:key/data-key";
    return {
        type: "pulumi-nodejs:dynamic:Resource",
        name,
        id: `${name}-id`,
        inputs: {
            __provider: "<serialized dynamic provider>",
            region: "us-east-1",
            endpointName: `vision-mlops-${env}-traffic-signs`,
            variantName: "AllTraffic",
            modelPackageArn: "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/1",
            modelName: `vision-mlops-${env}-traffic-signs-1a2b3c4d`,
            model: {
                ExecutionRoleArn: "arn:aws:iam::123456789012:role/endpoint",
                PrimaryContainer: { ModelPackageName: "arn:x" },
                EnableNetworkIsolation: true,
            },
            endpointConfigName: `vision-mlops-${env}-traffic-signs-5e6f7a8b`,
            instanceType: "ml.m5.large",
            instanceCount: 2,
            kmsKeyId: key,
            dataCapture: {
                EnableCapture: true,
                InitialSamplingPercentage: env === "prod" ? 80 : 100,
                DestinationS3Uri: `s3://vision-mlops-staging-capture-123456789012-us-east-1/traffic-signs/capture/`,
                KmsKeyId: key,
                CaptureOptions: [{ CaptureMode: "Input" }, { CaptureMode: "Output" }],
            },
            scaling: {
                minCapacity: 2,
                maxCapacity: 4,
                targetInvocationsPerInstance: 100,
                scaleInCooldownSeconds: 300,
                scaleOutCooldownSeconds: 60,
            },
            retainedEndpointConfigs: 3,
            tags: { project: "vision-mlops", environment: env, model: "traffic-signs" },
            ...spec,
        },
    };
}
