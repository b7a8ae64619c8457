import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import {
    MONITORING_COMPLETION_FILE,
    MONITORING_COMPLETION_SCHEMA_VERSION,
    MONITORING_OUTPUT_FILES,
    MonitoringCompletion,
    MonitoringVerdict,
} from "../../infra/job-contract";
import { prefixes } from "../../infra/naming";
import { ensureBucket } from "./fixtures";

/**
 * Monitoring runs in the capture bucket as the monitor job leaves them: complete (every output file, then the
 * completion record naming their sizes and checksums), or broken in the ways real runs break or are broken.
 */

export interface RunViolation {
    readonly feature_name: string;
    readonly constraint_check_type: string;
    readonly description: string;
}

export type RunDamage =
    /** The run stopped after its first file (killed, or a failed upload): statistics.json only, no record. */
    | "stopped-after-first-file"
    /** Every output file, but the run stopped before its completion record. */
    | "no-record"
    /** constraint_violations.json was replaced by an empty list after the record was written. */
    | "violations-emptied"
    /** The record names report.html, which is not there. */
    | "file-missing"
    /** The record is cut off half-way. */
    | "record-truncated"
    /** A constraint_violations.json written after the record, which the record does not name. */
    | "unnamed-file";

export interface RunSpec {
    readonly model: string;
    readonly endpoint: string;
    readonly schedule?: string;
    readonly window: { readonly start: Date; readonly end: Date };
    readonly verdict?: MonitoringVerdict;
    readonly records?: number;
    readonly minRecords?: number;
    readonly violations?: readonly RunViolation[];
    readonly notJudgedReason?: string;
    readonly damage?: RunDamage;
    /** Override fields of the record (a record that lies, say). */
    readonly record?: Partial<Record<keyof MonitoringCompletion, unknown>>;
    /** Replace a file's content (before its checksum is taken), by file name. */
    readonly bodies?: Readonly<Record<string, string>>;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const p2 = (n: number) => String(n).padStart(2, "0");

/** `<model>/monitoring/<endpoint>/<schedule>/yyyy/mm/dd/hh/` of the window's end, as the monitor names its runs. */
export function runPrefix(spec: Pick<RunSpec, "model" | "endpoint" | "schedule" | "window">): string {
    const e = spec.window.end;
    const hour = `${e.getUTCFullYear()}/${p2(e.getUTCMonth() + 1)}/${p2(e.getUTCDate())}/${p2(e.getUTCHours())}`;
    return `${prefixes.monitoringModel(spec.model)}${spec.endpoint}/${spec.schedule ?? `${spec.endpoint}-monitoring`}/${hour}/`;
}

/** Uploads a run (files first, the record last) and returns its prefix. */
export async function uploadRun(s3: S3Client, bucket: string, spec: RunSpec): Promise<string> {
    await ensureBucket(s3, bucket);
    const prefix = runPrefix(spec);
    const violations = spec.violations ?? [];
    const verdict = spec.verdict ?? (violations.length ? "violations" : "clean");
    const records = spec.records ?? (verdict === "not-judged" ? 0 : 240);
    const files: Record<string, Buffer> = {
        [MONITORING_OUTPUT_FILES.statistics]: Buffer.from(JSON.stringify({ version: 0, dataset: { item_count: records } })),
        [MONITORING_OUTPUT_FILES.violations]: Buffer.from(JSON.stringify({ violations })),
        [MONITORING_OUTPUT_FILES.report]: Buffer.from(`<html><body><h1>${spec.model}: ${verdict}</h1></body></html>`),
        ...Object.fromEntries(Object.entries(spec.bodies ?? {}).map(([name, body]) => [name, Buffer.from(body)])),
    };
    const record: MonitoringCompletion = {
        schemaVersion: MONITORING_COMPLETION_SCHEMA_VERSION,
        endpoint: spec.endpoint,
        schedule: spec.schedule ?? `${spec.endpoint}-monitoring`,
        window: { start: spec.window.start.toISOString(), end: spec.window.end.toISOString() },
        verdict,
        ...(verdict === "not-judged" ? { notJudgedReason: spec.notJudgedReason ?? `${records} records in the window` } : {}),
        records,
        minRecords: spec.minRecords ?? 30,
        violations: violations.length,
        ...(records > 0 ? { firstRecordAt: spec.window.start.toISOString(), lastRecordAt: spec.window.end.toISOString() } : {}),
        files: Object.entries(files).map(([name, body]) => ({ name, bytes: body.length, sha256: sha256(body) })),
        runId: `execution-${spec.window.end.getTime()}`,
        completedAt: spec.window.end.toISOString(),
        ...(spec.record as object),
    } as MonitoringCompletion;
    const put = (name: string, body: Buffer | string) =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${name}`, Body: body }));

    const damage = spec.damage;
    if (damage === "stopped-after-first-file") {
        await put(MONITORING_OUTPUT_FILES.statistics, files[MONITORING_OUTPUT_FILES.statistics]);
        return prefix;
    }
    for (const [name, body] of Object.entries(files)) {
        if (damage === "file-missing" && name === MONITORING_OUTPUT_FILES.report) continue;
        if (damage === "unnamed-file" && name === MONITORING_OUTPUT_FILES.violations) continue;
        await put(name, body);
    }
    if (damage === "no-record") return prefix;
    const recordText = JSON.stringify(
        damage === "unnamed-file"
            ? { ...record, files: record.files.filter((f) => f.name !== MONITORING_OUTPUT_FILES.violations) }
            : record,
    );
    await put(MONITORING_COMPLETION_FILE, damage === "record-truncated" ? recordText.slice(0, recordText.length >> 1) : recordText);
    if (damage === "violations-emptied") await put(MONITORING_OUTPUT_FILES.violations, JSON.stringify({ violations: [] }));
    if (damage === "unnamed-file") await put(MONITORING_OUTPUT_FILES.violations, JSON.stringify({ violations: [] }));
    return prefix;
}
