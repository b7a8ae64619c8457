import { expect } from "chai";
import { estimateStack, formatEstimate } from "../../infra/cost";
import { declarationOf, ResourceRecord, runsPerMonth, StackDeclaration } from "../../infra/declared";

const naming = { environment: "staging" as const, models: ["m1"] };

/** The declarations of one model-monitor-engine model with a 3-instance endpoint and no autoscaling. */
function modelMonitorStack(): ResourceRecord[] {
    return [
        {
            type: "pulumi-nodejs:dynamic:Resource",
            name: "e",
            inputs: {
                endpointName: "vision-mlops-staging-m1",
                endpointConfigName: "vision-mlops-staging-m1-0000abcd",
                instanceType: "ml.c5.xlarge",
                instanceCount: 3,
                dataCapture: { EnableCapture: true, InitialSamplingPercentage: 40 },
            },
        },
        {
            type: "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
            name: "s",
            inputs: {
                name: "vision-mlops-staging-m1-monitor",
                monitoringScheduleConfig: {
                    scheduleConfig: { scheduleExpression: "cron(0 * ? * * *)" },
                    monitoringJobDefinition: {
                        monitoringResources: { clusterConfig: { instanceType: "ml.m5.xlarge", instanceCount: 1 } },
                        stoppingConditions: [{ maxRuntimeInSeconds: 1800 }],
                    },
                },
            },
        },
        { type: "aws:kms/key:Key", name: "k", inputs: {} },
        { type: "aws:cloudwatch/metricAlarm:MetricAlarm", name: "a1", inputs: {} },
        { type: "aws:cloudwatch/metricAlarm:MetricAlarm", name: "a2", inputs: {} },
        {
            type: "aws:budgets/budget:Budget",
            name: "b",
            inputs: { name: "x", limitAmount: "100.00", costFilters: [{ name: "Region", values: ["us-east-1"] }] },
        },
    ];
}

describe("schedule runs per month (730 hours)", () => {
    const cases: Array<[string, number | undefined]> = [
        ["rate(7 days)", 730 / 168],
        ["rate(1 day)", 730 / 24],
        ["rate(30 minutes)", 730 * 2],
        ["rate(6 hours)", 730 / 6],
        ["cron(10 * * * ? *)", 730],
        ["cron(30 0 * * ? *)", 730 / 24],
        ["cron(0 * ? * * *)", 730],
        ["cron(0/15 * * * ? *)", 730 * 4],
        ["cron(0 9 ? * MON-FRI *)", ((730 / 24) * 5) / 7],
        ["cron(0 6,18 1 * ? *)", 2],
        ["cron(0 0 1 JAN,JUL ? *)", 2 / 12],
        ["cron(0 0 L * ? *)", undefined],
        ["every day", undefined],
    ];
    for (const [expression, expected] of cases)
        it(`${expression} -> ${expected === undefined ? "unknown" : expected.toFixed(3)}`, () => {
            const runs = runsPerMonth(expression);
            if (expected === undefined) expect(runs).to.equal(undefined);
            else expect(runs).to.be.closeTo(expected, 1e-9);
        });
});

describe("cost model", () => {
    it("prices a Model Monitor schedule's own job, a fixed fleet, and counted resources, by hand", () => {
        const d = declarationOf(modelMonitorStack(), naming);
        expect(d.endpoints[0]).to.deep.include({
            model: "m1",
            instanceType: "ml.c5.xlarge",
            minInstances: 3,
            maxInstances: 3,
            capturePercent: 40,
        });
        const e = estimateStack(d, { region: "us-east-1", budgetMonthlyUsd: 100 });
        const byItem = Object.fromEntries(e.lines.map((l) => [`${l.model ?? ""} ${l.item}`.trim(), l]));
        // 3 x 730 h x $0.204 (ml.c5.xlarge), whatever the traffic.
        expect(byItem["m1 endpoint ml.c5.xlarge"].idleUsd).to.be.closeTo(3 * 730 * 0.204, 1e-9);
        expect(byItem["m1 endpoint ml.c5.xlarge"].peakUsd).to.be.closeTo(3 * 730 * 0.204, 1e-9);
        // Hourly: 730 runs; 10 assumed minutes idle, the job's 30-minute limit at peak, at $0.23/h (ml.m5.xlarge).
        expect(byItem["m1 monitoring ml.m5.xlarge"].idleUsd).to.be.closeTo((730 * 10 * 0.23) / 60, 1e-9);
        expect(byItem["m1 monitoring ml.m5.xlarge"].peakUsd).to.be.closeTo((730 * 30 * 0.23) / 60, 1e-9);
        expect(byItem["CloudWatch alarms"].idleUsd).to.be.closeTo(2 * 0.1, 1e-9);
        expect(byItem["CloudWatch custom metrics"].idleUsd).to.be.closeTo(14 * 0.3, 1e-9);
        expect(byItem["KMS keys"].idleUsd).to.equal(1);
        expect(byItem["CloudWatch dashboards"]).to.equal(undefined);
        // The budget of $100 is below the idle estimate: a warning, not a silent overrun.
        expect(e.budget).to.deep.include({ monthlyUsd: 100, idleExceeds: true });
        const text = formatEstimate(e).join("\n");
        expect(text).to.match(/warning: the idle estimate \$\d+\.\d\d exceeds budget.monthlyUsd \$100.00/);
    });

    it("marks every figure of a region the table lacks as the base region's, estimated", () => {
        const d: StackDeclaration = declarationOf(modelMonitorStack(), naming);
        const e = estimateStack(d, { region: "eu-west-1" });
        for (const l of e.lines) expect(l.unit.basis, l.item).to.equal("estimate");
        const text = formatEstimate(e).join("\n");
        expect(text).to.include("~$0.204/h");
        expect(text).to.include("The table has no eu-west-1 figures for some lines; those show us-east-1 prices (marked ~).");
        expect(e.budget).to.equal(undefined);
    });

    it("refuses to price an instance type the table lacks instead of guessing", () => {
        const resources = modelMonitorStack();
        resources[0].inputs.instanceType = "ml.c7i.large";
        expect(() => estimateStack(declarationOf(resources, naming), { region: "us-east-1" })).to.throw(
            "ml.c7i.large has no price in infra/prices.ts; add a row with its source",
        );
    });
});
