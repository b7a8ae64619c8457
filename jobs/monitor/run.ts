import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import { existsSync, readdirSync, readFileSync } from "fs";
import { hostname } from "os";
import { join, relative } from "path";
import {
    MONITORING_COMPLETION_FILE,
    MONITORING_COMPLETION_SCHEMA_VERSION,
    MONITORING_OUTPUT_FILES,
    MonitoringCompletion,
} from "../../infra/job-contract";
import { ensureWritableFolders, writeFileAtomic } from "../lib/atomic";
import { MonitoringBaseline } from "../lib/baseline";
import { JobError } from "../lib/errors";
import { CONFIDENCE_BINS, PROPERTY_BINS } from "../lib/histogram";
import { MEASUREMENT_VERSION, NUMERIC_PROPERTIES } from "../lib/image-properties";
import { IN_PROCESS, TaskRunner } from "../lib/workers";
import { judgeWindow, MonitorResult } from "./analysis";
import { mergeStates, WindowAnalysis, WindowState } from "./window";
import { captureFiles, DEFAULT_MAX_LINE_BYTES, hourFolders, s3Prefix } from "./capture";
import { Claim, claimLocal, claimS3, objectExists } from "./claim";
import { groundTruthFiles, loadGroundTruth } from "./ground-truth";
import { metricFileText, metricRecords, putMetrics, statisticsJson, violationsJson } from "./outputs";
import { reportHtml } from "./report";
import { MonitorSettings } from "./settings";

/** AWS clients the run may use; tests and the emulator pass their own. */
export interface MonitorClients {
    readonly s3?: Pick<S3Client, "send">;
    readonly cloudwatch?: Pick<CloudWatchClient, "send">;
}

/** Records decoded at once: enough to keep sharp's threads busy, few enough that memory stays flat. */
const IN_FLIGHT = 8;
/** The metric file name Model Monitor picks up from METRIC_FILES_DIR. */
export const METRIC_FILE = "metrics.jsonl";
/** A sharded run's instances write their accumulated state as `partial-<host>.json`. */
export const PARTIAL_PREFIX = "partial-";
/** Default claim lease: Model Monitor's longest hourly run. The pipelines pass their step's MaxRuntimeInSeconds. */
const DEFAULT_LEASE_SECONDS = 3600;

/**
 * One monitoring run: claim the window (locally, and in S3 when uploading), stream the window's capture
 * records through the analysis (or merge a sharded run's partial states), judge them, write
 * statistics.json, constraint_violations.json and report.html (each atomically), the CloudWatch metric
 * records and, when asked, PutMetricData and the S3 upload; then the completion record, written last, that
 * names every file with its size and SHA-256 and says clean, violations or not-judged.
 *
 * With `partialOutput` (an instance of a sharded run) it only writes its partial state there. Images are decoded
 * on `workers` (worker threads, which the caller closes) or, by default, on this thread.
 */
export async function runMonitor(
    settings: MonitorSettings,
    clients: MonitorClients = {},
    workers: TaskRunner = IN_PROCESS,
): Promise<MonitorResult> {
    const baseline = readBaseline(settings.baseline, settings.expectedClasses);
    const s3 = clients.s3 ?? (needsS3(settings) ? new S3Client({}) : undefined);
    const runId = settings.runId ?? defaultRunId();
    const claimOptions = { runId, leaseSeconds: settings.claimLeaseSeconds ?? DEFAULT_LEASE_SECONDS };

    if (settings.partialOutput) {
        await ensureWritableFolders([settings.partialOutput]);
        const state = await analyseWindow(settings, baseline, s3, workers);
        const name = `${PARTIAL_PREFIX}${(settings.host ?? hostname()).replace(/[^\w.-]/g, "_")}.json`;
        await writeFileAtomic(join(settings.partialOutput, name), JSON.stringify(state));
        return judgeWindow(state, judgeInput(settings, baseline));
    }

    await ensureWritableFolders([settings.output]);
    const local = claimLocal(settings.output, claimOptions);
    const claims: Claim[] = [local];
    try {
        const present = Object.values(MONITORING_OUTPUT_FILES).filter((f) => existsSync(join(settings.output, f)));
        if (!local.tookOver && present.length)
            throw new JobError(
                `${settings.output} already holds ${present.join(", ")} of a run that never claimed it; ` +
                    "they are kept as they are: choose an empty output folder or move them away first",
            );
        if (settings.upload) {
            const { bucket, prefix } = uploadPrefix(settings.upload, settings.window);
            const claim = await claimS3(s3!, bucket, prefix, claimOptions, settings.uploadKmsKeyId);
            claims.push(claim);
            if (!claim.tookOver && (await objectExists(s3!, bucket, `${prefix}${MONITORING_OUTPUT_FILES.statistics}`)))
                throw new JobError(
                    `s3://${bucket}/${prefix} already holds monitoring outputs of a run from before window claims; ` +
                        "they are kept as they are (move them away to re-run this window)",
                );
        }
        const labelProblems = { value: undefined as { rejected: number; samples: readonly string[] } | undefined };
        let state: WindowState;
        if (settings.mergeFrom) {
            state = readPartials(settings.mergeFrom);
            // The instances matched the labels; the merge step reports the lines none of them could use.
            const truth = await readGroundTruth(settings, baseline, s3);
            if (truth) labelProblems.value = { rejected: truth.rejected, samples: truth.rejectedSamples };
        } else state = await analyseWindow(settings, baseline, s3, workers, labelProblems);
        if (state.window.start !== settings.window.start.toISOString() || state.window.end !== settings.window.end.toISOString())
            throw new JobError(`the partial statistics are of ${state.window.start}..${state.window.end}, not of this run's window`);
        const result = judgeWindow(state, { ...judgeInput(settings, baseline), labelProblems: labelProblems.value });
        await writeOutputs(settings, result, runId, s3, clients);
        return result;
    } catch (e) {
        for (const claim of claims) await claim.release(`failed: ${(e as Error).message}`.slice(0, 500));
        throw e;
    }
}

function judgeInput(settings: MonitorSettings, baseline: MonitoringBaseline) {
    return {
        baseline,
        thresholds: settings.thresholds,
        endpoint: settings.endpoint,
        schedule: settings.schedule,
        capture: settings.capture,
    };
}

/** Reads the window's capture files into an accumulated state. */
async function analyseWindow(
    settings: MonitorSettings,
    baseline: MonitoringBaseline,
    s3: Pick<S3Client, "send"> | undefined,
    workers: TaskRunner,
    labelProblems?: { value?: { rejected: number; samples: readonly string[] } },
): Promise<WindowState> {
    const groundTruth = await readGroundTruth(settings, baseline, s3);
    if (groundTruth && labelProblems) labelProblems.value = { rejected: groundTruth.rejected, samples: groundTruth.rejectedSamples };
    const maxLineBytes = settings.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const analysis = new WindowAnalysis(baseline, settings.window, {
        labels: groundTruth?.labels,
        sampleSize: settings.imageSampleSize,
        maxLineBytes,
        workers,
    });
    const root = settings.capture;
    for (const file of await captureFiles(root, settings.endpoint, settings.window, s3)) {
        analysis.fileRead();
        // Records are named relative to the capture root, so a sharded run and a single run name them alike.
        const name = file.name.startsWith("s3://")
            ? file.name.slice(`s3://${s3Prefix(root).bucket}/${s3Prefix(root).prefix}`.length)
            : relative(root, file.name);
        let batch: Promise<void>[] = [];
        let lineNo = 0;
        for await (const item of file.lines(maxLineBytes)) {
            lineNo++;
            batch.push(analysis.addLine(item, `${name}:${lineNo}`, settings.thresholds.confidenceThreshold));
            if (batch.length >= IN_FLIGHT) {
                await Promise.all(batch);
                batch = [];
            }
        }
        await Promise.all(batch);
    }
    return analysis.finish();
}

function readGroundTruth(settings: MonitorSettings, baseline: MonitoringBaseline, s3: Pick<S3Client, "send"> | undefined) {
    const labelled = settings.groundTruth !== undefined && (settings.groundTruth.startsWith("s3://") || existsSync(settings.groundTruth));
    return labelled
        ? groundTruthFiles(settings.groundTruth!, settings.window, s3).then((f) => loadGroundTruth(f, baseline.classes))
        : undefined;
}

/** Merges every `partial-*.json` in a folder (the outputs of a sharded run's instances). */
export function readPartials(folder: string): WindowState {
    const files = existsSync(folder) ? readdirSync(folder).filter((f) => f.startsWith(PARTIAL_PREFIX) && f.endsWith(".json")) : [];
    if (files.length === 0)
        throw new JobError(`no partial statistics (${PARTIAL_PREFIX}*.json) in ${folder}: the sharded monitor step wrote none`);
    return mergeStates(files.sort().map((f) => JSON.parse(readFileSync(join(folder, f), "utf8")) as WindowState));
}

async function writeOutputs(
    settings: MonitorSettings,
    result: MonitorResult,
    runId: string,
    s3: Pick<S3Client, "send"> | undefined,
    clients: MonitorClients,
): Promise<void> {
    const files: Record<keyof typeof MONITORING_OUTPUT_FILES, string> = {
        statistics: `${JSON.stringify(statisticsJson(result), null, 2)}\n`,
        violations: `${JSON.stringify(violationsJson(result), null, 2)}\n`,
        report: reportHtml(result),
    };
    for (const key of Object.keys(files) as (keyof typeof files)[])
        await writeFileAtomic(join(settings.output, MONITORING_OUTPUT_FILES[key]), files[key]);

    const metrics = metricRecords(result);
    if (settings.metricFiles) await writeFileAtomic(join(settings.metricFiles, METRIC_FILE), metricFileText(metrics));
    if (settings.putMetricsNamespace)
        await putMetrics(clients.cloudwatch ?? new CloudWatchClient({}), settings.putMetricsNamespace, metrics);

    const completion = completionRecord(result, runId, files);
    const completionText = `${JSON.stringify(completion, null, 2)}\n`;
    if (settings.upload) await uploadOutputs(s3!, settings, files, completionText);
    // Written last, locally too: Model Monitor uploads the folder itself, and a local re-run must see it.
    await writeFileAtomic(join(settings.output, MONITORING_COMPLETION_FILE), completionText);
}

/** The completion record (infra/job-contract.ts) of a run whose files are `files`. */
export function completionRecord(
    r: MonitorResult,
    runId: string,
    files: Record<keyof typeof MONITORING_OUTPUT_FILES, string>,
): MonitoringCompletion {
    return {
        schemaVersion: MONITORING_COMPLETION_SCHEMA_VERSION,
        endpoint: r.endpoint,
        schedule: r.schedule,
        window: { start: r.window.start.toISOString(), end: r.window.end.toISOString() },
        verdict: r.verdict,
        ...(r.notJudgedReason ? { notJudgedReason: r.notJudgedReason } : {}),
        records: r.counts.records,
        minRecords: r.minRecords,
        violations: r.violations.length,
        ...(r.firstRecordAt ? { firstRecordAt: r.firstRecordAt, lastRecordAt: r.lastRecordAt } : {}),
        files: (Object.keys(files) as (keyof typeof files)[]).map((key) => {
            const bytes = Buffer.from(files[key], "utf8");
            return { name: MONITORING_OUTPUT_FILES[key], bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
        }),
        runId,
        completedAt: new Date().toISOString(),
    };
}

/** The processing job's name when SageMaker runs the job, else this host and process. */
function defaultRunId(): string {
    try {
        const config = JSON.parse(readFileSync("/opt/ml/config/processingjobconfig.json", "utf8")) as { ProcessingJobName?: string };
        if (config.ProcessingJobName) return config.ProcessingJobName;
    } catch {
        // Not in a SageMaker processing container.
    }
    return `${hostname()}-${process.pid}-${Date.now()}`;
}

function needsS3(s: MonitorSettings): boolean {
    return s.capture.startsWith("s3://") || s.upload !== undefined || s.groundTruth?.startsWith("s3://") === true;
}

/** The S3 prefix one run's outputs go to: `<upload>/yyyy/mm/dd/hh/` of the window's end. */
export function uploadPrefix(upload: string, window: MonitorSettings["window"]): { bucket: string; prefix: string } {
    const { bucket, prefix } = s3Prefix(upload);
    const hour = hourFolders({ start: window.end, end: new Date(window.end.getTime() + 1) })[0];
    return { bucket, prefix: `${prefix}${hour}/` };
}

/**
 * Uploads the run's files, then the completion record. The claim makes this run the only writer of the
 * folder, so the files are plain puts (a taken-over incomplete run's files are replaced; the bucket's
 * versioning keeps them); the completion record alone is created only if absent.
 */
async function uploadOutputs(
    s3: Pick<S3Client, "send">,
    settings: MonitorSettings,
    files: Record<keyof typeof MONITORING_OUTPUT_FILES, string>,
    completion: string,
): Promise<void> {
    const { bucket, prefix } = uploadPrefix(settings.upload!, settings.window);
    const sse = settings.uploadKmsKeyId ? { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: settings.uploadKmsKeyId } : {};
    const contentTypes = { statistics: "application/json", violations: "application/json", report: "text/html; charset=utf-8" };
    for (const key of Object.keys(files) as (keyof typeof files)[])
        await s3.send(
            new PutObjectCommand({
                Bucket: bucket,
                Key: `${prefix}${MONITORING_OUTPUT_FILES[key]}`,
                Body: files[key],
                ContentType: contentTypes[key],
                ...sse,
            }),
        );
    try {
        await s3.send(
            new PutObjectCommand({
                Bucket: bucket,
                Key: `${prefix}${MONITORING_COMPLETION_FILE}`,
                Body: completion,
                ContentType: "application/json",
                IfNoneMatch: "*",
                ...sse,
            }),
        );
    } catch (e) {
        const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (err.name === "PreconditionFailed" || err.$metadata?.httpStatusCode === 412)
            throw new JobError(
                `s3://${bucket}/${prefix}${MONITORING_COMPLETION_FILE} appeared while this run held the claim; its evidence is kept`,
            );
        throw e;
    }
}

/** What the model the monitor runs for expects of its baseline: its class names, or their number. */
export interface ExpectedClasses {
    readonly count: number;
    readonly names?: readonly string[];
}

/** Counts binned on other edges cannot be compared with the monitor's, whatever their number of bins. */
function sameEdges(edges: unknown, bins: readonly number[]): boolean {
    return Array.isArray(edges) && edges.length === bins.length && edges.every((e, i) => e === bins[i]);
}

/** Reads monitoring_baseline.json and checks every value a run compares against, naming what is wrong. */
export function readBaseline(path: string, expected?: ExpectedClasses): MonitoringBaseline {
    if (!existsSync(path))
        throw new JobError(
            `the monitoring baseline ${path} is missing: it is the monitoring_baseline.json the evaluate step ` +
                "registered with the model package (DriftCheckBaselines); mount it there or pass --baseline",
        );
    let b: MonitoringBaseline;
    try {
        b = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
        throw new JobError(`the monitoring baseline ${path} is not JSON: ${(e as Error).message}`);
    }
    if (b?.version !== MEASUREMENT_VERSION)
        throw new JobError(
            `the monitoring baseline ${path} has image properties measured by version ${JSON.stringify(b?.version)} of the ` +
                `measurement; this monitor measures version ${MEASUREMENT_VERSION} (on the pixels the model trains on, not a ` +
                "64 px thumbnail), and the two are not comparable: run the training pipeline again (its preprocess step, " +
                "with the current jobs image, writes a new baseline) and monitor the package it registers",
        );
    const problems: string[] = [];
    if (!Array.isArray(b.imageShape) || b.imageShape.length !== 3 || !b.imageShape.every((v) => Number.isInteger(v) && v > 0))
        problems.push(`imageShape (${JSON.stringify(b.imageShape)}: the model's [channels, height, width])`);
    const count = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;
    const share = (v: unknown) => count(v) && (v as number) <= 1;
    const counts = (field: string, v: unknown, bins: number) => {
        if (!Array.isArray(v) || v.length !== bins) problems.push(`${field} (${bins} bins)`);
        else
            v.forEach((x, i) => {
                if (!count(x)) problems.push(`${field}[${i}] (${JSON.stringify(x)}: counts are finite numbers >= 0)`);
            });
    };
    if (!Array.isArray(b?.classes) || b.classes.length < 2 || !b.classes.every((c) => typeof c === "string"))
        problems.push("classes (a list of at least 2 class names)");
    if (!b?.predictedClassDistribution || typeof b.predictedClassDistribution !== "object") problems.push("predictedClassDistribution");
    else
        for (const [name, v] of Object.entries(b.predictedClassDistribution))
            if (!share(v)) problems.push(`predictedClassDistribution.${name} (${JSON.stringify(v)}: a share from 0 to 1)`);
    counts("confidence.counts", b?.confidence?.counts, CONFIDENCE_BINS.length - 1);
    if (b?.confidence && !sameEdges(b.confidence.edges, CONFIDENCE_BINS))
        problems.push(`confidence.edges (the ${CONFIDENCE_BINS.length} bin edges 0, 0.1, ..., 1 the monitor bins confidence on)`);
    if (!share(b?.lowConfidenceRate)) problems.push(`lowConfidenceRate (${JSON.stringify(b?.lowConfidenceRate)}: a share from 0 to 1)`);
    if (!share(b?.quality?.accuracy)) problems.push("quality.accuracy (a share from 0 to 1)");
    if (!b?.contentTypes || typeof b.contentTypes !== "object") problems.push("contentTypes");
    else
        for (const [type, v] of Object.entries(b.contentTypes))
            if (!count(v)) problems.push(`contentTypes.${type} (${JSON.stringify(v)}: counts are finite numbers >= 0)`);
    for (const p of NUMERIC_PROPERTIES) {
        counts(`properties.${p}.counts`, b?.properties?.[p]?.counts, PROPERTY_BINS[p].length - 1);
        if (b?.properties?.[p] && !Number.isFinite(b.properties[p].mean)) problems.push(`properties.${p}.mean (a finite number)`);
        // The report and outlier pictures read the baseline's edges: without them the first measured image would fail.
        if (b?.properties?.[p] && !sameEdges(b.properties[p].edges, PROPERTY_BINS[p]))
            problems.push(`properties.${p}.edges (the ${PROPERTY_BINS[p].length} bin edges the monitor measures ${p} on)`);
    }
    if (problems.length)
        throw new JobError(
            `the monitoring baseline ${path} lacks or has malformed: ${problems.slice(0, 20).join(", ")}` +
                `${problems.length > 20 ? ` and ${problems.length - 20} more` : ""}; regenerate it with the evaluate step of the training pipeline`,
        );
    if (expected) {
        const names = expected.names;
        if (b.classes.length !== expected.count || (names && names.join("\n") !== b.classes.join("\n")))
            throw new JobError(
                `the monitoring baseline ${path} is for ${b.classes.length} classes (${b.classes.slice(0, 5).join(", ")}` +
                    `${b.classes.length > 5 ? ", ..." : ""}) but the model has ${expected.count}` +
                    `${names ? ` (${names.slice(0, 5).join(", ")}${names.length > 5 ? ", ..." : ""})` : ""}; ` +
                    "monitor the endpoint against the baseline registered with the package it serves",
            );
    }
    return b;
}
