import { createHash } from "crypto";
import { buildSync } from "esbuild";
import { existsSync } from "fs";
import { isAbsolute, posix, resolve } from "path";

/**
 * The one way a TypeScript Lambda handler becomes deployable code: esbuild bundles the handler's module from
 * `jobs/` (with everything it imports, the AWS SDK clients included, so the code runs on the versions it was
 * tested with rather than whatever the runtime ships) into one CommonJS file for Node 22, at deploy time.
 * Components wrap the code in an archive; the bundle is pure (same sources, same bytes), so an unchanged
 * handler never redeploys.
 */

/** The Lambda runtime every function of the platform runs on, and the language level esbuild compiles to. */
export const LAMBDA_RUNTIME = "nodejs22.x";
export const LAMBDA_NODE_TARGET = "node22";
/** The bundle is `index.js` in the archive and exports `handler`. */
export const LAMBDA_BUNDLE_FILE = "index.js";
export const LAMBDA_HANDLER = "index.handler";

/** The repository root: entries are paths relative to it. */
export const PROJECT_ROOT = resolve(__dirname, "..");

export interface LambdaBundle {
    /** The entry, relative to the root, e.g. `jobs/inference/invoke.ts`. */
    readonly entry: string;
    /** The bundled CommonJS module. */
    readonly code: string;
    /** Hex SHA-256 of `code`. */
    readonly sha256: string;
    /** Source files in the bundle, relative to the root (node_modules included). */
    readonly inputs: readonly string[];
}

const cache = new Map<string, LambdaBundle>();

/**
 * Bundles `entry` (a `.ts` module under `jobs/` that exports `handler`). Fails with a message that names the
 * entry when it is outside `jobs/`, missing, does not export `handler`, or pulls in `@pulumi/*` (code that
 * runs in AWS never imports the infrastructure program). Memoised per root and entry.
 */
export function bundleLambda(entry: string, root = PROJECT_ROOT): LambdaBundle {
    const key = `${root}\0${entry}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const normalized = posix.normalize(entry);
    if (isAbsolute(entry) || !normalized.startsWith("jobs/") || !normalized.endsWith(".ts"))
        throw new Error(`Lambda entry ${JSON.stringify(entry)} must be a .ts module under jobs/, relative to the repository root`);
    if (!existsSync(resolve(root, normalized))) throw new Error(`Lambda entry ${normalized} does not exist under ${root}`);
    const result = buildSync({
        absWorkingDir: root,
        entryPoints: [normalized],
        bundle: true,
        platform: "node",
        target: LAMBDA_NODE_TARGET,
        format: "cjs",
        // The AWS SDK's ES module builds tree-shake; keepNames keeps error and class names, which Step Functions
        // matches on (`errorType`).
        mainFields: ["module", "main"],
        keepNames: true,
        legalComments: "none",
        write: false,
        metafile: true,
        outfile: LAMBDA_BUNDLE_FILE,
        logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs).sort();
    const pulumi = inputs.filter((i) => /(^|\/)node_modules\/@pulumi\//.test(i));
    if (pulumi.length > 0)
        throw new Error(`Lambda entry ${normalized} imports the Pulumi SDK (${pulumi[0]}); handlers under jobs/ must not import @pulumi/*`);
    if (!exportsOf(root, normalized).includes("handler"))
        throw new Error(`Lambda entry ${normalized} does not export a function named handler`);
    const code = result.outputFiles[0].text;
    const bundle: LambdaBundle = {
        entry: normalized,
        code,
        sha256: createHash("sha256").update(code).digest("hex"),
        inputs,
    };
    cache.set(key, bundle);
    return bundle;
}

/** The names a module exports (esbuild reports exports for ES module output only, so the entry alone is compiled as one). */
function exportsOf(root: string, entry: string): string[] {
    const own = buildSync({
        absWorkingDir: root,
        entryPoints: [entry],
        bundle: false,
        format: "esm",
        write: false,
        metafile: true,
        logLevel: "silent",
    });
    return Object.values(own.metafile.outputs).flatMap((o) => o.exports);
}

/** A function's archive: the bundle as `index.js` and any data files beside it, with the digest of all of it. */
export interface LambdaArchive {
    /** File name in the task root → UTF-8 content, the bundle first. */
    readonly files: Readonly<Record<string, string>>;
    /** Hex SHA-256: the bundle's own when there are no data files, else over every file (name, NUL, content, NUL, by name). */
    readonly sha256: string;
}

/**
 * The archive of `bundle` with `dataFiles` (name → content) beside it, for settings too big for Lambda's 4 KB of
 * environment (a model's class list): the handler reads them from its own folder, and a changed file is a new
 * digest, so the function redeploys exactly when what it reads changes. Names are plain file names (no folders).
 */
export function lambdaArchive(bundle: LambdaBundle, dataFiles: Readonly<Record<string, string>> = {}): LambdaArchive {
    const names = Object.keys(dataFiles);
    for (const name of names) {
        if (name === LAMBDA_BUNDLE_FILE) throw new Error(`data file ${JSON.stringify(name)} is the bundle's own name`);
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
            throw new Error(
                `data file name ${JSON.stringify(name)} must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
            );
    }
    const files: Record<string, string> = { [LAMBDA_BUNDLE_FILE]: bundle.code, ...dataFiles };
    if (names.length === 0) return { files, sha256: bundle.sha256 };
    const hash = createHash("sha256");
    for (const name of Object.keys(files).sort()) hash.update(`${name}\0${files[name]}\0`);
    return { files, sha256: hash.digest("hex") };
}
