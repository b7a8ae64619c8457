/**
 * Violations the platform knows of and has not fixed yet: the one list, in one place.
 *
 * A violation that matches an item here is reported by an advisory twin of its rule (`<rule>-open-items`),
 * as a warning that names the item, so `npm run plan` and `pulumi preview --policy-pack policy` still pass;
 * every other violation of the rule stays mandatory. Fixing an item means fixing the code it names and
 * deleting the item: from then on the rule fails any stack that brings the violation back. The policy tests
 * fail while an item matches nothing, so a fixed item cannot linger here as a silent exemption.
 */
export interface OpenItem {
    /** Short, stable id, printed with every warning it covers. */
    readonly id: string;
    /** The rule whose violations it covers. */
    readonly policy: string;
    /** The resource type and logical names it covers. */
    readonly resourceType: string;
    readonly resourceName: RegExp;
    /** Where the fix belongs. */
    readonly file: string;
    /** What is open, and what fixes it. */
    readonly fix: string;
}

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
/** Logical names of the platform's resources: `vision-mlops-<env>-<model>-<component part>`. */
const named = (suffix: string) => new RegExp(`^vision-mlops-(staging|prod)-[a-z0-9-]+-${suffix}$`);

export const OPEN_ITEMS: readonly OpenItem[] = [
    {
        id: "trust-monitor-role",
        policy: "iam-service-trust-source-conditions",
        resourceType: ROLE,
        resourceName: named("monitor-role"),
        file: "components/model-monitor.ts",
        fix: "the monitor job role trusts sagemaker.amazonaws.com without conditions; pass the account and the monitoring pipeline or schedule ARNs",
    },
    {
        id: "trust-monitor-scheduler-role",
        policy: "iam-service-trust-source-conditions",
        resourceType: ROLE,
        resourceName: named("monitor-scheduler-role"),
        file: "components/model-monitor.ts",
        fix: "the Scheduler role trusts scheduler.amazonaws.com without conditions; pass the account and the schedule group ARN (scheduleGroupArn)",
    },
    {
        id: "trust-monitor-retrain-role",
        policy: "iam-service-trust-source-conditions",
        resourceType: ROLE,
        resourceName: named("monitor-retrain-role"),
        file: "components/model-monitor.ts",
        fix: "the retraining rule's role trusts events.amazonaws.com without conditions; pass the account and the drift rule ARN (eventRuleArn)",
    },
    {
        id: "metric-namespace-shared-monitor",
        policy: "iam-metric-namespace-one-writer",
        resourceType: ROLE_POLICY,
        resourceName: named("monitor-role-policy"),
        file: "components/model-monitor.ts",
        fix: "every model's monitor role may write VisionMLOps/Monitoring, so one model's job can publish another endpoint's drift metrics; give each model its own namespace",
    },
];

/** The open item covering a violation of `policy` on this resource, if any. */
export function openItemFor(
    policy: string,
    type: string | undefined,
    name: string | undefined,
    items: readonly OpenItem[] = OPEN_ITEMS,
): OpenItem | undefined {
    if (type === undefined || name === undefined) return undefined;
    return items.find((i) => i.policy === policy && i.resourceType === type && i.resourceName.test(name));
}
