import { MONITORING_METRICS } from "../../infra/job-contract";
import { MonitoringBaseline, PropertyAccumulator, PropertySummary } from "../lib/baseline";
import { addToHistogram, CONFIDENCE_BINS, emptyHistogram, Histogram, populationStabilityIndex } from "../lib/histogram";
import { scoresOf } from "../lib/metrics";
import { contentTypeOf, ImageDecodeError, imageProperties, NUMERIC_PROPERTIES, NumericProperty } from "../lib/image-properties";
import { CaptureFormatError, CaptureRecord, mediaType, parseCaptureLine, parseProbabilities, payloadBytes, topClass } from "./capture";
import { chiSquareHomogeneity, ChiSquareResult } from "./chi-square";
import { MonitorThresholds, TimeWindow } from "./settings";

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

/** Everything one run found; the output files, metrics and report are all views of this. */
export interface MonitorResult {
    readonly window: TimeWindow;
    readonly endpoint: string;
    readonly schedule: string;
    readonly classes: readonly string[];
    readonly counts: {
        /** Records in the window (malformed lines included: their time cannot be read, and hiding them would hide corruption). */
        readonly records: number;
        readonly images: number;
        readonly predictions: number;
        /** Records with an input image or output that could not be read, or a line that is not a capture record. */
        readonly decodeErrors: number;
        readonly malformedLines: number;
        readonly inputDecodeErrors: number;
        readonly outputDecodeErrors: number;
        readonly outsideWindow: number;
        readonly files: number;
    };
    readonly decodeErrorSamples: readonly string[];
    readonly minRecords: number;
    /** Whether the window had enough records for drift verdicts; below minRecords only defects are judged. */
    readonly judged: boolean;
    readonly predictedClasses: DistributionCheck & { readonly counts: number[]; readonly baselineShares: number[] };
    readonly confidence: DistributionCheck & {
        readonly histogram: Histogram;
        readonly baseline: Histogram;
        readonly mean: number;
        readonly lowConfidenceRate: number;
        readonly baselineLowConfidenceRate: number;
        readonly threshold: number;
    };
    readonly properties: Record<NumericProperty, PropertyResult>;
    readonly contentTypes: {
        /** Content-Type headers as the callers sent them. */
        readonly observed: Record<string, number>;
        /** What the decoded images actually are. */
        readonly images: Record<string, number>;
        readonly baseline: Record<string, number>;
        readonly unseen: string[];
    };
    readonly quality?: QualityResult;
    readonly violations: Violation[];
    readonly metrics: Partial<Record<keyof typeof MONITORING_METRICS, number>>;
    readonly thresholds: MonitorThresholds;
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
const MAX_SAMPLES = 10;

/**
 * Streams capture records of one window into fixed-size accumulators (histograms, class counts, a confusion
 * matrix), so memory does not depend on the number of records, then judges them against the baseline.
 */
export class WindowAnalysis {
    private readonly classes: readonly string[];
    private readonly classCounts: number[];
    private readonly confidence = emptyHistogram(CONFIDENCE_BINS);
    private confidenceSum = 0;
    private lowConfidence = 0;
    private readonly properties = new PropertyAccumulator();
    private readonly squares = new Map<NumericProperty, number>(NUMERIC_PROPERTIES.map((p) => [p, 0]));
    private readonly observedTypes = new Map<string, number>();
    private readonly imageTypes = new Map<string, number>();
    private readonly confusion: number[][];
    private readonly samples: string[] = [];
    private records = 0;
    private images = 0;
    private predictions = 0;
    private decodeErrors = 0;
    private malformedLines = 0;
    private inputDecodeErrors = 0;
    private outputDecodeErrors = 0;
    private outsideWindow = 0;
    private matched = 0;
    private files = 0;

    constructor(
        private readonly baseline: MonitoringBaseline,
        private readonly thresholds: MonitorThresholds,
        private readonly window: TimeWindow,
        private readonly labels?: ReadonlyMap<string, number>,
        private readonly labelProblems?: { readonly rejected: number; readonly samples: readonly string[] },
    ) {
        this.classes = baseline.classes;
        this.classCounts = new Array(this.classes.length).fill(0);
        this.confusion = this.classes.map(() => new Array(this.classes.length).fill(0));
    }

    fileRead(): void {
        this.files++;
    }

    /** One line of a capture file; `where` names it in error samples. Never throws for bad data. */
    async addLine(line: string, where: string): Promise<void> {
        let record: CaptureRecord;
        try {
            record = parseCaptureLine(line);
        } catch (e) {
            this.records++;
            this.malformedLines++;
            this.decodeErrors++;
            this.sample(`${where}: ${(e as Error).message}`);
            return;
        }
        const at = Date.parse(record.eventMetadata.inferenceTime);
        if (!(at >= this.window.start.getTime() && at < this.window.end.getTime())) {
            this.outsideWindow++;
            return;
        }
        this.records++;
        let failed = false;
        const input = record.captureData.endpointInput;
        if (input) {
            this.count(this.observedTypes, mediaType(input.observedContentType));
            try {
                const props = await imageProperties(payloadBytes(input));
                this.images++;
                this.properties.add(props);
                for (const p of NUMERIC_PROPERTIES) this.squares.set(p, this.squares.get(p)! + props[p] * props[p]);
                this.count(this.imageTypes, contentTypeOf(props.format));
            } catch (e) {
                if (!(e instanceof ImageDecodeError || e instanceof CaptureFormatError)) throw e;
                failed = true;
                this.inputDecodeErrors++;
                this.sample(`${where} event ${record.eventMetadata.eventId}: input ${(e as Error).message}`);
            }
        }
        const output = record.captureData.endpointOutput;
        if (output) {
            try {
                const probabilities = parseProbabilities(output, this.classes.length);
                const { index, confidence } = topClass(probabilities);
                this.predictions++;
                this.classCounts[index]++;
                addToHistogram(this.confidence, confidence);
                this.confidenceSum += confidence;
                if (confidence < this.thresholds.confidenceThreshold) this.lowConfidence++;
                const id = record.eventMetadata.inferenceId ?? record.eventMetadata.eventId;
                const label =
                    this.labels?.get(id) ?? (record.eventMetadata.inferenceId ? this.labels?.get(record.eventMetadata.eventId) : undefined);
                if (label !== undefined) {
                    this.matched++;
                    this.confusion[label][index]++;
                }
            } catch (e) {
                if (!(e instanceof CaptureFormatError)) throw e;
                failed = true;
                this.outputDecodeErrors++;
                this.sample(`${where} event ${record.eventMetadata.eventId}: output ${(e as Error).message}`);
            }
        }
        if (failed) this.decodeErrors++;
    }

    private count(map: Map<string, number>, key: string): void {
        map.set(key, (map.get(key) ?? 0) + 1);
    }

    private sample(text: string): void {
        if (this.samples.length < MAX_SAMPLES) this.samples.push(text);
    }

    result(endpoint: string, schedule: string): MonitorResult {
        const t = this.thresholds;
        const b = this.baseline;
        const violations: Violation[] = [];
        const judged = this.records >= t.minRecords;
        const levels = checkLevels(t);

        // Predicted classes: baseline shares are of the test-set predictions, whose number is the confidence histogram's total.
        const baselineShares = this.classes.map((c) => b.predictedClassDistribution[c] ?? 0);
        const baselineN = sum(b.confidence.counts) || b.imageCount;
        const classJudged = this.predictions >= t.minRecords;
        // Shares times the test-set size give back the test set's counts (the test needs counts, not shares).
        const classCheck = distributionCheck(
            baselineShares.map((s) => Math.round(s * baselineN)),
            this.classCounts,
            t.classPsi,
            levels.classes,
            classJudged,
        );
        const { psi: classPsi, chiSquare: classChi, drifted: classDrift } = classCheck;
        if (classDrift)
            violations.push({
                feature_name: "predicted_class",
                constraint_check_type: "baseline_drift_check",
                description:
                    `Predicted-class distribution drifted: PSI ${fmt(classPsi)} > ${t.classPsi} and chi-square p-value ` +
                    `${fmtP(classChi.pValue)} < ${t.chiSquarePValue} over ${this.predictions} predictions; most changed: ` +
                    mostChanged(this.classes, baselineShares, this.classCounts),
            });

        const {
            psi: confPsi,
            chiSquare: confChi,
            drifted: confDrift,
        } = distributionCheck(b.confidence.counts, this.confidence.counts, t.confidencePsi, levels.shared, classJudged);
        if (confDrift)
            violations.push({
                feature_name: "confidence",
                constraint_check_type: "baseline_drift_check",
                description:
                    `Top-class confidence distribution drifted: PSI ${fmt(confPsi)} > ${t.confidencePsi} (chi-square p-value ` +
                    `${fmtP(confChi.pValue)}); mean confidence ${fmt(this.confidenceSum / this.predictions)}`,
            });
        const lowRate = this.predictions ? this.lowConfidence / this.predictions : 0;
        if (classJudged && lowRate > t.lowConfidenceRate)
            violations.push({
                feature_name: "low_confidence_rate",
                constraint_check_type: "GreaterThanThreshold",
                description:
                    `${fmtPct(lowRate)} of predictions are below the confidence threshold ${t.confidenceThreshold} ` +
                    `(allowed ${fmtPct(t.lowConfidenceRate)}; test set ${fmtPct(b.lowConfidenceRate)})`,
            });

        const summaries = this.properties.summary();
        const imagesJudged = this.images >= t.minRecords;
        const properties = {} as Record<NumericProperty, PropertyResult>;
        let propertyPsiMax = 0;
        for (const p of NUMERIC_PROPERTIES) {
            const s = summaries[p];
            const base = b.properties[p];
            const {
                psi,
                chiSquare: chi,
                drifted,
            } = distributionCheck(base.counts, s.counts, t.imagePropertyPsi, levels.shared, imagesJudged);
            propertyPsiMax = Math.max(propertyPsiMax, psi);
            const squares = this.squares.get(p)!;
            const stdDev = s.count ? Math.sqrt(Math.max(0, squares / s.count - s.mean * s.mean)) : 0;
            properties[p] = { psi, chiSquare: chi, drifted, summary: { ...s, stdDev, sum: s.mean * s.count }, baseline: base };
            if (drifted)
                violations.push({
                    feature_name: `image_${p}`,
                    constraint_check_type: "baseline_drift_check",
                    description:
                        `Image ${p} drifted: PSI ${fmt(psi)} > ${t.imagePropertyPsi} (chi-square p-value ${fmtP(chi.pValue)}); ` +
                        `mean ${fmt(s.mean)} vs ${fmt(base.mean)} in training`,
                });
        }

        const imageTypes = Object.fromEntries([...this.imageTypes].sort());
        const unseen = Object.keys(imageTypes).filter((type) => !(b.contentTypes[type] > 0));
        if (unseen.length)
            violations.push({
                feature_name: "content_type",
                constraint_check_type: "categorical_values_check",
                description:
                    `Images of types never seen in training: ${unseen.map((u) => `${u} (${imageTypes[u]})`).join(", ")}; ` +
                    `training had ${Object.keys(b.contentTypes).join(", ") || "none"}`,
            });

        const decodeRate = this.records ? this.decodeErrors / this.records : 0;
        if (this.decodeErrors > 0 && decodeRate > t.decodeErrorRate)
            violations.push({
                feature_name: "payload",
                constraint_check_type: "completeness_check",
                description:
                    `${this.decodeErrors} of ${this.records} records (${fmtPct(decodeRate)}) could not be decoded ` +
                    `(allowed ${fmtPct(t.decodeErrorRate)}): ${this.inputDecodeErrors} input images, ${this.outputDecodeErrors} outputs, ` +
                    `${this.malformedLines} malformed lines`,
            });

        let quality: QualityResult | undefined;
        if (this.labels && this.matched > 0) {
            const q = scoresOf(this.confusion);
            const drop = b.quality.accuracy - q.accuracy;
            const qJudged = this.matched >= t.minRecords;
            quality = {
                matched: this.matched,
                accuracy: q.accuracy,
                macroF1: q.macroF1,
                baselineAccuracy: b.quality.accuracy,
                baselineMacroF1: b.quality.macroF1,
                accuracyDrop: drop,
                confusion: this.confusion,
                judged: qJudged,
                rejectedLabels: this.labelProblems?.rejected ?? 0,
                rejectedLabelSamples: this.labelProblems?.samples ?? [],
            };
            if (qJudged && drop > t.accuracyDrop)
                violations.push({
                    feature_name: "accuracy",
                    constraint_check_type: "LessThanThreshold",
                    description:
                        `Accuracy ${fmt(q.accuracy)} on ${this.matched} labelled requests is ${fmt(drop)} below the evaluation ` +
                        `baseline ${fmt(b.quality.accuracy)} (allowed drop ${t.accuracyDrop})`,
                });
        }

        const metrics: MonitorResult["metrics"] = {
            records: this.records,
            unseenContentTypes: unseen.length,
            violations: violations.length,
        };
        if (this.records > 0) metrics.decodeErrorRate = decodeRate;
        if (classJudged) {
            metrics.classPsi = classPsi;
            metrics.classChiSquarePValue = classChi.pValue;
            metrics.confidencePsi = confPsi;
            metrics.lowConfidenceRate = lowRate;
        }
        if (imagesJudged) metrics.imagePropertyPsiMax = propertyPsiMax;
        if (classJudged || imagesJudged)
            metrics.driftDetected = classDrift || confDrift || NUMERIC_PROPERTIES.some((p) => properties[p].drifted) ? 1 : 0;
        if (quality?.judged) {
            metrics.accuracy = quality.accuracy;
            metrics.accuracyDrop = quality.accuracyDrop;
            metrics.macroF1 = quality.macroF1;
        }

        return {
            window: this.window,
            endpoint,
            schedule,
            classes: this.classes,
            counts: {
                records: this.records,
                images: this.images,
                predictions: this.predictions,
                decodeErrors: this.decodeErrors,
                malformedLines: this.malformedLines,
                inputDecodeErrors: this.inputDecodeErrors,
                outputDecodeErrors: this.outputDecodeErrors,
                outsideWindow: this.outsideWindow,
                files: this.files,
            },
            decodeErrorSamples: [...this.samples],
            minRecords: t.minRecords,
            judged,
            predictedClasses: { psi: classPsi, chiSquare: classChi, drifted: classDrift, counts: [...this.classCounts], baselineShares },
            confidence: {
                psi: confPsi,
                chiSquare: confChi,
                drifted: confDrift,
                histogram: this.confidence,
                baseline: b.confidence,
                mean: this.predictions ? this.confidenceSum / this.predictions : 0,
                lowConfidenceRate: lowRate,
                baselineLowConfidenceRate: b.lowConfidenceRate,
                threshold: t.confidenceThreshold,
            },
            properties,
            contentTypes: {
                observed: Object.fromEntries([...this.observedTypes].sort()),
                images: imageTypes,
                baseline: b.contentTypes,
                unseen,
            },
            quality,
            violations,
            metrics,
            thresholds: t,
        };
    }
}

function mostChanged(classes: readonly string[], baselineShares: readonly number[], counts: readonly number[]): string {
    const n = sum(counts) || 1;
    return classes
        .map((c, i) => ({ c, from: baselineShares[i], to: counts[i] / n }))
        .sort((a, b) => Math.abs(b.to - b.from) - Math.abs(a.to - a.from))
        .slice(0, 3)
        .map((x) => `${x.c} ${fmtPct(x.from)} -> ${fmtPct(x.to)}`)
        .join(", ");
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
export const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
export const fmtP = (p: number) => (p < 1e-4 ? p.toExponential(2) : p.toFixed(4));
export const fmtPct = (x: number) => `${(x * 100).toFixed(1)}%`;
