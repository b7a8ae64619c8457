import { modelOf, runCli } from "./common";
import { CliSpec, parseCli, required } from "./lib/args";
import { CliDeps } from "./lib/clients";
import { planDecision, recordPlannedDecision } from "./lib/ledger";
import { servedPackage } from "./lib/served";
import { openStack } from "./lib/stack";

export const REJECT_CLI = {
    usage: 'npm run reject -- --stack <stack> --model <model> --reason "..." [--overrule]',
    help: [
        "Marks the model package the stack's endpoint serves as Rejected, so prod never deploys it and staging",
        "moves on to the next registered package at its next `pulumi up`. Records the decision first in the",
        "decision ledger (one S3 object per decision, written only if no other decision got there first), then",
        "who rejected it, when (UTC) and why in the package's approval description and metadata (rejected-by,",
        "rejected-at, rejection-reason, decision-record).",
        "",
        "  --stack     stack whose endpoint to read (a Pulumi.<stack>.yaml), usually staging",
        "  --model     model name from the stack file",
        "  --reason    why the package is rejected (required)",
        "  --overrule  reject a package that was approved (the approval stays in the ledger); a prod stack that",
        "              serves it then refuses it until another package is approved or pinned",
        "",
        "Exit codes: 0 rejected or already rejected, 1 bad input, 3 another decision came first, 4 throttled,",
        "5 network, 6 permissions, 7 credentials, 8 AWS error.",
    ].join("\n"),
    options: {
        stack: { type: "string" },
        model: { type: "string" },
        reason: { type: "string" },
        overrule: { type: "boolean" },
    },
} as const satisfies CliSpec<Record<string, { type: "string" | "boolean" }>>;

export interface RejectOptions {
    readonly stack: string;
    readonly model: string;
    readonly reason: string;
    /** Reject a package that was approved. */
    readonly overrule?: boolean;
}

export function rejectOptions(argv: readonly string[], print?: (text: string) => void): RejectOptions | undefined {
    const v = parseCli(REJECT_CLI, argv, print);
    if (!v) return undefined;
    const usage = REJECT_CLI.usage;
    return {
        stack: required(v.stack, "stack", usage),
        model: required(v.model, "model", usage),
        reason: required(v.reason, "reason", usage, "; say why the package is rejected, it is recorded with the decision"),
        overrule: v.overrule ?? false,
    };
}

export async function reject(opts: RejectOptions, deps: CliDeps = {}): Promise<void> {
    const print = deps.print ?? console.log;
    const warn = deps.warn ?? console.error;
    const { ctx, clients } = await openStack(opts.stack, deps.makeClients);
    modelOf(ctx, opts.model);
    const { endpoint, info } = await servedPackage(clients.sagemaker, ctx, opts.model);
    const plan = await planDecision(
        clients,
        info,
        { action: "reject", reason: opts.reason },
        {
            overrule: opts.overrule,
            overruleCommand: `npm run reject -- --stack ${ctx.stack} --model ${opts.model} --reason ${JSON.stringify(opts.reason)} --overrule`,
            print,
            warn,
        },
    );
    if (!plan) return;
    if (plan.overruling)
        warn(
            `warning: overruling: ${info.arn} was ${plan.overruling}; a prod stack that serves it refuses it at its next \`pulumi up\` until another package is approved or pinned`,
        );
    const { uri } = await recordPlannedDecision(
        clients,
        plan,
        { action: "reject", by: ctx.callerArn, at: (deps.now ?? (() => new Date()))(), reason: opts.reason },
        { warn },
    );
    print(
        `rejected ${info.arn} (model ${opts.model}, version ${info.version ?? "?"}, served by ${endpoint}; was ${plan.info.approvalStatus}) as ${ctx.callerArn}`,
    );
    print(`decision recorded in ${uri}`);
    if (ctx.config.environment === "staging")
        print(`the next \`pulumi up --stack ${ctx.stack}\` serves the newest package that is not Rejected, if there is one`);
}

if (require.main === module) {
    runCli(async () => {
        const opts = rejectOptions(process.argv.slice(2));
        if (opts) await reject(opts);
    });
}
