import { expect } from "chai";
import { existsSync, readFileSync } from "fs";
import { join, resolve } from "path";
import { CostLine } from "../../infra/cost";
import { readStackFile } from "../../infra/stack-file";
import { budgetFilterNotes, PlanResult, planArguments } from "../../scripts/plan";
import { EARLIER_PLAN_FILES, ProjectPlan, projectPlan } from "../support/plans";

const ROOT = resolve(__dirname, "../..");
const H = 730; // hours in the estimate's month
const RUNS = { hourly: 730, daily: 730 / 24, weekly: 730 / (7 * 24) };
const SPOT = 0.3; // spot billed at 70% off

function line(lines: readonly CostLine[], label: string): CostLine {
    const hit = lines.find((l) => `${l.model ? `${l.model} ` : ""}${l.item}` === label);
    if (!hit) throw new Error(`no cost line "${label}"; lines: ${lines.map((l) => `${l.model ?? ""} ${l.item}`).join(", ")}`);
    return hit;
}

/** What both stacks pay for the platform itself: keys, storage, requests, metrics, dashboard, image, budget. */
function platformLines(alarms: number): number {
    return (
        3 * 1 + // three keys at $1: the data key, the logs key (LogsKey) and the prediction page's key
        (100_000 / 10_000) * 0.03 + // assumed KMS requests
        100 * 0.023 + // assumed 100 GB in S3 Standard
        (100_000 / 1000) * 0.005 + // assumed PUTs
        (1_000_000 / 1000) * 0.0004 + // assumed GETs
        alarms * 0.1 +
        4 * 14 * 0.3 + // four monitored models, 14 metrics each
        1 * 3 + // one dashboard
        1 * 0.1 + // a 1 GB jobs image
        ((RUNS.hourly + 3 * RUNS.daily) / 1e6) * 1 // scheduler invocations: one hourly model, three daily
    );
}

describe("npm run plan: what runs and what it costs (in process)", function () {
    this.timeout(600_000);
    let staging: ProjectPlan;
    let prod: ProjectPlan;
    let stagingOut: string;
    let otherOut: string;

    before(async () => {
        // Staging's plan folder held a pipeline of an earlier staging plan that this one no longer declares, while
        // prod's held another stack's plan, whose files it keeps (test/support/plans.ts).
        staging = await projectPlan("staging");
        stagingOut = staging.outDir;
        prod = await projectPlan("prod");
        otherOut = prod.outDir;
    });

    it("has its registry stand-in serve each model the image its pipeline registers, so the endpoint role pulls that one", () => {
        const servingImage = (result: PlanResult, model: string) => {
            const env = result.stack;
            const role = result.resources.find(
                (r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === `vision-mlops-${env}-${model}-role-policy`,
            )!;
            return JSON.parse(role.inputs.policy as string).Statement.find((s: { Sid: string }) => s.Sid === "ServingImage").Resource;
        };
        for (const result of [staging.result, prod.result]) {
            expect(servingImage(result, "dog-breeds"), result.stack).to.deep.equal([
                "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-inference",
            ]);
            expect(servingImage(result, "traffic-signs"), result.stack).to.deep.equal([
                "arn:aws:ecr:us-east-1:811284229777:repository/image-classification",
            ]);
        }
        const endpoint = staging.result.resources.find(
            (r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.name === "vision-mlops-staging-dog-breeds-endpoint",
        )!;
        expect((endpoint.inputs.model as { PrimaryContainer: { Image: string } }).PrimaryContainer.Image).to.equal(
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312",
        );
    });

    it("prices staging as computed by hand from the price table", () => {
        const { lines, totals, perRun, budget } = staging.result.cost;
        const alarms = staging.result.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm").length;
        // traffic-signs: ml.m5.large ($0.115/h), autoscaling 1..2; bikes-vs-motorcycles: ml.t2.medium ($0.056/h), 1.
        expect(line(lines, "traffic-signs endpoint ml.m5.large")).to.deep.include({ idleUsd: 1 * H * 0.115, peakUsd: 2 * H * 0.115 });
        expect(line(lines, "bikes-vs-motorcycles endpoint ml.t2.medium").idleUsd).to.be.closeTo(1 * H * 0.056, 1e-9);
        // Monitoring on ml.m5.large: hourly (limit 50 min) and daily (limit 4 h), 10 assumed billed minutes a run.
        expect(line(lines, "traffic-signs monitoring ml.m5.large").idleUsd).to.be.closeTo((RUNS.hourly * 10 * 0.115) / 60, 1e-9);
        expect(line(lines, "traffic-signs monitoring ml.m5.large").peakUsd).to.be.closeTo((RUNS.hourly * 50 * 0.115) / 60, 1e-9);
        expect(line(lines, "bikes-vs-motorcycles monitoring ml.m5.large").peakUsd).to.be.closeTo(RUNS.daily * 4 * 0.115, 1e-9);
        // One traffic-signs training run at its limits: the Dataset step 10 min, preprocess 4 h and evaluate 1 h on
        // ml.m5.xlarge ($0.23), train 4 h on ml.g4dn.xlarge ($0.7364) at spot, and the assumed 30-minute transform.
        const dataset = (10 / 60) * 0.23;
        const run = dataset + 4 * 0.23 + 4 * 0.7364 * SPOT + 0.5 * 0.23 + 1 * 0.23;
        const trafficSigns = perRun.find((r) => r.model === "traffic-signs")!;
        expect(trafficSigns.usd).to.be.closeTo(run, 1e-9);
        expect(trafficSigns.onDemandUsd).to.be.closeTo(dataset + 4 * 0.23 + 4 * 0.7364 + 0.5 * 0.23 + 0.23, 1e-9);
        expect(trafficSigns.startedBy).to.have.length(3);
        expect(perRun.find((r) => r.model === "bikes-vs-motorcycles")!.usd).to.be.closeTo(
            dataset + 1 * 0.23 + 1 * 0.7364 * SPOT + 0.5 * 0.23 + 0.23,
            1e-9,
        );
        // dog-breeds (PyTorch) and birds-200 (built-in) train like traffic-signs: 4 h limits on the same instances.
        for (const model of ["dog-breeds", "birds-200"]) {
            expect(perRun.find((r) => r.model === model)!.usd, model).to.be.closeTo(run, 1e-9);
            expect(line(lines, `${model} endpoint ml.m5.large`)).to.deep.include({ idleUsd: H * 0.115, peakUsd: H * 0.115 });
        }
        // Its weekly schedule is the only training in the monthly figure.
        expect(line(lines, "traffic-signs scheduled retraining, rate(7 days)").idleUsd).to.be.closeTo(RUNS.weekly * run, 1e-9);
        const idle =
            H * 0.115 +
            H * 0.056 +
            2 * H * 0.115 + // dog-breeds, birds-200
            (RUNS.hourly * 10 * 0.115) / 60 +
            (3 * RUNS.daily * 10 * 0.115) / 60 +
            RUNS.weekly * run +
            platformLines(alarms);
        const peak =
            2 * H * 0.115 +
            H * 0.056 +
            2 * H * 0.115 +
            (RUNS.hourly * 50 * 0.115) / 60 +
            3 * RUNS.daily * 4 * 0.115 +
            RUNS.weekly * run +
            platformLines(alarms);
        expect(totals.idleUsd).to.be.closeTo(idle, 1e-6);
        expect(totals.peakUsd).to.be.closeTo(peak, 1e-6);
        expect(budget).to.deep.include({ monthlyUsd: 1500, idleExceeds: false, peakExceeds: false });
    });

    it("prices prod as computed by hand: bigger fleets, no training, blue/green updates per run", () => {
        const { lines, totals, perRun, budget } = prod.result.cost;
        const alarms = prod.result.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm").length;
        expect(line(lines, "traffic-signs endpoint ml.m5.xlarge")).to.deep.include({ idleUsd: 2 * H * 0.23, peakUsd: 6 * H * 0.23 });
        expect(line(lines, "bikes-vs-motorcycles endpoint ml.m5.large")).to.deep.include({
            idleUsd: 2 * H * 0.115,
            peakUsd: 4 * H * 0.115,
        });
        expect(lines.filter((l) => l.group === "training")).to.deep.equal([]);
        // bikes-vs-motorcycles, dog-breeds and birds-200: ml.m5.large, 2..4 instances, daily monitoring.
        const idle =
            2 * H * 0.23 + 3 * 2 * H * 0.115 + (RUNS.hourly * 10 * 0.115) / 60 + (3 * RUNS.daily * 10 * 0.115) / 60 + platformLines(alarms);
        const peak =
            6 * H * 0.23 + 3 * 4 * H * 0.115 + (RUNS.hourly * 50 * 0.115) / 60 + 3 * RUNS.daily * 4 * 0.115 + platformLines(alarms);
        expect(totals.idleUsd).to.be.closeTo(idle, 1e-6);
        expect(totals.peakUsd).to.be.closeTo(peak, 1e-6);
        // A blue/green update keeps a second fleet of 2 for at most its one-hour execution limit.
        expect(perRun.map((r) => [r.item, r.usd])).to.deep.equal([
            ["blue/green update of vision-mlops-prod-traffic-signs", 2 * 1 * 0.23],
            ["blue/green update of vision-mlops-prod-bikes-vs-motorcycles", 2 * 1 * 0.115],
            ["blue/green update of vision-mlops-prod-dog-breeds", 2 * 1 * 0.115],
            ["blue/green update of vision-mlops-prod-birds-200", 2 * 1 * 0.115],
        ]);
        expect(budget).to.deep.include({ monthlyUsd: 3000, idleExceeds: false });
    });

    it("opens with what runs and the monthly estimate, before the resource tree", () => {
        const text = staging.log.join("\n");
        const at = (s: string) => {
            const i = text.indexOf(s);
            expect(i, `missing: ${s}`).to.be.at.least(0);
            return i;
        };
        expect(at("What runs (staging, us-east-1):")).to.be.lessThan(at("Monthly estimate (USD"));
        expect(at("Monthly estimate (USD")).to.be.lessThan(at("Resources:"));
        expect(text).to.include(
            "    endpoint   vision-mlops-staging-traffic-signs: ml.m5.large x 1, autoscaling 1..2 at 100 invocations/instance/min, capture 100%, updates land at once (no canary)",
        );
        // Its three starters, in the order their resources resolved (which varies with what else the process declared).
        const startedBy = text.split("\n").find((l) => l.includes("rate(7 days)") && l.includes("started by"))!;
        for (const starter of [
            "schedule rate(7 days)",
            "a new object traffic-signs/batches/*/_manifest.json",
            "the alarm vision-mlops-staging-traffic-signs-monitor-drift-persistent going off",
        ])
            expect(startedBy, text).to.include(starter);
        expect(text).to.include(
            "    monitoring pipeline engine, hourly (cron(10 * * * ? *) UTC): EventBridge Scheduler starts vision-mlops-staging-traffic-signs-monitoring on ml.m5.large, at most 50 min a run",
        );
        // What trains each model, and what its inference workflow does with an image and what starts it.
        expect(text).to.include(
            "    training   vision-mlops-staging-dog-breeds-training (PyTorch 2.6 resnet50): Dataset ml.m5.xlarge, Preprocess ml.m5.xlarge, Train ml.g4dn.xlarge spot, Transform ml.m5.xlarge, Evaluate ml.m5.xlarge",
        );
        expect(text).to.include("    training   vision-mlops-staging-birds-200-training (built-in image-classification): ");
        expect(text).to.include(
            [
                "    inference  vision-mlops-staging-bikes-vs-motorcycles-inference: to review below 93% top-1; a training batch every 20 reviewed images and on rate(1 day)",
                "               started by npm run classify; a correction from the prediction page; an image under incoming/bikes-vs-motorcycles/",
            ].join("\n"),
        );
        expect(text).to.include(
            [
                "    inference  vision-mlops-staging-traffic-signs-inference: to review below 80% top-1; a training batch every 50 reviewed images",
                "               started by npm run classify; a correction from the prediction page",
            ].join("\n"),
        );
        expect(text).to.match(
            / {2}traffic-signs {9}serves arn:aws:sagemaker:us-east-1:123456789012:model-package\/vision-mlops-staging-traffic-signs\/1 \(newest package, Approved\)/,
        );
        expect(text).to.match(/ {2}total per month {2,}\d+\.\d\d {2}\d+\.\d\d/);
        expect(text).to.include("~$0.056/h"); // the estimated ml.t2.medium figure is marked
        expect(text).to.include("Budget vision-mlops-staging-monthly counts only spend tagged environment=staging");
        expect(text).to.include("aws ce update-cost-allocation-tags-status --cost-allocation-tags-status TagKey=environment,Status=Active");
        const prodText = prod.log.join("\n");
        expect(prodText).to.include("capture 80%, blue/green updates, canary 1 instance, rollback on 2 alarms");
        expect(prodText).to.include("training   none in prod: it serves what staging trained and a person approved");
        expect(prodText).to.include(
            "    inference  vision-mlops-prod-traffic-signs-inference: to review below 80% top-1; an ingest batch (nothing trains here) every 50 reviewed images",
        );
        expect(prodText).to.include("(promoted package, Approved)");
    });

    it("writes the estimate into plan.json with the stack file's hash, and summarises what it wrote", () => {
        const doc = JSON.parse(readFileSync(join(stagingOut, "plan.json"), "utf8"));
        expect(doc.cost.totals.idleUsd).to.be.closeTo(staging.result.cost.totals.idleUsd, 1e-9);
        expect(doc.cost.lines[0].unit).to.include({ usd: 0.115, per: "h", basis: "price-list", region: "us-east-1", asOf: "2026-07-30" });
        expect(doc.stackFileSha256).to.match(/^[0-9a-f]{64}$/);
        const last = staging.log[staging.log.length - 1];
        expect(last).to.match(
            /^\d+ resources\. Written: .*plan\.json and 8 pipeline definitions in .*pipelines\/; removed 1 stale file of an earlier plan/,
        );
    });

    it("clears a stale pipeline file of an earlier plan of the same stack, and nothing of another's", () => {
        expect(existsSync(join(stagingOut, EARLIER_PLAN_FILES.staging))).to.equal(false);
        expect(existsSync(join(stagingOut, "pipelines", "vision-mlops-staging-traffic-signs-training.json"))).to.equal(true);
        expect(staging.result.removed).to.have.length(1);
        expect(existsSync(join(otherOut, EARLIER_PLAN_FILES.prod))).to.equal(true);
        expect(prod.result.removed).to.deep.equal([]);
    });

    it("says what an account-filtered budget counts, and that a stack without a budget has none", () => {
        const config = readStackFile(ROOT, "staging");
        const declaration = {
            endpoints: [],
            pipelines: [],
            triggers: [],
            counts: { kmsKeys: 0, alarms: 0, dashboards: 0, buckets: 0, ecrRepositories: 0, budgets: 1, snsTopics: 0 },
            budgets: [{ name: "vision-mlops-staging-monthly", limitUsd: 1500, filters: ["Region=us-east-1"] }],
        };
        expect(budgetFilterNotes({ ...config, budget: { ...config.budget!, filter: "account" } }, declaration)[0]).to.equal(
            "Budget vision-mlops-staging-monthly counts every cost of its account in us-east-1 (Region=us-east-1): no tag activation needed,",
        );
        expect(budgetFilterNotes({ ...config, budget: undefined }, declaration)).to.deep.equal([
            "No budget (set budget.monthlyUsd to get alerts at 80% and 100% of a monthly limit).",
        ]);
    });

    it("answers a mistyped flag with one line naming it and the likely one", () => {
        expect(planArguments(["staging", "--regsitry", "empty"])).to.deep.equal({
            error: "unknown option --regsitry (did you mean --registry?); usage: npm run plan -- <stack> [--out DIR] [--registry sample|pending|empty]",
        });
        const missing = planArguments(["staging", "--out"]);
        expect(missing).to.have.property("error").that.does.not.include("\n");
        expect(planArguments(["staging", "--registry", "empty"])).to.deep.equal({
            values: { out: undefined, registry: "empty", help: undefined },
            positionals: ["staging"],
        });
    });
});
