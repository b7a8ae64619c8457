import {
    EnforcementLevel,
    Policies,
    PolicyPackConfig,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    unknownCheckingProxy,
    UnknownValueError,
} from "@pulumi/policy";
import { OPEN_ITEMS, OpenItem, openItemFor } from "./open-items";
import { OPEN_ITEMS_SUFFIX, PACK_NAME, platformPolicies } from "./pack";

/**
 * Runs the policy pack over the resources a program declared, the way the Pulumi engine runs it in a
 * preview: every resource policy on every resource's inputs, then every stack policy over all of them,
 * with properties wrapped by `@pulumi/policy`'s own `unknownCheckingProxy` (a rule that touches an unknown
 * value "can't run during preview" and reports an advisory note instead of passing or failing), the
 * provider's properties on each resource, property dependencies, and enforcement levels from the policy or
 * pack config. The offline plan calls it on its mocks' declarations; tests call it on hand-made resources.
 */

/** A declared resource, as the offline runtime records it. */
export interface DeclaredForPolicy {
    readonly type: string;
    readonly name: string;
    // Inputs are shaped by each provider's schema.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly inputs: Record<string, any>;
    /** The id the runtime gave it; inputs that equal another resource's id are property dependencies on it. */
    readonly id?: string;
    /** Provider reference `<provider urn>::<provider id>`. */
    readonly provider?: string;
    /** `<type>::<name>` of the parent. */
    readonly parent?: string;
}

export interface PolicyViolation {
    readonly policy: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly message: string;
    /** The resource the violation is about; absent for a violation of the stack as a whole. */
    readonly resource?: { readonly type: string; readonly name: string };
    /** The open item it is covered by (reported by the rule's advisory twin). */
    readonly openItem?: OpenItem;
    /** The rule could not run because a value it reads is unknown until the update. */
    readonly cannotRun?: boolean;
}

export interface PolicyReport {
    readonly pack: string;
    /** Policies that ran (rules, plus an advisory twin for each rule with open items). */
    readonly policies: readonly string[];
    readonly resources: number;
    readonly violations: readonly PolicyViolation[];
}

export interface RunOptions {
    readonly stack: string;
    readonly project?: string;
    readonly policies?: Policies;
    /** As `--policy-pack-config` would give it: per policy, an enforcement level or settings. */
    readonly config?: PolicyPackConfig;
    readonly openItems?: readonly OpenItem[];
}

/** Mandatory violations: the ones that fail a preview, an update and the offline plan. */
export function mandatoryViolations(report: PolicyReport): PolicyViolation[] {
    return report.violations.filter((v) => v.enforcementLevel === "mandatory");
}

class NotApplicable extends Error {}

/** Properties as the engine hands them to a policy: JSON values, with keys whose value is undefined left out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function asDeserialized(inputs: Record<string, any>): Record<string, any> {
    return JSON.parse(JSON.stringify(inputs));
}

export async function runPolicies(declared: readonly DeclaredForPolicy[], options: RunOptions): Promise<PolicyReport> {
    const openItems = options.openItems ?? OPEN_ITEMS;
    const policies = options.policies ?? platformPolicies(undefined, openItems);
    const project = options.project ?? "vision-mlops";
    const config = options.config ?? {};
    const violations: PolicyViolation[] = [];

    const byLabel = new Map(declared.map((r) => [`${r.type}::${r.name}`, r]));
    const urnOf = (r: DeclaredForPolicy): string => {
        const chain: string[] = [];
        for (let p = r.parent ? byLabel.get(r.parent) : undefined; p; p = p.parent ? byLabel.get(p.parent) : undefined)
            chain.unshift(p.type);
        return `urn:pulumi:${options.stack}::${project}::${[...chain, r.type].join("$")}::${r.name}`;
    };
    const byId = new Map(declared.filter((r) => r.id).map((r) => [r.id!, r]));
    const providerOf = (r: DeclaredForPolicy): PolicyProviderResource | undefined => {
        const id = r.provider?.split("::").pop();
        const p = id ? byId.get(id) : undefined;
        return p && { type: p.type, name: p.name, urn: urnOf(p), props: unknownCheckingProxy(asDeserialized(p.inputs)) };
    };
    const optionsOf = (r: DeclaredForPolicy): PolicyResourceOptions => ({
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(r.parent && byLabel.get(r.parent) ? { parent: urnOf(byLabel.get(r.parent)!) } : {}),
    });
    const levelOf = (p: { name: string; enforcementLevel?: EnforcementLevel }): EnforcementLevel => {
        const c = config[p.name];
        const level = (typeof c === "string" ? c : c?.enforcementLevel) ?? p.enforcementLevel ?? "advisory";
        return level === "remediate" ? "mandatory" : level;
    };
    const getConfigOf =
        (name: string) =>
        <T extends object>(): T => {
            const c = config[name];
            if (!c || typeof c === "string") return {} as T;
            // eslint-disable-next-line @typescript-eslint/no-unused-vars
            const { enforcementLevel, ...settings } = c;
            return settings as T;
        };
    const notApplicable = (reason?: string): never => {
        throw new NotApplicable(reason);
    };
    const record = (policy: string, level: EnforcementLevel, message: string, resource?: { type: string; name: string }) => {
        const item = policy.endsWith(OPEN_ITEMS_SUFFIX)
            ? openItemFor(policy.slice(0, -OPEN_ITEMS_SUFFIX.length), resource?.type, resource?.name, openItems)
            : undefined;
        violations.push({
            policy,
            enforcementLevel: level,
            message,
            ...(resource ? { resource } : {}),
            ...(item ? { openItem: item } : {}),
        });
    };
    const cannotRun = (policy: string, e: UnknownValueError, resource?: { type: string; name: string }) =>
        violations.push({
            policy,
            enforcementLevel: "advisory",
            cannotRun: true,
            message: `can't run policy '${policy}' from policy pack '${PACK_NAME}' during preview: ${e.message}`,
            ...(resource ? { resource } : {}),
        });
    const isType = (type: string) => (resourceClass: unknown) => {
        const token = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
        if (typeof token === "string") return token === type;
        const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean }).isInstance;
        return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
    };

    /** What the engine gives a policy of every resource: its identity, proxied properties, options and provider. */
    const engineView = (r: DeclaredForPolicy) => {
        const props = unknownCheckingProxy(asDeserialized(r.inputs));
        const provider = providerOf(r);
        return {
            type: r.type,
            name: r.name,
            urn: urnOf(r),
            props,
            opts: optionsOf(r),
            isType: isType(r.type),
            // The engine's asType hands back the same properties when the class matches.
            // eslint-disable-next-line @typescript-eslint/no-explicit-any
            asType: ((resourceClass: unknown) => (isType(r.type)(resourceClass) ? props : undefined)) as any,
            ...(provider ? { provider } : {}),
        };
    };

    for (const policy of policies) {
        const level = levelOf(policy);
        if (level === "disabled") continue;
        const resourcePolicy = policy as ResourceValidationPolicy;
        if (!resourcePolicy.validateResource) continue;
        const validations = Array.isArray(resourcePolicy.validateResource)
            ? resourcePolicy.validateResource
            : [resourcePolicy.validateResource];
        for (const r of declared) {
            const subject = { type: r.type, name: r.name };
            for (const validate of validations) {
                const only = (validate as { __pulumiType?: string }).__pulumiType;
                if (only && only !== r.type) continue;
                const args: ResourceValidationArgs = {
                    ...engineView(r),
                    stackTags: new Map(),
                    getConfig: getConfigOf(policy.name),
                    notApplicable,
                };
                try {
                    await validate(args, (message) => record(policy.name, level, message, subject));
                } catch (e) {
                    if (e instanceof UnknownValueError) cannotRun(policy.name, e, subject);
                    else if (!(e instanceof NotApplicable))
                        throw new Error(`policy ${policy.name} failed on ${r.type} ${r.name}: ${(e as Error).message}`, { cause: e });
                }
            }
        }
    }

    for (const policy of policies) {
        const level = levelOf(policy);
        const stackPolicy = policy as StackValidationPolicy;
        if (level === "disabled" || typeof stackPolicy.validateStack !== "function") continue;
        const resources = declared.map((r): PolicyResource => ({ ...engineView(r), dependencies: [], propertyDependencies: {} }));
        // Mocked ids stand in for the engine's dependency tracking: an input that is another resource's id depends on it.
        const byDeclaredId = new Map(declared.map((r, i) => [r.id, resources[i]] as const).filter(([id]) => id !== undefined));
        declared.forEach((r, i) => {
            const resource = resources[i] as { -readonly [K in keyof PolicyResource]: PolicyResource[K] };
            if (r.parent && byLabel.get(r.parent)) resource.parent = resources[declared.indexOf(byLabel.get(r.parent)!)];
            for (const [key, value] of Object.entries(r.inputs)) {
                const target = typeof value === "string" ? byDeclaredId.get(value) : undefined;
                if (target && target !== resource) {
                    resource.propertyDependencies[key] = [target];
                    if (!resource.dependencies.includes(target)) resource.dependencies.push(target);
                }
            }
        });
        const urns = new Map(resources.map((r) => [r.urn, r]));
        const args: StackValidationArgs = { resources, stackTags: new Map(), getConfig: getConfigOf(policy.name), notApplicable };
        try {
            await stackPolicy.validateStack(args, (message, urn) => {
                const r = urn ? urns.get(urn) : undefined;
                record(policy.name, level, message, r && { type: r.type, name: r.name });
            });
        } catch (e) {
            if (e instanceof UnknownValueError) cannotRun(policy.name, e);
            else if (!(e instanceof NotApplicable))
                throw new Error(`policy ${policy.name} failed on the stack: ${(e as Error).message}`, { cause: e });
        }
    }

    return { pack: PACK_NAME, policies: policies.map((p) => p.name), resources: declared.length, violations };
}

/** The plan's report: every violation, grouped by what it means for the run. */
export function formatPolicyReport(report: PolicyReport): string[] {
    const failing = mandatoryViolations(report);
    const open = report.violations.filter((v) => v.openItem);
    const advisory = report.violations.filter((v) => v.enforcementLevel === "advisory" && !v.openItem && !v.cannotRun);
    const cannot = report.violations.filter((v) => v.cannotRun);
    const lines = [
        `Policy pack ${report.pack}: ${report.policies.length} policies over ${report.resources} resources: ` +
            `${failing.length} mandatory violation${failing.length === 1 ? "" : "s"}, ${open.length} open item${open.length === 1 ? "" : "s"} (warnings), ${advisory.length} advisory`,
    ];
    // Each message names its resource; an open item's names the item and the file its fix belongs in.
    for (const v of failing) lines.push(`  MANDATORY ${v.policy}: ${v.message}`);
    for (const v of open) lines.push(`  warning   ${v.message}`);
    for (const v of advisory) lines.push(`  advisory  ${v.policy}: ${v.message}`);
    for (const v of cannot) lines.push(`  advisory  ${v.message}`);
    if (open.length) {
        const items = [...new Set(open.map((v) => v.openItem!))];
        lines.push(
            `  open items (policy/open-items.ts; delete an item once fixed and the rule fails on it): ${items.map((i) => `${i.id} in ${i.file}`).join("; ")}`,
        );
    }
    return lines;
}
