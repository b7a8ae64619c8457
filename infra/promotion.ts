import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import { describePackage, newestRegisteredPackage, PackageInfo, RegistryClient } from "./registry";

/** The registry as the program sees it at deploy time; the offline plan and tests pass stand-ins. */
export interface ModelRegistry {
    /** Newest package of a group that is not Rejected, or undefined. */
    newestRegisteredPackage(group: string): Promise<string | undefined>;
    describePackage(arn: string): Promise<PackageInfo>;
}

/**
 * The registry behind a SageMaker client. A group that does not exist yet (the first `pulumi up`, before
 * the training pipeline's group is created) holds no package, which is not an error.
 */
export function sagemakerRegistry(client: RegistryClient): ModelRegistry {
    return {
        async newestRegisteredPackage(group) {
            try {
                return await newestRegisteredPackage(client, group);
            } catch (e) {
                if (isMissingGroup(e)) return undefined;
                throw e;
            }
        },
        describePackage: (arn) => describePackage(client, arn),
    };
}

function isMissingGroup(e: unknown): boolean {
    const err = e as { name?: string; message?: string };
    return (err.name === "ValidationException" || err.name === "ResourceNotFound") && /does not exist|not found/i.test(err.message ?? "");
}

/** What one model's endpoint serves, and why. */
export interface ServedPackage {
    readonly packageArn: string;
    /** `newest` (staging default), `pinned` (config), `promoted` (prod: what staging serves). */
    readonly source: "newest" | "pinned" | "promoted";
    readonly info: PackageInfo;
}

/** The stack output, per model, that prod promotes from: the package staging serves (absent if none). */
export const SERVED_PACKAGES_OUTPUT = "servedPackages";

/**
 * Staging: each model serves its pinned package or the newest registered one. A model with nothing
 * registered yet gets no endpoint (undefined) instead of failing the stack.
 */
export async function resolveStagingPackages(
    models: Readonly<Record<string, { pin?: string; group: string }>>,
    registry: ModelRegistry,
): Promise<Record<string, ServedPackage | undefined>> {
    const out: Record<string, ServedPackage | undefined> = {};
    for (const [model, { pin, group }] of Object.entries(models)) {
        const arn = pin ?? (await registry.newestRegisteredPackage(group));
        out[model] = arn ? { packageArn: arn, source: pin ? "pinned" : "newest", info: await registry.describePackage(arn) } : undefined;
    }
    return out;
}

/** Thrown when prod would serve a package nobody approved; lists every such model at once. */
export class PromotionRefused extends Error {
    constructor(public readonly refusals: readonly string[]) {
        super(`prod serves only Approved model packages; nothing was deployed:\n${refusals.map((r) => `  - ${r}`).join("\n")}`);
        this.name = "PromotionRefused";
    }
}

/**
 * The gate between staging and prod. Per model, prod takes its config pin (a roll-back to an older
 * package) or the package staging serves, and only if that package is Approved. Any other status stops the
 * whole update before a single resource changes, with the command that approves it. A model staging does
 * not serve yet is left out of prod (undefined), not an error.
 */
export async function resolvePromotion(
    models: Readonly<Record<string, { pin?: string }>>,
    servedByStaging: Readonly<Record<string, string | undefined>>,
    registry: ModelRegistry,
    stagingStack: string,
): Promise<Record<string, ServedPackage | undefined>> {
    const out: Record<string, ServedPackage | undefined> = {};
    const refusals: string[] = [];
    const stagingName = stagingStack.split("/").pop()!;
    for (const [model, { pin }] of Object.entries(models)) {
        const arn = pin ?? servedByStaging[model];
        if (!arn) {
            out[model] = undefined;
            continue;
        }
        let info: PackageInfo;
        try {
            info = await registry.describePackage(arn);
        } catch (e) {
            refusals.push(`${model}: model package ${arn} cannot be read from the registry (${(e as Error).message})`);
            continue;
        }
        if (info.approvalStatus !== ModelApprovalStatus.APPROVED) {
            const where = pin ? "pinned in prod config (endpoint.modelPackageArn)" : `served by ${stagingStack}`;
            refusals.push(
                `${model}: model package ${arn} (${where}) is ${info.approvalStatus}, not Approved. ` +
                    (pin
                        ? "A pinned package must already be Approved: pin an Approved version, or remove the pin to promote what staging serves."
                        : info.approvalStatus === ModelApprovalStatus.REJECTED
                          ? "It was rejected: let staging serve another package first."
                          : `Approve it with: npm run approve -- --stack ${stagingName} --model ${model} --note "<why it is good>"`),
            );
            continue;
        }
        out[model] = { packageArn: arn, source: pin ? "pinned" : "promoted", info };
    }
    if (refusals.length) throw new PromotionRefused(refusals);
    return out;
}
