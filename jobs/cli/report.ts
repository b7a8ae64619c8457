import { readFileSync } from "fs";
import { join, resolve } from "path";
import { MONITORING_OUTPUT_FILES } from "../../infra/job-contract";
import { endpointName } from "../../infra/naming";
import {
    describeJudged,
    endpointRunsPrefix,
    fetchRun,
    formatViolations,
    judgeRun,
    listMonitoringRuns,
    parseViolations,
    saveRun,
} from "../lib/monitoring-reports";
import { CliError, modelOf, projectDir, runCli } from "./common";
import { CliSpec, parseCli, required } from "./lib/args";
import { CliDeps } from "./lib/clients";
import { describeEndpointIfAny } from "./lib/served";
import { openStack } from "./lib/stack";

export const REPORT_CLI = {
    usage: "npm run report -- --stack <stack> --model <model> [--out <dir>]",
    help: [
        "Downloads the newest monitoring run of the model's endpoint (statistics.json, constraint_violations.json,",
        "report.html and its completion record _complete.json) from the stack's capture bucket, says whether it",
        "counts as evidence for `approve` (complete, checksums matching, judged on enough records, about the",
        "package the endpoint serves now) and why not, prints its violations and where report.html is.",
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
    const settings = modelOf(ctx, opts.model);
    const bucket = ctx.buckets.capture;
    const endpoint = endpointName(ctx.config.environment, opts.model);
    const listed = await listMonitoringRuns(clients.s3, bucket, opts.model, endpoint);
    if (listed.kind === "none")
        throw new CliError(
            `${listed.reason}; monitoring of ${endpoint} writes there once captured traffic has been checked ` +
                `(s3://${bucket}/${endpointRunsPrefix(opts.model, endpoint)}<schedule>/yyyy/mm/dd/hh/)`,
        );
    const run = listed.runs[0];
    const fetched = await fetchRun(clients.s3, bucket, run);
    const dir = resolve(opts.out ?? defaultReportDir(ctx.stack, opts.model));
    const files = await saveRun(fetched, opts.model, dir);
    const described = await describeEndpointIfAny(clients.sagemaker, endpoint);
    const judged = judgeRun(fetched, {
        endpoint,
        endpointUpdatedAt: described?.LastModifiedTime,
        minRecords: settings.monitoring.drift.minRecords,
    });
    print(
        `newest monitoring run of ${opts.model} in stack ${ctx.stack}: s3://${bucket}/${run.prefix}${run.hour ? ` (traffic up to ${run.hour.toISOString().slice(0, 13)}:00Z)` : ""}`,
    );
    print(
        judged.kind === "evidence"
            ? `evidence: ${describeJudged(judged).slice(judged.uri.length + 1)}`
            : `not evidence (${judged.kind}): ${judged.reason.slice(judged.uri.length + 1)}`,
    );
    const violationsFile = files[MONITORING_OUTPUT_FILES.violations];
    if (judged.kind === "evidence") {
        if (judged.violations.length) print(`violations: ${judged.violations.length}\n${formatViolations(judged.violations)}`);
    } else if (violationsFile) {
        let violations;
        try {
            violations = parseViolations(readFileSync(violationsFile, "utf8"), violationsFile);
        } catch (e) {
            print(`violations: unreadable, ${(e as Error).message}`);
        }
        if (violations)
            print(
                violations.length === 0
                    ? "violations: none listed (not evidence, see above)"
                    : `violations: ${violations.length} listed (not evidence, see above)\n${formatViolations(violations)}`,
            );
    } else {
        print(`violations: the run has no ${MONITORING_OUTPUT_FILES.violations}`);
    }
    const statistics = files[MONITORING_OUTPUT_FILES.statistics];
    if (statistics) print(`statistics: ${statistics}`);
    const html = files[MONITORING_OUTPUT_FILES.report];
    print(html ? `report: ${html}` : `report: the run has no ${MONITORING_OUTPUT_FILES.report}`);
}

if (require.main === module) {
    runCli(async () => {
        const opts = reportOptions(process.argv.slice(2));
        if (opts) await report(opts);
    });
}
