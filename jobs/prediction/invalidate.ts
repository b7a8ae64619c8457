import { CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";

/**
 * Invalidates the prediction page's entry files at CloudFront after a deploy changed them (the component invokes this
 * through `aws.lambda.Invocation` whenever the site's version changes). Hashed assets never need it: a new build has
 * new names. The caller reference is the version, so a repeated invocation for one version is one invalidation.
 */

export interface InvalidationRequest {
    readonly distributionId: string;
    /** Paths as CloudFront takes them, each starting with `/`. */
    readonly paths: readonly string[];
    /** The deployed site's version (files and settings). */
    readonly version: string;
}

export interface InvalidationResult {
    readonly invalidationId: string;
    readonly status: string;
}

export type CloudFront = Pick<CloudFrontClient, "send">;

export function invalidationProblems(r: Partial<InvalidationRequest>): string[] {
    const problems: string[] = [];
    if (typeof r.distributionId !== "string" || !/^[A-Z0-9]{1,64}$/.test(r.distributionId))
        problems.push(`distributionId ${JSON.stringify(r.distributionId)} is not a CloudFront distribution id`);
    if (!Array.isArray(r.paths) || r.paths.length === 0 || !r.paths.every((p) => typeof p === "string" && p.startsWith("/")))
        problems.push(`paths ${JSON.stringify(r.paths)} must be a non-empty list of paths starting with "/"`);
    if (typeof r.version !== "string" || !/^[\w.-]{1,128}$/.test(r.version))
        problems.push(`version ${JSON.stringify(r.version)} must be 1-128 letters, digits, ".", "_" or "-"`);
    return problems;
}

export async function invalidate(cloudfront: CloudFront, request: InvalidationRequest): Promise<InvalidationResult> {
    const problems = invalidationProblems(request);
    if (problems.length) throw new Error(`invalid invalidation request: ${problems.join("; ")}`);
    const answer = await cloudfront.send(
        new CreateInvalidationCommand({
            DistributionId: request.distributionId,
            InvalidationBatch: {
                CallerReference: `site-${request.version}`,
                Paths: { Quantity: request.paths.length, Items: [...request.paths] },
            },
        }),
    );
    return { invalidationId: answer.Invalidation?.Id ?? "", status: answer.Invalidation?.Status ?? "" };
}

let client: CloudFrontClient | undefined;

export async function handler(event: InvalidationRequest): Promise<InvalidationResult> {
    client ??= new CloudFrontClient({});
    return invalidate(client, event);
}
