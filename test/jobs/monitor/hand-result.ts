import { NUMERIC_PROPERTIES, NumericProperty } from "../../../jobs/lib/image-properties";
import { MonitorResult } from "../../../jobs/monitor/analysis";
import { PropertyResult, QualityResult } from "../../../jobs/monitor/checks";
import { ChiSquareResult } from "../../../jobs/monitor/chi-square";
import { defaultThresholds } from "./corpus";

/**
 * A monitoring result written out by hand (no run), for the tests of its views (output files, metrics, report):
 * each figure is the one the result holds, so every expected value in those tests is a literal.
 */
const test = (pValue: number): ChiSquareResult => ({ method: "chi-square", bins: 3, statistic: 4.5, degreesOfFreedom: 2, pValue });
const hist = { edges: [0, 10, 20], counts: [1, 2] };

function property(p: NumericProperty, i: number): PropertyResult {
    return {
        psi: 0.01 * i,
        chiSquare: test(0.5),
        drifted: p === "brightness",
        summary: { ...hist, count: 3, mean: 10 + i, min: 1, max: 19, stdDev: 2, sum: 3 * (10 + i) },
        baseline: { ...hist, count: 30, mean: 9 + i, min: 0, max: 20 },
    };
}

export function handResult(over: Partial<MonitorResult> = {}): MonitorResult {
    return {
        window: { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") },
        endpoint: "vision-mlops-staging-signs",
        schedule: "signs-hourly",
        classes: ["stop", "yield", "speed-30"],
        counts: {
            records: 4,
            images: 3,
            predictions: 4,
            decodeErrors: 1,
            malformedLines: 0,
            inputDecodeErrors: 1,
            outputDecodeErrors: 0,
            outsideWindow: 0,
            files: 1,
            inputs: 4,
            sampled: 4,
        },
        malformed: {},
        decodeErrorRate: 0.25,
        decodeErrorSamples: ["t.jpg: bad"],
        sampleSize: 1000,
        decodes: 4,
        thumbnails: 0,
        minRecords: 2,
        judged: true,
        verdict: "violations",
        predictedClasses: { psi: 0.3, chiSquare: test(0.001), drifted: true, counts: [3, 1, 0], baselineShares: [0.5, 0.25, 0.25] },
        confidence: {
            psi: 0.02,
            chiSquare: test(0.4),
            drifted: false,
            histogram: { edges: [0, 0.5, 1], counts: [1, 3] },
            baseline: { edges: [0, 0.5, 1], counts: [10, 30] },
            mean: 0.7,
            lowConfidenceRate: 0.25,
            baselineLowConfidenceRate: 0.1,
            threshold: 0.6,
        },
        properties: Object.fromEntries(NUMERIC_PROPERTIES.map((p, i) => [p, property(p, i)])) as Record<NumericProperty, PropertyResult>,
        contentTypes: {
            observed: { "image/jpeg": 4 },
            images: { "image/jpeg": 2, "image/png": 1 },
            baseline: { "image/jpeg": 1 },
            unseen: ["image/png"],
        },
        shots: { byClass: {}, lowestConfidence: [], outliers: {}, trainingExamples: {} },
        violations: [{ feature_name: "predicted_class", constraint_check_type: "distribution_drift_check", description: "moved" }],
        metrics: {},
        thresholds: defaultThresholds(),
        ...over,
    };
}

/** What labels for the same window would add: 4 matched, 3 right. */
export const HAND_QUALITY: QualityResult = {
    matched: 4,
    accuracy: 0.75,
    macroF1: 0.5,
    baselineAccuracy: 0.9,
    baselineMacroF1: 0.8,
    accuracyDrop: 0.15,
    confusion: [
        [2, 0, 0],
        [1, 1, 0],
        [0, 0, 0],
    ],
    judged: true,
    rejectedLabels: 1,
    rejectedLabelSamples: ["line 3: unknown class"],
};
