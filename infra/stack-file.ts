import { readFileSync, existsSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { ConfigError, fromPulumiConfig, parsePlatformConfig, PlatformConfig } from "./config";

/** A stack file that is missing or not YAML: an operator error, printed without a stack trace. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** Path of a stack's settings file, `Pulumi.<stack>.yaml`, in the project folder. */
export function stackFilePath(projectDir: string, stack: string): string {
    return join(projectDir, `Pulumi.${stack}.yaml`);
}

/**
 * Reads and validates `Pulumi.<stack>.yaml` without the Pulumi engine, for the offline plan and the operator
 * CLIs. The same validation as the program's; throws ConfigError naming the file.
 */
export function readStackFile(projectDir: string, stack: string): PlatformConfig {
    const path = stackFilePath(projectDir, stack);
    if (!existsSync(path))
        throw new StackFileError(`no stack file ${path}; stacks are named by their Pulumi.<stack>.yaml (for example staging or prod)`);
    let doc: { config?: Record<string, unknown> } | null;
    try {
        doc = parse(readFileSync(path, "utf8"));
    } catch (e) {
        throw new StackFileError(`${path} is not valid YAML: ${(e as Error).message}`);
    }
    const flat = doc?.config ?? {};
    let raw: Record<string, unknown>;
    try {
        raw = fromPulumiConfig(flat);
    } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError(e.problems, `Pulumi.${stack}.yaml`);
        throw e;
    }
    return parsePlatformConfig(raw, `Pulumi.${stack}.yaml`);
}
