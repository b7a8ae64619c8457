import { expect } from "chai";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import sharp from "sharp";
import { encodeMonitorThresholds, MONITOR_THRESHOLDS_ENV } from "../../../infra/job-contract";
import { PROPERTY_BINS } from "../../../jobs/lib/histogram";
import { NUMERIC_PROPERTIES } from "../../../jobs/lib/image-properties";
import { main } from "../../../jobs/monitor/index";
import { USAGE } from "../../../jobs/monitor/settings";
import { tempDir, writeAt } from "../support/images";
import { defaultThresholds } from "./corpus";
import { prediction } from "./capture-line";
import { handBaseline } from "./hand-baseline";

/**
 * The monitor job's entry point, in this process: the flags it is given, what it prints, and which run it starts.
 * Thresholds come from the environment variable, as the pipeline engine passes them; images are decoded on this
 * thread (--workers 0), so the output is the same on any machine.
 */
const CAPTURE_FILE = "ep/AllTraffic/2026/01/10/12/c.jsonl";
const WINDOW_FLAGS = ["--start-time", "2026-01-10T12:00:00Z", "--end-time", "2026-01-10T13:00:00Z"];

/** The hand-written baseline with its properties' bin edges (the stored tables), which sampled images are placed in. */
function baseline(): Record<string, unknown> {
    const b = handBaseline();
    const properties = b.properties as Record<string, object>;
    for (const p of NUMERIC_PROPERTIES) properties[p] = { ...properties[p], edges: PROPERTY_BINS[p] };
    return b;
}

/** A capture folder and the flags of a run over it (capture, baseline, output, endpoint, schedule, window, run id). */
function setup(lines: readonly string[]) {
    const dir = tempDir("monitor-main");
    writeAt(dir, `capture/${CAPTURE_FILE}`, `${lines.join("\n")}\n`);
    const output = join(dir, "out");
    const flags = [
        "--capture",
        join(dir, "capture"),
        "--baseline",
        writeAt(dir, "monitoring_baseline.json", JSON.stringify(baseline())),
        "--output",
        output,
        "--endpoint",
        "ep",
        "--schedule",
        "sch",
        "--run-id",
        "run-1",
        "--workers",
        "0",
        ...WINDOW_FLAGS,
    ];
    return { dir, output, flags };
}

/** What main prints with console.log, one entry per call, and what it writes to stdout directly. */
async function printed(argv: string[]): Promise<{ log: string[]; stdout: string }> {
    const log: string[] = [];
    let stdout = "";
    const { log: consoleLog } = console;
    const write = process.stdout.write;
    console.log = (...args: unknown[]) => void log.push(args.join(" "));
    process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
    try {
        await main(argv);
    } finally {
        console.log = consoleLog;
        process.stdout.write = write;
    }
    return { log, stdout };
}

describe("monitor job entry point", () => {
    const saved = process.env[MONITOR_THRESHOLDS_ENV];
    before(() => {
        process.env[MONITOR_THRESHOLDS_ENV] = encodeMonitorThresholds({ ...defaultThresholds(), minRecords: 2 });
    });
    after(() => {
        if (saved === undefined) delete process.env[MONITOR_THRESHOLDS_ENV];
        else process.env[MONITOR_THRESHOLDS_ENV] = saved;
    });

    it("prints the usage for --help and nothing else", async () => {
        expect(await printed(["--help"])).to.deep.equal({ log: [], stdout: USAGE });
    });

    it("prints the window's records, files, undecodable share, violations, verdict and where the outputs are", async () => {
        const { output, flags } = setup([prediction("e1", 5, [0.9, 0.1]), "not json", prediction("e3", 6, [0.3, 0.7])]);
        const { log, stdout } = await printed(flags);
        const violations = (
            JSON.parse(readFileSync(join(output, "constraint_violations.json"), "utf8")) as {
                violations: { feature_name: string; description: string }[];
            }
        ).violations;
        expect(violations).to.have.length.greaterThan(0);
        expect(stdout).to.equal("");
        expect(log).to.deep.equal([
            `monitor ep 2026-01-10T12:00:00.000Z..2026-01-10T13:00:00.000Z: 3 records in 1 files, 1 undecodable (33.3%), ${violations.length} violations; verdict violations`,
            ...violations.map((v) => `  - ${v.feature_name}: ${v.description}`),
            `outputs in ${output}`,
        ]);
        expect(existsSync(join(output, "_complete.json"))).to.equal(true);
    });

    it("says why a window was not judged, and gives no undecodable share of no records", async () => {
        const { output, flags } = setup([]);
        const { log } = await printed(flags);
        expect(log).to.have.length(2);
        expect(log[0]).to.match(
            /^monitor ep 2026-01-10T12:00:00\.000Z\.\.2026-01-10T13:00:00\.000Z: 0 records in 1 files, 0 undecodable \(0\.0%\), 0 violations; verdict not-judged \(no capture records of ep between /,
        );
        expect(log[1]).to.equal(`outputs in ${output}`);

        const few = setup([prediction("e1", 5, [0.9, 0.1])]);
        expect((await printed(few.flags)).log).to.deep.equal([
            "monitor ep 2026-01-10T12:00:00.000Z..2026-01-10T13:00:00.000Z: 1 records in 1 files, 0 undecodable (0.0%), 0 violations; " +
                "verdict not-judged (1 records, fewer than minRecords (2): drift was not judged, only defects)",
            `outputs in ${few.output}`,
        ]);
    });

    it("names the image sample when it holds fewer images than the window", async () => {
        const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: "#808080" } })
            .png()
            .toBuffer();
        const { flags } = setup([
            prediction("e1", 5, [0.9, 0.1], png),
            prediction("e2", 6, [0.9, 0.1], png),
            prediction("e3", 7, [0.2, 0.8], png),
        ]);
        const { log } = await printed([...flags, "--image-sample", "2"]);
        expect(log[0]).to.match(
            /^monitor ep .*: 3 records in 1 files, 0 undecodable \(0\.0%\), \d+ violations; verdict \w+; images measured on a uniform sample of 2 of 3$/,
        );
    });

    it("writes a sharded instance's partial statistics and says so, and merges the partials of a folder", async () => {
        const { dir, flags } = setup([prediction("e1", 5, [0.9, 0.1]), prediction("e3", 6, [0.3, 0.7])]);
        const partials = join(dir, "partials");
        const { log } = await printed([...flags, "--partial-output", partials, "--host", "algo-1"]);
        expect(log).to.deep.equal([`monitor ep: partial statistics of 2 records in 1 files in ${partials}`]);
        expect(existsSync(join(partials, "partial-algo-1.json"))).to.equal(true);
        expect(existsSync(join(dir, "out"))).to.equal(false);

        const merged = await printed([...flags, "--merge-from", partials]);
        expect(merged.log[0]).to.match(
            /^monitor ep 2026-01-10T12:00:00\.000Z\.\.2026-01-10T13:00:00\.000Z: 2 records in 1 files, 0 undecodable \(0\.0%\), /,
        );
        expect(merged.log[merged.log.length - 1]).to.equal(`outputs in ${join(dir, "out")}`);
    });

    it("refuses a capture manifest of local capture files before it starts a run", async () => {
        const { dir, flags } = setup([]);
        let message = "";
        try {
            await printed([...flags, "--list-manifest", join(dir, "manifest")]);
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).to.equal("--list-manifest needs --capture s3://... and --upload s3://... (the sharded pipeline passes both)");
        expect(existsSync(join(dir, "out"))).to.equal(false);
    });
});
