import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import { describePackage, newestRegisteredPackage, PackageInfo, packageServedBy, RegistryClient } from "./registry";

/** The registry as the program sees it at deploy time; the offline plan and tests pass stand-ins. */
export interface ModelRegistry {
    /** Newest package of a group that is not Rejected, or undefined. */
    newestRegisteredPackage(group: string): Promise<string | undefined>;
    describePackage(arn: string): Promise<PackageInfo>;
    /**
     * The package a live endpoint serves (endpoint -> config -> model -> package), or undefined when the
     * endpoint does not exist. Any other failure is an error: prod must never take "cannot tell" for "none".
     */
    packageServedBy(endpoint: string): Promise<string | undefined>;
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
        async packageServedBy(endpoint) {
            try {
                return await packageServedBy(client, endpoint);
            } catch (e) {
                if (isMissingEndpoint(e, endpoint)) return undefined;
                throw e;
            }
        },
    };
}

/** DescribeEndpoint of an endpoint that does not exist: ValidationException "Could not find endpoint ...". */
function isMissingEndpoint(e: unknown, endpoint: string): boolean {
    const err = e as { name?: string; message?: string };
    return (
        err.name === "ValidationException" && /could not find endpoint/i.test(err.message ?? "") && (err.message ?? "").includes(endpoint)
    );
}

function isMissingGroup(e: unknown): boolean {
    const err = e as { name?: string; message?: string };
    return (err.name === "ValidationException" || err.name === "ResourceNotFound") && /does not exist|not found/i.test(err.message ?? "");
}

/** What one model's endpoint serves, and why. */
export interface ServedPackage {
    readonly packageArn: string;
    /**
     * `newest` (staging default), `pinned` (config), `promoted` (prod: what staging serves), `kept` (prod: what
     * its endpoint serves now, while staging's package is not Approved or staging serves none).
     */
    readonly source: "newest" | "pinned" | "promoted" | "kept";
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

/** What prod needs to know per model. */
export interface PromotionModel {
    /** endpoint.modelPackageArn in prod's stack file: a roll-back to an older package. */
    readonly pin?: string;
    /** Prod's endpoint for the model, to ask what it serves now. */
    readonly endpoint: string;
    /** promotion.removeEndpoints lists the model: prod has no endpoint for it, whatever staging serves. */
    readonly remove?: boolean;
}

/** Per model: what prod serves (undefined: no endpoint), why, and the staging package that waits for a decision. */
export interface PromotionPlan {
    readonly served: Record<string, ServedPackage | undefined>;
    /** Why a model has no endpoint, or why it keeps its package: for the stack outputs. */
    readonly notes: Record<string, string>;
    /** Staging's package, when prod does not take it (it is not Approved), by model. */
    readonly awaiting: Record<string, string>;
    /** What an operator should know from this update (staging moved on without prod), one message each. */
    readonly messages: readonly string[];
}

const approveCommand = (stagingStack: string, model: string) =>
    `npm run approve -- --stack ${stagingStack.split("/").pop()} --model ${model} --note "<why it is good>"`;

/**
 * The gate between staging and prod, per model:
 * - a model listed in promotion.removeEndpoints gets no endpoint (the one explicit way to take one down);
 * - a pin (a roll-back) is served if Approved;
 * - otherwise staging's package is promoted if Approved;
 * - if staging's package is not Approved, or staging serves none, prod keeps the package its endpoint serves
 *   now, if that one is still Approved, and says so; with no endpoint yet it has none until one is approved.
 * Anything else (a pin that is not Approved, a served package that was rejected since with no Approved one to
 * take over, a package or an endpoint that cannot be read) stops the whole update before a single resource
 * changes, every such model listed with what to do.
 */
export async function resolvePromotion(
    models: Readonly<Record<string, PromotionModel>>,
    servedByStaging: Readonly<Record<string, string | undefined>>,
    registry: ModelRegistry,
    stagingStack: string,
): Promise<PromotionPlan> {
    const served: Record<string, ServedPackage | undefined> = {};
    const notes: Record<string, string> = {};
    const awaiting: Record<string, string> = {};
    const messages: string[] = [];
    const refusals: string[] = [];
    const describe = async (model: string, arn: string, what: string): Promise<PackageInfo | undefined> => {
        try {
            return await registry.describePackage(arn);
        } catch (e) {
            refusals.push(`${model}: model package ${arn} (${what}) cannot be read from the registry (${(e as Error).message})`);
            return undefined;
        }
    };

    for (const [model, { pin, endpoint, remove }] of Object.entries(models)) {
        if (remove) {
            served[model] = undefined;
            notes[model] = "no endpoint: promotion.removeEndpoints in Pulumi.prod.yaml lists it";
            continue;
        }
        if (pin) {
            const info = await describe(model, pin, "pinned in prod config (endpoint.modelPackageArn)");
            if (!info) continue;
            if (info.approvalStatus !== ModelApprovalStatus.APPROVED) {
                refusals.push(
                    `${model}: model package ${pin} (pinned in prod config (endpoint.modelPackageArn)) is ${info.approvalStatus}, not Approved. ` +
                        "A pinned package must already be Approved: pin an Approved version, or remove the pin to promote what staging serves.",
                );
                continue;
            }
            served[model] = { packageArn: pin, source: "pinned", info };
            continue;
        }

        const candidate = servedByStaging[model];
        const candidateInfo = candidate ? await describe(model, candidate, `served by ${stagingStack}`) : undefined;
        if (candidate && !candidateInfo) continue;
        if (candidate && candidateInfo!.approvalStatus === ModelApprovalStatus.APPROVED) {
            served[model] = { packageArn: candidate, source: "promoted", info: candidateInfo! };
            continue;
        }

        // Staging's package is not Approved, or staging serves none: prod keeps what it serves now.
        let current: string | undefined;
        try {
            current = await registry.packageServedBy(endpoint);
        } catch (e) {
            refusals.push(
                `${model}: cannot read which package prod's endpoint ${endpoint} serves (${(e as Error).message}); prod keeps nothing it cannot see`,
            );
            continue;
        }
        const stagingSays = candidate
            ? `staging serves ${candidate}, which is ${candidateInfo!.approvalStatus}`
            : `staging serves no package for ${model}`;
        if (candidate) awaiting[model] = candidate;
        if (!current) {
            served[model] = undefined;
            notes[model] = candidate ? `no endpoint: ${stagingSays}` : "no endpoint: staging serves no package for this model yet";
            if (candidate)
                messages.push(
                    `${model}: ${stagingSays}; prod has no endpoint for ${model} until it is approved` +
                        (candidateInfo!.approvalStatus === ModelApprovalStatus.REJECTED ? "" : `: ${approveCommand(stagingStack, model)}`),
                );
            continue;
        }
        const currentInfo = await describe(model, current, `served by prod's endpoint ${endpoint}`);
        if (!currentInfo) continue;
        if (currentInfo.approvalStatus !== ModelApprovalStatus.APPROVED) {
            refusals.push(
                `${model}: prod serves ${current}, which is ${currentInfo.approvalStatus} now, and ` +
                    `${candidate ? `staging's ${candidate} is ${candidateInfo!.approvalStatus}` : "staging serves no package for it"}: ` +
                    `approve a package in staging (${approveCommand(stagingStack, model)}), pin an Approved version ` +
                    `(models.${model}.endpoint.modelPackageArn), or list ${model} in promotion.removeEndpoints to take prod's endpoint down.`,
            );
            continue;
        }
        served[model] = { packageArn: current, source: "kept", info: currentInfo };
        notes[model] = `kept package, Approved; ${stagingSays}`;
        messages.push(
            `${model}: ${stagingSays}; prod keeps serving ${current} (Approved). ` +
                (candidate
                    ? candidateInfo!.approvalStatus === ModelApprovalStatus.REJECTED
                        ? "Staging serves another package once one is registered."
                        : `Approve the new one with: ${approveCommand(stagingStack, model)}`
                    : `To remove prod's endpoint, list ${model} in promotion.removeEndpoints in Pulumi.prod.yaml`),
        );
    }
    if (refusals.length) throw new PromotionRefused(refusals);
    return { served, notes, awaiting, messages };
}

/** Where prod's StackReference points: promotion.sourceStack, or the default, and which of the two it is. */
export interface PromotionSourceStack {
    readonly name: string;
    readonly origin: "config" | "default";
}

/**
 * `promotion.sourceStack`, or `<organization>/<project>/staging` with the prod stack's own organization: on
 * Pulumi Cloud that is the team's organization, on a self-managed backend the fixed name `organization`.
 */
export function promotionSourceStack(configured: string | undefined, organization: string, project: string): PromotionSourceStack {
    return configured ? { name: configured, origin: "config" } : { name: `${organization}/${project}/staging`, origin: "default" };
}

/** The error for a StackReference that does not lead to staging's outputs: the name tried, and how to set another. */
export function sourceStackProblem(source: PromotionSourceStack, problem: string): string {
    const project = source.name.split("/").length === 3 ? source.name.split("/")[1] : "vision-mlops";
    const how =
        source.origin === "config"
            ? "(promotion.sourceStack in Pulumi.prod.yaml)"
            : "(the default: this stack's organization, this project, staging)";
    return (
        `cannot read stack "${source.name}" ${how}, which prod promotes from: ${problem}. ` +
        `On Pulumi Cloud it is <your-org>/${project}/staging; on a self-managed backend organization/${project}/staging ` +
        "(`pulumi stack ls --all` lists the names). Set it in Pulumi.prod.yaml:\n" +
        `  vision-mlops:promotion:\n    sourceStack: <org>/${project}/staging\n` +
        "and deploy staging with this version of the platform before prod."
    );
}
