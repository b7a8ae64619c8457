import { DescribeEndpointCommand, DescribeEndpointOutput } from "@aws-sdk/client-sagemaker";
import { endpointName } from "../../../infra/naming";
import { describePackage, groupOfPackageArn, PackageInfo, packageServedBy, RegistryClient } from "../../../infra/registry";
import { CliError, StackContext } from "../common";
import { isInfrastructureFailure } from "./aws-errors";

/** SageMaker answers a Describe* of a missing resource with a ValidationException "Could not find ...". */
export function isNotFound(e: unknown): boolean {
    const err = e as { name?: string; message?: string };
    return (
        (err?.name === "ValidationException" || err?.name === "ResourceNotFound") &&
        /could not find|not found|does not exist/i.test(err.message ?? "")
    );
}

/** The endpoint's description, or undefined when the stack has not deployed it. */
export async function describeEndpointIfAny(client: RegistryClient, name: string): Promise<DescribeEndpointOutput | undefined> {
    try {
        return await client.send(new DescribeEndpointCommand({ EndpointName: name }));
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
}

export interface ServedPackage {
    readonly endpoint: string;
    /** When the endpoint last changed (for example to serve another package). */
    readonly endpointUpdatedAt?: Date;
    readonly info: PackageInfo;
}

/**
 * The registry package the model's endpoint in this stack serves, with its approval status and metadata.
 * Errors say what is missing and what to do: no endpoint (deploy the stack first), a model that was not
 * created from the registry (nothing to approve).
 */
export async function servedPackage(client: RegistryClient, ctx: StackContext, model: string): Promise<ServedPackage> {
    const endpoint = endpointName(ctx.config.environment, model);
    const described = await describeEndpointIfAny(client, endpoint);
    if (!described)
        throw new CliError(
            `endpoint ${endpoint} of model ${model} was not found in ${ctx.region} (account ${ctx.accountId}); ` +
                `deploy it first with \`pulumi up --stack ${ctx.stack}\` (the stack creates it once a package is registered for the model)`,
        );
    let arn: string;
    try {
        arn = await packageServedBy(client, endpoint);
    } catch (e) {
        if (isInfrastructureFailure(e)) throw e;
        throw new CliError(`cannot follow endpoint ${endpoint} to the package it serves: ${(e as Error).message}`);
    }
    try {
        groupOfPackageArn(arn);
    } catch {
        throw new CliError(
            `endpoint ${endpoint} serves ${arn}, which is not a versioned package of the model registry, so it has no approval status to set`,
        );
    }
    return { endpoint, endpointUpdatedAt: described.LastModifiedTime, info: await describePackage(client, arn) };
}
