import type {
    Policies,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidation,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { OPEN_ITEMS, OpenItem, openItemFor } from "./open-items";
import { COST_RULES } from "./rules/cost";
import { IAM_RULES } from "./rules/iam";
import { S3_RULES } from "./rules/s3";
import { SAGEMAKER_RULES } from "./rules/sagemaker";
import { WORKFLOW_RULES } from "./rules/workflows";
import { PlatformRule } from "./support";

/** The pack's name, as `pulumi preview --policy-pack policy` reports it. */
export const PACK_NAME = "vision-mlops";

/** Every rule of the pack, security first, then cost. */
export const PLATFORM_RULES: readonly PlatformRule[] = [...SAGEMAKER_RULES, ...S3_RULES, ...IAM_RULES, ...WORKFLOW_RULES, ...COST_RULES];

/** The advisory twin of a rule that reports its open items. */
export const OPEN_ITEMS_SUFFIX = "-open-items";

/**
 * The rules as `@pulumi/policy` policies. A rule with open items becomes two policies over the same checks:
 * the rule itself, which reports every violation not on the list, and its advisory `<rule>-open-items` twin,
 * which reports the listed ones as warnings naming the item.
 */
export function platformPolicies(rules: readonly PlatformRule[] = PLATFORM_RULES, openItems: readonly OpenItem[] = OPEN_ITEMS): Policies {
    for (const item of openItems)
        if (!rules.some((r) => r.name === item.policy)) throw new Error(`open item ${item.id} names no rule of the pack: ${item.policy}`);
    const names = new Set<string>();
    for (const r of rules) {
        if (names.has(r.name)) throw new Error(`two rules are named ${r.name}`);
        names.add(r.name);
    }
    return rules.flatMap((rule) => {
        const items = openItems.filter((i) => i.policy === rule.name);
        if (items.length === 0) return [policyOf(rule, rule.name, rule.enforcementLevel, (report) => report)];
        return [
            policyOf(rule, rule.name, rule.enforcementLevel, (report, subject) => (message, urn) => {
                if (!openItemFor(rule.name, ...subject(urn), items)) report(message, urn);
            }),
            policyOf(rule, `${rule.name}${OPEN_ITEMS_SUFFIX}`, "advisory", (report, subject) => (message, urn) => {
                const item = openItemFor(rule.name, ...subject(urn), items);
                if (item) report(`open item ${item.id} (${item.file}): ${message}`, urn);
            }),
        ];
    });
}

/** Which resource a report is about: the validated resource, or for a stack validation the one its URN names. */
type Subject = (urn: string | undefined) => [type: string | undefined, name: string | undefined];
type ReportFilter = (report: ReportViolation, subject: Subject) => ReportViolation;

function policyOf(
    rule: PlatformRule,
    name: string,
    enforcementLevel: "mandatory" | "advisory",
    filter: ReportFilter,
): ResourceValidationPolicy | StackValidationPolicy {
    const common = {
        name,
        description: name === rule.name ? rule.description : `Known open items of ${rule.name} (policy/open-items.ts): ${rule.description}`,
        enforcementLevel,
        remediationSteps: rule.remediationSteps,
        tags: [...rule.controls],
        ...(rule.configSchema ? { configSchema: rule.configSchema } : {}),
    };
    if (rule.validateStack) {
        const validate = rule.validateStack;
        const validateStack: StackValidation = (args: StackValidationArgs, report) =>
            validate(
                args,
                filter(report, (urn) => {
                    const r = urn === undefined ? undefined : args.resources.find((x) => x.urn === urn);
                    return [r?.type, r?.name];
                }),
            );
        return { ...common, validateStack };
    }
    const validations = Array.isArray(rule.validateResource) ? rule.validateResource : [rule.validateResource!];
    const validateResource = validations.map((validate) => {
        const wrapped: ResourceValidation = (args: ResourceValidationArgs, report) =>
            validate(
                args,
                filter(report, () => [args.type, args.name]),
            );
        // Keep the type the engine uses to skip a validation for other resource types.
        const type = (validate as { __pulumiType?: string }).__pulumiType;
        if (type) (wrapped as { __pulumiType?: string }).__pulumiType = type;
        return wrapped;
    });
    return { ...common, validateResource: validateResource.length === 1 ? validateResource[0] : validateResource };
}
