import { DescribeEndpointOutput, ListPipelineExecutionsCommand, PipelineExecutionSummary } from "@aws-sdk/client-sagemaker";
import { formatEstimate, planEstimate } from "../../infra/cost";
import { endpointName, modelPackageGroupName, pipelineName } from "../../infra/naming";
import { describePackage, newestRegisteredPackage, PackageInfo, packageServedBy, RegistryClient } from "../../infra/registry";
import { parseS3Uri } from "../../infra/s3-uri";
import { describeJudged, monitoringEvidence, MonitoringS3, readObjectText } from "../lib/monitoring-reports";
import { modelOf, projectDir, runCli, StackContext } from "./common";
import { CliSpec, parseCli, required } from "./lib/args";
import { isInfrastructureFailure } from "./lib/aws-errors";
import { CliClients, CliDeps } from "./lib/clients";
import { DECISION_KEYS } from "./lib/decision";
import { describeEntry, LedgerEntry, ledgerUri, readLedger, registryShows } from "./lib/ledger";
import { describeEndpointIfAny, isNotFound } from "./lib/served";
import { openStack } from "./lib/stack";

export const STATUS_CLI = {
    usage: "npm run status -- --stack <stack> [--model <model>] [--json]",
    help: [
        "Shows, per model of the stack: the endpoint, the registry package it serves, that package's approval",
        "status with who decided, when and why (every decision in its decision ledger), its registered accuracy, the monitoring evidence `approve` would",
        "go by, the newest registered package when it is a different one, and the last run of the model's",
        "training pipeline.",
        "",
        "  --stack   a Pulumi.<stack>.yaml in the project folder",
        "  --model   only this model (default: every model of the stack)",
        "  --json    machine-readable output",
    ].join("\n"),
    options: {
        stack: { type: "string" },
        model: { type: "string" },
        json: { type: "boolean" },
    },
} as const satisfies CliSpec<Record<string, { type: "string" | "boolean" }>>;

export interface StatusOptions {
    readonly stack: string;
    readonly model?: string;
    readonly json: boolean;
}

export function statusOptions(argv: readonly string[], print?: (text: string) => void): StatusOptions | undefined {
    const v = parseCli(STATUS_CLI, argv, print);
    if (!v) return undefined;
    return { stack: required(v.stack, "stack", STATUS_CLI.usage), model: v.model, json: v.json ?? false };
}

export interface PackageStatus {
    readonly arn: string;
    readonly version?: number;
    readonly approvalStatus: string;
    readonly approvalDescription?: string;
    readonly registeredAt?: string;
    readonly approvedBy?: string;
    readonly approvedAt?: string;
    readonly approvalNote?: string;
    readonly forcedReason?: string;
    readonly rejectedBy?: string;
    readonly rejectedAt?: string;
    readonly rejectionReason?: string;
    /** Accuracy from the package's registered model-quality statistics. */
    readonly accuracy?: number;
    readonly metricsUri?: string;
    /** Why the accuracy could not be read, when there is a metrics URI. */
    readonly metricsError?: string;
    /** The decision ledger of the package: where it is, every decision in it (oldest first), or why it cannot be read. */
    readonly ledger?: string;
    readonly decisions?: readonly LedgerEntry[];
    readonly ledgerError?: string;
    /** Set when the registry does not show the ledger's last decision (its registry update has not landed). */
    readonly unfinishedDecision?: string;
}

export interface ModelStatus {
    readonly model: string;
    readonly endpoint: { readonly name: string; readonly deployed: boolean; readonly status?: string };
    readonly served?: PackageStatus;
    /** Why the served package could not be determined, when the endpoint exists. */
    readonly servedError?: string;
    /** Staging: the newest package not Rejected in the model's group, when it is not the one served. */
    readonly newestRegistered?: string;
    /** The package the stack file pins the endpoint to (endpoint.modelPackageArn), if any. */
    readonly pinned?: string;
    /** What `approve` would go by: the newest judged monitoring run since the endpoint last changed, or why there is none. */
    readonly monitoring?: MonitoringStatus;
    readonly training: {
        readonly pipeline: string;
        readonly exists: boolean;
        readonly lastExecution?: {
            readonly arn?: string;
            readonly status?: string;
            readonly startedAt?: string;
            readonly failureReason?: string;
        };
    };
}

export type MonitoringStatus =
    | { readonly evidence: true; readonly verdict: "clean" | "violations"; readonly run: string; readonly summary: string }
    | { readonly evidence: false; readonly problem: string; readonly summary: string };

async function monitoringStatus(
    clients: CliClients,
    ctx: StackContext,
    model: string,
    endpoint: DescribeEndpointOutput,
): Promise<MonitoringStatus> {
    const found = await monitoringEvidence(clients.s3, ctx.buckets.capture, model, {
        endpoint: endpoint.EndpointName!,
        endpointUpdatedAt: endpoint.LastModifiedTime,
        minRecords: ctx.config.models[model].monitoring.drift.minRecords,
    });
    return found.kind === "judged"
        ? { evidence: true, verdict: found.evidence.verdict, run: found.evidence.uri, summary: describeJudged(found.evidence) }
        : { evidence: false, problem: found.problem, summary: found.reason };
}

/**
 * Accuracy from a model-quality statistics document: Model Monitor's
 * `{"multiclass_classification_metrics": {"accuracy": {"value": ...}}}` (or binary_classification_metrics),
 * or an evaluation report's `{"metrics": {"accuracy": ...}}`.
 */
export function accuracyFromStatistics(doc: unknown): number | undefined {
    const d = doc as Record<string, Record<string, unknown> | undefined> | null;
    const candidates = [
        (d?.multiclass_classification_metrics?.accuracy as { value?: unknown } | undefined)?.value,
        (d?.binary_classification_metrics?.accuracy as { value?: unknown } | undefined)?.value,
        d?.metrics?.accuracy,
    ];
    const found = candidates.find((v) => typeof v === "number" && Number.isFinite(v));
    return found as number | undefined;
}

async function registeredAccuracy(s3: MonitoringS3, uri: string): Promise<{ accuracy?: number; error?: string }> {
    try {
        const loc = parseS3Uri(uri);
        const accuracy = accuracyFromStatistics(JSON.parse(await readObjectText(s3, loc.bucket, loc.key)));
        return accuracy === undefined ? { error: `${uri} has no accuracy` } : { accuracy };
    } catch (e) {
        return { error: `cannot read ${uri}: ${(e as Error).name === "SyntaxError" ? "not JSON" : (e as Error).message}` };
    }
}

/** The package's decision ledger, or why it cannot be read (infrastructure failures fail the command). */
async function ledgerStatus(
    clients: CliClients,
    info: PackageInfo,
): Promise<Pick<PackageStatus, "ledger" | "decisions" | "ledgerError" | "unfinishedDecision">> {
    try {
        const ledger = await readLedger(clients.s3, info.arn);
        const head = ledger.entries.at(-1);
        return {
            ledger: ledgerUri(ledger),
            decisions: ledger.entries,
            unfinishedDecision:
                head && !registryShows(info, head)
                    ? `the registry shows ${info.approvalStatus}, but the last decision in the ledger is ${head.action} (${describeEntry(head)}): ` +
                      `its registry update has not landed; running \`npm run ${head.action}\` for the model again completes it`
                    : undefined,
        };
    } catch (e) {
        if (isInfrastructureFailure(e)) throw e;
        return { ledgerError: (e as Error).message };
    }
}

async function packageStatus(clients: CliClients, info: PackageInfo): Promise<PackageStatus> {
    const md = info.customerMetadata;
    const [metrics, ledger] = await Promise.all([
        info.modelQualityStatisticsUri
            ? registeredAccuracy(clients.s3, info.modelQualityStatisticsUri)
            : ({} as { accuracy?: number; error?: string }),
        ledgerStatus(clients, info),
    ]);
    return {
        arn: info.arn,
        version: info.version,
        approvalStatus: String(info.approvalStatus),
        approvalDescription: info.approvalDescription,
        registeredAt: info.createdAt?.toISOString(),
        approvedBy: md[DECISION_KEYS.approvedBy],
        approvedAt: md[DECISION_KEYS.approvedAt],
        approvalNote: md[DECISION_KEYS.approvalNote],
        forcedReason: md[DECISION_KEYS.forcedReason],
        rejectedBy: md[DECISION_KEYS.rejectedBy],
        rejectedAt: md[DECISION_KEYS.rejectedAt],
        rejectionReason: md[DECISION_KEYS.rejectionReason],
        accuracy: metrics.accuracy,
        metricsUri: info.modelQualityStatisticsUri,
        metricsError: metrics.error,
        ...ledger,
    };
}

/** The newest execution among those listed (by start time, so the service's sort order does not matter). */
export function newestExecution(list: readonly PipelineExecutionSummary[]): PipelineExecutionSummary | undefined {
    let best: PipelineExecutionSummary | undefined;
    for (const e of list) if (!best || (e.StartTime?.getTime() ?? 0) > (best.StartTime?.getTime() ?? 0)) best = e;
    return best;
}

async function trainingStatus(client: RegistryClient, pipeline: string): Promise<ModelStatus["training"]> {
    try {
        const page = await client.send(
            new ListPipelineExecutionsCommand({ PipelineName: pipeline, SortBy: "CreationTime", SortOrder: "Descending", MaxResults: 10 }),
        );
        const e = newestExecution(page.PipelineExecutionSummaries ?? []);
        return {
            pipeline,
            exists: true,
            lastExecution: e && {
                arn: e.PipelineExecutionArn,
                status: e.PipelineExecutionStatus,
                startedAt: e.StartTime?.toISOString(),
                failureReason:
                    e.PipelineExecutionFailureReason && e.PipelineExecutionFailureReason !== "None"
                        ? e.PipelineExecutionFailureReason
                        : undefined,
            },
        };
    } catch (e) {
        if (isNotFound(e)) return { pipeline, exists: false };
        throw e;
    }
}

export async function modelStatus(clients: CliClients, ctx: StackContext, model: string): Promise<ModelStatus> {
    const env = ctx.config.environment;
    const name = endpointName(env, model);
    const [endpoint, newest, training] = await Promise.all([
        describeEndpointIfAny(clients.sagemaker, name),
        // Only staging follows its group's newest package; prod serves what was approved in staging.
        env === "staging"
            ? newestRegisteredPackage(clients.sagemaker, modelPackageGroupName(env, model)).catch((e) => {
                  if (isNotFound(e)) return undefined;
                  throw e;
              })
            : undefined,
        trainingStatus(clients.sagemaker, pipelineName(env, model, "training")),
    ]);
    let served: PackageStatus | undefined;
    let servedError: string | undefined;
    if (endpoint) {
        try {
            served = await packageStatus(clients, await describePackage(clients.sagemaker, await packageServedBy(clients.sagemaker, name)));
        } catch (e) {
            if (isInfrastructureFailure(e)) throw e;
            servedError = (e as Error).message;
        }
    }
    return {
        model,
        endpoint: { name, deployed: endpoint !== undefined, status: endpoint?.EndpointStatus },
        served,
        servedError,
        newestRegistered: newest && newest !== served?.arn ? newest : undefined,
        pinned: ctx.config.models[model]?.endpoint.modelPackageArn,
        monitoring: endpoint ? await monitoringStatus(clients, ctx, model, endpoint) : undefined,
        training,
    };
}

function shortPackage(arn: string): string {
    const m = /:model-package\/(.+)$/.exec(arn);
    return m ? m[1] : arn;
}

function decisionOf(p: PackageStatus): string {
    const last = p.decisions?.at(-1);
    if (last) return `${last.by} at ${last.at}${last.reason && last.action === "approve" ? " (forced)" : ""}`;
    if (p.approvedBy || p.approvedAt) return `${p.approvedBy ?? "?"} at ${p.approvedAt ?? "?"}${p.forcedReason ? " (forced)" : ""}`;
    if (p.rejectedBy || p.rejectedAt) return `${p.rejectedBy ?? "?"} at ${p.rejectedAt ?? "?"}`;
    return "-";
}

/** Left-aligned columns separated by two spaces. */
export function table(rows: readonly (readonly string[])[]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")).join("\n");
}

/** The human-readable status: one table row per model, then the details that do not fit a column. */
export function formatStatus(stack: string, statuses: readonly ModelStatus[]): string {
    const rows: string[][] = [["MODEL", "ENDPOINT", "PACKAGE", "APPROVAL", "DECIDED BY", "ACCURACY", "LAST TRAINING"]];
    const details: string[] = [];
    for (const s of statuses) {
        const p = s.served;
        const lastRun = s.training.lastExecution;
        rows.push([
            s.model,
            s.endpoint.deployed ? `${s.endpoint.name} (${s.endpoint.status ?? "?"})` : "not deployed yet",
            p ? shortPackage(p.arn) : s.endpoint.deployed ? "unknown" : "-",
            p ? p.approvalStatus : "-",
            p ? decisionOf(p) : "-",
            p?.accuracy !== undefined ? p.accuracy.toFixed(4) : "-",
            !s.training.exists ? "no pipeline" : lastRun ? `${lastRun.status ?? "?"} ${lastRun.startedAt ?? ""}`.trim() : "never run",
        ]);
        const lines: string[] = [];
        if (p) {
            lines.push(`package: ${p.arn}`);
            if (p.approvalDescription) lines.push(`decision: ${p.approvalDescription}`);
            else if (p.approvalNote) lines.push(`note: ${p.approvalNote}`);
            if (p.metricsError) lines.push(`metrics: ${p.metricsError}`);
            if (p.decisions?.length) {
                lines.push(`decisions (${p.ledger}):`);
                for (const d of p.decisions) lines.push(`  ${d.sequence}. ${describeEntry(d)}`);
            } else if (p.ledger) lines.push(`decisions: none yet (${p.ledger})`);
            if (p.ledgerError) lines.push(`decisions: ${p.ledgerError}`);
            if (p.unfinishedDecision) lines.push(p.unfinishedDecision);
        }
        if (s.servedError) lines.push(`served package: ${s.servedError}`);
        if (s.monitoring)
            lines.push(`monitoring: ${s.monitoring.evidence ? s.monitoring.summary : `no evidence for approve: ${s.monitoring.summary}`}`);
        if (!s.endpoint.deployed)
            lines.push(
                `endpoint ${s.endpoint.name} does not exist yet; \`pulumi up --stack ${stack}\` creates it once a package is registered`,
            );
        if (s.pinned) lines.push(`pinned in Pulumi.${stack}.yaml: ${s.pinned}`);
        if (s.newestRegistered)
            lines.push(
                `newer package registered: ${s.newestRegistered}` +
                    (s.pinned ? "" : ` (the next \`pulumi up --stack ${stack}\` serves it)`),
            );
        if (lastRun?.failureReason) lines.push(`last training failed: ${lastRun.failureReason}`);
        if (lines.length) details.push(`${s.model}:\n${lines.map((l) => `  ${l}`).join("\n")}`);
    }
    return [`stack ${stack}`, table(rows), ...(details.length ? ["", ...details] : [])].join("\n");
}

export async function status(opts: StatusOptions, deps: CliDeps = {}): Promise<void> {
    const print = deps.print ?? console.log;
    const { ctx, clients } = await openStack(opts.stack, deps.makeClients);
    if (opts.model) modelOf(ctx, opts.model);
    const models = opts.model ? [opts.model] : Object.keys(ctx.config.models);
    const statuses = await Promise.all(models.map((m) => modelStatus(clients, ctx, m)));
    const cost = planEstimate(projectDir(), ctx.stack);
    if (opts.json)
        print(
            JSON.stringify(
                {
                    stack: ctx.stack,
                    environment: ctx.config.environment,
                    region: ctx.region,
                    models: statuses,
                    cost: cost.estimate ?? null,
                    costNote: cost.note,
                },
                null,
                2,
            ),
        );
    else print([formatStatus(ctx.stack, statuses), "", ...costSection(cost)].join("\n"));
}

/** The monthly estimate of the stack's current offline plan: the same figures `npm run plan` prints. */
export function costSection(cost: ReturnType<typeof planEstimate>): string[] {
    return cost.estimate ? formatEstimate(cost.estimate) : [`cost: ${cost.note}`];
}

if (require.main === module) {
    runCli(async () => {
        const opts = statusOptions(process.argv.slice(2));
        if (opts) await status(opts);
    });
}
