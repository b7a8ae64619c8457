import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import { modelOf, runCli } from "./common";
import { CliSpec, parseCli, required } from "./lib/args";
import { CliDeps } from "./lib/clients";
import { DECISION_KEYS, recordDecision } from "./lib/decision";
import { servedPackage } from "./lib/served";
import { openStack } from "./lib/stack";

export const REJECT_CLI = {
    usage: 'npm run reject -- --stack <stack> --model <model> --reason "..."',
    help: [
        "Marks the model package the stack's endpoint serves as Rejected, so prod never deploys it and staging",
        "moves on to the next registered package at its next `pulumi up`. Records who rejected it, when (UTC)",
        "and why in the package's approval description and metadata (rejected-by, rejected-at, rejection-reason).",
        "",
        "  --stack   stack whose endpoint to read (a Pulumi.<stack>.yaml), usually staging",
        "  --model   model name from the stack file",
        "  --reason  why the package is rejected (required)",
    ].join("\n"),
    options: {
        stack: { type: "string" },
        model: { type: "string" },
        reason: { type: "string" },
    },
} as const satisfies CliSpec<Record<string, { type: "string" | "boolean" }>>;

export interface RejectOptions {
    readonly stack: string;
    readonly model: string;
    readonly reason: string;
}

export function rejectOptions(argv: readonly string[], print?: (text: string) => void): RejectOptions | undefined {
    const v = parseCli(REJECT_CLI, argv, print);
    if (!v) return undefined;
    const usage = REJECT_CLI.usage;
    return {
        stack: required(v.stack, "stack", usage),
        model: required(v.model, "model", usage),
        reason: required(v.reason, "reason", usage, "; say why the package is rejected, it is recorded with the decision"),
    };
}

export async function reject(opts: RejectOptions, deps: CliDeps = {}): Promise<void> {
    const print = deps.print ?? console.log;
    const warn = deps.warn ?? console.error;
    const { ctx, clients } = await openStack(opts.stack, deps.makeClients);
    modelOf(ctx, opts.model);
    const { endpoint, info } = await servedPackage(clients.sagemaker, ctx, opts.model);
    if (info.approvalStatus === ModelApprovalStatus.REJECTED) {
        const by = info.customerMetadata[DECISION_KEYS.rejectedBy];
        print(`${info.arn} (served by ${endpoint}) is already Rejected${by ? ` by ${by}` : ""}; nothing changed`);
        return;
    }
    if (info.approvalStatus === ModelApprovalStatus.APPROVED)
        warn(
            `warning: ${info.arn} was Approved; a prod stack that serves it will refuse it at its next \`pulumi up\` until another package is approved`,
        );
    await recordDecision(clients.sagemaker, info.arn, info.customerMetadata, {
        action: "reject",
        by: ctx.callerArn,
        at: (deps.now ?? (() => new Date()))(),
        reason: opts.reason,
    });
    print(
        `rejected ${info.arn} (model ${opts.model}, version ${info.version ?? "?"}, served by ${endpoint}; was ${info.approvalStatus}) as ${ctx.callerArn}`,
    );
    if (ctx.config.environment === "staging")
        print(`the next \`pulumi up --stack ${ctx.stack}\` serves the newest package that is not Rejected, if there is one`);
}

if (require.main === module) {
    runCli(async () => {
        const opts = rejectOptions(process.argv.slice(2));
        if (opts) await reject(opts);
    });
}
