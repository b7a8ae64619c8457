/**
 * Summaries of V8 CPU profiles (`node --cpu-prof`), for `npm run bench`'s "where the time goes" section: per
 * thread, how long it was profiled, how busy it was, and the functions with the most samples of their own (self
 * time), merged over every place each was called from.
 */
import { readdirSync, readFileSync } from "fs";
import { join, relative } from "path";

/** The parts of a `.cpuprofile` file the summary reads. */
export interface CpuProfile {
    readonly nodes: ReadonlyArray<{
        readonly id: number;
        readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    }>;
    /** The node each sample was taken in, one entry per sampling tick. */
    readonly samples: readonly number[];
    /** Microseconds. */
    readonly startTime: number;
    readonly endTime: number;
}

export interface ProfileEntry {
    /** Function name, or V8's own bucket: (idle), (program), (garbage collector). */
    readonly name: string;
    /** Where the function is defined (file:line, 1-based), when it is JavaScript. */
    readonly where?: string;
    /** Share of the thread's samples taken inside this function itself. */
    readonly share: number;
}

export interface ThreadSummary {
    readonly thread: string;
    readonly seconds: number;
    readonly samples: number;
    /** Share of samples not (idle): the thread running JavaScript, the runtime or the garbage collector. */
    readonly busyShare: number;
    /** The entries with the most samples, (idle) among them, largest first. */
    readonly top: readonly ProfileEntry[];
}

/** A file's place for a reader: its path inside node_modules or under `root`; node's own modules as they are. */
export function shortLocation(url: string, root: string): string {
    const path = url.startsWith("file://") ? decodeURIComponent(url.slice("file://".length)) : url;
    const modules = path.lastIndexOf("node_modules/");
    if (modules >= 0) return path.slice(modules + "node_modules/".length);
    return path.startsWith("/") ? relative(root, path) : path;
}

/** Self samples per function of one thread's profile, merged by name and place, the `top` largest first. */
export function summariseProfile(thread: string, profile: CpuProfile, root: string, top = 8): ThreadSummary {
    const keyOf = new Map<number, { key: string; name: string; where?: string }>();
    for (const { id, callFrame } of profile.nodes) {
        const name = callFrame.functionName || "(anonymous)";
        const where = callFrame.url ? `${shortLocation(callFrame.url, root)}:${callFrame.lineNumber + 1}` : undefined;
        keyOf.set(id, { key: `${name}@${where ?? ""}`, name, where });
    }
    const counts = new Map<string, { name: string; where?: string; samples: number }>();
    for (const id of profile.samples) {
        const k = keyOf.get(id);
        if (!k) throw new Error(`profile sample names node ${id}, which the profile does not have`);
        const entry = counts.get(k.key) ?? { name: k.name, where: k.where, samples: 0 };
        entry.samples++;
        counts.set(k.key, entry);
    }
    const total = profile.samples.length;
    const share = (n: number) => (total === 0 ? 0 : n / total);
    const idle = [...counts.values()].filter((e) => e.name === "(idle)").reduce((a, e) => a + e.samples, 0);
    return {
        thread,
        seconds: (profile.endTime - profile.startTime) / 1e6,
        samples: total,
        busyShare: total === 0 ? 0 : 1 - share(idle),
        top: [...counts.values()]
            .sort((a, b) => b.samples - a.samples || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
            .slice(0, top)
            .map((e) => ({ name: e.name, ...(e.where ? { where: e.where } : {}), share: share(e.samples) })),
    };
}

/**
 * Every profile `node --cpu-prof --cpu-prof-dir <dir>` wrote for one process (`CPU.<date>.<time>.<pid>.<thread
 * id>.<n>.cpuprofile`), main thread first, then its worker threads by thread id.
 */
export function summariseProfiles(dir: string, root: string, top = 8): ThreadSummary[] {
    const files = readdirSync(dir)
        .map((f) => ({ f, m: /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(f) }))
        .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
        .map(({ f, m }) => ({ f, threadId: Number(m[1]) }))
        .sort((a, b) => a.threadId - b.threadId);
    if (files.length === 0) throw new Error(`no CPU profile was written to ${dir}`);
    return files.map(({ f, threadId }) =>
        summariseProfile(
            threadId === 0 ? "main thread" : `worker thread ${threadId}`,
            JSON.parse(readFileSync(join(dir, f), "utf8")),
            root,
            top,
        ),
    );
}

/** One line per thread: "main thread, 24.3 s, 92% busy: pipeline (sharp/lib/output.js:1611) 43.2%, ...". */
export function formatThread(t: ThreadSummary): string {
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const entries = t.top.map((e) => `${e.name}${e.where ? ` (${e.where})` : ""} ${pct(e.share)}`).join(", ");
    return `${t.thread}, ${t.seconds.toFixed(1)} s, ${(t.busyShare * 100).toFixed(0)}% busy: ${entries}`;
}
