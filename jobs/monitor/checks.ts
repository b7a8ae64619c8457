import { MonitoringBaseline, PropertyAccumulator, PropertySummary } from "../lib/baseline";
import { CONFIDENCE_BINS, Histogram, populationStabilityIndex } from "../lib/histogram";
import { scoresOf } from "../lib/metrics";
import { contentTypeOf, NUMERIC_PROPERTIES, NumericProperty } from "../lib/image-properties";
import { chiSquareHomogeneity, ChiSquareResult } from "./chi-square";
import { fmt, fmtP, fmtPct } from "./format";
import { MonitorThresholds } from "./settings";
import { MICROS, SampledImage, WindowState } from "./window";

/*
 * The monitor's checks, one pure function each: an accumulated window (or the part of it a check reads), the
 * baseline and the thresholds in; the check's figures and the violation it finds, if any, out.
 */

/** One violation in Model Monitor's constraint_violations.json shape. */
export interface Violation {
    readonly feature_name: string;
    readonly constraint_check_type: string;
    readonly description: string;
}

/** A distribution compared with the baseline on the baseline's bins. */
export interface DistributionCheck {
    readonly psi: number;
    readonly chiSquare: ChiSquareResult;
    readonly drifted: boolean;
}

export interface PropertyResult extends DistributionCheck {
    readonly summary: PropertySummary & { readonly stdDev: number; readonly sum: number };
    readonly baseline: PropertySummary;
}

export interface QualityResult {
    readonly matched: number;
    readonly accuracy: number;
    readonly macroF1: number;
    readonly baselineAccuracy: number;
    readonly baselineMacroF1: number;
    readonly accuracyDrop: number;
    /** confusion[actual][predicted] counts, in class order. */
    readonly confusion: number[][];
    readonly judged: boolean;
    /** Ground-truth lines that could not be used (not JSON, no id, unknown class), with the first few. */
    readonly rejectedLabels: number;
    readonly rejectedLabelSamples: readonly string[];
}

/** How many distribution checks share the run's significance level (confidence and each property; classes have their own). */
const SHARED_CHECKS = 1 + NUMERIC_PROPERTIES.length;

/**
 * The significance levels the distribution checks run at: the class check at `chiSquarePValue`, and the
 * confidence and image-property checks at an equal share of it (Bonferroni), so that a clean window false-alarms
 * at most at `chiSquarePValue` on the classes and at most at `chiSquarePValue` on all the others together.
 */
export function checkLevels(t: Pick<MonitorThresholds, "chiSquarePValue">): { readonly classes: number; readonly shared: number } {
    return { classes: t.chiSquarePValue, shared: t.chiSquarePValue / SHARED_CHECKS };
}

/**
 * One distribution check: drift is a shift both statistically significant (the homogeneity test's p-value
 * below `level`) and large enough to matter (PSI above `psiLimit`). Only judged when the window had enough
 * records; the test itself stays valid at any size.
 */
export function distributionCheck(
    baseline: readonly number[],
    current: readonly number[],
    psiLimit: number,
    level: number,
    judged: boolean,
): DistributionCheck {
    const psi = populationStabilityIndex(baseline, current);
    const chiSquare = chiSquareHomogeneity(baseline, current);
    return { psi, chiSquare, drifted: judged && psi > psiLimit && chiSquare.pValue < level };
}

/** Predicted-class shares against the test set's predictions; judged once the window has minRecords predictions. */
export function predictedClassCheck(
    state: Pick<WindowState, "classes" | "classCounts" | "counts">,
    b: MonitoringBaseline,
    t: MonitorThresholds,
): DistributionCheck & {
    readonly counts: number[];
    readonly baselineShares: number[];
    readonly judged: boolean;
    readonly violation?: Violation;
} {
    const baselineShares = state.classes.map((name) => b.predictedClassDistribution[name] ?? 0);
    // Baseline shares are of the test-set predictions, whose number is the confidence histogram's total; shares
    // times that size give back the test set's counts (the test needs counts, not shares).
    const baselineN = sum(b.confidence.counts) || b.imageCount;
    const judged = state.counts.predictions >= t.minRecords;
    const check = distributionCheck(
        baselineShares.map((share) => Math.round(share * baselineN)),
        state.classCounts,
        t.classPsi,
        checkLevels(t).classes,
        judged,
    );
    const violation: Violation | undefined = check.drifted
        ? {
              feature_name: "predicted_class",
              constraint_check_type: "baseline_drift_check",
              description:
                  `Predicted-class distribution drifted: PSI ${fmt(check.psi)} > ${t.classPsi} and ${testName(check.chiSquare)} p-value ` +
                  `${fmtP(check.chiSquare.pValue)} < ${t.chiSquarePValue} over ${state.counts.predictions} predictions; most changed: ` +
                  mostChanged(state.classes, baselineShares, state.classCounts),
          }
        : undefined;
    return { ...check, counts: [...state.classCounts], baselineShares, judged, ...(violation ? { violation } : {}) };
}

/** The top-class confidence distribution against the test set's, judged with the class check. */
export function confidenceCheck(
    state: Pick<WindowState, "confidence" | "counts">,
    b: MonitoringBaseline,
    t: MonitorThresholds,
    judged: boolean,
): DistributionCheck & {
    readonly histogram: Histogram;
    readonly baseline: Histogram;
    readonly mean: number;
    readonly violation?: Violation;
} {
    const c = state.counts;
    const mean = c.predictions ? c.confidenceMicros / MICROS / c.predictions : 0;
    const check = distributionCheck(b.confidence.counts, state.confidence, t.confidencePsi, checkLevels(t).shared, judged);
    const violation: Violation | undefined = check.drifted
        ? {
              feature_name: "confidence",
              constraint_check_type: "baseline_drift_check",
              description:
                  `Top-class confidence distribution drifted: PSI ${fmt(check.psi)} > ${t.confidencePsi} (${testName(check.chiSquare)} p-value ` +
                  `${fmtP(check.chiSquare.pValue)}); mean confidence ${fmt(mean)}`,
          }
        : undefined;
    return {
        ...check,
        histogram: { edges: [...CONFIDENCE_BINS], counts: [...state.confidence] },
        baseline: b.confidence,
        mean,
        ...(violation ? { violation } : {}),
    };
}

/** The share of predictions below the confidence threshold, against the allowed rate. */
export function lowConfidenceCheck(
    counts: Pick<WindowState["counts"], "predictions" | "lowConfidence">,
    b: Pick<MonitoringBaseline, "lowConfidenceRate">,
    t: MonitorThresholds,
    judged: boolean,
): { readonly rate: number; readonly violation?: Violation } {
    const rate = counts.predictions ? counts.lowConfidence / counts.predictions : 0;
    if (!(judged && rate > t.lowConfidenceRate)) return { rate };
    return {
        rate,
        violation: {
            feature_name: "low_confidence_rate",
            constraint_check_type: "GreaterThanThreshold",
            description:
                `${fmtPct(rate)} of predictions are below the confidence threshold ${t.confidenceThreshold} ` +
                `(allowed ${fmtPct(t.lowConfidenceRate)}; test set ${fmtPct(b.lowConfidenceRate)})`,
        },
    };
}

/**
 * Every image property's distribution on the measured sample members against training's, and the content types
 * the sample's images really are. Summed in the sample's fixed order, so a sharded run sums the same
 * floating-point values.
 */
export function imagePropertyChecks(
    imageSample: readonly SampledImage[],
    inputs: number,
    b: MonitoringBaseline,
    t: MonitorThresholds,
): {
    readonly properties: Record<NumericProperty, PropertyResult>;
    readonly psiMax: number;
    readonly measured: number;
    readonly judged: boolean;
    readonly imageTypes: Record<string, number>;
    readonly violations: Violation[];
} {
    const measured = imageSample.filter((m) => m.properties);
    const accumulator = new PropertyAccumulator();
    const squares = new Map<NumericProperty, number>(NUMERIC_PROPERTIES.map((p) => [p, 0]));
    const imageTypes = new Map<string, number>();
    for (const m of measured) {
        accumulator.add(m.properties!);
        for (const p of NUMERIC_PROPERTIES) squares.set(p, squares.get(p)! + m.properties![p] ** 2);
        const type = contentTypeOf(m.properties!.format);
        imageTypes.set(type, (imageTypes.get(type) ?? 0) + 1);
    }
    const summaries = accumulator.summary();
    const judged = measured.length >= t.minRecords;
    const level = checkLevels(t).shared;
    const properties = {} as Record<NumericProperty, PropertyResult>;
    const violations: Violation[] = [];
    let psiMax = 0;
    for (const p of NUMERIC_PROPERTIES) {
        const s = summaries[p];
        const base = b.properties[p];
        const { psi, chiSquare: chi, drifted } = distributionCheck(base.counts, s.counts, t.imagePropertyPsi, level, judged);
        psiMax = Math.max(psiMax, psi);
        const stdDev = s.count ? Math.sqrt(Math.max(0, squares.get(p)! / s.count - s.mean * s.mean)) : 0;
        properties[p] = { psi, chiSquare: chi, drifted, summary: { ...s, stdDev, sum: s.mean * s.count }, baseline: base };
        if (drifted)
            violations.push({
                feature_name: `image_${p}`,
                constraint_check_type: "baseline_drift_check",
                description:
                    `Image ${p} drifted: PSI ${fmt(psi)} > ${t.imagePropertyPsi} (${testName(chi)} p-value ${fmtP(chi.pValue)}); ` +
                    `mean ${fmt(s.mean)} vs ${fmt(base.mean)} in training` +
                    (measured.length < inputs ? ` (on a uniform sample of ${measured.length} of ${inputs} images)` : ""),
            });
    }
    return { properties, psiMax, measured: measured.length, judged, imageTypes: Object.fromEntries([...imageTypes].sort()), violations };
}

/** Image types (what the decoded images are) that training never had. */
export function contentTypeCheck(
    imageTypes: Record<string, number>,
    b: Pick<MonitoringBaseline, "contentTypes">,
    sample: { readonly measured: number; readonly sampled: number; readonly inputs: number },
): { readonly unseen: string[]; readonly violation?: Violation } {
    const unseen = Object.keys(imageTypes).filter((type) => !(b.contentTypes[type] > 0));
    if (!unseen.length) return { unseen };
    return {
        unseen,
        violation: {
            feature_name: "content_type",
            constraint_check_type: "categorical_values_check",
            description:
                `Images of types never seen in training: ${unseen.map((u) => `${u} (${imageTypes[u]})`).join(", ")}; ` +
                `training had ${Object.keys(b.contentTypes).join(", ") || "none"}` +
                (sample.measured < sample.inputs ? ` (counts from a uniform sample of ${sample.sampled} of ${sample.inputs} images)` : ""),
        },
    };
}

/**
 * Records that could not be read: the cheap failures exactly, plus the sample's undecodable images scaled to
 * the records with a readable input.
 */
export function decodeErrorCheck(
    state: Pick<WindowState, "counts" | "imageSample">,
    t: MonitorThresholds,
): { readonly decodeErrors: number; readonly rate: number; readonly sampledFailures: number; readonly violation?: Violation } {
    const c = state.counts;
    const sampledFailures = state.imageSample.filter((m) => m.error).length;
    const imageFailureShare = state.imageSample.length ? sampledFailures / state.imageSample.length : 0;
    const decodeErrors = c.cheapFailures + Math.round(imageFailureShare * c.inputs);
    const rate = c.records ? (c.cheapFailures + imageFailureShare * c.inputs) / c.records : 0;
    if (!(decodeErrors > 0 && rate > t.decodeErrorRate)) return { decodeErrors, rate, sampledFailures };
    return {
        decodeErrors,
        rate,
        sampledFailures,
        violation: {
            feature_name: "payload",
            constraint_check_type: "completeness_check",
            description:
                `${decodeErrors} of ${c.records} records (${fmtPct(rate)}) could not be decoded ` +
                `(allowed ${fmtPct(t.decodeErrorRate)}): ${c.inputTypeErrors + sampledFailures} input images` +
                (state.imageSample.length < c.inputs ? ` (${sampledFailures} of ${state.imageSample.length} sampled)` : "") +
                `, ${c.outputDecodeErrors} outputs, ${c.malformedLines} malformed lines`,
        },
    };
}

/** Model quality on the requests with a ground-truth label, against the evaluation baseline; none without labels. */
export function qualityCheck(
    state: Pick<WindowState, "counts" | "confusion">,
    b: Pick<MonitoringBaseline, "quality">,
    t: MonitorThresholds,
    labelProblems?: { readonly rejected: number; readonly samples: readonly string[] },
): { readonly quality?: QualityResult; readonly violation?: Violation } {
    const matched = state.counts.matched;
    if (matched === 0) return {};
    const q = scoresOf(state.confusion);
    const drop = b.quality.accuracy - q.accuracy;
    const judged = matched >= t.minRecords;
    const quality: QualityResult = {
        matched,
        accuracy: q.accuracy,
        macroF1: q.macroF1,
        baselineAccuracy: b.quality.accuracy,
        baselineMacroF1: b.quality.macroF1,
        accuracyDrop: drop,
        confusion: state.confusion.map((row) => [...row]),
        judged,
        rejectedLabels: labelProblems?.rejected ?? 0,
        rejectedLabelSamples: labelProblems?.samples ?? [],
    };
    if (!(judged && drop > t.accuracyDrop)) return { quality };
    return {
        quality,
        violation: {
            feature_name: "accuracy",
            constraint_check_type: "LessThanThreshold",
            description:
                `Accuracy ${fmt(q.accuracy)} on ${matched} labelled requests is ${fmt(drop)} below the evaluation ` +
                `baseline ${fmt(b.quality.accuracy)} (allowed drop ${t.accuracyDrop})`,
        },
    };
}

const testName = (r: ChiSquareResult) => (r.method === "fisher-exact" ? "Fisher exact" : "chi-square");

function mostChanged(classes: readonly string[], baselineShares: readonly number[], counts: readonly number[]): string {
    const n = sum(counts) || 1;
    return classes
        .map((name, i) => ({ name, from: baselineShares[i], to: counts[i] / n }))
        .sort((a, b) => Math.abs(b.to - b.from) - Math.abs(a.to - a.from))
        .slice(0, 3)
        .map((x) => `${x.name} ${fmtPct(x.from)} -> ${fmtPct(x.to)}`)
        .join(", ");
}

export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
