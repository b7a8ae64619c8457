import { Dirent } from "fs";
import { readdir } from "fs/promises";
import { join, posix } from "path";
import { JobError } from "./errors";

/**
 * Every regular file under `root`, as a `/`-separated path relative to it, in a stable order (names sorted
 * within each folder) so that runs over the same tree see the same sequence. Hidden files and folders
 * (`.DS_Store`, `.git`) are skipped.
 */
export async function* walkFiles(root: string): AsyncGenerator<string> {
    yield* walk(root, "");
}

async function* walk(root: string, rel: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
        entries = await readdir(join(root, rel), { withFileTypes: true });
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (rel === "" && (err.code === "ENOENT" || err.code === "ENOTDIR"))
            throw new JobError(`input folder ${root} does not exist or is not a folder`);
        throw e;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
        if (entry.name.startsWith(".")) continue;
        const path = rel ? posix.join(rel, entry.name) : entry.name;
        if (entry.isDirectory()) yield* walk(root, path);
        else if (entry.isFile()) yield path;
    }
}
