import { describeJudged, formatViolations, monitoringEvidence } from "../lib/monitoring-reports";
import { CliError, modelOf, runCli, StackContext } from "./common";
import { CliSpec, parseCli, required } from "./lib/args";
import { CliClients, CliDeps } from "./lib/clients";
import { Decision } from "./lib/decision";
import { LedgerEvidence, planDecision, recordPlannedDecision } from "./lib/ledger";
import { servedPackage, ServedPackage } from "./lib/served";
import { openStack } from "./lib/stack";

export const APPROVE_CLI = {
    usage: 'npm run approve -- --stack <stack> --model <model> [--note "..."] [--force --reason "..."] [--overrule]',
    help: [
        "Marks the model package the stack's endpoint serves as Approved, so `pulumi up --stack prod` deploys it.",
        "Records the decision first in the decision ledger (one S3 object per decision, written only if no other",
        "decision got there first), then in the package: who approved (the AWS caller), when (UTC) and the note",
        "in its approval description and metadata (approved-by, approved-at, approval-note, decision-record).",
        "",
        "Approves only on monitoring evidence: the newest complete, judged monitoring run of the endpoint since",
        "it last changed must be clean. Refuses while there is no such run, or it has violations; --force --reason",
        "approves anyway and records the reason and what it overrode (approval-forced-*).",
        "",
        "  --stack     stack whose endpoint to read (a Pulumi.<stack>.yaml), usually staging",
        "  --model     model name from the stack file",
        "  --note      free text kept with the approval",
        "  --force     approve without clean monitoring evidence (needs --reason)",
        "  --reason    why approving without it is acceptable",
        "  --overrule  approve a package that was rejected (the rejection stays in the ledger)",
        "",
        "Exit codes: 0 approved or already approved, 1 refused or bad input, 3 another decision came first,",
        "4 throttled, 5 network, 6 permissions, 7 credentials, 8 AWS error.",
    ].join("\n"),
    options: {
        stack: { type: "string" },
        model: { type: "string" },
        note: { type: "string" },
        force: { type: "boolean" },
        reason: { type: "string" },
        overrule: { type: "boolean" },
    },
} as const satisfies CliSpec<Record<string, { type: "string" | "boolean" }>>;

export interface ApproveOptions {
    readonly stack: string;
    readonly model: string;
    readonly note?: string;
    /** Set with --force: approve without clean monitoring evidence, recording this reason. */
    readonly forceReason?: string;
    /** Approve a package that was rejected. */
    readonly overrule?: boolean;
}

/** Validates the command line; undefined when --help was printed. */
export function approveOptions(argv: readonly string[], print?: (text: string) => void): ApproveOptions | undefined {
    const v = parseCli(APPROVE_CLI, argv, print);
    if (!v) return undefined;
    const usage = APPROVE_CLI.usage;
    if (v.force && v.reason === undefined)
        throw new CliError(
            `--force needs --reason "..." saying why approving without clean monitoring evidence is acceptable; it is recorded with the approval\nusage: ${usage}`,
        );
    if (!v.force && v.reason !== undefined)
        throw new CliError(`--reason is only used with --force; to keep a remark with the approval use --note "..."\nusage: ${usage}`);
    return {
        stack: required(v.stack, "stack", usage),
        model: required(v.model, "model", usage),
        note: v.note,
        forceReason: v.force ? v.reason : undefined,
        overrule: v.overrule ?? false,
    };
}

/** The monitoring verdict on the served package, checked before anything is recorded. */
interface EvidenceCheck {
    /** approve --force: what the approval overrode, recorded with it. */
    readonly overriddenViolations?: number;
    readonly overriddenEvidence?: string;
    /** The judged run the approval went by. */
    readonly evidence?: LedgerEvidence;
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
    const c = judged.completion;
    const went: LedgerEvidence = { run: judged.uri, verdict: c.verdict, records: c.records, window: c.window, runId: c.runId };
    if (judged.verdict === "clean") {
        print(`monitoring: ${describeJudged(judged)}`);
        return { evidence: went };
    }
    const n = judged.violations.length;
    const summary = `the newest judged monitoring run of ${opts.model} (${judged.uri}) has ${n} violation${n === 1 ? "" : "s"}:\n${formatViolations(judged.violations)}`;
    if (opts.forceReason === undefined)
        throw new CliError(
            `${summary}\n${info.arn} was not approved. Look at the report with\n${report}\n` +
                `or approve anyway, recording why:\n${forceCommand("why these violations are acceptable")}`,
        );
    warn(`warning: ${summary}\napproving anyway (--force): ${opts.forceReason}`);
    return { overriddenViolations: n, evidence: went };
}

export async function approve(opts: ApproveOptions, deps: CliDeps = {}): Promise<void> {
    const print = deps.print ?? console.log;
    const warn = deps.warn ?? console.error;
    const { ctx, clients } = await openStack(opts.stack, deps.makeClients);
    modelOf(ctx, opts.model);
    const served = await servedPackage(clients.sagemaker, ctx, opts.model);
    const { endpoint, info } = served;
    const plan = await planDecision(
        clients,
        info,
        { action: "approve", note: opts.note, reason: opts.forceReason },
        {
            overrule: opts.overrule,
            overruleCommand:
                `npm run approve -- --stack ${ctx.stack} --model ${opts.model}${opts.note !== undefined ? ` --note ${JSON.stringify(opts.note)}` : ""}` +
                `${opts.forceReason !== undefined ? ` --force --reason ${JSON.stringify(opts.forceReason)}` : ""} --overrule`,
            print,
            warn,
        },
    );
    if (!plan) return;

    const checked = await checkEvidence(opts, ctx, clients, served, print, warn);
    const decision: Omit<Decision, "recordUri"> = {
        action: "approve",
        by: ctx.callerArn,
        at: (deps.now ?? (() => new Date()))(),
        note: opts.note,
        reason: opts.forceReason,
        overriddenViolations: opts.forceReason !== undefined ? (checked.overriddenViolations ?? 0) : undefined,
        overriddenEvidence: checked.overriddenEvidence,
    };
    const { uri } = await recordPlannedDecision(clients, plan, decision, { evidence: checked.evidence, warn });
    print(
        `approved ${info.arn} (model ${opts.model}, version ${info.version ?? "?"}, served by ${endpoint}; was ${plan.info.approvalStatus}) as ${ctx.callerArn}`,
    );
    print(`decision recorded in ${uri}`);
    if (ctx.config.environment === "staging") print("the next `pulumi up --stack prod` will deploy it");
}

if (require.main === module) {
    runCli(async () => {
        const opts = approveOptions(process.argv.slice(2));
        if (opts) await approve(opts);
    });
}
