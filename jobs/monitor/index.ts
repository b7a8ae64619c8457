import sharp from "sharp";
import { fmtPct } from "./analysis";
import { runMonitor } from "./run";
import { resolveSettings, USAGE } from "./settings";

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
    // Every image is decoded once; libvips' operation cache would only hold memory that grows with the run.
    sharp.cache(false);
    const r = await runMonitor(settings);
    const c = r.counts;
    console.log(
        `monitor ${r.endpoint} ${r.window.start.toISOString()}..${r.window.end.toISOString()}: ` +
            `${c.records} records in ${c.files} files, ${c.decodeErrors} undecodable (${fmtPct(c.records ? c.decodeErrors / c.records : 0)}), ` +
            `${r.violations.length} violations${r.judged || c.records === 0 ? "" : ` (drift not judged below ${r.minRecords} records)`}`,
    );
    for (const v of r.violations) console.log(`  - ${v.feature_name}: ${v.description}`);
    console.log(`outputs in ${settings.output}${settings.upload ? ` and ${settings.upload}` : ""}`);
}
