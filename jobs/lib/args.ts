import { parseArgs } from "util";
import { JobError } from "./errors";

export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: false }>;
export type Flags = Record<string, string | boolean | undefined>;

/**
 * Parses `--name value` flags strictly (an unknown flag or a stray argument is an error that shows the usage).
 * Returns undefined after printing the usage when `--help` was asked for.
 */
export function parseFlags(argv: string[], spec: FlagSpec, usage: string, opts: { positionals?: false }): Flags | undefined;
export function parseFlags(
    argv: string[],
    spec: FlagSpec,
    usage: string,
    opts: { positionals: true },
): { flags: Flags; positionals: string[] } | undefined;
export function parseFlags(
    argv: string[],
    spec: FlagSpec,
    usage: string,
    opts: { positionals?: boolean } = {},
): Flags | { flags: Flags; positionals: string[] } | undefined {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            options: { ...spec, help: { type: "boolean", short: "h" } },
            allowPositionals: opts.positionals ?? false,
            strict: true,
        });
    } catch (e) {
        throw new JobError(`${(e as Error).message}\n\n${usage}`);
    }
    if (parsed.values.help) {
        console.log(usage);
        return undefined;
    }
    const flags = parsed.values as Flags;
    return opts.positionals ? { flags, positionals: parsed.positionals } : flags;
}

/** A string flag's value (undefined when absent). */
export function stringFlag(flags: Flags, name: string): string | undefined {
    const v = flags[name];
    return typeof v === "string" ? v : undefined;
}

/** A whole number flag of at least `min` (1 unless given), or the default. */
export function intFlag(flags: Flags, name: string, fallback: number, min = 1): number {
    const v = stringFlag(flags, name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new JobError(`--${name} must be a whole number >= ${min}, got "${v}"`);
    return n;
}
