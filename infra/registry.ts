import {
    DescribeEndpointCommand,
    DescribeEndpointConfigCommand,
    DescribeModelCommand,
    DescribeModelPackageCommand,
    ListModelPackagesCommand,
    ModelApprovalStatus,
    ModelPackageSummary,
    SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { bucketName } from "./naming";
import { packageOfContainer } from "./served-package";

/**
 * Model-registry lookups shared by the program (at deploy time) and the operator CLIs. The client is
 * injected so tests can point it at an emulator or a stub.
 */
export type RegistryClient = Pick<SageMakerClient, "send">;

export interface PackageInfo {
    readonly arn: string;
    readonly group: string;
    readonly version?: number;
    readonly approvalStatus: ModelApprovalStatus | string;
    readonly approvalDescription?: string;
    readonly createdAt?: Date;
    readonly customerMetadata: Record<string, string>;
    /** S3 URI of the model-quality statistics registered with the package, when there are any. */
    readonly modelQualityStatisticsUri?: string;
    /** S3 URI of the monitoring baseline registered as the package's drift-check baseline. */
    readonly monitoringBaselineUri?: string;
    /** The serving container's image and model artifact (`s3://.../model.tar.gz`). */
    readonly image?: string;
    readonly modelDataUrl?: string;
}

/** Model package versions of a group, newest first, optionally only those with one approval status. */
async function* packagesNewestFirst(
    client: RegistryClient,
    group: string,
    status?: ModelApprovalStatus,
): AsyncGenerator<ModelPackageSummary> {
    let nextToken: string | undefined;
    do {
        const page = await client.send(
            new ListModelPackagesCommand({
                ModelPackageGroupName: group,
                ModelApprovalStatus: status,
                ModelPackageType: "Versioned",
                SortBy: "CreationTime",
                SortOrder: "Descending",
                MaxResults: 100,
                NextToken: nextToken,
            }),
        );
        for (const summary of page.ModelPackageSummaryList ?? []) yield summary;
        nextToken = page.NextToken;
    } while (nextToken);
}

/** The newest package in a group that has not been Rejected, or undefined when there is none. */
export async function newestRegisteredPackage(client: RegistryClient, group: string): Promise<string | undefined> {
    for await (const p of packagesNewestFirst(client, group)) {
        if (p.ModelApprovalStatus !== ModelApprovalStatus.REJECTED && p.ModelPackageArn) return p.ModelPackageArn;
    }
    return undefined;
}

/** The newest Approved package in a group (the champion), or undefined when none was approved yet. */
export async function newestApprovedPackage(client: RegistryClient, group: string): Promise<string | undefined> {
    for await (const p of packagesNewestFirst(client, group, ModelApprovalStatus.APPROVED)) {
        if (p.ModelPackageArn) return p.ModelPackageArn;
    }
    return undefined;
}

/** A package's approval status and the evidence registered with it. */
export async function describePackage(client: RegistryClient, arn: string): Promise<PackageInfo> {
    const p = await client.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
    return {
        arn: p.ModelPackageArn ?? arn,
        group: p.ModelPackageGroupName ?? groupOfPackageArn(arn),
        version: p.ModelPackageVersion,
        approvalStatus: p.ModelApprovalStatus ?? "Unknown",
        approvalDescription: p.ApprovalDescription,
        createdAt: p.CreationTime,
        customerMetadata: p.CustomerMetadataProperties ?? {},
        modelQualityStatisticsUri: p.ModelMetrics?.ModelQuality?.Statistics?.S3Uri,
        monitoringBaselineUri: p.DriftCheckBaselines?.ModelDataQuality?.Statistics?.S3Uri,
        image: p.InferenceSpecification?.Containers?.[0]?.Image,
        modelDataUrl: p.InferenceSpecification?.Containers?.[0]?.ModelDataUrl,
    };
}

export { SERVED_PACKAGE_ENVIRONMENT_VARIABLE } from "./served-package";

/**
 * The package an endpoint actually serves: endpoint -> its current endpoint config -> the first production
 * variant's model -> that model's container's ModelPackageName (or the package it records in
 * SERVED_PACKAGE_ENVIRONMENT_VARIABLE). Fails with a message that names the link that is missing.
 */
export async function packageServedBy(client: RegistryClient, endpointName: string): Promise<string> {
    const endpoint = await client.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    if (!endpoint.EndpointConfigName) throw new Error(`endpoint ${endpointName} has no endpoint configuration`);
    const config = await client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
    const modelName = config.ProductionVariants?.[0]?.ModelName;
    if (!modelName)
        throw new Error(`endpoint configuration ${endpoint.EndpointConfigName} of ${endpointName} has no production variant with a model`);
    const model = await client.send(new DescribeModelCommand({ ModelName: modelName }));
    const container = model.PrimaryContainer ?? model.Containers?.[0];
    const packageName = packageOfContainer(container);
    if (!packageName)
        throw new Error(
            `model ${modelName} behind endpoint ${endpointName} was not created from a model package, so it has no approval status`,
        );
    return packageName;
}

/** `arn:aws:sagemaker:r:a:model-package/<group>/<version>` -> `<group>`. */
export function groupOfPackageArn(arn: string): string {
    return parsePackageArn(arn).group;
}

/** The parts of a model package version ARN, `arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>`. */
export function parsePackageArn(arn: string): { partition: string; region: string; account: string; group: string; version: number } {
    const m = /^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):(\d{12}):model-package\/([^/]+)\/(\d+)$/.exec(arn);
    if (!m) throw new Error(`${arn} is not a model package version ARN (…:model-package/<group>/<version>)`);
    return { partition: m[1], region: m[2], account: m[3], group: m[4], version: Number(m[5]) };
}

/**
 * Where the decisions on a package version are recorded: one object per decision under
 * `_decisions/<group>/<version>/` in the artifacts bucket of the stack that owns the registry (staging),
 * in the account and region the package ARN names. Every command that decides on the package, from any
 * account, finds the same ledger from the ARN alone. (`_` cannot start a model name, so the prefix never
 * meets a model's artifacts.)
 */
export function decisionLedgerLocation(packageArn: string): { readonly bucket: string; readonly prefix: string } {
    const p = parsePackageArn(packageArn);
    return { bucket: bucketName("staging", "artifacts", p.account, p.region), prefix: `_decisions/${p.group}/${p.version}/` };
}

/** `<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]` -> the repository's ARN. */
export function ecrRepositoryArnOfImage(image: string, partition = "aws"): string {
    const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+?)(?:[:@].*)?$/.exec(image);
    if (!m) throw new Error(`${image} is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)`);
    return `arn:${partition}:ecr:${m[2]}:${m[1]}:repository/${m[3]}`;
}
