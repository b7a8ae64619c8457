import { MONITORING_METRICS, MonitoringVerdict } from "../../infra/job-contract";
import { MonitoringBaseline } from "../lib/baseline";
import { Histogram } from "../lib/histogram";
import { NUMERIC_PROPERTIES, NumericProperty } from "../lib/image-properties";
import {
    confidenceCheck,
    contentTypeCheck,
    decodeErrorCheck,
    DistributionCheck,
    imagePropertyChecks,
    lowConfidenceCheck,
    predictedClassCheck,
    PropertyResult,
    qualityCheck,
    QualityResult,
    Violation,
} from "./checks";
import { MalformedKind } from "./capture";
import { mergeBounded } from "./sample";
import { MonitorThresholds, TimeWindow } from "./settings";
import { byOutlierKey, outlierKeyOf, SHOTS_PER_STRIP } from "./shots";
import { byWhere, MAX_SAMPLE_TEXT, MAX_SAMPLES, Shot, WindowState } from "./window";

/** Everything one run found; the output files, metrics and report are all views of this. */
export interface MonitorResult {
    readonly window: TimeWindow;
    readonly endpoint: string;
    readonly schedule: string;
    readonly classes: readonly string[];
    readonly counts: {
        /** Records in the window (malformed lines included: their time cannot be read, and hiding them would hide corruption). */
        readonly records: number;
        /** Images measured: the decodable members of the image sample. */
        readonly images: number;
        readonly predictions: number;
        /** Records that could not be read (cheap failures exactly, undecodable images as sampled). */
        readonly decodeErrors: number;
        readonly malformedLines: number;
        /** Input payloads with fields of the wrong type, plus sampled images that could not be decoded. */
        readonly inputDecodeErrors: number;
        readonly outputDecodeErrors: number;
        readonly outsideWindow: number;
        readonly files: number;
        /** Records with a readable input payload, of which `sampled` were decoded. */
        readonly inputs: number;
        readonly sampled: number;
    };
    /** Bad records by kind. */
    readonly malformed: Partial<Record<MalformedKind, number>>;
    readonly decodeErrorRate: number;
    readonly decodeErrorSamples: readonly string[];
    readonly sampleSize: number;
    /** Images decoded to draw the sample (not an output: a sharded run decodes more than one run would). */
    readonly decodes: number;
    /** Report thumbnails made (not an output either: each instance makes those its share could show). */
    readonly thumbnails: number;
    readonly minRecords: number;
    /** Whether the window had enough records for drift verdicts; below minRecords only defects are judged. */
    readonly judged: boolean;
    readonly verdict: MonitoringVerdict;
    readonly notJudgedReason?: string;
    readonly firstRecordAt?: string;
    readonly lastRecordAt?: string;
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
        /** Content-Type headers as the callers sent them (the most frequent, the rest under "other"). */
        readonly observed: Record<string, number>;
        /** What the decoded images actually are. */
        readonly images: Record<string, number>;
        readonly baseline: Record<string, number>;
        readonly unseen: string[];
    };
    readonly quality?: QualityResult;
    /** The pictures of report.html. */
    readonly shots: {
        readonly byClass: Record<string, Shot[]>;
        readonly lowestConfidence: Shot[];
        /** Per drifted property, the sampled images furthest from the training distribution. */
        readonly outliers: Partial<Record<NumericProperty, (Shot & { readonly value: number })[]>>;
        /** Thumbnails of held-out training images per class, from the baseline (base64 JPEG). */
        readonly trainingExamples: Record<string, readonly string[]>;
    };
    readonly violations: Violation[];
    readonly metrics: Partial<Record<keyof typeof MONITORING_METRICS, number>>;
    readonly thresholds: MonitorThresholds;
}

export interface JudgeInput {
    readonly baseline: MonitoringBaseline;
    readonly thresholds: MonitorThresholds;
    readonly endpoint: string;
    readonly schedule: string;
    /** Where the capture files were read from, for the not-judged reason. */
    readonly capture?: string;
    /** Ground-truth lines that could not be used, when labels were read. */
    readonly labelProblems?: { readonly rejected: number; readonly samples: readonly string[] };
}

/**
 * Judges an accumulated window (one run's, or the merge of a sharded run's) against the baseline: runs each
 * check (jobs/monitor/checks.ts), collects their violations in a fixed order, and derives the verdict, the
 * metrics and the report's pictures from their figures.
 */
export function judgeWindow(state: WindowState, j: JudgeInput): MonitorResult {
    const t = j.thresholds;
    const b = j.baseline;
    const classes = state.classes;
    const c = state.counts;
    const window = { start: new Date(state.window.start), end: new Date(state.window.end) };
    const judged = c.records >= t.minRecords;

    const predicted = predictedClassCheck(state, b, t);
    const classJudged = predicted.judged;
    const confidence = confidenceCheck(state, b, t, classJudged);
    const low = lowConfidenceCheck(c, b, t, classJudged);
    const images = imagePropertyChecks(state.imageSample, c.inputs, b, t);
    const types = contentTypeCheck(images.imageTypes, b, {
        measured: images.measured,
        sampled: state.imageSample.length,
        inputs: c.inputs,
    });
    const decoding = decodeErrorCheck(state, t);
    const { quality, violation: qualityViolation } = qualityCheck(state, b, t, j.labelProblems);
    const violations: Violation[] = [
        ...[predicted.violation, confidence.violation, low.violation].filter((v): v is Violation => v !== undefined),
        ...images.violations,
        ...[types.violation, decoding.violation, qualityViolation].filter((v): v is Violation => v !== undefined),
    ];
    const properties = images.properties;
    const unseen = types.unseen;
    const imagesJudged = images.judged;
    const decodeRate = decoding.rate;
    const decodeErrors = decoding.decodeErrors;
    const sampledFailures = decoding.sampledFailures;
    const imageTypeCounts = images.imageTypes;

    const notJudgedReason = judged
        ? undefined
        : c.records === 0
          ? `no capture records of ${j.endpoint} between ${state.window.start} and ${state.window.end}` +
            `${j.capture ? ` under ${j.capture}` : ""} (${c.files} capture files${c.outsideWindow ? `, ${c.outsideWindow} records outside the window` : ""}); ` +
            "check the endpoint's data capture and the capture prefix"
          : `${c.records} records, fewer than minRecords (${t.minRecords}): drift was not judged, only defects`;
    const verdict: MonitoringVerdict = !judged ? "not-judged" : violations.length ? "violations" : "clean";

    const metrics: MonitorResult["metrics"] = {
        records: c.records,
        unseenContentTypes: unseen.length,
        violations: violations.length,
        notJudged: judged ? 0 : 1,
    };
    if (c.records > 0) metrics.decodeErrorRate = decodeRate;
    if (classJudged) {
        metrics.classPsi = predicted.psi;
        metrics.classChiSquarePValue = predicted.chiSquare.pValue;
        metrics.confidencePsi = confidence.psi;
        metrics.lowConfidenceRate = low.rate;
    }
    if (imagesJudged) metrics.imagePropertyPsiMax = images.psiMax;
    if (classJudged || imagesJudged)
        metrics.driftDetected = predicted.drifted || confidence.drifted || NUMERIC_PROPERTIES.some((p) => properties[p].drifted) ? 1 : 0;
    if (quality?.judged) {
        metrics.accuracy = quality.accuracy;
        metrics.accuracyDrop = quality.accuracyDrop;
        metrics.macroF1 = quality.macroF1;
    }

    const observed = { ...state.observedTypes.counts, ...(state.observedTypes.other ? { other: state.observedTypes.other } : {}) };
    return {
        window,
        endpoint: j.endpoint,
        schedule: j.schedule,
        classes,
        counts: {
            records: c.records,
            images: images.measured,
            predictions: c.predictions,
            decodeErrors,
            malformedLines: c.malformedLines,
            inputDecodeErrors: c.inputTypeErrors + sampledFailures,
            outputDecodeErrors: c.outputDecodeErrors,
            outsideWindow: c.outsideWindow,
            files: c.files,
            inputs: c.inputs,
            sampled: state.imageSample.length,
        },
        malformed: state.malformed,
        decodeErrorRate: decodeRate,
        // The sample's undecodable images join the cheap failures' first samples (from the final sample, so shards agree).
        decodeErrorSamples: mergeBounded(
            [
                state.errorSamples,
                state.imageSample
                    .filter((m) => m.error)
                    .map((m) => ({ where: m.where, text: `${m.where}: event ${m.eventId}: input ${m.error}`.slice(0, MAX_SAMPLE_TEXT) })),
            ],
            MAX_SAMPLES,
            byWhere,
        ).map((e) => e.text),
        sampleSize: state.sampleSize,
        decodes: c.decodes,
        thumbnails: c.thumbnails,
        minRecords: t.minRecords,
        judged,
        verdict,
        notJudgedReason,
        firstRecordAt: state.firstRecordAt,
        lastRecordAt: state.lastRecordAt,
        predictedClasses: {
            psi: predicted.psi,
            chiSquare: predicted.chiSquare,
            drifted: predicted.drifted,
            counts: predicted.counts,
            baselineShares: predicted.baselineShares,
        },
        confidence: {
            psi: confidence.psi,
            chiSquare: confidence.chiSquare,
            drifted: confidence.drifted,
            histogram: confidence.histogram,
            baseline: confidence.baseline,
            mean: confidence.mean,
            lowConfidenceRate: low.rate,
            baselineLowConfidenceRate: b.lowConfidenceRate,
            threshold: t.confidenceThreshold,
        },
        properties,
        contentTypes: { observed, images: imageTypeCounts, baseline: b.contentTypes, unseen },
        quality,
        shots: shotsOf(state, b, properties),
        violations,
        metrics,
        thresholds: t,
    };
}

/**
 * The images a report shows: per predicted class the first decoded members of the sample, the lowest
 * confidences, and per drifted property the members furthest from training. The sample made thumbnails of every
 * member that could be one of these (see WindowAnalysis), so each shown image has its thumbnail.
 */
function shotsOf(state: WindowState, b: MonitoringBaseline, properties: Record<NumericProperty, PropertyResult>): MonitorResult["shots"] {
    const decoded = state.imageSample.filter((m) => m.properties);
    const byClass: Record<string, Shot[]> = {};
    for (const m of decoded) {
        if (m.predicted === undefined) continue;
        const name = state.classes[m.predicted];
        const strip = (byClass[name] ??= []);
        if (strip.length < SHOTS_PER_STRIP) strip.push(shot(m));
    }
    const outliers: MonitorResult["shots"]["outliers"] = {};
    for (const p of NUMERIC_PROPERTIES) {
        if (!properties[p].drifted) continue;
        const keyOf = outlierKeyOf(b.properties[p]);
        outliers[p] = decoded
            .map((m) => ({ m, v: m.properties![p], ...keyOf(m.properties![p]), priority: m.priority, where: m.where }))
            .sort(byOutlierKey)
            .slice(0, SHOTS_PER_STRIP)
            .map(({ m, v }) => ({ ...shot(m), value: v }));
    }
    return { byClass, lowestConfidence: state.lowestConfidence.map(shot), outliers, trainingExamples: b.examples ?? {} };
}

const shot = (m: Shot): Shot => ({
    where: m.where,
    eventId: m.eventId,
    thumbnail: m.thumbnail,
    predicted: m.predicted,
    confidence: m.confidence,
});
