import { createHash } from "crypto";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { EndpointDeclaration, JobDeclaration, runsPerMonth, StackDeclaration, TriggerDeclaration } from "./declared";
import { MONITORING_METRICS } from "./job-contract";
import { stackFilePath } from "./stack-file";
import {
    basisOf,
    instancePrice,
    PRICE_SOURCES,
    PriceBasis,
    PriceFigure,
    RegionalFigure,
    ServicePrices,
    servicePrice,
    SPOT_SAVINGS,
} from "./prices";

/**
 * The monthly cost model: every billable thing a stack declares, priced from infra/prices.ts, with the
 * quantities that are not in the program stated as assumptions. Two columns: `idle` (no traffic and no new
 * data: endpoints at their minimum, monitoring jobs at their expected duration, scheduled retraining) and
 * `peak` (endpoints at their autoscaling maximum, every scheduled job at its time limit). Training started
 * by a new batch or by drift is priced per run, not per month: how often that happens is the user's data.
 */

/** Quantities the program does not declare; each is printed with the estimate. */
export interface CostAssumptions {
    readonly hoursPerMonth: number;
    /** Billed minutes of one monitoring run (the job's own limit is the peak). */
    readonly monitoringRunMinutes: number;
    /** Billed minutes of the pipeline's batch transform, which has no time limit of its own. */
    readonly transformRunMinutes: number;
    /** GB held in S3 Standard across the stack's buckets. */
    readonly storedGb: number;
    readonly s3PutsPerMonth: number;
    readonly s3GetsPerMonth: number;
    readonly kmsRequestsPerMonth: number;
    /** Size of the jobs image in ECR. */
    readonly jobsImageGb: number;
}

export const COST_ASSUMPTIONS: CostAssumptions = {
    hoursPerMonth: 730,
    monitoringRunMinutes: 10,
    transformRunMinutes: 30,
    storedGb: 100,
    s3PutsPerMonth: 100_000,
    s3GetsPerMonth: 1_000_000,
    kmsRequestsPerMonth: 100_000,
    jobsImageGb: 1,
};

/** A unit price as the estimate uses it: the figure, what it is per, and where it comes from. */
export interface UnitPrice {
    readonly usd: number;
    readonly per: string;
    readonly basis: PriceBasis;
    /** The region the figure is for (the base region's when the stack's has none). */
    readonly region: string;
    readonly source: string;
    readonly asOf: string;
    readonly estimate?: string;
}

export type CostGroup = "endpoints" | "monitoring" | "training" | "platform";

export interface CostLine {
    readonly group: CostGroup;
    readonly model?: string;
    readonly item: string;
    readonly unit: UnitPrice;
    /** How the quantity was reached, e.g. `1..2 x 730 h`; `*` marks an assumed quantity. */
    readonly quantity: string;
    readonly idleUsd: number;
    readonly peakUsd: number;
}

/** What one start of something costs, when it is not part of every month. */
export interface PerRunCost {
    readonly model?: string;
    readonly item: string;
    /** What starts it. */
    readonly startedBy: readonly string[];
    /** At most, with each job at its time limit, billed as configured (spot where the job uses spot). */
    readonly usd: number;
    /** The same run with every job on demand (no spot discount). */
    readonly onDemandUsd: number;
    readonly parts: readonly {
        readonly item: string;
        readonly unit: UnitPrice;
        readonly quantity: string;
        readonly usd: number;
        readonly onDemandUsd: number;
    }[];
}

export interface BudgetCheck {
    readonly monthlyUsd: number;
    readonly idleShare: number;
    readonly idleExceeds: boolean;
    readonly peakExceeds: boolean;
}

export interface StackEstimate {
    readonly currency: "USD";
    readonly region: string;
    readonly lines: readonly CostLine[];
    readonly perRun: readonly PerRunCost[];
    readonly totals: { readonly idleUsd: number; readonly peakUsd: number };
    readonly budget?: BudgetCheck;
    readonly assumptions: CostAssumptions;
    readonly spotSavings: UnitPrice;
    /** Things the estimate leaves out. */
    readonly excluded: readonly string[];
}

export interface EstimateOptions {
    readonly region: string;
    readonly budgetMonthlyUsd?: number;
    readonly assumptions?: Partial<CostAssumptions>;
}

const EXCLUDED = [
    "data transfer out of AWS and between zones",
    "CloudWatch Logs ingestion and storage",
    "SageMaker ML storage volumes of jobs and endpoints",
    "free tiers (every figure is the full list price)",
];

export function estimateStack(d: StackDeclaration, options: EstimateOptions): StackEstimate {
    const a = { ...COST_ASSUMPTIONS, ...options.assumptions };
    const region = options.region;
    const lines: CostLine[] = [];
    const perRun: PerRunCost[] = [];
    const instance = (type: string) => unitOfInstance(region, type);
    const service = (name: keyof ServicePrices, per: string) => unitOf(servicePrice(region, name), per);

    for (const e of d.endpoints) {
        const unit = instance(e.instanceType);
        const hours = a.hoursPerMonth;
        lines.push({
            group: "endpoints",
            model: e.model,
            item: `endpoint ${e.instanceType}`,
            unit,
            quantity: `${range(e.minInstances, e.maxInstances)} x ${hours} h`,
            idleUsd: e.minInstances * hours * unit.usd,
            peakUsd: e.maxInstances * hours * unit.usd,
        });
        if (e.blueGreen) perRun.push(blueGreenUpdate(e, unit));
    }

    const pipelines = new Map(d.pipelines.map((p) => [p.pipelineName, p]));
    for (const t of d.triggers) {
        const scheduledJobs = t.job
            ? [t.job]
            : t.pipelineName && pipelines.get(t.pipelineName)?.purpose === "monitoring"
              ? pipelines.get(t.pipelineName)!.jobs
              : [];
        // Stryker disable next-line ConditionalExpression: with no jobs the loop below adds nothing; the skip saves the lookup
        if (scheduledJobs.length === 0) continue;
        const runs = t.schedule ? runsPerMonth(t.schedule) : undefined;
        for (const job of scheduledJobs) {
            const unit = instance(job.instanceType);
            const limitMinutes = (job.maxRuntimeSeconds ?? a.monitoringRunMinutes * 60) / 60;
            const expected = Math.min(a.monitoringRunMinutes, limitMinutes);
            const perRunHours = (minutes: number) => (job.instanceCount * minutes) / 60;
            lines.push({
                group: "monitoring",
                model: t.model,
                item: `monitoring ${job.instanceType}`,
                unit,
                quantity:
                    runs === undefined
                        ? `${t.schedule}: runs per month unknown`
                        : `${round(runs)} runs x ${round(expected)}*..${round(limitMinutes)} min`,
                idleUsd: (runs ?? 0) * perRunHours(expected) * unit.usd,
                peakUsd: (runs ?? 0) * perRunHours(limitMinutes) * unit.usd,
            });
        }
    }

    for (const p of d.pipelines.filter((x) => x.purpose === "training")) {
        const starters = d.triggers.filter((t) => t.pipelineName === p.pipelineName);
        const run = trainingRun(p.model, p.pipelineName, p.jobs, starters, instance, a);
        perRun.push(run);
        for (const t of starters.filter((s) => s.schedule)) {
            const runs = runsPerMonth(t.schedule!);
            lines.push({
                group: "training",
                model: p.model,
                item: `scheduled retraining, ${t.schedule}`,
                unit: {
                    usd: run.usd,
                    per: "run",
                    basis: weakest(run.parts.map((x) => x.unit.basis)),
                    region,
                    source: "the run's jobs, below",
                    asOf: "",
                },
                quantity: runs === undefined ? "runs per month unknown" : `${round(runs)} runs`,
                idleUsd: (runs ?? 0) * run.usd,
                peakUsd: (runs ?? 0) * run.usd,
            });
        }
    }

    const c = d.counts;
    const monitored = d.triggers.filter((t) => t.job || (t.pipelineName && pipelines.get(t.pipelineName)?.purpose === "monitoring")).length;
    const metrics = monitored * Object.keys(MONITORING_METRICS).length;
    const scheduledRuns = d.triggers
        .filter((t) => t.via === "scheduler" && t.schedule)
        .reduce((n, t) => n + (runsPerMonth(t.schedule!) ?? 0), 0);
    const days = a.hoursPerMonth / 24;
    const fixed: Array<[string, UnitPrice, string, number]> = [
        ["KMS keys", service("kmsKeyMonth", "key-month"), `${c.kmsKeys}`, c.kmsKeys],
        [
            "KMS requests",
            service("kmsRequestsPer10000", "10,000 requests"),
            `${count(a.kmsRequestsPerMonth)}*`,
            a.kmsRequestsPerMonth / 10_000,
        ],
        ["S3 Standard storage", service("s3StandardGbMonth", "GB-month"), `${a.storedGb}* GB`, a.storedGb],
        ["S3 PUT/LIST requests", service("s3PutPer1000", "1,000 requests"), `${count(a.s3PutsPerMonth)}*`, a.s3PutsPerMonth / 1000],
        ["S3 GET requests", service("s3GetPer1000", "1,000 requests"), `${count(a.s3GetsPerMonth)}*`, a.s3GetsPerMonth / 1000],
        ["CloudWatch alarms", service("cloudwatchAlarmMonth", "alarm-month"), `${c.alarms}`, c.alarms],
        [
            "CloudWatch custom metrics",
            service("cloudwatchCustomMetricMonth", "metric-month"),
            `${monitored} monitors x ${Object.keys(MONITORING_METRICS).length}`,
            metrics,
        ],
        ["CloudWatch dashboards", service("cloudwatchDashboardMonth", "dashboard-month"), `${c.dashboards}`, c.dashboards],
        [
            "ECR image storage",
            service("ecrGbMonth", "GB-month"),
            `${c.ecrRepositories} x ${a.jobsImageGb}* GB`,
            c.ecrRepositories * a.jobsImageGb,
        ],
        ["Scheduler invocations", service("schedulerInvocationsPerMillion", "million"), `${round(scheduledRuns)}`, scheduledRuns / 1e6],
        ["Budgets", service("budgetDay", "budget-day"), `${c.budgets} x ${round(days)} days`, c.budgets * days],
    ];
    for (const [item, unit, quantity, units] of fixed) {
        if (units === 0) continue;
        lines.push({ group: "platform", item, unit, quantity, idleUsd: units * unit.usd, peakUsd: units * unit.usd });
    }

    const totals = {
        idleUsd: lines.reduce((s, l) => s + l.idleUsd, 0),
        peakUsd: lines.reduce((s, l) => s + l.peakUsd, 0),
    };
    const budget =
        options.budgetMonthlyUsd === undefined
            ? undefined
            : {
                  monthlyUsd: options.budgetMonthlyUsd,
                  idleShare: totals.idleUsd / options.budgetMonthlyUsd,
                  idleExceeds: totals.idleUsd > options.budgetMonthlyUsd,
                  peakExceeds: totals.peakUsd > options.budgetMonthlyUsd,
              };
    return {
        currency: "USD",
        region,
        lines,
        perRun,
        totals,
        budget,
        assumptions: a,
        spotSavings: unitOf({ figure: SPOT_SAVINGS, region }, "share of on-demand"),
        excluded: EXCLUDED,
    };
}

function trainingRun(
    model: string | undefined,
    pipeline: string,
    jobs: readonly JobDeclaration[],
    starters: readonly TriggerDeclaration[],
    instance: (type: string) => UnitPrice,
    a: CostAssumptions,
): PerRunCost {
    const spot = 1 - SPOT_SAVINGS.usd;
    const parts = jobs.map((j) => {
        const unit = instance(j.instanceType);
        const minutes = j.maxRuntimeSeconds !== undefined ? j.maxRuntimeSeconds / 60 : a.transformRunMinutes;
        const onDemand = (j.instanceCount * minutes * unit.usd) / 60;
        const limit = j.maxRuntimeSeconds !== undefined ? `<= ${hoursText(minutes)}` : `${hoursText(minutes)}*`;
        return {
            item: `${j.step} ${j.instanceType}${j.spot ? " (spot)" : ""}`,
            unit,
            quantity: `${j.instanceCount} x ${limit}`,
            usd: j.spot ? onDemand * spot : onDemand,
            onDemandUsd: onDemand,
        };
    });
    return {
        model,
        item: `training pipeline ${pipeline}`,
        startedBy: starters.map((s) => (s.schedule ? `schedule ${s.schedule}` : (s.event ?? s.description ?? s.name))),
        usd: parts.reduce((s, p) => s + p.usd, 0),
        onDemandUsd: parts.reduce((s, p) => s + p.onDemandUsd, 0),
        parts,
    };
}

/** A blue/green update runs a second full fleet until it finishes: at most its execution timeout. */
function blueGreenUpdate(e: EndpointDeclaration, unit: UnitPrice): PerRunCost {
    const hours = e.blueGreen!.maxUpdateSeconds / 3600;
    const usd = e.instanceCount * hours * unit.usd;
    return {
        model: e.model,
        item: `blue/green update of ${e.endpointName}`,
        startedBy: ["a pulumi up that changes the endpoint"],
        usd,
        onDemandUsd: usd,
        parts: [
            {
                item: `second fleet ${e.instanceType}`,
                unit,
                quantity: `${e.instanceCount} x <= ${hoursText(hours * 60)}`,
                usd,
                onDemandUsd: usd,
            },
        ],
    };
}

function unitOfInstance(region: string, instanceType: string): UnitPrice {
    const price = instancePrice(region, instanceType);
    if (!price) throw new Error(`${instanceType} has no price in infra/prices.ts; add a row with its source`);
    return unitOf(price, "h");
}

function unitOf(price: RegionalFigure, per: string): UnitPrice {
    const f: PriceFigure = price.figure;
    const source = PRICE_SOURCES[f.source];
    return {
        usd: f.usd,
        per,
        basis: basisOf(f),
        region: price.region,
        source: source.url || source.title,
        asOf: source.asOf,
        ...(f.estimate ? { estimate: f.estimate } : {}),
    };
}

const BASIS_ORDER: readonly PriceBasis[] = ["estimate", "published", "price-list"];
const weakest = (bases: readonly PriceBasis[]): PriceBasis => BASIS_ORDER.find((b) => bases.includes(b)) ?? "price-list";
const count = (n: number) => n.toLocaleString("en-US");
const range = (lo: number, hi: number) => (lo === hi ? `${lo}` : `${lo}..${hi}`);
// Stryker disable next-line EqualityOperator: `n <= 10` differs only at 10, which is an integer and printed whole
const round = (n: number) => (Number.isInteger(n) ? `${n}` : n.toFixed(n < 10 ? 2 : 1));
const hoursText = (minutes: number) => (minutes >= 60 ? `${round(minutes / 60)} h` : `${round(minutes)} min`);

export const usd = (n: number): string => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function priceText(u: UnitPrice): string {
    const digits = u.usd !== 0 && u.usd < 0.01 ? 4 : u.usd < 1 ? 3 : 2;
    return `${u.basis === "estimate" ? "~" : ""}$${u.usd.toFixed(digits)}/${u.per}`;
}

/** The estimate as the plan and `status` print it. */
export function formatEstimate(e: StackEstimate): string[] {
    const label = (l: { model?: string; item: string }) => (l.model ? `${l.model} ${l.item}` : l.item);
    const rows: string[][] = [["", "unit price", "quantity", "idle", "peak"]];
    for (const l of e.lines) rows.push([label(l), priceText(l.unit), l.quantity, l.idleUsd.toFixed(2), l.peakUsd.toFixed(2)]);
    rows.push(["total per month", "", "", e.totals.idleUsd.toFixed(2), e.totals.peakUsd.toFixed(2)]);
    const out = [
        `Monthly estimate (USD, on-demand list prices for ${e.region}; ~ estimated price, * assumed quantity; sources in infra/prices.ts)`,
        "  idle: no traffic, no new data (endpoints at their minimum); peak: endpoints at their autoscaling maximum, jobs at their time limits",
        ...alignRight(rows, [3, 4]).map((r) => `  ${r}`),
    ];
    const otherRegion = e.lines.some((l) => l.unit.region !== e.region);
    if (otherRegion) out.push(`  The table has no ${e.region} figures for some lines; those show us-east-1 prices (marked ~).`);
    if (e.perRun.length) {
        out.push("Per run (not in the monthly total unless scheduled above):");
        for (const r of e.perRun) {
            const spot = r.onDemandUsd !== r.usd ? ` with spot, ${usd(r.onDemandUsd)} on demand` : "";
            out.push(`  ${label(r)}: at most ${usd(r.usd)}${spot}`, `    started by ${r.startedBy.join("; ")}`);
            for (const p of r.parts) out.push(`    ${p.item}: ${priceText(p.unit)} x ${p.quantity} = ${usd(p.usd)}`);
        }
        out.push(`  spot is priced at ${Math.round(e.spotSavings.usd * 100)}% off on-demand (~ estimate: ${e.spotSavings.estimate})`);
    }
    const a = e.assumptions;
    out.push(
        `Assumed (*): ${a.monitoringRunMinutes} billed min per monitoring run, ${a.transformRunMinutes} min per batch transform, ${a.storedGb} GB in S3,`,
        `  ${count(a.s3PutsPerMonth)} PUTs and ${count(a.s3GetsPerMonth)} GETs, ${count(a.kmsRequestsPerMonth)} KMS requests, a ${a.jobsImageGb} GB jobs image, ${a.hoursPerMonth} h a month.`,
        `Not included: ${e.excluded.join("; ")}.`,
    );
    if (e.budget) {
        const b = e.budget;
        out.push(
            b.idleExceeds
                ? `warning: the idle estimate ${usd(e.totals.idleUsd)} exceeds budget.monthlyUsd ${usd(b.monthlyUsd)}; the budget will alarm every month`
                : `Budget: ${usd(b.monthlyUsd)} a month (budget.monthlyUsd); the idle estimate is ${Math.round(b.idleShare * 100)}% of it` +
                      (b.peakExceeds ? `, and at peak (${usd(e.totals.peakUsd)}) the stack would exceed it` : ""),
        );
    }
    return out;
}

/** Columns separated by two spaces, the given ones aligned right. */
function alignRight(rows: readonly (readonly string[])[], right: readonly number[]): string[] {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) =>
        r
            .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
            .join("  ")
            .trimEnd(),
    );
}

/** Where `npm run plan -- <stack>` writes its plan by default. */
export function defaultPlanDir(projectDir: string, stack: string): string {
    return join(projectDir, ".plan", stack);
}

/** Of the stack file as it is now; plan.json records it so a plan of an older stack file is recognised. */
export function stackFileSha256(projectDir: string, stack: string): string {
    return createHash("sha256")
        .update(readFileSync(stackFilePath(projectDir, stack)))
        .digest("hex");
}

/**
 * The estimate of the stack's newest offline plan, when that plan was made from the stack file as it is now;
 * otherwise why there is none, with the command that makes one.
 */
export function planEstimate(projectDir: string, stack: string): { estimate?: StackEstimate; note?: string } {
    const file = join(defaultPlanDir(projectDir, stack), "plan.json");
    const make = `run \`npm run plan -- ${stack}\` for the estimate`;
    if (!existsSync(file)) return { note: `no offline plan of ${stack} yet; ${make}` };
    let doc: { stackFileSha256?: string; cost?: StackEstimate };
    try {
        // Stryker disable next-line StringLiteral: JSON.parse reads a Buffer (no encoding) as UTF-8 text too
        doc = JSON.parse(readFileSync(file, "utf8"));
    } catch {
        return { note: `${file} is not a plan; ${make}` };
    }
    if (!doc.cost || doc.stackFileSha256 !== stackFileSha256(projectDir, stack))
        return { note: `the offline plan of ${stack} was made from an older Pulumi.${stack}.yaml; ${make}` };
    return { estimate: doc.cost };
}
