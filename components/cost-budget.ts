import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Environment } from "../infra/config";
import { PROJECT } from "../infra/naming";

export interface CostBudgetArgs {
    readonly environment: Environment;
    /** Monthly limit in USD. */
    readonly monthlyUsd: number;
    /** Percentages of the limit at which actual spend alerts. Defaults to [80, 100]. */
    readonly alertAtPercent?: readonly number[];
    /** Topic the alerts go to. */
    readonly alertTopicArn: pulumi.Input<string>;
}

/**
 * A monthly cost budget for one stack: actual spend alerts at each configured percentage, and a forecast
 * alert when the month is on course to exceed the limit. Spend is attributed through the `environment`
 * tag every resource carries, which must be activated as a cost allocation tag in the billing console.
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
                costFilters: [{ name: "TagKeyValue", values: [`user:environment$${args.environment}`] }],
                notifications: budgetNotifications(args.alertAtPercent ?? [80, 100], args.alertTopicArn),
            },
            { parent: this },
        );
        this.registerOutputs({ budget: this.budget });
    }
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
