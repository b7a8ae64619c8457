import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { join } from "path";
import { MONITORING_OUTPUT_FILES } from "../../infra/job-contract";
import { prefixes } from "../../infra/naming";
import { withAwsCall } from "../cli/lib/aws-errors";
import { writeFileAtomic } from "./atomic";

/**
 * Finding and reading a model's monitoring runs in the capture bucket. Layout (MONITORING_OUTPUT_FILES):
 * `<model>/monitoring/<endpoint>/<schedule>/yyyy/mm/dd/hh/{statistics.json,constraint_violations.json,report.html}`.
 */

export type MonitoringFile = keyof typeof MONITORING_OUTPUT_FILES;

export interface MonitoringRun {
    /** The run's S3 key prefix, ending in "/". */
    readonly prefix: string;
    /** The hour the run covers, from its `yyyy/mm/dd/hh` folders; undefined when the folders are not dated. */
    readonly hour?: Date;
    /** When the newest file of the run was written. */
    readonly lastModified?: Date;
    /** The S3 keys of the run's output files that exist. */
    readonly files: Partial<Record<MonitoringFile, string>>;
}

/** One violation in Model Monitor's constraint_violations.json. */
export interface Violation {
    readonly feature_name: string;
    readonly constraint_check_type: string;
    readonly description: string;
}

export interface ListedObject {
    readonly key: string;
    readonly lastModified?: Date;
}

const FILE_BY_NAME = new Map<string, MonitoringFile>(
    (Object.entries(MONITORING_OUTPUT_FILES) as [MonitoringFile, string][]).map(([file, name]) => [name, file]),
);

const DATED_TAIL = /(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/$/;

function hourOf(prefix: string): Date | undefined {
    const m = DATED_TAIL.exec(prefix);
    if (!m) return undefined;
    const hour = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4]));
    return Number.isNaN(hour.getTime()) ? undefined : hour;
}

/**
 * Groups the objects under a model's monitoring prefix into runs (one folder holding monitoring output
 * files) and returns the newest: the latest hour its folders name, then the latest write, then the greatest
 * prefix. Comparing hours rather than whole prefixes keeps a switch of scheduler (a different schedule
 * folder) from hiding newer runs behind an older schedule's name.
 */
export function newestRun(objects: Iterable<ListedObject>): MonitoringRun | undefined {
    const runs = new Map<string, { files: Partial<Record<MonitoringFile, string>>; lastModified?: Date }>();
    for (const o of objects) {
        const slash = o.key.lastIndexOf("/");
        const file = FILE_BY_NAME.get(o.key.slice(slash + 1));
        if (!file) continue;
        const prefix = o.key.slice(0, slash + 1);
        const run = runs.get(prefix) ?? { files: {} };
        run.files[file] = o.key;
        if (o.lastModified && (!run.lastModified || o.lastModified > run.lastModified)) run.lastModified = o.lastModified;
        runs.set(prefix, run);
    }
    let best: MonitoringRun | undefined;
    for (const [prefix, run] of runs) {
        const candidate: MonitoringRun = { prefix, hour: hourOf(prefix), lastModified: run.lastModified, files: run.files };
        if (!best || compareRuns(candidate, best) > 0) best = candidate;
    }
    return best;
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

/** Every object under the model's monitoring prefix; undefined when the bucket does not exist. */
async function listMonitoringObjects(s3: MonitoringS3, bucket: string, model: string): Promise<ListedObject[] | undefined> {
    const objects: ListedObject[] = [];
    let token: string | undefined;
    do {
        let page;
        try {
            page = await s3.send(
                new ListObjectsV2Command({ Bucket: bucket, Prefix: prefixes.monitoringModel(model), ContinuationToken: token }),
            );
        } catch (e) {
            if ((e as Error).name === "NoSuchBucket") return undefined;
            throw e;
        }
        for (const o of page.Contents ?? []) if (o.Key) objects.push({ key: o.Key, lastModified: o.LastModified });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
}

export type NewestRunResult = { readonly kind: "run"; readonly run: MonitoringRun } | { readonly kind: "none"; readonly reason: string };

/** The model's newest monitoring run in the capture bucket, or why there is none. */
export async function findNewestMonitoringRun(s3: MonitoringS3, bucket: string, model: string): Promise<NewestRunResult> {
    const where = `s3://${bucket}/${prefixes.monitoringModel(model)}`;
    const objects = await listMonitoringObjects(s3, bucket, model);
    if (!objects) return { kind: "none", reason: `the capture bucket ${bucket} does not exist` };
    const run = newestRun(objects);
    if (!run) return { kind: "none", reason: `no monitoring run under ${where} yet` };
    return { kind: "run", run };
}

export async function readObjectText(s3: MonitoringS3, bucket: string, key: string): Promise<string> {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!res.Body) throw new Error(`s3://${bucket}/${key} has no body`);
    return res.Body.transformToString("utf8");
}

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

/** The run's violations, or undefined when the run has no constraint_violations.json. */
export async function readRunViolations(s3: MonitoringS3, bucket: string, run: MonitoringRun): Promise<Violation[] | undefined> {
    const key = run.files.violations;
    if (!key) return undefined;
    return parseViolations(await readObjectText(s3, bucket, key), `s3://${bucket}/${key}`);
}

/**
 * Downloads the run's files into `<dir>/<the run's path below the model's monitoring prefix>/`, so runs never
 * overwrite each other; each file is written under a temporary name and renamed into place. Returns the
 * local path of each file downloaded.
 */
export async function downloadRun(
    s3: MonitoringS3,
    bucket: string,
    model: string,
    run: MonitoringRun,
    dir: string,
): Promise<Partial<Record<MonitoringFile, string>>> {
    const relative = run.prefix.startsWith(prefixes.monitoringModel(model))
        ? run.prefix.slice(prefixes.monitoringModel(model).length)
        : run.prefix;
    const target = join(dir, ...relative.split("/").filter((p) => p && p !== "." && p !== ".."));
    const written: Partial<Record<MonitoringFile, string>> = {};
    for (const [file, key] of Object.entries(run.files) as [MonitoringFile, string][]) {
        const path = join(target, MONITORING_OUTPUT_FILES[file]);
        await writeFileAtomic(path, Buffer.from(await readObjectBytes(s3, bucket, key)));
        written[file] = path;
    }
    return written;
}
