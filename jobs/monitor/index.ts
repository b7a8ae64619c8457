import { configureSharpForJobs } from "../lib/image-properties";
import { defaultWorkerCount, IN_PROCESS, WorkerPool } from "../lib/workers";
import { fmtPct } from "./format";
import { runMonitor } from "./run";
import { resolveSettings, USAGE } from "./settings";
import { MANIFEST_FILE, writeShardManifest } from "./shards";
import { join } from "path";

/**
 * The `monitor` job: `[...JOBS_ENTRYPOINT, "monitor", ...flags]`, or with Model Monitor's environment
 * variables and no flags. Reads one window of endpoint capture data, compares it with the model's
 * monitoring baseline and writes Model Monitor's output files. Violations are findings, not failures: the
 * job exits 0 and the alarms act on the metrics.
 */
export async function main(argv: string[]): Promise<void> {
    if (argv.includes("--help")) {
        process.stdout.write(USAGE);
        return;
    }
    const settings = resolveSettings(argv);
    if (settings.listManifest) {
        const plan = await writeShardManifest({ ...settings, listManifest: settings.listManifest, shards: settings.shards ?? 1 });
        console.log(
            `monitor ${settings.endpoint}: ${plan.captureFiles} capture files for ${plan.placeholders} instances in ${join(settings.listManifest, MANIFEST_FILE)}`,
        );
        return;
    }
    configureSharpForJobs();
    // Only a run that reads capture files decodes images; a merge step reads partial statistics.
    const workerCount = settings.mergeFrom ? 0 : (settings.workers ?? defaultWorkerCount());
    const workers = workerCount > 0 ? new WorkerPool({ size: workerCount }) : IN_PROCESS;
    let r;
    try {
        r = await runMonitor(settings, {}, workers);
    } finally {
        await workers.close();
    }
    if (settings.partialOutput) {
        console.log(
            `monitor ${r.endpoint}: partial statistics of ${r.counts.records} records in ${r.counts.files} files in ${settings.partialOutput}`,
        );
        return;
    }
    const c = r.counts;
    console.log(
        `monitor ${r.endpoint} ${r.window.start.toISOString()}..${r.window.end.toISOString()}: ` +
            `${c.records} records in ${c.files} files, ${c.decodeErrors} undecodable (${fmtPct(c.records ? c.decodeErrors / c.records : 0)}), ` +
            `${r.violations.length} violations; verdict ${r.verdict}${r.notJudgedReason ? ` (${r.notJudgedReason})` : ""}` +
            (c.sampled < c.inputs ? `; images measured on a uniform sample of ${c.sampled} of ${c.inputs}` : ""),
    );
    for (const v of r.violations) console.log(`  - ${v.feature_name}: ${v.description}`);
    console.log(`outputs in ${settings.output}${settings.upload ? ` and ${settings.upload}` : ""}`);
}
