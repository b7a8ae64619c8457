import { expect } from "chai";
import { CostBudget } from "../../components/cost-budget";
import { parsePlatformConfig } from "../../infra/config";
import { find, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { componentTree } from "./support/component-tree";

const topic = `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:alerts`;

async function budgetWith(filter: "tag" | "account" | undefined) {
    const declared = useMocks("prod");
    const b = new CostBudget("b", { environment: "prod", monthlyUsd: 250, alertTopicArn: topic, region: "eu-west-1", filter });
    await settled(declared, b.budget.id);
    return find(declared, "aws:budgets/budget:Budget", "b-monthly").inputs;
}

describe("CostBudget", () => {
    it("counts the environment tag by default (spend AWS sees only once the tag is activated)", async () => {
        const budget = await budgetWith(undefined);
        expect(budget).to.include({ name: "vision-mlops-prod-monthly", limitAmount: "250.00", budgetType: "COST", timeUnit: "MONTHLY" });
        expect(budget.costFilters).to.deep.equal([{ name: "TagKeyValue", values: ["user:environment$prod"] }]);
    });

    it("with filter account, counts the account's spend in the stack's region, which needs no tag activation", async () => {
        const budget = await budgetWith("account");
        expect(budget.costFilters).to.deep.equal([{ name: "Region", values: ["eu-west-1"] }]);
        expect(budget.notifications.map((n: any) => `${n.notificationType}@${n.threshold}`)).to.deep.equal([
            "ACTUAL@80",
            "ACTUAL@100",
            "FORECASTED@100",
        ]);
    });

    it("alerts on actual spend at each given percentage and on a forecast above the limit, all to the topic", async () => {
        const declared = useMocks("staging");
        const b = new CostBudget("b", {
            environment: "staging",
            monthlyUsd: 1234.567,
            alertAtPercent: [50, 90, 120],
            alertTopicArn: topic,
            region: "us-east-1",
        });
        await settled(declared, b.budget.id);
        const budget = find(declared, "aws:budgets/budget:Budget", "b-monthly").inputs;
        // AWS takes the limit as a decimal string; 1234.567 USD rounds to the cent.
        expect(budget).to.include({ name: "vision-mlops-staging-monthly", limitAmount: "1234.57", limitUnit: "USD" });
        const actual = (threshold: number) => ({
            comparisonOperator: "GREATER_THAN",
            notificationType: "ACTUAL",
            threshold,
            thresholdType: "PERCENTAGE",
            subscriberSnsTopicArns: [topic],
        });
        expect(budget.notifications).to.deep.equal([
            actual(50),
            actual(90),
            actual(120),
            {
                comparisonOperator: "GREATER_THAN",
                notificationType: "FORECASTED",
                threshold: 100,
                thresholdType: "PERCENTAGE",
                subscriberSnsTopicArns: [topic],
            },
        ]);
        expect(budget.costFilters).to.deep.equal([{ name: "TagKeyValue", values: ["user:environment$staging"] }]);
    });

    it("takes budget.filter from the stack config, tag by default, and names the choices when it is wrong", () => {
        const base = {
            environment: "staging",
            region: "us-east-1",
            models: { m1: { classes: ["a", "b"], imageShape: [3, 32, 32], quality: { minAccuracy: 0.5 } } },
        };
        expect(parsePlatformConfig({ ...base, budget: { monthlyUsd: 10 } }).budget?.filter).to.equal("tag");
        expect(parsePlatformConfig({ ...base, budget: { monthlyUsd: 10, filter: "account" } }).budget?.filter).to.equal("account");
        expect(() => parsePlatformConfig({ ...base, budget: { monthlyUsd: 10, filter: "service" } })).to.throw(
            'budget.filter: "service" must be one of tag, account',
        );
    });

    it("parents the budget to itself and registers it as its output", async () => {
        const { declared, orphans, outputs } = await componentTree(
            (opts) => new CostBudget("b", { environment: "staging", monthlyUsd: 10, alertTopicArn: topic, region: "us-east-1" }, opts),
        );
        expect(declared.map((r) => r.name)).to.deep.equal(["b", "b-monthly"]);
        expect(orphans).to.deep.equal([]);
        expect(Object.keys(outputs)).to.deep.equal(["budget"]);
    });
});
