import { constants, existsSync, readdirSync } from "fs";
import { access, mkdir, rename, writeFile } from "fs/promises";
import { basename, dirname, join } from "path";
import { JobError, listSome } from "./errors";

/**
 * A temporary name next to `finalPath` (same folder, so the final rename is atomic on the same file system).
 * Hidden and suffixed with the process id so a crashed run's leftovers are recognisable and never collide.
 */
export function tempPathFor(finalPath: string): string {
    return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}`);
}

/** Writes a file under a temporary name, then renames it into place, so readers never see half a file. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const temp = tempPathFor(path);
    await writeFile(temp, data);
    await rename(temp, path);
}

/** JSON with a trailing newline, written atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
    return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Refuses to start when any output already exists, so a job never overwrites earlier results. A folder counts
 * as existing only when it has entries.
 */
export function ensureOutputsAbsent(paths: readonly string[], what: string): void {
    const present = paths.filter((p) => existsSync(p) && (!isDirectory(p) || readdirSync(p).length > 0));
    if (present.length > 0)
        throw new JobError(
            `${what} would overwrite existing output: ${listSome(present)}; ` +
                "choose an empty output folder or move these files away first",
        );
}

function isDirectory(p: string): boolean {
    try {
        readdirSync(p);
        return true;
    } catch {
        return false;
    }
}

/**
 * Creates the output folders and checks they are writable before any work starts, so a permission problem
 * (for example a mounted output folder the container's user may not write) fails in a second, not after an hour.
 */
export async function ensureWritableFolders(folders: readonly string[]): Promise<void> {
    for (const folder of folders) {
        try {
            await mkdir(folder, { recursive: true });
            await access(folder, constants.W_OK);
        } catch (e) {
            const err = e as NodeJS.ErrnoException;
            const who = typeof process.getuid === "function" ? ` (running as uid ${process.getuid()})` : "";
            throw new JobError(
                `cannot write to output folder ${folder}${who}: ${err.code ?? err.message}; ` +
                    "give this user write access to the folder or choose another output",
            );
        }
    }
}
