import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import { describeJudged, formatViolations, monitoringEvidence } from "../lib/monitoring-reports";
import { CliError, modelOf, runCli, StackContext } from "./common";
import { CliSpec, parseCli, required } from "./lib/args";
import { CliClients, CliDeps } from "./lib/clients";
import { DECISION_KEYS, Decision, recordDecision } from "./lib/decision";
import { servedPackage, ServedPackage } from "./lib/served";
import { openStack } from "./lib/stack";

export const APPROVE_CLI = {
    usage: 'npm run approve -- --stack <stack> --model <model> [--note "..."] [--force --reason "..."]',
    help: [
        "Marks the model package the stack's endpoint serves as Approved, so `pulumi up --stack prod` deploys it.",
        "Records who approved (the AWS caller), when (UTC) and the note in the package's approval description",
        "and metadata (approved-by, approved-at, approval-note).",
        "",
        "Refuses while the model's newest monitoring run has violations; --force --reason approves anyway and",
        "records the reason (approval-forced-reason).",
        "",
        "  --stack   stack whose endpoint to read (a Pulumi.<stack>.yaml), usually staging",
        "  --model   model name from the stack file",
        "  --note    free text kept with the approval",
        "  --force   approve despite monitoring violations (needs --reason)",
        "  --reason  why the violations are acceptable",
    ].join("\n"),
    options: {
        stack: { type: "string" },
        model: { type: "string" },
        note: { type: "string" },
        force: { type: "boolean" },
        reason: { type: "string" },
    },
} as const satisfies CliSpec<Record<string, { type: "string" | "boolean" }>>;

export interface ApproveOptions {
    readonly stack: string;
    readonly model: string;
    readonly note?: string;
    /** Set with --force: approve despite violations, recording this reason. */
    readonly forceReason?: string;
}

/** Validates the command line; undefined when --help was printed. */
export function approveOptions(argv: readonly string[], print?: (text: string) => void): ApproveOptions | undefined {
    const v = parseCli(APPROVE_CLI, argv, print);
    if (!v) return undefined;
    const usage = APPROVE_CLI.usage;
    if (v.force && v.reason === undefined)
        throw new CliError(
            `--force needs --reason "..." saying why the monitoring violations are acceptable; it is recorded with the approval\nusage: ${usage}`,
        );
    if (!v.force && v.reason !== undefined)
        throw new CliError(`--reason is only used with --force; to keep a remark with the approval use --note "..."\nusage: ${usage}`);
    return {
        stack: required(v.stack, "stack", usage),
        model: required(v.model, "model", usage),
        note: v.note,
        forceReason: v.force ? v.reason : undefined,
    };
}

/** The monitoring verdict on the served package, checked before anything is recorded. */
interface EvidenceCheck {
    /** approve --force: what the approval overrode, recorded with it. */
    readonly overriddenViolations?: number;
    readonly overriddenEvidence?: string;
}

/**
 * Refuses (unless forced) when the endpoint's monitoring gives no evidence for the package it serves, or
 * evidence of violations; prints what it went by.
 */
async function checkEvidence(
    opts: ApproveOptions,
    ctx: StackContext,
    clients: CliClients,
    served: ServedPackage,
    print: (line: string) => void,
    warn: (line: string) => void,
): Promise<EvidenceCheck> {
    const { endpoint, endpointUpdatedAt, info } = served;
    const evidence = await monitoringEvidence(clients.s3, ctx.buckets.capture, opts.model, {
        endpoint,
        endpointUpdatedAt,
        minRecords: modelOf(ctx, opts.model).monitoring.drift.minRecords,
    });
    const report = `  npm run report -- --stack ${ctx.stack} --model ${opts.model}`;
    const forceCommand = (why: string) => `  npm run approve -- --stack ${ctx.stack} --model ${opts.model} --force --reason "<${why}>"`;
    if (evidence.kind === "none") {
        const summary = `there is no monitoring evidence for ${info.arn} (served by ${endpoint}): ${evidence.reason}`;
        if (opts.forceReason === undefined)
            throw new CliError(
                `${summary}\n${info.arn} was not approved. Wait for a complete, judged monitoring run of its traffic and look at it with\n` +
                    `${report}\nor approve anyway, recording why:\n${forceCommand("why approving without this evidence is acceptable")}`,
            );
        warn(`warning: ${summary}\napproving anyway (--force): ${opts.forceReason}`);
        return { overriddenEvidence: `${evidence.problem}: ${evidence.reason}` };
    }
    for (const p of evidence.passedOver) print(`monitoring: ${(p as { reason: string }).reason}; going by the run before it`);
    const judged = evidence.evidence;
    if (judged.verdict === "clean") {
        print(`monitoring: ${describeJudged(judged)}`);
        return {};
    }
    const n = judged.violations.length;
    const summary = `the newest judged monitoring run of ${opts.model} (${judged.uri}) has ${n} violation${n === 1 ? "" : "s"}:\n${formatViolations(judged.violations)}`;
    if (opts.forceReason === undefined)
        throw new CliError(
            `${summary}\n${info.arn} was not approved. Look at the report with\n${report}\n` +
                `or approve anyway, recording why:\n${forceCommand("why these violations are acceptable")}`,
        );
    warn(`warning: ${summary}\napproving anyway (--force): ${opts.forceReason}`);
    return { overriddenViolations: n };
}

export async function approve(opts: ApproveOptions, deps: CliDeps = {}): Promise<void> {
    const print = deps.print ?? console.log;
    const warn = deps.warn ?? console.error;
    const { ctx, clients } = await openStack(opts.stack, deps.makeClients);
    modelOf(ctx, opts.model);
    const served = await servedPackage(clients.sagemaker, ctx, opts.model);
    const { endpoint, info } = served;

    if (info.approvalStatus === ModelApprovalStatus.APPROVED) {
        const by = info.customerMetadata[DECISION_KEYS.approvedBy];
        const at = info.customerMetadata[DECISION_KEYS.approvedAt];
        print(`${info.arn} (served by ${endpoint}) is already Approved${by ? ` by ${by}` : ""}${at ? ` at ${at}` : ""}; nothing changed`);
        return;
    }

    const checked = await checkEvidence(opts, ctx, clients, served, print, warn);
    const decision: Decision = {
        action: "approve",
        by: ctx.callerArn,
        at: (deps.now ?? (() => new Date()))(),
        note: opts.note,
        reason: opts.forceReason,
        overriddenViolations: opts.forceReason !== undefined ? (checked.overriddenViolations ?? 0) : undefined,
        overriddenEvidence: checked.overriddenEvidence,
    };
    await recordDecision(clients.sagemaker, info.arn, info.customerMetadata, decision);
    const was = info.approvalStatus;
    print(
        `approved ${info.arn} (model ${opts.model}, version ${info.version ?? "?"}, served by ${endpoint}; was ${was}) as ${ctx.callerArn}`,
    );
    if (ctx.config.environment === "staging") print("the next `pulumi up --stack prod` will deploy it");
}

if (require.main === module) {
    runCli(async () => {
        const opts = approveOptions(process.argv.slice(2));
        if (opts) await approve(opts);
    });
}
