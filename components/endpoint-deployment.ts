import * as pulumi from "@pulumi/pulumi";
import {
    createEndpoint,
    deleteEndpoint,
    DeploymentTiming,
    EndpointClients,
    readEndpoint,
    updateEndpoint,
} from "../infra/endpoint-deployer";
import { diffSpecs, EndpointSpec, EndpointState, specProblems } from "../infra/endpoint-update";

/**
 * A SageMaker endpoint deployed the way a careful operator would by hand: a Pulumi dynamic provider over
 * the AWS SDK, because the AWS provider's endpoint resource cannot send RetainAllVariantProperties, does not
 * take autoscaling off around an instance-type change, and reports a blue/green rollback as a success
 * (terraform-provider-aws #48997, #46663, PR #49020, PR #49069). The decisions are `infra/endpoint-update.ts`,
 * the calls `infra/endpoint-deployer.ts`; this file only connects them to Pulumi.
 *
 * Pulumi serializes the provider with everything it references, runs it in its own process, and calls only
 * `check` and `diff` during a preview, so those two are pure and the SDK clients are required and built
 * inside the methods that deploy.
 */

/** Clients for the endpoint's region, with the credentials of whoever runs `pulumi up`. */
function awsClients(region: string): EndpointClients {
    const { SageMaker } = require("@aws-sdk/client-sagemaker");
    const { ApplicationAutoScaling } = require("@aws-sdk/client-application-auto-scaling");
    const { CloudWatch } = require("@aws-sdk/client-cloudwatch");
    return {
        sagemaker: new SageMaker({ region }),
        autoscaling: new ApplicationAutoScaling({ region }),
        cloudwatch: new CloudWatch({ region }),
    };
}

/** Real waiting: DescribeEndpoint every 30 seconds while a deployment runs. */
function wallClock(): DeploymentTiming {
    return { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), now: () => new Date(), pollSeconds: 30 };
}

export const endpointDeploymentProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: EndpointSpec, news: EndpointSpec) {
        return { inputs: news, failures: specProblems(news).map((reason) => ({ property: reason.split(":")[0], reason })) };
    },
    async diff(_id: string, olds: EndpointState, news: EndpointSpec) {
        const { changes, replaces } = diffSpecs(olds, news);
        return { changes, replaces, deleteBeforeReplace: false };
    },
    async create(inputs: EndpointSpec) {
        return { id: inputs.endpointName, outs: await createEndpoint(awsClients(inputs.region), inputs, wallClock()) };
    },
    async update(_id: string, olds: EndpointState, news: EndpointSpec) {
        return { outs: await updateEndpoint(awsClients(news.region), olds, news, wallClock()) };
    },
    async delete(_id: string, props: EndpointState) {
        await deleteEndpoint(awsClients(props.region), props, wallClock());
    },
    async read(id: string, props: EndpointState) {
        if (!props?.region)
            throw new Error(`EndpointDeployment ${id} cannot be imported: declare it and run pulumi up, which adopts an existing endpoint`);
        const state = await readEndpoint(awsClients(props.region), props);
        return state ? { id, props: state } : {};
    },
};

/** The spec, each part known at declaration or an output of another resource. */
export type EndpointDeploymentArgs = { readonly [K in keyof EndpointSpec]: pulumi.Input<EndpointSpec[K]> };

/**
 * One SageMaker endpoint with its model, endpoint configs and autoscaling registration, deployed and
 * verified by `endpointDeploymentProvider`. Its outputs say what serves: after a refresh that found a
 * rollback they name the old config and package, and a failed update leaves them as they were.
 */
export class EndpointDeployment extends pulumi.dynamic.Resource {
    declare public readonly endpointName: pulumi.Output<string>;
    declare public readonly endpointArn: pulumi.Output<string>;
    /** The endpoint config that serves. */
    declare public readonly endpointConfigName: pulumi.Output<string>;
    declare public readonly modelName: pulumi.Output<string>;
    /** The model package that serves. */
    declare public readonly modelPackageArn: pulumi.Output<string>;
    declare public readonly instanceType: pulumi.Output<string>;
    declare public readonly liveInstanceCount: pulumi.Output<number>;
    declare public readonly keptEndpointConfigs: pulumi.Output<string[]>;
    declare public readonly lastDeployment: pulumi.Output<string>;

    constructor(name: string, args: EndpointDeploymentArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            endpointDeploymentProvider,
            name,
            { ...args, endpointArn: undefined, liveInstanceCount: undefined, keptEndpointConfigs: undefined, lastDeployment: undefined },
            opts,
        );
    }
}
