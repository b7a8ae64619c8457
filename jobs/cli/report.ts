import { readFileSync } from "fs";
import { join, resolve } from "path";
import { endpointName, prefixes } from "../../infra/naming";
import { downloadRun, findNewestMonitoringRun, formatViolations, parseViolations } from "../lib/monitoring-reports";
import { CliError, modelOf, projectDir, runCli } from "./common";
import { CliSpec, parseCli, required } from "./lib/args";
import { isInfrastructureFailure } from "./lib/aws-errors";
import { CliDeps } from "./lib/clients";
import { openStack } from "./lib/stack";

export const REPORT_CLI = {
    usage: "npm run report -- --stack <stack> --model <model> [--out <dir>]",
    help: [
        "Downloads the model's newest monitoring run (statistics.json, constraint_violations.json, report.html)",
        "from the stack's capture bucket, prints its violations and where report.html is.",
        "",
        "  --stack   a Pulumi.<stack>.yaml in the project folder",
        "  --model   model name from the stack file",
        "  --out     folder to download into (default .monitoring/<stack>/<model>/); each run gets its own",
        "            subfolder named like its S3 prefix, so earlier downloads are kept",
    ].join("\n"),
    options: {
        stack: { type: "string" },
        model: { type: "string" },
        out: { type: "string" },
    },
} as const satisfies CliSpec<Record<string, { type: "string" | "boolean" }>>;

export interface ReportOptions {
    readonly stack: string;
    readonly model: string;
    readonly out?: string;
}

export function reportOptions(argv: readonly string[], print?: (text: string) => void): ReportOptions | undefined {
    const v = parseCli(REPORT_CLI, argv, print);
    if (!v) return undefined;
    return { stack: required(v.stack, "stack", REPORT_CLI.usage), model: required(v.model, "model", REPORT_CLI.usage), out: v.out };
}

/** Where a report is downloaded to when --out is not given. */
export function defaultReportDir(stack: string, model: string): string {
    return join(projectDir(), ".monitoring", stack, model);
}

export async function report(opts: ReportOptions, deps: CliDeps = {}): Promise<void> {
    const print = deps.print ?? console.log;
    const { ctx, clients } = await openStack(opts.stack, deps.makeClients);
    modelOf(ctx, opts.model);
    const bucket = ctx.buckets.capture;
    let newest;
    try {
        newest = await findNewestMonitoringRun(clients.s3, bucket, opts.model);
    } catch (e) {
        if (isInfrastructureFailure(e)) throw e;
        throw new CliError((e as Error).message);
    }
    if (newest.kind === "none")
        throw new CliError(
            `${newest.reason}; monitoring of ${endpointName(ctx.config.environment, opts.model)} writes there once captured traffic has been checked ` +
                `(s3://${bucket}/${prefixes.monitoringModel(opts.model)}<endpoint>/<schedule>/yyyy/mm/dd/hh/)`,
        );
    const run = newest.run;
    const dir = resolve(opts.out ?? defaultReportDir(ctx.stack, opts.model));
    const files = await downloadRun(clients.s3, bucket, opts.model, run, dir);
    print(
        `newest monitoring run of ${opts.model} in stack ${ctx.stack}: s3://${bucket}/${run.prefix}${run.hour ? ` (traffic up to ${run.hour.toISOString().slice(0, 13)}:00Z)` : ""}`,
    );
    if (files.violations) {
        let violations;
        try {
            violations = parseViolations(readFileSync(files.violations, "utf8"), files.violations);
        } catch (e) {
            violations = undefined;
            print(`violations: unreadable, ${(e as Error).message}`);
        }
        if (violations)
            print(violations.length === 0 ? "violations: none" : `violations: ${violations.length}\n${formatViolations(violations)}`);
    } else {
        print("violations: the run has no constraint_violations.json");
    }
    if (files.statistics) print(`statistics: ${files.statistics}`);
    print(files.report ? `report: ${files.report}` : "report: the run has no report.html");
}

if (require.main === module) {
    runCli(async () => {
        const opts = reportOptions(process.argv.slice(2));
        if (opts) await report(opts);
    });
}
