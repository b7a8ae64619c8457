import * as pulumi from "@pulumi/pulumi";

/**
 * Runs the program without a cloud: Pulumi mocks that record every declared resource and answer the
 * invokes the platform makes (caller identity, region, partition, SageMaker's algorithm images, stack
 * references). The offline plan and the unit tests both run on it.
 */

/** What a resource looked like when the program declared it. */
export interface DeclaredResource {
    readonly type: string;
    readonly name: string;
    // Inputs are shaped by each provider's schema; tests and the plan walk them as JSON.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly inputs: Record<string, any>;
    readonly provider?: string;
    readonly id: string;
}

/** The account and region the offline runtime answers with. */
export const OFFLINE_ACCOUNT = "123456789012";
export const OFFLINE_REGION = "us-east-1";

export interface OfflineOptions {
    /** Run as a preview (unknown outputs stay unknown). Defaults to false. */
    readonly preview?: boolean;
    /** Region the invokes answer for. Defaults to us-east-1. */
    readonly region?: string;
    /**
     * Outputs of other stacks, by the name a StackReference asks for. A reference to any other name fails as the
     * engine fails it ("unknown stack").
     */
    readonly stackOutputs?: Record<string, Record<string, unknown>>;
    /** State a resource reports beyond its inputs (a test's stand-in for what its provider found in the cloud). */
    readonly resourceState?: (resource: Pick<DeclaredResource, "type" | "name" | "inputs">) => Record<string, unknown> | undefined;
    /** The Pulumi organization the stack is in. Defaults to `organization`, the fixed name of self-managed backends. */
    readonly organization?: string;
}

/** The organization of every stack on a self-managed backend (pulumi login --local, s3://...). */
export const SELF_MANAGED_ORGANIZATION = "organization";

/**
 * Registers Pulumi mocks that record every declared resource and answer the invokes the platform makes.
 * Returns the live list of declarations; call again (with another stack name) to start a fresh program.
 */
export function useMocks(stack: string, options: OfflineOptions = {}): DeclaredResource[] {
    const region = options.region ?? OFFLINE_REGION;
    const declared: DeclaredResource[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const id = `${args.name}-id`;
                declared.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, id });
                return { id, state: { ...mockState(args, region), ...options.resourceState?.(args) } };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return mockInvoke(args, region);
            },
        },
        "vision-mlops",
        stack,
        options.preview ?? false,
        options.organization ?? SELF_MANAGED_ORGANIZATION,
    );
    stackReferenceOutputs = options.stackOutputs ?? {};
    return declared;
}

let stackReferenceOutputs: Record<string, Record<string, unknown>> = {};

function mockState(args: pulumi.runtime.MockResourceArgs, region: string): Record<string, unknown> {
    const i = args.inputs;
    const service = args.type.split(":")[1]?.split("/")[0] ?? "x";
    const physical = i.name ?? i.bucket ?? i.endpointName ?? i.modelPackageGroupName ?? i.pipelineName ?? args.name;
    const state: Record<string, unknown> = {
        ...i,
        arn: `arn:aws:${service}:${region}:${OFFLINE_ACCOUNT}:${args.type.split(":").pop()!.toLowerCase()}/${physical}`,
    };
    switch (args.type) {
        case "aws:s3/bucket:Bucket":
            state.bucket = i.bucket ?? `${args.name}-bucket`;
            state.arn = `arn:aws:s3:::${state.bucket}`;
            break;
        case "aws:kms/key:Key":
            state.keyId = `${args.name}-key-id`;
            state.arn = `arn:aws:kms:${region}:${OFFLINE_ACCOUNT}:key/${args.name}-key-id`;
            break;
        case "aws:sns/topic:Topic":
            state.name = i.name ?? `${args.name}-topic`;
            state.arn = `arn:aws:sns:${region}:${OFFLINE_ACCOUNT}:${state.name}`;
            break;
        case "aws:iam/role:Role":
            state.name = i.name ?? args.name;
            state.arn = `arn:aws:iam::${OFFLINE_ACCOUNT}:role/${state.name}`;
            break;
        case "aws:sagemaker/endpointConfiguration:EndpointConfiguration":
            state.name = i.name ?? `${args.name}-generated`;
            break;
        case "aws:sagemaker/model:Model":
            state.name = i.name ?? `${args.name}-generated`;
            break;
        case "aws:apigatewayv2/api:Api":
            state.apiEndpoint = `https://${args.name}.execute-api.${region}.amazonaws.com`;
            state.executionArn = `arn:aws:execute-api:${region}:${OFFLINE_ACCOUNT}:${args.name}`;
            break;
        case "aws:cloudfront/distribution:Distribution":
            state.domainName = `${args.name}.cloudfront.net`;
            state.arn = `arn:aws:cloudfront::${OFFLINE_ACCOUNT}:distribution/${args.name}`;
            break;
        case "aws:ecr/repository:Repository":
            state.repositoryUrl = `${OFFLINE_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${i.name ?? args.name}`;
            break;
        case "awsx:ecr:Image":
            state.imageUri = `${OFFLINE_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${args.name}@sha256:${"0".repeat(64)}`;
            break;
        case "pulumi:pulumi:StackReference": {
            if (!(i.name in stackReferenceOutputs)) throw new Error(`unknown stack "${i.name}"`);
            const outputs = stackReferenceOutputs[i.name];
            state.outputs = outputs;
            state.secretOutputNames = [];
            break;
        }
    }
    return state;
}

function mockInvoke(args: pulumi.runtime.MockCallArgs, region: string): Record<string, unknown> {
    switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: OFFLINE_ACCOUNT, arn: `arn:aws:iam::${OFFLINE_ACCOUNT}:user/test`, userId: "AIDTEST", id: OFFLINE_ACCOUNT };
        case "aws:index/getRegion:getRegion":
            return { name: region, region, id: region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws", reverseDnsPrefix: "com.amazonaws" };
        case "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage": {
            // The account that hosts SageMaker's built-in algorithms in us-east-1.
            const registryId = "811284229777";
            return {
                registryId,
                registryPath: `${registryId}.dkr.ecr.${region}.amazonaws.com/${args.inputs.repositoryName}:${args.inputs.imageTag ?? "1"}`,
                id: `${registryId}-${args.inputs.repositoryName}`,
                repositoryName: args.inputs.repositoryName,
            };
        }
        default:
            // Echoing the inputs back would hand the program made-up data that only looks like an answer.
            throw unansweredInvoke(args.token);
    }
}

/** The runtime passes a failed invoke on as `new Error(err.details)`, as it does the engine's gRPC errors. */
function unansweredInvoke(token: string): Error {
    const message = `the offline runtime has no answer for the invoke ${token}; answer it in stacks/offline.ts (mockInvoke) or do not call it`;
    return Object.assign(new Error(message), { details: message });
}

/**
 * Waits until the program has declared everything. Mocks answer asynchronously and components declare
 * children inside `apply`, so "no declaration for a while" would be a guess that a slow machine loses; the
 * runtime itself counts every registration and invoke in flight (it drains that count before it shuts
 * down), so this waits for the given outputs, then for that count to drain with no new declaration since.
 */
export async function settled(declared: readonly DeclaredResource[], ...outputs: unknown[]): Promise<void> {
    await Promise.all(outputs.map((o) => unwrapOutput(o as pulumi.Input<unknown>)));
    let seen: number;
    do {
        seen = declared.length;
        await rpcsDrained();
        // An apply that declares a resource runs after the RPC that resolved its input.
        await new Promise((r) => setImmediate(r));
    } while (declared.length !== seen);
}

/** The runtime's own "nothing in flight" (internal to @pulumi/pulumi, and what `disconnect` awaits). */
function rpcsDrained(): Promise<void> {
    const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    if (typeof waitForRPCs !== "function")
        throw new Error("this @pulumi/pulumi has no runtime.waitForRPCs; the offline plan cannot tell when the program is done");
    return waitForRPCs();
}

/** The resolved value of an output under mocks. */
export function unwrapOutput<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) =>
        pulumi.output(output as pulumi.Input<T>).apply((v) => {
            resolve(v as T);
            return v;
        }),
    );
}
