import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BudgetFilter } from "../infra/budget";
import { Environment, PROJECT } from "../infra/naming";

export interface CostBudgetArgs {
    readonly environment: Environment;
    /** Monthly limit in USD. */
    readonly monthlyUsd: number;
    /** Percentages of the limit at which actual spend alerts. Defaults to [80, 100]. */
    readonly alertAtPercent?: readonly number[];
    /** Topic the alerts go to. */
    readonly alertTopicArn: pulumi.Input<string>;
    /**
     * What the budget counts. `tag` (default): spend tagged `environment=<environment>`; AWS counts it only once
     * `environment` is activated as a cost allocation tag, and only from then on. `account`: every cost of the
     * account the budget is created in, in `region`; it needs no activation and is exact when the stack has an
     * account of its own.
     */
    readonly filter?: BudgetFilter;
    /** The stack's region; the `account` filter counts this region's spend. */
    readonly region: string;
}

/**
 * A monthly cost budget for one stack: actual spend alerts at each configured percentage, and a forecast
 * alert when the month is on course to exceed the limit.
 */
export class CostBudget extends pulumi.ComponentResource {
    public readonly budget: aws.budgets.Budget;

    constructor(name: string, args: CostBudgetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:cost:CostBudget", name, {}, opts);
        this.budget = new aws.budgets.Budget(
            `${name}-monthly`,
            {
                name: `${PROJECT}-${args.environment}-monthly`,
                budgetType: "COST",
                timeUnit: "MONTHLY",
                limitAmount: args.monthlyUsd.toFixed(2),
                limitUnit: "USD",
                costFilters: budgetCostFilters(args.filter ?? "tag", args.environment, args.region),
                notifications: budgetNotifications(args.alertAtPercent ?? [80, 100], args.alertTopicArn),
            },
            { parent: this },
        );
        this.registerOutputs({ budget: this.budget });
    }
}

/**
 * The budget's cost filters. Tag values are written `user:<key>$<value>` (a user-defined tag key); a budget
 * created in a member account counts that account's costs, so the region alone scopes the `account` filter.
 */
export function budgetCostFilters(
    filter: BudgetFilter,
    environment: Environment,
    region: string,
): aws.types.input.budgets.BudgetCostFilter[] {
    return filter === "tag"
        ? [{ name: "TagKeyValue", values: [`user:environment$${environment}`] }]
        : [{ name: "Region", values: [region] }];
}

export function budgetNotifications(
    percents: readonly number[],
    topicArn: pulumi.Input<string>,
): aws.types.input.budgets.BudgetNotification[] {
    const actual = percents.map((threshold) => ({
        comparisonOperator: "GREATER_THAN",
        notificationType: "ACTUAL",
        threshold,
        thresholdType: "PERCENTAGE",
        subscriberSnsTopicArns: [topicArn],
    }));
    return [
        ...actual,
        {
            comparisonOperator: "GREATER_THAN",
            notificationType: "FORECASTED",
            threshold: 100,
            thresholdType: "PERCENTAGE",
            subscriberSnsTopicArns: [topicArn],
        },
    ];
}
