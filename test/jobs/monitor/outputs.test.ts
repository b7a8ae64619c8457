import { PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { expect } from "chai";
import { MonitorResult } from "../../../jobs/monitor/analysis";
import { MetricRecord, metricFileText, metricRecords, putMetrics, statisticsJson, violationsJson } from "../../../jobs/monitor/outputs";
import { HAND_QUALITY, handResult as result } from "./hand-result";

// Model Monitor's output files and the CloudWatch metrics from a result written out by hand (./hand-result).

type Feature = {
    name: string;
    inferred_type: string;
    numerical_statistics?: Record<string, unknown>;
    string_statistics?: Record<string, unknown>;
};

describe("monitor outputs: statistics.json", () => {
    const features = (r: MonitorResult) => statisticsJson(r).features as Feature[];
    const feature = (r: MonitorResult, name: string) => features(r).find((f) => f.name === name)!;

    it("has one feature per image property, then confidence, predicted class and content type, typed as Model Monitor types them", () => {
        expect(features(result()).map((f) => [f.name, f.inferred_type])).to.deep.equal([
            ["image_width", "Integral"],
            ["image_height", "Integral"],
            ["image_aspect", "Fractional"],
            ["image_bytes", "Integral"],
            ["image_brightness", "Fractional"],
            ["image_contrast", "Fractional"],
            ["image_meanRed", "Fractional"],
            ["image_meanGreen", "Fractional"],
            ["image_meanBlue", "Fractional"],
            ["confidence", "Fractional"],
            ["predicted_class", "String"],
            ["content_type", "String"],
        ]);
        const doc = statisticsJson(result());
        expect([doc.version, doc.dataset]).to.deep.equal([0, { item_count: 4 }]);
    });

    it("writes a property's moments and its baseline bins as KLL buckets", () => {
        expect(feature(result(), "image_height").numerical_statistics).to.deep.equal({
            common: { num_present: 3, num_missing: 1 },
            mean: 11,
            sum: 33,
            std_dev: 2,
            min: 1,
            max: 19,
            distribution: {
                kll: {
                    buckets: [
                        { lower_bound: 0, upper_bound: 10, count: 1 },
                        { lower_bound: 10, upper_bound: 20, count: 2 },
                    ],
                },
            },
        });
    });

    it("gives confidence its sum from the mean and no spread, and never counts a negative missing", () => {
        const r = result({ counts: { ...result().counts, records: 3, predictions: 4 } });
        expect(feature(r, "confidence").numerical_statistics).to.deep.equal({
            common: { num_present: 4, num_missing: 0 },
            mean: 0.7,
            sum: 2.8,
            distribution: {
                kll: {
                    buckets: [
                        { lower_bound: 0, upper_bound: 0.5, count: 1 },
                        { lower_bound: 0.5, upper_bound: 1, count: 3 },
                    ],
                },
            },
        });
        expect((feature(r, "image_width").numerical_statistics!.common as { num_missing: number }).num_missing).to.equal(0);
        expect((feature(r, "predicted_class").string_statistics!.common as { num_missing: number }).num_missing).to.equal(0);
    });

    it("counts predicted classes that occurred and the decoded images' types as categorical buckets", () => {
        expect(feature(result(), "predicted_class").string_statistics).to.deep.equal({
            common: { num_present: 4, num_missing: 0 },
            distinct_count: 2,
            distribution: {
                categorical: {
                    buckets: [
                        { value: "stop", count: 3 },
                        { value: "yield", count: 1 },
                    ],
                },
            },
        });
        expect(feature(result(), "content_type").string_statistics).to.deep.equal({
            common: { num_present: 3, num_missing: 1 },
            distinct_count: 2,
            distribution: {
                categorical: {
                    buckets: [
                        { value: "image/jpeg", count: 2 },
                        { value: "image/png", count: 1 },
                    ],
                },
            },
        });
    });

    it("keeps what Model Monitor's schema has no place for under image_monitoring", () => {
        const m = statisticsJson(result()).image_monitoring as Record<string, unknown>;
        expect(m).to.deep.include({
            endpoint: "vision-mlops-staging-signs",
            monitoring_schedule: "signs-hourly",
            start_time: "2026-01-10T12:00:00.000Z",
            end_time: "2026-01-10T13:00:00.000Z",
            verdict: "violations",
            min_records: 2,
            judged: true,
            decode_error_rate: 0.25,
            decode_error_samples: ["t.jpg: bad"],
            quality: undefined,
        });
        expect(m.image_sample).to.deep.equal({ size: 1000, sampled: 4, of_inputs: 4, note: "every image was measured" });
        expect(m.predicted_class).to.deep.equal({
            psi: 0.3,
            test: { method: "chi-square", bins: 3, statistic: 4.5, degrees_of_freedom: 2, p_value: 0.001 },
            drifted: true,
            counts: { stop: 3, yield: 1, "speed-30": 0 },
            baseline_shares: { stop: 0.5, yield: 0.25, "speed-30": 0.25 },
        });
        expect(m.confidence).to.deep.equal({
            psi: 0.02,
            test: { method: "chi-square", bins: 3, statistic: 4.5, degrees_of_freedom: 2, p_value: 0.4 },
            drifted: false,
            low_confidence_rate: 0.25,
            baseline_low_confidence_rate: 0.1,
            confidence_threshold: 0.6,
        });
        expect((m.image_properties as Record<string, unknown>).brightness).to.deep.equal({
            psi: 0.04,
            test: { method: "chi-square", bins: 3, statistic: 4.5, degrees_of_freedom: 2, p_value: 0.5 },
            drifted: true,
            mean: 14,
            baseline_mean: 13,
        });
        expect(m.content_types).to.deep.equal({
            observed_headers: { "image/jpeg": 4 },
            images: { "image/jpeg": 2, "image/png": 1 },
            unseen: ["image/png"],
        });
    });

    it("says when image properties were measured on a sample, and writes the quality figures when labels were read", () => {
        const r = result({
            counts: { ...result().counts, sampled: 2, inputs: 5 },
            quality: HAND_QUALITY,
        });
        const m = statisticsJson(r).image_monitoring as Record<string, Record<string, unknown>>;
        expect(m.image_sample.note).to.equal(
            "image properties and content types are measured on a uniform sample of 2 of 5 images (the smallest hashes of their event ids); " +
                "predictions and confidence on every record",
        );
        expect(m.quality).to.deep.equal({
            matched_labels: 4,
            judged: true,
            accuracy: 0.75,
            macro_f1: 0.5,
            baseline_accuracy: 0.9,
            baseline_macro_f1: 0.8,
            accuracy_drop: 0.15,
            confusion_matrix: {
                classes: ["stop", "yield", "speed-30"],
                rows_actual_columns_predicted: [
                    [2, 0, 0],
                    [1, 1, 0],
                    [0, 0, 0],
                ],
            },
            rejected_labels: 1,
            rejected_label_samples: ["line 3: unknown class"],
        });
    });

    it("writes the violations as constraint_violations.json", () => {
        expect(violationsJson(result())).to.deep.equal({
            violations: [{ feature_name: "predicted_class", constraint_check_type: "distribution_drift_check", description: "moved" }],
        });
    });
});

describe("monitor outputs: CloudWatch metrics", () => {
    const dimensions = [
        { Name: "Endpoint", Value: "vision-mlops-staging-signs" },
        { Name: "MonitoringSchedule", Value: "signs-hourly" },
    ];
    const datum = (MetricName: string, Value: number, Unit: "Count" | "None"): MetricRecord => ({
        MetricName,
        Timestamp: "2026-01-10T13:00:00.000Z",
        Dimensions: dimensions,
        Value,
        Unit,
    });

    it("stamps each metric the run has with the window's end, counts as Count and the rest as None, in a fixed order", () => {
        const r = result({
            metrics: {
                notJudged: 0,
                driftDetected: 1,
                violations: 2,
                accuracy: undefined,
                macroF1: NaN,
                lowConfidenceRate: 0.25,
                unseenContentTypes: 1,
                classPsi: Infinity,
                decodeErrorRate: 0.25,
                records: 4,
            },
        });
        expect(metricRecords(r)).to.deep.equal([
            datum("records", 4, "Count"),
            datum("decode_error_rate", 0.25, "None"),
            datum("unseen_content_types", 1, "Count"),
            datum("low_confidence_rate", 0.25, "None"),
            datum("violations", 2, "Count"),
            datum("drift_detected", 1, "None"),
            datum("not_judged", 0, "Count"),
        ]);
    });

    it("writes metric files as JSON lines ending in a newline, and an empty file for no metrics", () => {
        const a = datum("records", 4, "Count");
        const b = datum("accuracy", 0.5, "None");
        expect(metricFileText([a, b])).to.equal(`${JSON.stringify(a)}\n${JSON.stringify(b)}\n`);
        expect(metricFileText([])).to.equal("");
    });

    it("puts metrics in calls of at most 1000, with real timestamps", async () => {
        const calls: PutMetricDataCommand["input"][] = [];
        const client = { send: async (c: PutMetricDataCommand) => (calls.push(c.input), {}) } as unknown as Parameters<
            typeof putMetrics
        >[0];
        const records = Array.from({ length: 1001 }, (_, i) => datum(`m${i}`, i, i === 0 ? "Count" : "None"));
        await putMetrics(client, "VisionMlops/Monitoring", records);
        expect(calls.map((c) => [c.Namespace, c.MetricData!.length])).to.deep.equal([
            ["VisionMlops/Monitoring", 1000],
            ["VisionMlops/Monitoring", 1],
        ]);
        expect(calls[0].MetricData![0]).to.deep.equal({
            MetricName: "m0",
            Timestamp: new Date("2026-01-10T13:00:00.000Z"),
            Dimensions: dimensions,
            Value: 0,
            Unit: "Count",
        });
        expect(calls[1].MetricData![0].MetricName).to.equal("m1000");
        calls.length = 0;
        await putMetrics(client, "VisionMlops/Monitoring", []);
        expect(calls).to.deep.equal([]);
    });
});
