import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import { findNewestMonitoringRun, formatViolations, readRunViolations } from "../lib/monitoring-reports";
import { CliError, modelOf, runCli } from "./common";
import { CliSpec, parseCli, required } from "./lib/args";
import { isInfrastructureFailure } from "./lib/aws-errors";
import { CliDeps } from "./lib/clients";
import { DECISION_KEYS, Decision, recordDecision } from "./lib/decision";
import { servedPackage } from "./lib/served";
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

/** Monitoring evidence that cannot be read stops the approval with the reason, not a stack trace. */
async function asCliError<T>(p: Promise<T>): Promise<T> {
    try {
        return await p;
    } catch (e) {
        if (isInfrastructureFailure(e)) throw e;
        throw new CliError(`cannot check the monitoring evidence: ${(e as Error).message}; nothing was approved`);
    }
}

export async function approve(opts: ApproveOptions, deps: CliDeps = {}): Promise<void> {
    const print = deps.print ?? console.log;
    const warn = deps.warn ?? console.error;
    const { ctx, clients } = await openStack(opts.stack, deps.makeClients);
    modelOf(ctx, opts.model);
    const { endpoint, endpointUpdatedAt, info } = await servedPackage(clients.sagemaker, ctx, opts.model);

    if (info.approvalStatus === ModelApprovalStatus.APPROVED) {
        const by = info.customerMetadata[DECISION_KEYS.approvedBy];
        const at = info.customerMetadata[DECISION_KEYS.approvedAt];
        print(`${info.arn} (served by ${endpoint}) is already Approved${by ? ` by ${by}` : ""}${at ? ` at ${at}` : ""}; nothing changed`);
        return;
    }

    const bucket = ctx.buckets.capture;
    const newest = await asCliError(findNewestMonitoringRun(clients.s3, bucket, opts.model));
    let violationCount = 0;
    if (newest.kind === "none") {
        warn(`warning: ${newest.reason}, so there is no monitoring evidence for ${opts.model}; approving without a monitoring check`);
    } else {
        const where = `s3://${bucket}/${newest.run.prefix}`;
        // A run's folder names the end of the hour of traffic it checked; traffic from before the endpoint
        // last changed was answered by whatever it served then.
        const coveredUntil = newest.run.hour ?? newest.run.lastModified;
        if (coveredUntil && endpointUpdatedAt && coveredUntil <= endpointUpdatedAt)
            warn(
                `warning: the newest monitoring run ${where} checked traffic up to ${coveredUntil.toISOString()}, before ${endpoint} last changed ` +
                    `(${endpointUpdatedAt.toISOString()}); it may describe the package served before ${info.arn}`,
            );
        const violations = await asCliError(readRunViolations(clients.s3, bucket, newest.run));
        if (violations === undefined) {
            warn(`warning: the newest monitoring run ${where} has no constraint_violations.json; approving without a monitoring check`);
        } else if (violations.length > 0) {
            violationCount = violations.length;
            const summary = `the newest monitoring run of ${opts.model} (${where}) has ${violations.length} violation${violations.length === 1 ? "" : "s"}:\n${formatViolations(violations)}`;
            if (opts.forceReason === undefined)
                throw new CliError(
                    `${summary}\n${info.arn} was not approved. Look at the report with\n` +
                        `  npm run report -- --stack ${ctx.stack} --model ${opts.model}\n` +
                        "or approve anyway, recording why:\n" +
                        `  npm run approve -- --stack ${ctx.stack} --model ${opts.model} --force --reason "<why these violations are acceptable>"`,
                );
            warn(`warning: ${summary}\napproving anyway (--force): ${opts.forceReason}`);
        } else {
            print(`monitoring: the newest run ${where} has no violations`);
        }
    }

    const decision: Decision = {
        action: "approve",
        by: ctx.callerArn,
        at: (deps.now ?? (() => new Date()))(),
        note: opts.note,
        reason: opts.forceReason,
        overriddenViolations: opts.forceReason !== undefined ? violationCount : undefined,
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
