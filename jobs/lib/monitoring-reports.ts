import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import { join } from "path";
import {
    MONITORING_COMPLETION_FILE,
    MONITORING_COMPLETION_SCHEMA_VERSION,
    MONITORING_OUTPUT_FILES,
    MonitoringCompletion,
    MonitoringVerdict,
} from "../../infra/job-contract";
import { prefixes } from "../../infra/naming";
import { withAwsCall } from "../cli/lib/aws-errors";
import { ListedObject, listObjects } from "../cli/lib/s3";
import { writeFileAtomic } from "./atomic";

/**
 * Finding, reading and judging an endpoint's monitoring runs in the capture bucket. Layout
 * (infra/job-contract.ts): `<model>/monitoring/<endpoint>/<schedule>/yyyy/mm/dd/hh/` holding
 * statistics.json, constraint_violations.json, report.html and, written last, the completion record
 * `_complete.json` that names every file with its size and SHA-256.
 *
 * A run is evidence about the package an endpoint serves only when it is complete (the record exists, parses
 * and matches every file, and no output file in the folder is missing from it), judged (its verdict is
 * clean or violations, on at least the records the stack requires) and about that package (its window
 * starts at or after the endpoint's last change).
 */

export type MonitoringFile = keyof typeof MONITORING_OUTPUT_FILES;

export interface MonitoringRun {
    /** The run's S3 key prefix, ending in "/". */
    readonly prefix: string;
    /** The hour its folders name (the end of its window); undefined when the folders are not dated. */
    readonly hour?: Date;
    /** When the newest object of the run was written. */
    readonly lastModified?: Date;
    /** The S3 keys of the run's output files that exist. */
    readonly files: Partial<Record<MonitoringFile, string>>;
    /** The key of its completion record, when there is one. */
    readonly completion?: string;
}

/** One violation in Model Monitor's constraint_violations.json. */
export interface Violation {
    readonly feature_name: string;
    readonly constraint_check_type: string;
    readonly description: string;
}

const FILE_BY_NAME = new Map<string, MonitoringFile>(
    (Object.entries(MONITORING_OUTPUT_FILES) as [MonitoringFile, string][]).map(([file, name]) => [name, file]),
);

const HOUR_MS = 3_600_000;
const DATED_TAIL = /(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/$/;

function hourOf(prefix: string): Date | undefined {
    const m = DATED_TAIL.exec(prefix);
    if (!m) return undefined;
    const hour = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4]));
    return Number.isNaN(hour.getTime()) ? undefined : hour;
}

/**
 * Groups objects into runs (one folder holding monitoring output files or a completion record), newest first:
 * by the hour its folders name, then the latest write, then the greatest prefix. Comparing hours rather than
 * whole prefixes keeps a switch of scheduler (another schedule folder) from hiding newer runs.
 */
export function runsNewestFirst(objects: Iterable<ListedObject>): MonitoringRun[] {
    const runs = new Map<string, { files: Partial<Record<MonitoringFile, string>>; completion?: string; lastModified?: Date }>();
    for (const o of objects) {
        const slash = o.key.lastIndexOf("/");
        const name = o.key.slice(slash + 1);
        const file = FILE_BY_NAME.get(name);
        if (!file && name !== MONITORING_COMPLETION_FILE) continue;
        const prefix = o.key.slice(0, slash + 1);
        const run = runs.get(prefix) ?? { files: {} };
        if (file) run.files[file] = o.key;
        else run.completion = o.key;
        if (o.lastModified && (!run.lastModified || o.lastModified > run.lastModified)) run.lastModified = o.lastModified;
        runs.set(prefix, run);
    }
    return [...runs].map(([prefix, run]) => ({ prefix, hour: hourOf(prefix), ...run })).sort((a, b) => compareRuns(b, a));
}

/** The newest run, or undefined when there is none. */
export function newestRun(objects: Iterable<ListedObject>): MonitoringRun | undefined {
    return runsNewestFirst(objects)[0];
}

function compareRuns(a: MonitoringRun, b: MonitoringRun): number {
    const time = (d?: Date) => d?.getTime() ?? -Infinity;
    return (
        Math.sign(time(a.hour) - time(b.hour)) ||
        Math.sign(time(a.lastModified) - time(b.lastModified)) ||
        (a.prefix > b.prefix ? 1 : a.prefix < b.prefix ? -1 : 0)
    );
}

/** Parses constraint_violations.json, failing with a message that names the file when it is not in Model Monitor's shape. */
export function parseViolations(text: string, source: string): Violation[] {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new Error(`${source} is not valid JSON (${(e as Error).message})`, { cause: e });
    }
    const list = (doc as { violations?: unknown } | null)?.violations;
    if (!Array.isArray(list))
        throw new Error(
            `${source} has no "violations" list; expected Model Monitor's format {"violations": [{"feature_name", "constraint_check_type", "description"}]}`,
        );
    return list.map((v, i) => {
        const item = v as Partial<Record<keyof Violation, unknown>> | null;
        if (!item || typeof item !== "object") throw new Error(`${source}: violations[${i}] is not an object`);
        return {
            feature_name: String(item.feature_name ?? "(no feature)"),
            constraint_check_type: String(item.constraint_check_type ?? "(no check type)"),
            description: String(item.description ?? ""),
        };
    });
}

/** One line per violation, for terminals. */
export function formatViolations(violations: readonly Violation[]): string {
    return violations.map((v) => `  - ${v.feature_name} [${v.constraint_check_type}]: ${v.description}`).join("\n");
}

export type MonitoringS3 = Pick<S3Client, "send">;

/** Where an endpoint's runs are: `<model>/monitoring/<endpoint>/`. */
export function endpointRunsPrefix(model: string, endpoint: string): string {
    return `${prefixes.monitoringModel(model)}${endpoint}/`;
}

export type RunsResult = { readonly kind: "runs"; readonly runs: MonitoringRun[] } | { readonly kind: "none"; readonly reason: string };

/** The endpoint's monitoring runs in the capture bucket, newest first, or why there are none. */
export async function listMonitoringRuns(s3: MonitoringS3, bucket: string, model: string, endpoint: string): Promise<RunsResult> {
    const prefix = endpointRunsPrefix(model, endpoint);
    const objects = await listObjects(s3, bucket, prefix);
    if (!objects) return { kind: "none", reason: `the capture bucket ${bucket} does not exist` };
    const runs = runsNewestFirst(objects);
    if (runs.length === 0) return { kind: "none", reason: `no monitoring run of ${endpoint} under s3://${bucket}/${prefix} yet` };
    return { kind: "runs", runs };
}

/** A run's body read, with the key, so a failure names the object. */
async function readObjectBytes(s3: MonitoringS3, bucket: string, key: string): Promise<Uint8Array> {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!res.Body) throw new Error(`s3://${bucket}/${key} has no body`);
    try {
        return await res.Body.transformToByteArray();
    } catch (e) {
        // The call had returned; the body stopped half-way (a stalled or reset connection).
        throw withAwsCall(e, { service: "S3", operation: "GetObject", input: { Bucket: bucket, Key: key } });
    }
}

export async function readObjectText(s3: MonitoringS3, bucket: string, key: string): Promise<string> {
    return Buffer.from(await readObjectBytes(s3, bucket, key)).toString("utf8");
}

/** A run's objects as read from S3: file name -> bytes, and the names a listing showed but a read did not find. */
export interface FetchedRun {
    readonly bucket: string;
    readonly run: MonitoringRun;
    readonly contents: ReadonlyMap<string, Uint8Array>;
}

/**
 * Reads every object of the run and every file its completion record names (a file that is missing is
 * simply absent from `contents`). Runs are small: three reports and a record.
 */
export async function fetchRun(s3: MonitoringS3, bucket: string, run: MonitoringRun): Promise<FetchedRun> {
    const contents = new Map<string, Uint8Array>();
    const read = async (name: string) => {
        try {
            contents.set(name, await readObjectBytes(s3, bucket, `${run.prefix}${name}`));
        } catch (e) {
            if ((e as Error).name !== "NoSuchKey") throw e;
        }
    };
    const listed = [...Object.values(run.files), ...(run.completion ? [run.completion] : [])].map((k) => k.slice(run.prefix.length));
    await Promise.all(listed.map(read));
    const record = contents.get(MONITORING_COMPLETION_FILE);
    if (record) {
        const named = parseCompletionLoosely(record)
            .map((f) => f.name)
            .filter((n) => safeFileName(n) && !contents.has(n));
        await Promise.all(named.map(read));
    }
    return { bucket, run, contents };
}

function parseCompletionLoosely(bytes: Uint8Array): { name: string }[] {
    try {
        const files = (JSON.parse(Buffer.from(bytes).toString("utf8")) as { files?: unknown }).files;
        return Array.isArray(files) ? files.filter((f): f is { name: string } => typeof f?.name === "string") : [];
    } catch {
        return [];
    }
}

/** A file name inside the run's folder: no path, so a record cannot vouch for another run's files. */
function safeFileName(name: string): boolean {
    return name.length > 0 && name.length <= 255 && !name.includes("/") && !name.includes("\\") && name !== "." && name !== "..";
}

/** Why a run is not evidence, in one word (for scripts and the decision record) and in words. */
export type NotEvidence =
    | "incomplete" // no record, or a file it names is missing
    | "tampered" // a file does not match the record, or the folder holds an output file the record does not name
    | "unreadable" // the record or the violations file cannot be parsed, or they contradict each other
    | "other-endpoint" // the record is about another endpoint
    | "not-judged" // too few records to judge
    | "stale"; // the window starts before the endpoint's current config

export type RunEvidence =
    | {
          readonly kind: "evidence";
          readonly uri: string;
          readonly run: MonitoringRun;
          readonly completion: MonitoringCompletion;
          readonly verdict: Exclude<MonitoringVerdict, "not-judged">;
          readonly violations: readonly Violation[];
          /** The records the judgement needed: the larger of the run's and the stack's minimum. */
          readonly minRecords: number;
      }
    | { readonly kind: NotEvidence; readonly uri: string; readonly run: MonitoringRun; readonly reason: string };

/** What a run must be about to count: the endpoint, since when it serves what it serves, and the stack's minimum records. */
export interface EvidenceExpectation {
    readonly endpoint: string;
    /** DescribeEndpoint's LastModifiedTime: traffic before it was answered by whatever was served then. */
    readonly endpointUpdatedAt?: Date;
    /** monitoring.drift.minRecords from the stack file. */
    readonly minRecords: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isInstant = (v: unknown): v is string => typeof v === "string" && !Number.isNaN(Date.parse(v));

/** The record's problems against the contract (infra/job-contract.ts), or none. */
function completionProblems(doc: unknown): string[] {
    const c = doc as Partial<Record<keyof MonitoringCompletion, unknown>> | null;
    if (!c || typeof c !== "object" || Array.isArray(c)) return ["it is not a JSON object"];
    const problems: string[] = [];
    if (c.schemaVersion !== MONITORING_COMPLETION_SCHEMA_VERSION)
        problems.push(`schemaVersion is ${JSON.stringify(c.schemaVersion)}, not ${MONITORING_COMPLETION_SCHEMA_VERSION}`);
    if (typeof c.endpoint !== "string" || !c.endpoint) problems.push("endpoint is missing");
    const w = c.window as { start?: unknown; end?: unknown } | undefined;
    if (!w || !isInstant(w.start) || !isInstant(w.end) || Date.parse(w.start) >= Date.parse(w.end))
        problems.push("window is not {start, end} with start before end (ISO 8601)");
    if (c.verdict !== "clean" && c.verdict !== "violations" && c.verdict !== "not-judged")
        problems.push(`verdict is ${JSON.stringify(c.verdict)}, not clean, violations or not-judged`);
    for (const k of ["records", "minRecords", "violations"] as const) if (!isCount(c[k])) problems.push(`${k} is not a whole number >= 0`);
    if (typeof c.runId !== "string" || !c.runId) problems.push("runId is missing");
    if (!Array.isArray(c.files)) problems.push("files is not a list");
    else
        c.files.forEach((f: { name?: unknown; bytes?: unknown; sha256?: unknown } | null, i: number) => {
            if (!f || typeof f.name !== "string" || !safeFileName(f.name))
                problems.push(`files[${i}].name is not a file name in the run's folder`);
            else if (!isCount(f.bytes) || typeof f.sha256 !== "string" || !HEX64.test(f.sha256))
                problems.push(`files[${i}] (${f.name}) needs bytes and a hex sha256`);
        });
    return problems;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const short = (hex: string) => `${hex.slice(0, 12)}...`;

/**
 * Judges a fetched run against the contract and the expectation (pure: every S3 read happened in fetchRun).
 * Integrity comes first, so a run whose record does not hold is never described by what the record claims.
 */
export function judgeRun(fetched: FetchedRun, expect: EvidenceExpectation): RunEvidence {
    const { run, contents } = fetched;
    const uri = `s3://${fetched.bucket}/${run.prefix}`;
    const not = (kind: NotEvidence, reason: string): RunEvidence => ({ kind, uri, run, reason: `${uri} ${reason}` });

    const recordBytes = contents.get(MONITORING_COMPLETION_FILE);
    if (!recordBytes) {
        const present = Object.values(MONITORING_OUTPUT_FILES).filter((n) => contents.has(n));
        return not(
            "incomplete",
            `has no completion record (${MONITORING_COMPLETION_FILE}); it holds ${present.length ? present.join(", ") : "no output file"}. ` +
                "The run stopped before it finished, or is still running" +
                (run.lastModified ? ` (last write ${run.lastModified.toISOString()})` : ""),
        );
    }
    let doc: unknown;
    try {
        doc = JSON.parse(Buffer.from(recordBytes).toString("utf8"));
    } catch (e) {
        return not("unreadable", `has a completion record that is not valid JSON (${(e as Error).message})`);
    }
    const problems = completionProblems(doc);
    if (problems.length) return not("unreadable", `has a completion record that breaks the contract: ${problems.join("; ")}`);
    const c = doc as MonitoringCompletion;

    for (const f of c.files) {
        const body = contents.get(f.name);
        if (!body) return not("incomplete", `is incomplete: ${f.name}, named by its completion record, is missing`);
        const digest = sha256(body);
        if (body.length !== f.bytes || digest !== f.sha256)
            return not(
                "tampered",
                `is not trustworthy: ${f.name} does not match its completion record ` +
                    `(${f.bytes} bytes, sha256 ${short(f.sha256)} listed; ${body.length} bytes, sha256 ${short(digest)} found)`,
            );
    }
    const named = new Set(c.files.map((f) => f.name));
    for (const name of Object.values(MONITORING_OUTPUT_FILES))
        if (contents.has(name) && !named.has(name))
            return not("tampered", `is not trustworthy: ${name} is in the run's folder but not named by its completion record`);

    if (c.endpoint !== expect.endpoint) return not("other-endpoint", `monitored endpoint ${c.endpoint}, not ${expect.endpoint}`);

    const minRecords = Math.max(c.minRecords, expect.minRecords);
    if (c.verdict === "not-judged") return not("not-judged", `was not judged: ${c.notJudgedReason ?? `${c.records} records`}`);
    if (c.records < minRecords)
        return not(
            "not-judged",
            c.records < c.minRecords
                ? `was not judged: ${c.records} records, fewer than the ${c.minRecords} it requires, yet it says ${c.verdict}`
                : `was not judged: ${c.records} records, fewer than the ${expect.minRecords} the stack requires (monitoring.drift.minRecords)`,
        );

    const start = new Date(c.window.start);
    if (expect.endpointUpdatedAt && start.getTime() < expect.endpointUpdatedAt.getTime())
        return not(
            "stale",
            `checked traffic from ${c.window.start}, which starts before ${expect.endpoint} last changed (${expect.endpointUpdatedAt.toISOString()}); ` +
                "part of it was answered by what the endpoint served before",
        );

    const violationsName = MONITORING_OUTPUT_FILES.violations;
    if (!named.has(violationsName)) return not("incomplete", `is incomplete: its completion record names no ${violationsName}`);
    let violations: Violation[];
    try {
        violations = parseViolations(Buffer.from(contents.get(violationsName)!).toString("utf8"), `${uri}${violationsName}`);
    } catch (e) {
        return not("unreadable", `cannot be read: ${(e as Error).message}`);
    }
    if (violations.length !== c.violations || (c.verdict === "clean") !== (violations.length === 0))
        return not(
            "unreadable",
            `contradicts itself: its record says ${c.verdict} (${c.violations} violation${c.violations === 1 ? "" : "s"}), ${violationsName} lists ${violations.length}`,
        );
    return { kind: "evidence", uri, run, completion: c, verdict: c.verdict, violations, minRecords };
}

/** What the runs since the endpoint's last change say about the package it serves. */
export type MonitoringEvidence =
    /** The newest judged run (complete, about the current package): clean or with violations. */
    | {
          readonly kind: "judged";
          readonly evidence: Extract<RunEvidence, { kind: "evidence" }>;
          readonly passedOver: readonly RunEvidence[];
      }
    /** No evidence: the newest run that decides is broken, or there is no judged run since the change. */
    | {
          readonly kind: "none";
          readonly problem: NotEvidence | "no-run";
          readonly reason: string;
          readonly passedOver: readonly RunEvidence[];
      };

/**
 * Walks the endpoint's runs newest first. A run that was not judged (too few records) is passed over for the
 * one before it; the first run that is incomplete, untrustworthy, unreadable or about another endpoint stops
 * the walk as no evidence (it may be the run that found the violations); so does reaching traffic from before
 * the endpoint's last change.
 */
export async function monitoringEvidence(
    s3: MonitoringS3,
    bucket: string,
    model: string,
    expect: EvidenceExpectation,
): Promise<MonitoringEvidence> {
    const listed = await listMonitoringRuns(s3, bucket, model, expect.endpoint);
    if (listed.kind === "none") return { kind: "none", problem: "no-run", reason: listed.reason, passedOver: [] };
    const passedOver: RunEvidence[] = [];
    let stale: string | undefined;
    for (const run of listed.runs) {
        // Folders name the hour their window ends in: a run whose hour was over by the endpoint's change checked
        // only traffic from before it, and so did every older run.
        if (run.hour && expect.endpointUpdatedAt && run.hour.getTime() + HOUR_MS <= expect.endpointUpdatedAt.getTime()) {
            stale = `the newest run before that, s3://${bucket}/${run.prefix}, checked traffic up to ${new Date(run.hour.getTime() + HOUR_MS).toISOString()} at the latest`;
            break;
        }
        const judged = judgeRun(await fetchRun(s3, bucket, run), expect);
        if (judged.kind === "evidence") return { kind: "judged", evidence: judged, passedOver };
        if (judged.kind === "not-judged") {
            passedOver.push(judged);
            continue;
        }
        if (judged.kind === "stale") {
            stale = judged.reason;
            break;
        }
        return { kind: "none", problem: judged.kind, reason: judged.reason, passedOver };
    }
    const since = expect.endpointUpdatedAt ? ` since ${expect.endpoint} last changed (${expect.endpointUpdatedAt.toISOString()})` : "";
    const reasons = [...passedOver.map((p) => (p as { reason: string }).reason), ...(stale ? [stale] : [])];
    return {
        kind: "none",
        problem: passedOver.length ? "not-judged" : "stale",
        reason: `no judged monitoring run of ${expect.endpoint}${since}: ${reasons.join("; ")}`,
        passedOver,
    };
}

/** A judged run in one line: `s3://... is clean (240 records, 30 needed, window A to B)`. */
export function describeJudged(e: Extract<RunEvidence, { kind: "evidence" }>): string {
    const c = e.completion;
    const what = e.verdict === "clean" ? "is clean" : `has ${e.violations.length} violation${e.violations.length === 1 ? "" : "s"}`;
    return `${e.uri} ${what} (${c.records} records, ${e.minRecords} needed, window ${c.window.start} to ${c.window.end})`;
}

/**
 * Writes a fetched run into `<dir>/<the run's path below the model's monitoring prefix>/`, so runs never
 * overwrite each other; each file under a temporary name, then renamed. Returns the local path per file.
 */
export async function saveRun(fetched: FetchedRun, model: string, dir: string): Promise<Record<string, string>> {
    const base = prefixes.monitoringModel(model);
    const relative = fetched.run.prefix.startsWith(base) ? fetched.run.prefix.slice(base.length) : fetched.run.prefix;
    const target = join(dir, ...relative.split("/").filter((p) => p && p !== "." && p !== ".."));
    const written: Record<string, string> = {};
    for (const [name, body] of fetched.contents) {
        const path = join(target, name);
        await writeFileAtomic(path, Buffer.from(body));
        written[name] = path;
    }
    return written;
}
