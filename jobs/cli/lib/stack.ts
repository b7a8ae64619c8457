import { existsSync, readdirSync } from "fs";
import { ConfigError } from "../../../infra/config";
import { stackFilePath, readStackFile } from "../../../infra/stack-file";
import { CliError, projectDir, resolveStack, StackContext } from "../common";
import { CliClients, ClientFactory, clientsFromEnvironment } from "./clients";

/** The stacks the project folder has a Pulumi.<stack>.yaml for. */
export function stacksIn(dir: string): string[] {
    return readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * Reads the stack file (an unknown stack is an error listing the known ones), builds the clients for the
 * stack's region and identifies the caller (no credentials is an error saying how to set them).
 */
export async function openStack(
    stack: string,
    makeClients: ClientFactory = clientsFromEnvironment,
): Promise<{ ctx: StackContext; clients: CliClients }> {
    const dir = projectDir();
    if (!existsSync(stackFilePath(dir, stack))) {
        const known = stacksIn(dir);
        throw new CliError(
            `unknown stack "${stack}": there is no ${stackFilePath(dir, stack)}; ` +
                (known.length
                    ? `this project has: ${known.join(", ")}`
                    : "this folder has no Pulumi.<stack>.yaml; run from the project folder or set VISION_MLOPS_PROJECT_DIR"),
        );
    }
    let region: string;
    try {
        region = readStackFile(dir, stack).region;
    } catch (e) {
        if (e instanceof ConfigError || e instanceof CliError) throw e;
        throw new CliError((e as Error).message);
    }
    const clients = makeClients(region);
    const ctx = await resolveStack(stack, clients.sts);
    return { ctx, clients };
}
