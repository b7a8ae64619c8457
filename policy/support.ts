import type {
    PolicyConfigSchema,
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    StackValidation,
    StackValidationArgs,
} from "@pulumi/policy";
import { Environment } from "../infra/config";
import { parsePolicy, RawStatement } from "../infra/policy-evaluation";

/**
 * One rule of the platform's policy pack: a Pulumi policy plus the controls it enforces. `pack.ts` turns
 * rules into `@pulumi/policy` policies; the offline plan runs the same ones.
 */
export interface PlatformRule {
    /** Unique within the pack; lowercase words and hyphens. */
    readonly name: string;
    readonly description: string;
    /** Security Hub / Checkov control ids (`SageMaker.5`, `CKV_AWS_98`), or the review item it keeps fixed. */
    readonly controls: readonly string[];
    readonly enforcementLevel: "mandatory" | "advisory";
    readonly remediationSteps: string;
    readonly validateResource?: ResourceValidation | ResourceValidation[];
    readonly validateStack?: StackValidation;
    /** Limits a stack may set through policy pack config (`--policy-pack-config`). */
    readonly configSchema?: PolicyConfigSchema;
}

/** `[SageMaker.5, CKV_AWS_370] <what is wrong>. Fix: <what to change>`: every message names the control and the fix. */
export function message(controls: readonly string[], what: string, fix: string): string {
    return `[${controls.join(", ")}] ${what}. Fix: ${fix}`;
}

/** How a violation names a resource: `aws:sagemaker/model:Model "<logical name>"` becomes `sagemaker Model "<name>"`. */
export function describe(type: string, name: string): string {
    const [, module, kind] = /^[^:]+:([^/]+)\/[^:]+:(.+)$/.exec(type) ?? [];
    return module ? `${module} ${kind} "${name}"` : `${type} "${name}"`;
}

// -------------------------------------------------------------------------------------------------------
// The stack a resource belongs to

/**
 * The environment a resource belongs to, from the `environment` tag the platform puts on every resource
 * through its provider's `defaultTags` (the provider's inputs carry them as JSON text), else the resource's
 * own `tags`. Undefined when neither says staging or prod: rules then apply the stricter reading.
 */
export function environmentOf(resource: {
    readonly provider?: PolicyProviderResource;
    readonly props: Record<string, unknown>;
}): Environment | undefined {
    const fromProvider = resource.provider ? tagOf(parseMaybeJson(resource.provider.props.defaultTags), "tags", "environment") : undefined;
    const value = fromProvider ?? tagOf(resource.props, "tags", "environment");
    if (value === "prod" || value === "production") return "prod";
    if (value === "staging") return "staging";
    return undefined;
}

function tagOf(holder: unknown, ...path: string[]): string | undefined {
    let at: unknown = holder;
    for (const key of path) {
        if (at === null || typeof at !== "object" || !Object.prototype.hasOwnProperty.call(at, key)) return undefined;
        at = (at as Record<string, unknown>)[key];
    }
    return typeof at === "string" ? at : undefined;
}

function parseMaybeJson(value: unknown): unknown {
    if (typeof value !== "string") return value;
    try {
        return JSON.parse(value);
    } catch {
        return undefined;
    }
}

/** How an environment was read, for messages: `staging`, or `an unknown environment (treated as prod)`. */
export function environmentLabel(environment: Environment | undefined, treatedAs: Environment): string {
    return environment ?? `an unknown environment (no environment tag on the resource or its provider; treated as ${treatedAs})`;
}

// -------------------------------------------------------------------------------------------------------
// Policy documents in resource properties

/**
 * The statements of a policy property (JSON text or an object); a document that does not parse is
 * reported as a violation of the rule reading it, since nothing about it can be checked.
 */
export function statementsOf(
    document: unknown,
    report: ReportViolation,
    controls: readonly string[],
    where: string,
    urn?: string,
): RawStatement[] | undefined {
    try {
        return parsePolicy(document);
    } catch (e) {
        report(message(controls, `${where}: ${(e as Error).message}`, "give it a valid IAM policy document"), urn);
        return undefined;
    }
}

// -------------------------------------------------------------------------------------------------------
// Stack-level links between resources

/**
 * The resource among `candidates` that `from`'s property refers to. The engine says which resources each
 * property depends on (`propertyDependencies`), which holds even while values are unknown in a preview; a
 * property with no recorded dependency is matched by value against the candidates' identifiers.
 */
export function referencedBy(
    from: PolicyResource,
    property: string,
    candidates: readonly PolicyResource[],
    identifiers: (candidate: PolicyResource) => unknown[],
): PolicyResource | undefined {
    const deps = from.propertyDependencies?.[property];
    if (deps && deps.length > 0) return candidates.find((c) => deps.includes(c));
    const value = from.props[property];
    if (value === undefined) return undefined;
    return candidates.find((c) => identifiers(c).includes(value));
}

/** Names a bucket is referred to by: its `bucket` (the name, which is also its id in AWS). */
export function bucketIdentifiers(bucket: PolicyResource): unknown[] {
    return [bucket.props.bucket].filter((v) => v !== undefined);
}

/** The resources of one type, with their properties typed loosely (stack validations walk them as JSON). */
export function resourcesOf(args: StackValidationArgs, type: string): PolicyResource[] {
    return args.resources.filter((r) => r.type === type);
}

/** A resource's type token from its class (`aws.s3.Bucket` -> `aws:s3/bucket:Bucket`), as the engine compares them. */
export function typeOf(resourceClass: unknown): string {
    const token = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
    if (typeof token !== "string") throw new Error(`internal: ${String(resourceClass)} has no Pulumi type token`);
    return token;
}

/** `s3://bucket/key/prefix/` -> `{ bucket, key }`; undefined for anything else (a pipeline expression, say). */
export function s3Location(uri: unknown): { bucket: string; key: string } | undefined {
    const m = typeof uri === "string" ? /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri) : null;
    return m ? { bucket: m[1], key: m[2] } : undefined;
}
