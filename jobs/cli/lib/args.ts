import { parseArgs, ParseArgsConfig } from "util";
import { CliError } from "../common";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values<O extends Options> = { [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string };

export interface CliSpec<O extends Options> {
    /** How the command is called, the first line of --help. */
    readonly usage: string;
    /** What each option does, shown by --help. */
    readonly help: string;
    readonly options: O;
}

/**
 * Parses the command line strictly (unknown options and stray arguments are errors that point at --help).
 * Returns undefined after printing the help when --help was asked for.
 */
export function parseCli<O extends Options>(
    spec: CliSpec<O>,
    argv: readonly string[],
    print: (text: string) => void = console.log,
): Values<O> | undefined {
    let parsed;
    try {
        parsed = parseArgs({
            args: [...argv],
            options: { ...spec.options, help: { type: "boolean", short: "h" } },
            strict: true,
            allowPositionals: false,
        });
    } catch (e) {
        throw new CliError(`${(e as Error).message.replace(/\.$/, "")}\nusage: ${spec.usage} (--help for details)`);
    }
    const all = parsed.values as Record<string, string | boolean | undefined>;
    if (all.help) {
        print(`usage: ${spec.usage}\n\n${spec.help}`);
        return undefined;
    }
    delete all.help;
    const values = all as Values<O>;
    for (const [name, value] of Object.entries(values)) {
        if (typeof value === "string" && value.trim() === "")
            throw new CliError(`--${name} is empty; give it a value\nusage: ${spec.usage}`);
    }
    return values;
}

/** A required option, or an error naming it and the usage. */
export function required(value: string | undefined, name: string, usage: string, why = ""): string {
    if (value === undefined) throw new CliError(`--${name} is required${why}\nusage: ${usage}`);
    return value;
}
