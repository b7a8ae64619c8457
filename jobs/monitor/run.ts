import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { MONITORING_OUTPUT_FILES } from "../../infra/job-contract";
import { ensureOutputsAbsent, writeFileAtomic } from "../lib/atomic";
import { MonitoringBaseline } from "../lib/baseline";
import { JobError } from "../lib/errors";
import { CONFIDENCE_BINS, PROPERTY_BINS } from "../lib/histogram";
import { NUMERIC_PROPERTIES } from "../lib/image-properties";
import { MonitorResult, WindowAnalysis } from "./analysis";
import { captureFiles, hourFolders, s3Prefix } from "./capture";
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

/**
 * One monitoring run: stream the window's capture records through the analysis, then write
 * statistics.json, constraint_violations.json and report.html (each atomically, never over an existing
 * file), the CloudWatch metric records and, when asked, PutMetricData and the S3 upload.
 */
export async function runMonitor(settings: MonitorSettings, clients: MonitorClients = {}): Promise<MonitorResult> {
    const outputs = Object.values(MONITORING_OUTPUT_FILES).map((f) => join(settings.output, f));
    ensureOutputsAbsent(outputs, "monitor");
    const baseline = readBaseline(settings.baseline);
    const s3 = clients.s3 ?? (needsS3(settings) ? new S3Client({}) : undefined);
    const labelled = settings.groundTruth !== undefined && (settings.groundTruth.startsWith("s3://") || existsSync(settings.groundTruth));
    const groundTruth = labelled
        ? await loadGroundTruth(await groundTruthFiles(settings.groundTruth!, settings.window, s3), baseline.classes)
        : undefined;

    const analysis = new WindowAnalysis(
        baseline,
        settings.thresholds,
        settings.window,
        groundTruth?.labels,
        groundTruth && {
            rejected: groundTruth.rejected,
            samples: groundTruth.rejectedSamples,
        },
    );
    for (const file of await captureFiles(settings.capture, settings.endpoint, settings.window, s3)) {
        analysis.fileRead();
        let batch: Promise<void>[] = [];
        let lineNo = 0;
        for await (const line of file.lines()) {
            lineNo++;
            batch.push(analysis.addLine(line, `${file.name}:${lineNo}`));
            if (batch.length >= IN_FLIGHT) {
                await Promise.all(batch);
                batch = [];
            }
        }
        await Promise.all(batch);
    }
    const result = analysis.result(settings.endpoint, settings.schedule);

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
    if (settings.upload) await uploadOutputs(s3!, settings, files);
    return result;
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

async function uploadOutputs(
    s3: Pick<S3Client, "send">,
    settings: MonitorSettings,
    files: Record<keyof typeof MONITORING_OUTPUT_FILES, string>,
): Promise<void> {
    const { bucket, prefix } = uploadPrefix(settings.upload!, settings.window);
    const contentTypes = { statistics: "application/json", violations: "application/json", report: "text/html; charset=utf-8" };
    for (const key of Object.keys(files) as (keyof typeof files)[]) {
        const objectKey = `${prefix}${MONITORING_OUTPUT_FILES[key]}`;
        try {
            await s3.send(
                new PutObjectCommand({
                    Bucket: bucket,
                    Key: objectKey,
                    Body: files[key],
                    ContentType: contentTypes[key],
                    // A re-run of the same window must not replace the evidence of the first one.
                    IfNoneMatch: "*",
                    ...(settings.uploadKmsKeyId ? { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: settings.uploadKmsKeyId } : {}),
                }),
            );
        } catch (e) {
            const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
            if (err.name === "PreconditionFailed" || err.$metadata?.httpStatusCode === 412)
                throw new JobError(
                    `s3://${bucket}/${objectKey} already exists: this window was monitored before; ` +
                        "its outputs are kept (delete them by hand to re-run it)",
                );
            throw e;
        }
    }
}

/** Reads monitoring_baseline.json and checks it has what a run compares against. */
export function readBaseline(path: string): MonitoringBaseline {
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
    const problems: string[] = [];
    if (!Array.isArray(b?.classes) || b.classes.length < 2) problems.push("classes (a list of at least 2 class names)");
    if (!b?.predictedClassDistribution || typeof b.predictedClassDistribution !== "object") problems.push("predictedClassDistribution");
    if (!Array.isArray(b?.confidence?.counts) || b.confidence.counts.length !== CONFIDENCE_BINS.length - 1)
        problems.push(`confidence.counts (${CONFIDENCE_BINS.length - 1} bins)`);
    if (typeof b?.lowConfidenceRate !== "number") problems.push("lowConfidenceRate");
    if (typeof b?.quality?.accuracy !== "number") problems.push("quality.accuracy");
    if (!b?.contentTypes || typeof b.contentTypes !== "object") problems.push("contentTypes");
    for (const p of NUMERIC_PROPERTIES)
        if (!Array.isArray(b?.properties?.[p]?.counts) || b.properties[p].counts.length !== PROPERTY_BINS[p].length - 1)
            problems.push(`properties.${p}.counts (${PROPERTY_BINS[p].length - 1} bins)`);
    if (problems.length)
        throw new JobError(
            `the monitoring baseline ${path} lacks or has malformed: ${problems.join(", ")}; ` +
                "regenerate it with the evaluate step of the training pipeline",
        );
    return b;
}
