import { expect } from "chai";
import { createHash } from "crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { defaultPlanDir, estimateStack, formatEstimate, planEstimate, stackFileSha256 } from "../../infra/cost";
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
        // Spaces around the expression and between fields are not part of it.
        ["  rate(1 day)  ", 730 / 24],
        ["cron(  0   9  * * ? *  )", 730 / 24],
        ["  cron(0 9 * * ? *)  ", 730 / 24],
        // Anything before or after the expression makes it unreadable.
        ["xrate(1 day)", undefined],
        ["rate(1 day)x", undefined],
        ["xcron(0 9 * * ? *)", undefined],
        ["cron(0 9 * * ? *)x", undefined],
        ["rate(1 week)", undefined],
        // Each field's range: minutes 0-59, hours 0-23, days of the month 1-31, months 1-12, weekdays 1-7.
        ["cron(59 23 31 12 ? *)", 1 / 12],
        ["cron(60 * * * ? *)", undefined],
        ["cron(0 24 * * ? *)", undefined],
        ["cron(0 0 0 * ? *)", undefined],
        ["cron(0 0 32 * ? *)", undefined],
        ["cron(0 0 1 13 ? *)", undefined],
        ["cron(0 0 ? * 7 *)", 730 / 24 / 7],
        ["cron(0 0 ? * 8 *)", undefined],
        ["cron(0 0 ? * sun,sat *)", ((730 / 24) * 2) / 7],
        // A day of the month and a weekday together: AWS refuses it; no count.
        ["cron(0 0 1 * MON *)", undefined],
        // Steps from a start, ranges, and steps that are not positive whole numbers.
        ["cron(5/20 * * * ? *)", 730 * 3],
        ["cron(0 8-17 * * ? *)", (730 / 24) * 10],
        ["cron(0 17-8 * * ? *)", undefined],
        ["cron(0 8-x * * ? *)", undefined],
        ["cron(0 x-8 * * ? *)", undefined],
        ["cron(0/0 * * * ? *)", undefined],
        ["cron(0/1.5 * * * ? *)", undefined],
        ["cron(1.5 * * * ? *)", undefined],
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

const TRAINING = "vision-mlops-staging-m1-training";
const MONITORING = "vision-mlops-staging-m1-monitoring";

/**
 * A stack written out as its declaration: two endpoints (one autoscaled with blue/green updates), a training
 * pipeline with a processing, a spot training and a transform job and four kinds of starter, a monitoring
 * pipeline with two jobs on an hourly schedule, a pipeline that is neither, two Model Monitor schedules (one
 * whose runs per month depend on the calendar), and counted resources.
 */
function fullStack(): StackDeclaration {
    const job = (
        step: string,
        kind: "processing" | "training" | "transform",
        instanceType: string,
        instanceCount: number,
        maxRuntimeSeconds?: number,
        spot = false,
    ) => ({
        step,
        kind,
        instanceType,
        instanceCount,
        maxRuntimeSeconds,
        spot,
    });
    return {
        endpoints: [
            {
                model: "m1",
                endpointName: "vision-mlops-staging-m1",
                instanceType: "ml.c5.xlarge",
                instanceCount: 2,
                minInstances: 1,
                maxInstances: 4,
                blueGreen: { canary: "1 instance", maxUpdateSeconds: 5400, rollbackAlarms: 1 },
            },
            {
                model: "m2",
                endpointName: "vision-mlops-staging-m2",
                instanceType: "ml.m5.large",
                instanceCount: 1,
                minInstances: 1,
                maxInstances: 1,
            },
        ],
        pipelines: [
            {
                model: "m1",
                pipelineName: TRAINING,
                purpose: "training",
                jobs: [
                    job("preprocess", "processing", "ml.m5.xlarge", 1, 3600),
                    job("train", "training", "ml.g4dn.xlarge", 2, 7200, true),
                    job("transform", "transform", "ml.c5.xlarge", 1),
                ],
                steps: ["preprocess", "train", "transform"],
            },
            {
                model: "m1",
                pipelineName: MONITORING,
                purpose: "monitoring",
                jobs: [job("monitor", "processing", "ml.m5.large", 1, 3600), job("report", "processing", "ml.m5.large", 1, 450)],
                steps: ["monitor", "report"],
            },
            {
                pipelineName: "someone-elses",
                purpose: "other",
                jobs: [job("other", "processing", "ml.p3.2xlarge", 8, 86400)],
                steps: ["other"],
            },
        ],
        triggers: [
            { model: "m1", via: "scheduler", name: "retrain-weekly", schedule: "rate(7 days)", pipelineName: TRAINING },
            { model: "m1", via: "scheduler", name: "retrain-month-end", schedule: "cron(0 0 L * ? *)", pipelineName: TRAINING },
            { model: "m1", via: "scheduler", name: "monitor-hourly", schedule: "rate(1 hour)", pipelineName: MONITORING },
            {
                model: "m1",
                via: "eventbridge",
                name: "batch",
                event: "a new object batches/*.manifest",
                description: "not shown",
                pipelineName: TRAINING,
            },
            { model: "m1", via: "eventbridge", name: "drift", description: "retrain on drift", pipelineName: TRAINING },
            { model: "m1", via: "eventbridge", name: "vision-mlops-staging-m1-manual", pipelineName: TRAINING },
            { via: "eventbridge", name: "other-daily", schedule: "rate(1 day)", pipelineName: "someone-elses" },
            // A rule that starts a pipeline this stack does not declare costs nothing here.
            { via: "eventbridge", name: "theirs", event: "their event", pipelineName: "not-in-this-stack" },
            {
                model: "m2",
                via: "model-monitor",
                name: "m2-daily",
                schedule: "cron(0 0 * * ? *)",
                job: job("Model Monitor job", "processing", "ml.m5.xlarge", 2),
            },
            {
                model: "m2",
                via: "model-monitor",
                name: "m2-month-end",
                schedule: "cron(0 0 L * ? *)",
                job: job("Model Monitor job", "processing", "ml.m5.large", 1, 1200),
            },
        ],
        counts: { kmsKeys: 2, alarms: 3, dashboards: 1, buckets: 4, ecrRepositories: 1, budgets: 1, snsTopics: 1 },
        budgets: [],
    };
}

/** A table row's cells: columns are at least two spaces apart, and no cell holds two spaces. */
const cells = (row: string) => row.trim().split(/ {2,}/);

describe("cost model, every kind of line (us-east-1 figures, by hand)", () => {
    const estimate = () =>
        estimateStack(fullStack(), { region: "us-east-1", budgetMonthlyUsd: 500, assumptions: { storedGb: 50, jobsImageGb: 2 } });

    it("prices each line from the table's figures and the declared quantities", () => {
        const e = estimate();
        const rows = e.lines.map((l) => [l.group, l.model, l.item, l.quantity]);
        expect(rows).to.deep.equal([
            ["endpoints", "m1", "endpoint ml.c5.xlarge", "1..4 x 730 h"],
            ["endpoints", "m2", "endpoint ml.m5.large", "1 x 730 h"],
            ["monitoring", "m1", "monitoring ml.m5.large", "730 runs x 10*..60 min"],
            ["monitoring", "m1", "monitoring ml.m5.large", "730 runs x 7.50*..7.50 min"],
            ["monitoring", "m2", "monitoring ml.m5.xlarge", "30.4 runs x 10*..10 min"],
            ["monitoring", "m2", "monitoring ml.m5.large", "cron(0 0 L * ? *): runs per month unknown"],
            ["training", "m1", "scheduled retraining, rate(7 days)", "4.35 runs"],
            ["training", "m1", "scheduled retraining, cron(0 0 L * ? *)", "runs per month unknown"],
            ["platform", undefined, "KMS keys", "2"],
            ["platform", undefined, "KMS requests", "100,000*"],
            ["platform", undefined, "S3 Standard storage", "50* GB"],
            ["platform", undefined, "S3 PUT/LIST requests", "100,000*"],
            ["platform", undefined, "S3 GET requests", "1,000,000*"],
            ["platform", undefined, "CloudWatch alarms", "3"],
            ["platform", undefined, "CloudWatch custom metrics", "3 monitors x 14"],
            ["platform", undefined, "CloudWatch dashboards", "1"],
            ["platform", undefined, "ECR image storage", "1 x 2* GB"],
            ["platform", undefined, "Scheduler invocations", "734.3"],
            ["platform", undefined, "Budgets", "1 x 30.4 days"],
        ]);
        // One run of the training pipeline: 1 x 1 h x $0.23, 2 x 2 h x $0.7364 at 30% of on-demand (spot), and the
        // transform's assumed 30 min x $0.204.
        const run = 0.23 + 2 * 2 * 0.7364 * 0.3 + 0.5 * 0.204;
        const weekly = 730 / 168;
        const usd: Array<[number, number]> = [
            [1 * 730 * 0.204, 4 * 730 * 0.204],
            [730 * 0.115, 730 * 0.115],
            // 730 runs: 10 assumed minutes idle, the job's 60-minute limit at peak; a 7.5-minute limit caps both.
            [(730 * 10 * 0.115) / 60, 730 * 0.115],
            [(730 * 7.5 * 0.115) / 60, (730 * 7.5 * 0.115) / 60],
            // Daily, 2 instances; no limit of its own, so the assumed 10 minutes are the peak too.
            [((730 / 24) * 2 * 10 * 0.23) / 60, ((730 / 24) * 2 * 10 * 0.23) / 60],
            [0, 0],
            [weekly * run, weekly * run],
            [0, 0],
            [2, 2],
            [10 * 0.03, 10 * 0.03],
            [50 * 0.023, 50 * 0.023],
            [100 * 0.005, 100 * 0.005],
            [1000 * 0.0004, 1000 * 0.0004],
            [3 * 0.1, 3 * 0.1],
            [42 * 0.3, 42 * 0.3],
            [3, 3],
            [2 * 0.1, 2 * 0.1],
            // EventBridge Scheduler alone invokes: the weekly and hourly schedules, not the rule's rate(1 day).
            [(weekly + 730) / 1e6, (weekly + 730) / 1e6],
            [0, 0],
        ];
        e.lines.forEach((l, i) => {
            expect(l.idleUsd, `${l.item} idle`).to.be.closeTo(usd[i][0], 1e-9);
            expect(l.peakUsd, `${l.item} peak`).to.be.closeTo(usd[i][1], 1e-9);
        });
        const idle = usd.reduce((s, [i]) => s + i, 0);
        const peak = usd.reduce((s, [, p]) => s + p, 0);
        expect(e.totals.idleUsd).to.be.closeTo(idle, 1e-9);
        expect(e.totals.peakUsd).to.be.closeTo(peak, 1e-9);
        expect(e.budget).to.deep.equal({ monthlyUsd: 500, idleShare: e.totals.idleUsd / 500, idleExceeds: false, peakExceeds: true });
        expect(e.budget!.idleShare).to.be.closeTo(idle / 500, 1e-12);
        expect(e.currency).to.equal("USD");
        expect(e.assumptions).to.deep.equal({
            hoursPerMonth: 730,
            monitoringRunMinutes: 10,
            transformRunMinutes: 30,
            storedGb: 50,
            s3PutsPerMonth: 100_000,
            s3GetsPerMonth: 1_000_000,
            kmsRequestsPerMonth: 100_000,
            jobsImageGb: 2,
        });
    });

    it("says where each figure comes from, and how far to trust it", () => {
        const e = estimate();
        const unit = (item: string) => e.lines.find((l) => l.item === item)!.unit;
        expect(unit("KMS keys")).to.deep.equal({
            usd: 1,
            per: "key-month",
            basis: "published",
            region: "us-east-1",
            // A source with an address is cited by it.
            source: "https://gist.github.com/dasgoll/b88d5be05dcc0deb052ad40446c2fb40",
            asOf: "2019-10-30",
        });
        // No dated source: the title stands in for the missing address, and the figure is an estimate.
        expect(unit("S3 GET requests")).to.deep.equal({
            usd: 0.0004,
            per: "1,000 requests",
            basis: "estimate",
            region: "us-east-1",
            source: "no dated public source found",
            asOf: "undated",
            estimate: "AWS's long-standing published figure, not read from a stored copy of its page",
        });
        // A scheduled retraining is priced per run, as trusted as its least trusted job (g4dn and c5: published).
        const run = unit("scheduled retraining, rate(7 days)");
        expect(run.usd).to.be.closeTo(0.23 + 2 * 2 * 0.7364 * 0.3 + 0.5 * 0.204, 1e-12);
        expect(run).to.deep.equal({
            usd: run.usd,
            per: "run",
            basis: "published",
            region: "us-east-1",
            source: "the run's jobs, below",
            asOf: "",
        });
        expect(e.spotSavings).to.deep.include({
            usd: 0.7,
            per: "share of on-demand",
            basis: "estimate",
            source: "no dated public source found",
        });
    });

    it("prices a training run and a blue/green update per run, with what starts each", () => {
        const e = estimate();
        expect(e.perRun.map((r) => [r.model, r.item, r.startedBy])).to.deep.equal([
            ["m1", "blue/green update of vision-mlops-staging-m1", ["a pulumi up that changes the endpoint"]],
            [
                "m1",
                `training pipeline ${TRAINING}`,
                [
                    "schedule rate(7 days)",
                    "schedule cron(0 0 L * ? *)",
                    "a new object batches/*.manifest",
                    "retrain on drift",
                    "vision-mlops-staging-m1-manual",
                ],
            ],
        ]);
        const [blueGreen, training] = e.perRun;
        // A second fleet of the endpoint's 2 instances for at most its 5,400 s update timeout.
        expect(blueGreen.usd).to.be.closeTo(2 * 1.5 * 0.204, 1e-12);
        expect(blueGreen.onDemandUsd).to.be.closeTo(2 * 1.5 * 0.204, 1e-12);
        expect(blueGreen.parts.map((p) => [p.item, p.quantity])).to.deep.equal([["second fleet ml.c5.xlarge", "2 x <= 1.50 h"]]);
        expect(blueGreen.parts[0].usd).to.be.closeTo(0.612, 1e-12);
        expect(training.parts.map((p) => [p.item, p.quantity])).to.deep.equal([
            ["preprocess ml.m5.xlarge", "1 x <= 1 h"],
            ["train ml.g4dn.xlarge (spot)", "2 x <= 2 h"],
            ["transform ml.c5.xlarge", "1 x 30 min*"],
        ]);
        const parts: Array<[number, number]> = [
            [0.23, 0.23],
            [2 * 2 * 0.7364 * 0.3, 2 * 2 * 0.7364],
            [0.5 * 0.204, 0.5 * 0.204],
        ];
        training.parts.forEach((p, i) => {
            expect(p.usd, p.item).to.be.closeTo(parts[i][0], 1e-12);
            expect(p.onDemandUsd, p.item).to.be.closeTo(parts[i][1], 1e-12);
        });
        expect(training.usd).to.be.closeTo(0.23 + 0.88368 + 0.102, 1e-12);
        expect(training.onDemandUsd).to.be.closeTo(0.23 + 2.9456 + 0.102, 1e-12);
    });

    it("prints the table aligned, the per-run costs, the assumptions, what is left out and the budget", () => {
        const out = formatEstimate(estimate());
        const tableEnd = out.indexOf(out.find((l) => l.trim().startsWith("total per month"))!);
        const table = out.slice(2, tableEnd + 1);
        expect(out.slice(0, 2)).to.deep.equal([
            "Monthly estimate (USD, on-demand list prices for us-east-1; ~ estimated price, * assumed quantity; sources in infra/prices.ts)",
            "  idle: no traffic, no new data (endpoints at their minimum); peak: endpoints at their autoscaling maximum, jobs at their time limits",
        ]);
        expect(table.map(cells)).to.deep.equal([
            ["unit price", "quantity", "idle", "peak"],
            ["m1 endpoint ml.c5.xlarge", "$0.204/h", "1..4 x 730 h", "148.92", "595.68"],
            ["m2 endpoint ml.m5.large", "$0.115/h", "1 x 730 h", "83.95", "83.95"],
            ["m1 monitoring ml.m5.large", "$0.115/h", "730 runs x 10*..60 min", "13.99", "83.95"],
            ["m1 monitoring ml.m5.large", "$0.115/h", "730 runs x 7.50*..7.50 min", "10.49", "10.49"],
            ["m2 monitoring ml.m5.xlarge", "$0.230/h", "30.4 runs x 10*..10 min", "2.33", "2.33"],
            ["m2 monitoring ml.m5.large", "$0.115/h", "cron(0 0 L * ? *): runs per month unknown", "0.00", "0.00"],
            ["m1 scheduled retraining, rate(7 days)", "$1.22/run", "4.35 runs", "5.28", "5.28"],
            ["m1 scheduled retraining, cron(0 0 L * ? *)", "$1.22/run", "runs per month unknown", "0.00", "0.00"],
            ["KMS keys", "$1.00/key-month", "2", "2.00", "2.00"],
            ["KMS requests", "$0.030/10,000 requests", "100,000*", "0.30", "0.30"],
            ["S3 Standard storage", "$0.023/GB-month", "50* GB", "1.15", "1.15"],
            ["S3 PUT/LIST requests", "~$0.0050/1,000 requests", "100,000*", "0.50", "0.50"],
            ["S3 GET requests", "~$0.0004/1,000 requests", "1,000,000*", "0.40", "0.40"],
            ["CloudWatch alarms", "$0.100/alarm-month", "3", "0.30", "0.30"],
            ["CloudWatch custom metrics", "$0.300/metric-month", "3 monitors x 14", "12.60", "12.60"],
            ["CloudWatch dashboards", "$3.00/dashboard-month", "1", "3.00", "3.00"],
            ["ECR image storage", "~$0.100/GB-month", "1 x 2* GB", "0.20", "0.20"],
            ["Scheduler invocations", "~$1.00/million", "734.3", "0.00", "0.00"],
            ["Budgets", "$0.000/budget-day", "1 x 30.4 days", "0.00", "0.00"],
            ["total per month", "285.42", "802.14"],
        ]);
        // Two-space indent; the label, price and quantity columns left-aligned, idle and peak right-aligned.
        for (const row of table) expect(row.startsWith("  "), row).to.equal(true);
        expect(new Set(table.map((r) => r.length)).size, "idle and peak end in the same columns").to.equal(1);
        const header = table[0];
        for (const row of table.slice(1, -1)) {
            const [, price, quantity] = cells(row);
            expect(row.indexOf(price), row).to.equal(header.indexOf("unit price"));
            expect(row.indexOf(quantity, row.indexOf(price) + price.length), row).to.equal(header.indexOf("quantity"));
        }
        expect(header.indexOf("unit price")).to.equal(2 + "m1 scheduled retraining, cron(0 0 L * ? *)".length + 2);
        expect(header.endsWith("  peak")).to.equal(true);
        expect(table.at(-1)!.endsWith(" 285.42  802.14")).to.equal(true);
        expect(out.slice(tableEnd + 1)).to.deep.equal([
            "Per run (not in the monthly total unless scheduled above):",
            "  m1 blue/green update of vision-mlops-staging-m1: at most $0.61",
            "    started by a pulumi up that changes the endpoint",
            "    second fleet ml.c5.xlarge: $0.204/h x 2 x <= 1.50 h = $0.61",
            `  m1 training pipeline ${TRAINING}: at most $1.22 with spot, $3.28 on demand`,
            "    started by schedule rate(7 days); schedule cron(0 0 L * ? *); a new object batches/*.manifest; retrain on drift; vision-mlops-staging-m1-manual",
            "    preprocess ml.m5.xlarge: $0.230/h x 1 x <= 1 h = $0.23",
            "    train ml.g4dn.xlarge (spot): $0.736/h x 2 x <= 2 h = $0.88",
            "    transform ml.c5.xlarge: $0.204/h x 1 x 30 min* = $0.10",
            "  spot is priced at 70% off on-demand (~ estimate: spot prices vary by zone and hour; AWS states savings of up to 90%)",
            "Assumed (*): 10 billed min per monitoring run, 30 min per batch transform, 50 GB in S3,",
            "  100,000 PUTs and 1,000,000 GETs, 100,000 KMS requests, a 2 GB jobs image, 730 h a month.",
            "Not included: data transfer out of AWS and between zones; CloudWatch Logs ingestion and storage; SageMaker ML storage volumes of jobs and endpoints; free tiers (every figure is the full list price).",
            "Budget: $500.00 a month (budget.monthlyUsd); the idle estimate is 57% of it, and at peak ($802.14) the stack would exceed it",
        ]);
    });

    it("a budget the estimate meets exactly is not exceeded; a line of no units and a per-run section with nothing in it are left out", () => {
        const d: StackDeclaration = {
            endpoints: [{ endpointName: "e", instanceType: "ml.m5.large", instanceCount: 1, minInstances: 1, maxInstances: 1 }],
            pipelines: [],
            triggers: [],
            counts: { kmsKeys: 0, alarms: 0, dashboards: 0, buckets: 0, ecrRepositories: 0, budgets: 0, snsTopics: 0 },
            budgets: [],
        };
        const none = { storedGb: 0, s3PutsPerMonth: 0, s3GetsPerMonth: 0, kmsRequestsPerMonth: 0 };
        const e = estimateStack(d, { region: "us-east-1", budgetMonthlyUsd: 730 * 0.115, assumptions: none });
        expect(e.lines.map((l) => l.item)).to.deep.equal(["endpoint ml.m5.large"]);
        expect(e.budget).to.deep.include({ idleExceeds: false, peakExceeds: false });
        const out = formatEstimate(e);
        expect(out.slice(2)).to.deep.equal([
            "                        unit price  quantity    idle   peak",
            "  endpoint ml.m5.large  $0.115/h    1 x 730 h  83.95  83.95",
            "  total per month                              83.95  83.95",
            "Assumed (*): 10 billed min per monitoring run, 30 min per batch transform, 0 GB in S3,",
            "  0 PUTs and 0 GETs, 0 KMS requests, a 1 GB jobs image, 730 h a month.",
            "Not included: data transfer out of AWS and between zones; CloudWatch Logs ingestion and storage; SageMaker ML storage volumes of jobs and endpoints; free tiers (every figure is the full list price).",
            "Budget: $83.95 a month (budget.monthlyUsd); the idle estimate is 100% of it",
        ]);
    });
});

describe("planEstimate: the estimate of the newest offline plan, when it is of the stack file as it is", () => {
    let project: string;
    const make = "run `npm run plan -- staging` for the estimate";
    const stackFile = "config:\n  vision-mlops:models: {}\n";
    const writePlan = (text: string) => {
        mkdirSync(join(project, ".plan", "staging"), { recursive: true });
        writeFileSync(join(project, ".plan", "staging", "plan.json"), text);
    };
    beforeEach(() => {
        project = mkdtempSync(join(tmpdir(), "plan-estimate-"));
        writeFileSync(join(project, "Pulumi.staging.yaml"), stackFile);
    });
    afterEach(() => rmSync(project, { recursive: true, force: true }));

    it("plans go to <project>/.plan/<stack>, and record the sha256 of the stack file's bytes", () => {
        expect(defaultPlanDir("/p", "prod")).to.equal(join("/p", ".plan", "prod"));
        expect(stackFileSha256(project, "staging")).to.equal(createHash("sha256").update(stackFile, "utf8").digest("hex"));
    });

    it("no plan yet, a file that is not JSON, a plan of an older stack file or without a cost: says so, with the command", () => {
        expect(planEstimate(project, "staging")).to.deep.equal({ note: `no offline plan of staging yet; ${make}` });
        writePlan("{ not json");
        expect(planEstimate(project, "staging")).to.deep.equal({
            note: `${join(project, ".plan", "staging", "plan.json")} is not a plan; ${make}`,
        });
        const older = `the offline plan of staging was made from an older Pulumi.staging.yaml; ${make}`;
        writePlan(JSON.stringify({ stackFileSha256: "0".repeat(64), cost: { currency: "USD" } }));
        expect(planEstimate(project, "staging")).to.deep.equal({ note: older });
        const sha = createHash("sha256").update(stackFile, "utf8").digest("hex");
        writePlan(JSON.stringify({ stackFileSha256: sha }));
        expect(planEstimate(project, "staging")).to.deep.equal({ note: older });
        writePlan(JSON.stringify({ stackFileSha256: sha, cost: { currency: "USD", region: "us-east-1" } }));
        expect(planEstimate(project, "staging")).to.deep.equal({ estimate: { currency: "USD", region: "us-east-1" } });
    });
});
