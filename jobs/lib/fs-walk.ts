import { Dirent, Stats } from "fs";
import { readdir, realpath, stat } from "fs/promises";
import { join, posix, sep } from "path";
import { JobError } from "./errors";

/** A file or folder the walk did not yield, and why (for the job's report). */
export interface WalkSkip {
    /** `/`-separated, relative to the root. */
    readonly path: string;
    readonly reason: string;
}

/**
 * Every regular file under `root`, as a `/`-separated path relative to it, in a stable order (names sorted
 * within each folder) so that runs over the same tree see the same sequence. Hidden files and folders
 * (`.DS_Store`, `.git`) are skipped. Symbolic links are followed when their target lies inside the root (a
 * folder link is walked under the link's name) and reported through `onSkipped` otherwise, as are broken
 * links, loops, pipes and devices, and folders that cannot be read (a path too long for the file system,
 * no permission): nothing the walk passes over goes unmentioned.
 */
export async function* walkFiles(root: string, onSkipped: (skip: WalkSkip) => void = () => undefined): AsyncGenerator<string> {
    let realRoot: string;
    try {
        realRoot = await realpath(root);
        if (!(await stat(realRoot)).isDirectory()) throw Object.assign(new Error("not a folder"), { code: "ENOTDIR" });
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") throw new JobError(`input folder ${root} does not exist or is not a folder`);
        throw e;
    }
    yield* walk({ root, realRoot, onSkipped }, "", [realRoot]);
}

interface Walk {
    readonly root: string;
    readonly realRoot: string;
    readonly onSkipped: (skip: WalkSkip) => void;
}

/** `ancestors`: the real paths of the folders from the root down to `rel`, to notice a link that loops. */
async function* walk(w: Walk, rel: string, ancestors: readonly string[]): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
        entries = await readdir(join(w.root, rel), { withFileTypes: true });
    } catch (e) {
        w.onSkipped({ path: rel, reason: unreadable(e as NodeJS.ErrnoException, join(w.root, rel), "folder") });
        return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const here = ancestors[ancestors.length - 1];
    for (const entry of entries) {
        if (entry.name.startsWith(".")) continue;
        const path = rel ? posix.join(rel, entry.name) : entry.name;
        if (entry.isDirectory()) yield* walk(w, path, [...ancestors, join(here, entry.name)]);
        else if (entry.isFile()) yield path;
        else if (entry.isSymbolicLink()) yield* followLink(w, path, ancestors);
        else w.onSkipped({ path, reason: "not a regular file (a pipe, socket or device)" });
    }
}

async function* followLink(w: Walk, path: string, ancestors: readonly string[]): AsyncGenerator<string> {
    const full = join(w.root, path);
    let target: string;
    let stats: Stats;
    try {
        target = await realpath(full);
        stats = await stat(target);
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        w.onSkipped({
            path,
            reason: err.code === "ENOENT" ? "broken symbolic link (its target does not exist)" : unreadable(err, full, "link"),
        });
        return;
    }
    if (target !== w.realRoot && !target.startsWith(w.realRoot + sep)) {
        w.onSkipped({
            path,
            reason: `symbolic link to ${target}, outside the input folder; copy the files in or link to a folder inside it`,
        });
        return;
    }
    if (stats.isFile()) yield path;
    else if (stats.isDirectory()) {
        if (ancestors.includes(target)) w.onSkipped({ path, reason: "symbolic link to a folder that contains it (a loop)" });
        else yield* walk(w, path, [...ancestors, target]);
    } else w.onSkipped({ path, reason: "symbolic link to something that is not a regular file (a pipe, socket or device)" });
}

/** Why a folder, link or file could not be read, in words that say what to do. */
export function unreadable(err: NodeJS.ErrnoException, full: string, what: "folder" | "link" | "file"): string {
    if (err.code === "ENAMETOOLONG")
        return `path too long for the file system (ENAMETOOLONG, ${full.length} characters); move the images to a folder with a shorter path`;
    if (err.code === "EACCES" || err.code === "EPERM") return `cannot read this ${what}: permission denied (${err.code})`;
    return `cannot read this ${what}: ${err.code ?? err.message}`;
}
