import { CloudWatchClient, PutMetricDataCommand, StandardUnit } from "@aws-sdk/client-cloudwatch";
import { MONITORING_METRICS } from "../../infra/job-contract";
import { Histogram } from "../lib/histogram";
import { NUMERIC_PROPERTIES } from "../lib/image-properties";
import { MonitorResult } from "./analysis";
import { Violation } from "./checks";
import { ChiSquareResult } from "./chi-square";

/**
 * Model Monitor's statistics.json: `version`, `dataset.item_count` and one entry per feature
 * (`numerical_statistics` with `common`, mean, sum, std_dev, min, max and `distribution.kll.buckets`;
 * `string_statistics` with `distinct_count` and `distribution.categorical.buckets`). Buckets are the
 * baseline's fixed bins rather than a KLL sketch, so no `sketch` is written. What has no place in that
 * schema (the window, drift scores, p-values, quality) sits under `image_monitoring`, the schema's
 * provision for custom statistics.
 */
export function statisticsJson(r: MonitorResult): Record<string, unknown> {
    const features: unknown[] = [];
    for (const p of NUMERIC_PROPERTIES) {
        const s = r.properties[p].summary;
        features.push(
            numericFeature(
                `image_${p}`,
                p === "width" || p === "height" || p === "bytes" ? "Integral" : "Fractional",
                { count: s.count, missing: r.counts.records - s.count, mean: s.mean, sum: s.sum, stdDev: s.stdDev, min: s.min, max: s.max },
                s,
            ),
        );
    }
    features.push(
        numericFeature(
            "confidence",
            "Fractional",
            {
                count: r.counts.predictions,
                missing: r.counts.records - r.counts.predictions,
                mean: r.confidence.mean,
                sum: r.confidence.mean * r.counts.predictions,
            },
            r.confidence.histogram,
        ),
    );
    features.push(
        stringFeature(
            "predicted_class",
            r.counts.predictions,
            r.counts.records - r.counts.predictions,
            Object.fromEntries(r.classes.map((c, i) => [c, r.predictedClasses.counts[i]]).filter(([, n]) => (n as number) > 0)),
        ),
    );
    features.push(stringFeature("content_type", r.counts.images, r.counts.records - r.counts.images, r.contentTypes.images));

    return {
        version: 0,
        dataset: { item_count: r.counts.records },
        features,
        image_monitoring: {
            endpoint: r.endpoint,
            monitoring_schedule: r.schedule,
            start_time: r.window.start.toISOString(),
            end_time: r.window.end.toISOString(),
            verdict: r.verdict,
            not_judged_reason: r.notJudgedReason,
            records: r.counts,
            first_record_at: r.firstRecordAt,
            last_record_at: r.lastRecordAt,
            min_records: r.minRecords,
            judged: r.judged,
            malformed_records: r.malformed,
            decode_error_rate: r.decodeErrorRate,
            decode_error_samples: r.decodeErrorSamples,
            image_sample: {
                size: r.sampleSize,
                sampled: r.counts.sampled,
                of_inputs: r.counts.inputs,
                note:
                    r.counts.sampled < r.counts.inputs
                        ? `image properties and content types are measured on a uniform sample of ${r.counts.sampled} of ` +
                          `${r.counts.inputs} images (the smallest hashes of their event ids); predictions and confidence on every record`
                        : "every image was measured",
            },
            predicted_class: {
                psi: r.predictedClasses.psi,
                test: chi(r.predictedClasses.chiSquare),
                drifted: r.predictedClasses.drifted,
                counts: Object.fromEntries(r.classes.map((c, i) => [c, r.predictedClasses.counts[i]])),
                baseline_shares: Object.fromEntries(r.classes.map((c, i) => [c, r.predictedClasses.baselineShares[i]])),
            },
            confidence: {
                psi: r.confidence.psi,
                test: chi(r.confidence.chiSquare),
                drifted: r.confidence.drifted,
                low_confidence_rate: r.confidence.lowConfidenceRate,
                baseline_low_confidence_rate: r.confidence.baselineLowConfidenceRate,
                confidence_threshold: r.confidence.threshold,
            },
            image_properties: Object.fromEntries(
                NUMERIC_PROPERTIES.map((p) => [
                    p,
                    {
                        psi: r.properties[p].psi,
                        test: chi(r.properties[p].chiSquare),
                        drifted: r.properties[p].drifted,
                        mean: r.properties[p].summary.mean,
                        baseline_mean: r.properties[p].baseline.mean,
                    },
                ]),
            ),
            content_types: { observed_headers: r.contentTypes.observed, images: r.contentTypes.images, unseen: r.contentTypes.unseen },
            quality: r.quality && {
                matched_labels: r.quality.matched,
                judged: r.quality.judged,
                accuracy: r.quality.accuracy,
                macro_f1: r.quality.macroF1,
                baseline_accuracy: r.quality.baselineAccuracy,
                baseline_macro_f1: r.quality.baselineMacroF1,
                accuracy_drop: r.quality.accuracyDrop,
                confusion_matrix: { classes: r.classes, rows_actual_columns_predicted: r.quality.confusion },
                rejected_labels: r.quality.rejectedLabels,
                rejected_label_samples: r.quality.rejectedLabelSamples,
            },
            thresholds: r.thresholds,
        },
    };
}

function chi(c: ChiSquareResult) {
    return { method: c.method, bins: c.bins, statistic: c.statistic, degrees_of_freedom: c.degreesOfFreedom, p_value: c.pValue };
}

function numericFeature(
    name: string,
    inferredType: "Integral" | "Fractional",
    s: { count: number; missing: number; mean: number; sum: number; stdDev?: number; min?: number; max?: number },
    histogram: Histogram,
) {
    return {
        name,
        inferred_type: inferredType,
        numerical_statistics: {
            common: { num_present: s.count, num_missing: Math.max(0, s.missing) },
            mean: s.mean,
            sum: s.sum,
            ...(s.stdDev !== undefined ? { std_dev: s.stdDev } : {}),
            ...(s.min !== undefined ? { min: s.min, max: s.max } : {}),
            distribution: {
                kll: {
                    buckets: histogram.counts.map((count, i) => ({
                        lower_bound: histogram.edges[i],
                        upper_bound: histogram.edges[i + 1],
                        count,
                    })),
                },
            },
        },
    };
}

function stringFeature(name: string, present: number, missing: number, counts: Record<string, number>) {
    return {
        name,
        inferred_type: "String",
        string_statistics: {
            common: { num_present: present, num_missing: Math.max(0, missing) },
            distinct_count: Object.keys(counts).length,
            distribution: { categorical: { buckets: Object.entries(counts).map(([value, count]) => ({ value, count })) } },
        },
    };
}

/** Model Monitor's constraint_violations.json. */
export function violationsJson(r: MonitorResult): { violations: Violation[] } {
    return { violations: r.violations };
}

/** One CloudWatch datum, in the shape Model Monitor reads from a bring-your-own container's metric files. */
export interface MetricRecord {
    readonly MetricName: string;
    readonly Timestamp: string;
    readonly Dimensions: { Name: string; Value: string }[];
    readonly Value: number;
    readonly Unit: "Count" | "None";
}

/** The run's metrics, stamped with the window's end (the time Model Monitor schedules the run for). */
export function metricRecords(r: MonitorResult): MetricRecord[] {
    const dimensions = [
        { Name: "Endpoint", Value: r.endpoint },
        { Name: "MonitoringSchedule", Value: r.schedule },
    ];
    return (Object.keys(MONITORING_METRICS) as (keyof typeof MONITORING_METRICS)[])
        .filter((k) => r.metrics[k] !== undefined && Number.isFinite(r.metrics[k]))
        .map((k) => ({
            MetricName: MONITORING_METRICS[k],
            Timestamp: r.window.end.toISOString(),
            Dimensions: dimensions,
            Value: r.metrics[k]!,
            Unit: k === "records" || k === "violations" || k === "unseenContentTypes" || k === "notJudged" ? "Count" : "None",
        }));
}

/** JSON lines for `/opt/ml/output/metrics/cloudwatch/*.jsonl`. */
export function metricFileText(records: readonly MetricRecord[]): string {
    return records.map((m) => JSON.stringify(m)).join("\n") + (records.length ? "\n" : "");
}

/** PutMetricData accepts up to 1000 metrics per call; a run has a dozen, but stay within it regardless. */
const PUT_METRICS_BATCH = 1000;

export async function putMetrics(
    client: Pick<CloudWatchClient, "send">,
    namespace: string,
    records: readonly MetricRecord[],
): Promise<void> {
    for (let i = 0; i < records.length; i += PUT_METRICS_BATCH) {
        await client.send(
            new PutMetricDataCommand({
                Namespace: namespace,
                MetricData: records.slice(i, i + PUT_METRICS_BATCH).map((m) => ({
                    MetricName: m.MetricName,
                    Timestamp: new Date(m.Timestamp),
                    Dimensions: m.Dimensions,
                    Value: m.Value,
                    Unit: m.Unit as StandardUnit,
                })),
            }),
        );
    }
}
