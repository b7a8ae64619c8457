import { MonitorSettingsError, resolveSettings, USAGE } from "./settings";

/**
 * The `monitor` job: `[...JOBS_ENTRYPOINT, "monitor", ...flags]`. Reads one window of endpoint capture
 * data, compares it with the model's monitoring baseline and writes Model Monitor's output files.
 */
export async function main(argv: string[]): Promise<void> {
    if (argv.includes("--help")) {
        process.stdout.write(USAGE);
        return;
    }
    const settings = resolveSettings(argv);
    throw new MonitorSettingsError(`monitor: analysis of ${settings.capture} is not available in this build yet`);
}
