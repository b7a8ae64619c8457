import { MONITORING_METRICS, MonitoringVerdict } from "../../infra/job-contract";
import { MonitoringBaseline, PropertyAccumulator, PropertySummary } from "../lib/baseline";
import { binIndex, CONFIDENCE_BINS, Histogram, populationStabilityIndex } from "../lib/histogram";
import { scoresOf } from "../lib/metrics";
import {
    contentTypeOf,
    ImageDecodeError,
    ImageProperties,
    imageProperties,
    NUMERIC_PROPERTIES,
    NumericProperty,
} from "../lib/image-properties";
import {
    CaptureFormatError,
    CaptureRecord,
    checkPayload,
    DEFAULT_MAX_LINE_BYTES,
    LineItem,
    MalformedKind,
    mediaType,
    parseCaptureLine,
    parseProbabilities,
    payloadBytes,
} from "./capture";
import { topClass } from "../lib/class-probabilities";
import { chiSquareHomogeneity, ChiSquareResult } from "./chi-square";
import { byPriority, DEFAULT_IMAGE_SAMPLE, insertBounded, mergeBounded, Ranked, samplePriority } from "./sample";
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

/** A captured image the report shows: its thumbnail and what the model said of it. */
export interface Shot {
    readonly where: string;
    readonly eventId: string;
    /** Base64 JPEG, THUMBNAIL_SIDE pixels at most. */
    readonly thumbnail?: string;
    readonly predicted?: number;
    readonly confidence?: number;
}

/** A member of the window's uniform image sample. */
export interface SampledImage extends Ranked, Shot {
    /** The image's measurements, or why it could not be decoded. */
    readonly properties?: ImageProperties;
    readonly error?: string;
}

/** A bounded table of values (content types): the most frequent ones exactly, the rest in `other`. */
export interface BoundedCounts {
    readonly counts: Record<string, number>;
    /** Records whose value was not among the tracked ones. */
    readonly other: number;
}

/**
 * Everything a run has accumulated, in a form that is plain JSON and merges exactly: counts and histograms add,
 * the image sample and the lowest-confidence images are the smallest-k of a fixed order, first samples are the
 * first in a fixed order. A sharded run's instances each write one; the merge step adds them and judges the sum.
 */
export interface WindowState {
    readonly version: 1;
    readonly classes: readonly string[];
    readonly window: { readonly start: string; readonly end: string };
    readonly sampleSize: number;
    readonly counts: {
        records: number;
        outsideWindow: number;
        files: number;
        /** Records with a well-formed input payload (the population the image sample is drawn from). */
        inputs: number;
        predictions: number;
        malformedLines: number;
        /** Records whose input or output failed the cheap checks (types, probabilities), each counted once. */
        cheapFailures: number;
        inputTypeErrors: number;
        outputDecodeErrors: number;
        matched: number;
        lowConfidence: number;
        /** Sum of top-class confidences in millionths (an integer, so shards add exactly). */
        confidenceMicros: number;
        /** Images decoded (sample candidates and lowest-confidence candidates): the cost the sample bounds. */
        decodes: number;
    };
    readonly malformed: Partial<Record<MalformedKind, number>>;
    readonly classCounts: number[];
    readonly confidence: number[];
    readonly confusion: number[][];
    readonly observedTypes: BoundedCounts;
    readonly errorSamples: { readonly where: string; readonly text: string }[];
    readonly firstRecordAt?: string;
    readonly lastRecordAt?: string;
    readonly imageSample: SampledImage[];
    readonly lowestConfidence: (Shot & Ranked)[];
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
const MAX_SAMPLE_TEXT = 300;
/** Distinct content-type headers tracked exactly; more go to "other" (callers control the header). */
export const MAX_TRACKED_TYPES = 20;
/** Encoded images waiting in the sample at most; beyond it the likeliest to stay are decoded early. */
const PAYLOAD_BUDGET = 128 * 1024 * 1024;
const DECODE_BATCH = 8;
/** Lowest-confidence images kept for the report. */
const LOWEST_SHOWN = 8;
const MICROS = 1_000_000;

export interface AnalysisOptions {
    /** Images decoded per window at most. Defaults to DEFAULT_IMAGE_SAMPLE. */
    readonly sampleSize?: number;
    /** Class index by inferenceId or eventId. */
    readonly labels?: ReadonlyMap<string, number>;
    /** The line bound the reader applies, for naming skipped lines. */
    readonly maxLineBytes?: number;
}

/**
 * Streams capture records of one window into fixed-size accumulators (histograms, class counts, a confusion
 * matrix, a bounded uniform image sample), so memory and decoding do not grow with the number of records.
 * Predictions and confidence are read from every record (cheap JSON); the sample (bottom-k of a hash of the
 * event id) keeps its members' encoded images, up to PAYLOAD_BUDGET bytes, and decodes only the ones still in it
 * at the end: about k decodes per window when images are small, at most k (1 + ln(n / k)) for n records.
 */
export class WindowAnalysis {
    private readonly state: WindowState;
    private readonly sampleSize: number;
    private readonly labels?: ReadonlyMap<string, number>;
    private readonly oversizedKind: MalformedKind;
    private readonly observed = new Map<string, number>();
    /** Lowest-confidence candidates being decoded. */
    private pendingDecodes = 0;
    /** Encoded images of sample members not decoded yet, and their total size. */
    private readonly payloads = new Map<SampledImage, Buffer>();
    private readonly decoding = new Set<SampledImage>();
    private pendingBytes = 0;

    constructor(classes: readonly string[], window: TimeWindow, options: AnalysisOptions = {}) {
        this.sampleSize = options.sampleSize ?? DEFAULT_IMAGE_SAMPLE;
        this.labels = options.labels;
        this.oversizedKind = `line over ${formatBytes(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)}`;
        this.state = {
            version: 1,
            classes: [...classes],
            window: { start: window.start.toISOString(), end: window.end.toISOString() },
            sampleSize: this.sampleSize,
            counts: {
                records: 0,
                outsideWindow: 0,
                files: 0,
                inputs: 0,
                predictions: 0,
                malformedLines: 0,
                cheapFailures: 0,
                inputTypeErrors: 0,
                outputDecodeErrors: 0,
                matched: 0,
                lowConfidence: 0,
                confidenceMicros: 0,
                decodes: 0,
            },
            malformed: {},
            classCounts: new Array(classes.length).fill(0),
            confidence: new Array(CONFIDENCE_BINS.length - 1).fill(0),
            confusion: classes.map(() => new Array(classes.length).fill(0)),
            observedTypes: { counts: {}, other: 0 },
            errorSamples: [],
            imageSample: [],
            lowestConfidence: [],
        };
    }

    private get window(): { start: number; end: number } {
        return { start: Date.parse(this.state.window.start), end: Date.parse(this.state.window.end) };
    }

    fileRead(): void {
        this.state.counts.files++;
    }

    /** One line of a capture file; `where` names it (relative to the capture root). Never throws for bad data. */
    async addLine(item: LineItem, where: string, confidenceThreshold: number): Promise<void> {
        const c = this.state.counts;
        if ("oversized" in item) {
            c.records++;
            c.malformedLines++;
            c.cheapFailures++;
            this.malformed(this.oversizedKind, where, `line of ${item.oversized} bytes skipped`);
            return;
        }
        let record: CaptureRecord;
        try {
            record = parseCaptureLine(item.line);
        } catch (e) {
            c.records++;
            c.malformedLines++;
            c.cheapFailures++;
            this.malformed((e as CaptureFormatError).kind, where, (e as Error).message);
            return;
        }
        const at = Date.parse(record.eventMetadata.inferenceTime);
        const w = this.window;
        if (!(at >= w.start && at < w.end)) {
            c.outsideWindow++;
            return;
        }
        c.records++;
        const iso = new Date(at).toISOString();
        const s = this.state as { firstRecordAt?: string; lastRecordAt?: string };
        if (!s.firstRecordAt || iso < s.firstRecordAt) s.firstRecordAt = iso;
        if (!s.lastRecordAt || iso > s.lastRecordAt) s.lastRecordAt = iso;
        const eventId = record.eventMetadata.eventId;
        let cheapFailure = false;

        let predicted: number | undefined;
        let confidence: number | undefined;
        if (record.captureData.endpointOutput !== undefined) {
            try {
                const output = checkPayload(record.captureData.endpointOutput, "output");
                const top = topClass(parseProbabilities(output, this.state.classes.length));
                predicted = top.index;
                confidence = top.confidence;
                c.predictions++;
                this.state.classCounts[predicted]++;
                this.state.confidence[binIndex(CONFIDENCE_BINS, confidence)]++;
                c.confidenceMicros += Math.round(confidence * MICROS);
                if (confidence < confidenceThreshold) c.lowConfidence++;
                const id = record.eventMetadata.inferenceId ?? eventId;
                const label = this.labels?.get(id) ?? (record.eventMetadata.inferenceId ? this.labels?.get(eventId) : undefined);
                if (label !== undefined) {
                    c.matched++;
                    this.state.confusion[label][predicted]++;
                }
            } catch (e) {
                if (!(e instanceof CaptureFormatError)) throw e;
                cheapFailure = true;
                c.outputDecodeErrors++;
                this.malformed(e.kind, where, `event ${eventId}: output ${e.message}`);
            }
        }

        const rawInput = record.captureData.endpointInput;
        let input;
        if (rawInput !== undefined) {
            try {
                input = checkPayload(rawInput, "input");
            } catch (e) {
                if (!(e instanceof CaptureFormatError)) throw e;
                cheapFailure = true;
                c.inputTypeErrors++;
                this.malformed(e.kind, where, `event ${eventId}: input ${e.message}`);
            }
        }
        if (cheapFailure) c.cheapFailures++;
        if (!input) return;
        c.inputs++;
        this.countType(mediaType(input.observedContentType));

        const priority = samplePriority(eventId);
        const ranked = { priority, where };
        const shot = { ...ranked, eventId, predicted, confidence };
        const list = this.state.imageSample;
        if (list.length < this.sampleSize || byPriority(ranked, list[list.length - 1]) < 0) {
            // Into the sample, undecoded: only the members still in it at the end are decoded, so a window costs about
            // as many decodes as the sample holds, whatever its number of records.
            const evicted = list.length >= this.sampleSize ? list[list.length - 1] : undefined;
            const member: SampledImage = { ...shot };
            insertBounded(list, member, this.sampleSize, byPriority);
            if (evicted) this.dropPayload(evicted);
            const bytes = payloadBytes(input);
            this.payloads.set(member, bytes);
            this.pendingBytes += bytes.length;
            if (this.pendingBytes > PAYLOAD_BUDGET) await this.decodePending(PAYLOAD_BUDGET / 2);
        }
        const lowOrder = (a: Shot & Ranked, b: Shot & Ranked) => a.confidence! - b.confidence! || byPriority(a, b);
        if (confidence === undefined || !this.mayEnter(this.state.lowestConfidence, shot, LOWEST_SHOWN, lowOrder)) return;
        this.pendingDecodes++;
        try {
            const measured = await this.decode(payloadBytes(input));
            if (measured.thumbnail)
                insertBounded(this.state.lowestConfidence, { ...shot, thumbnail: measured.thumbnail }, LOWEST_SHOWN, lowOrder);
        } finally {
            this.pendingDecodes--;
        }
    }

    private async decode(bytes: Buffer): Promise<{ properties?: ImageProperties; thumbnail?: string; error?: string }> {
        this.state.counts.decodes++;
        try {
            const { thumbnail, ...properties } = await imageProperties(bytes, { thumbnail: true });
            return { properties, thumbnail: thumbnail.toString("base64") };
        } catch (e) {
            if (!(e instanceof ImageDecodeError)) throw e;
            return { error: e.message };
        }
    }

    private dropPayload(member: SampledImage): void {
        const bytes = this.payloads.get(member);
        if (bytes) this.pendingBytes -= bytes.length;
        this.payloads.delete(member);
    }

    /** Decodes sample members still waiting, smallest priorities first (the likeliest to stay), until `target` bytes wait. */
    private async decodePending(target: number): Promise<void> {
        const waiting = this.state.imageSample.filter((m) => this.payloads.has(m) && !this.decoding.has(m));
        for (let i = 0; i < waiting.length && this.pendingBytes > target; i += DECODE_BATCH) {
            await Promise.all(
                waiting.slice(i, i + DECODE_BATCH).map(async (m) => {
                    const bytes = this.payloads.get(m);
                    if (!bytes) return;
                    this.decoding.add(m);
                    try {
                        Object.assign(m, await this.decode(bytes));
                    } finally {
                        this.decoding.delete(m);
                        this.dropPayload(m);
                    }
                }),
            );
        }
    }

    /** The accumulated state, as a sharded run's instance writes it, once the sample's images are decoded. */
    async finish(): Promise<WindowState> {
        await this.decodePending(0);
        while (this.decoding.size) await new Promise((r) => setImmediate(r));
        return {
            ...this.state,
            observedTypes: { counts: Object.fromEntries([...this.observed].sort()), other: this.state.observedTypes.other },
        };
    }

    /** Whether `item` would be among the `size` smallest (decodes in flight may each take a place). */
    private mayEnter<T>(items: readonly T[], item: T, size: number, order: (a: T, b: T) => number): boolean {
        return items.length + this.pendingDecodes < size || (items.length > 0 && order(item, items[items.length - 1]) < 0);
    }

    private countType(type: string): void {
        const counts = this.observed;
        if (counts.has(type) || counts.size < MAX_TRACKED_TYPES) counts.set(type, (counts.get(type) ?? 0) + 1);
        else (this.state.observedTypes as { other: number }).other++;
    }

    private malformed(kind: MalformedKind, where: string, text: string): void {
        const m = this.state.malformed as Record<string, number>;
        m[kind] = (m[kind] ?? 0) + 1;
        this.sample(where, text);
    }

    private sample(where: string, text: string): void {
        insertBounded(this.state.errorSamples, { where, text: `${where}: ${text}`.slice(0, MAX_SAMPLE_TEXT) }, MAX_SAMPLES, byWhere);
    }
}

const byWhere = (a: { where: string }, b: { where: string }) => (a.where < b.where ? -1 : a.where > b.where ? 1 : 0);
/** 1048576 -> "1 MiB". */
export const formatBytes = (bytes: number) =>
    bytes >= 1024 * 1024
        ? `${+(bytes / 1024 / 1024).toFixed(1)} MiB`
        : bytes >= 1024
          ? `${+(bytes / 1024).toFixed(1)} KiB`
          : `${bytes} bytes`;

/** Adds the states of a sharded run's instances; the same as one run over all their records. */
export function mergeStates(states: readonly WindowState[]): WindowState {
    if (states.length === 0) throw new Error("nothing to merge");
    const [first] = states;
    for (const s of states) {
        if (s.version !== 1) throw new Error(`partial statistics of version ${String(s.version)}; this monitor reads version 1`);
        if (s.classes.join("\n") !== first.classes.join("\n"))
            throw new Error("partial statistics of different models (class lists differ)");
        if (s.window.start !== first.window.start || s.window.end !== first.window.end)
            throw new Error(`partial statistics of different windows (${s.window.start} and ${first.window.start})`);
        if (s.sampleSize !== first.sampleSize) throw new Error("partial statistics with different image sample sizes");
    }
    const add = (xs: number[], ys: readonly number[]) => xs.map((x, i) => x + ys[i]);
    const counts = { ...first.counts };
    for (const s of states.slice(1)) for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += s.counts[k];
    const malformed: Record<string, number> = {};
    for (const s of states) for (const [k, v] of Object.entries(s.malformed)) malformed[k] = (malformed[k] ?? 0) + (v ?? 0);
    // Content types: the union, capped at the same size as one run's table (the rest in "other").
    const types = new Map<string, number>();
    let other = 0;
    for (const s of states) {
        other += s.observedTypes.other;
        for (const [k, v] of Object.entries(s.observedTypes.counts)) types.set(k, (types.get(k) ?? 0) + v);
    }
    const ordered = [...types].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    for (const [, v] of ordered.slice(MAX_TRACKED_TYPES)) other += v;
    const times = (pick: (s: WindowState) => string | undefined) =>
        states
            .map(pick)
            .filter((t): t is string => t !== undefined)
            .sort();
    const firsts = times((s) => s.firstRecordAt);
    const lasts = times((s) => s.lastRecordAt);
    const lowOrder = (a: Shot & Ranked, b: Shot & Ranked) => a.confidence! - b.confidence! || byPriority(a, b);
    return {
        version: 1,
        classes: first.classes,
        window: first.window,
        sampleSize: first.sampleSize,
        counts,
        malformed,
        classCounts: states.slice(1).reduce((acc, s) => add(acc, s.classCounts), [...first.classCounts]),
        confidence: states.slice(1).reduce((acc, s) => add(acc, s.confidence), [...first.confidence]),
        confusion: first.confusion.map((row, i) => states.slice(1).reduce((acc, s) => add(acc, s.confusion[i]), [...row])),
        observedTypes: { counts: Object.fromEntries(ordered.slice(0, MAX_TRACKED_TYPES).sort((a, b) => (a[0] < b[0] ? -1 : 1))), other },
        errorSamples: mergeBounded(
            states.map((s) => s.errorSamples),
            MAX_SAMPLES,
            byWhere,
        ),
        ...(firsts.length ? { firstRecordAt: firsts[0], lastRecordAt: lasts[lasts.length - 1] } : {}),
        imageSample: mergeBounded(
            states.map((s) => s.imageSample),
            first.sampleSize,
            byPriority,
        ),
        lowestConfidence: mergeBounded(
            states.map((s) => s.lowestConfidence),
            LOWEST_SHOWN,
            lowOrder,
        ),
    };
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

/** Judges an accumulated window (one run's, or the merge of a sharded run's) against the baseline. */
export function judgeWindow(state: WindowState, j: JudgeInput): MonitorResult {
    const t = j.thresholds;
    const b = j.baseline;
    const classes = state.classes;
    const c = state.counts;
    const window = { start: new Date(state.window.start), end: new Date(state.window.end) };
    const violations: Violation[] = [];
    const judged = c.records >= t.minRecords;
    const levels = checkLevels(t);

    // Predicted classes: baseline shares are of the test-set predictions, whose number is the confidence histogram's total.
    const baselineShares = classes.map((name) => b.predictedClassDistribution[name] ?? 0);
    const baselineN = sum(b.confidence.counts) || b.imageCount;
    const classJudged = c.predictions >= t.minRecords;
    // Shares times the test-set size give back the test set's counts (the test needs counts, not shares).
    const {
        psi: classPsi,
        chiSquare: classChi,
        drifted: classDrift,
    } = distributionCheck(
        baselineShares.map((share) => Math.round(share * baselineN)),
        state.classCounts,
        t.classPsi,
        levels.classes,
        classJudged,
    );
    if (classDrift)
        violations.push({
            feature_name: "predicted_class",
            constraint_check_type: "baseline_drift_check",
            description:
                `Predicted-class distribution drifted: PSI ${fmt(classPsi)} > ${t.classPsi} and ${testName(classChi)} p-value ` +
                `${fmtP(classChi.pValue)} < ${t.chiSquarePValue} over ${c.predictions} predictions; most changed: ` +
                mostChanged(classes, baselineShares, state.classCounts),
        });

    const confidenceMean = c.predictions ? c.confidenceMicros / MICROS / c.predictions : 0;
    const {
        psi: confPsi,
        chiSquare: confChi,
        drifted: confDrift,
    } = distributionCheck(b.confidence.counts, state.confidence, t.confidencePsi, levels.shared, classJudged);
    if (confDrift)
        violations.push({
            feature_name: "confidence",
            constraint_check_type: "baseline_drift_check",
            description:
                `Top-class confidence distribution drifted: PSI ${fmt(confPsi)} > ${t.confidencePsi} (${testName(confChi)} p-value ` +
                `${fmtP(confChi.pValue)}); mean confidence ${fmt(confidenceMean)}`,
        });
    const lowRate = c.predictions ? c.lowConfidence / c.predictions : 0;
    if (classJudged && lowRate > t.lowConfidenceRate)
        violations.push({
            feature_name: "low_confidence_rate",
            constraint_check_type: "GreaterThanThreshold",
            description:
                `${fmtPct(lowRate)} of predictions are below the confidence threshold ${t.confidenceThreshold} ` +
                `(allowed ${fmtPct(t.lowConfidenceRate)}; test set ${fmtPct(b.lowConfidenceRate)})`,
        });

    // Image properties, on the sample (in its fixed order, so a sharded run sums the same floating-point values).
    const measured = state.imageSample.filter((m) => m.properties);
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
    const imagesJudged = measured.length >= t.minRecords;
    const properties = {} as Record<NumericProperty, PropertyResult>;
    let propertyPsiMax = 0;
    for (const p of NUMERIC_PROPERTIES) {
        const s = summaries[p];
        const base = b.properties[p];
        const { psi, chiSquare: chi, drifted } = distributionCheck(base.counts, s.counts, t.imagePropertyPsi, levels.shared, imagesJudged);
        propertyPsiMax = Math.max(propertyPsiMax, psi);
        const stdDev = s.count ? Math.sqrt(Math.max(0, squares.get(p)! / s.count - s.mean * s.mean)) : 0;
        properties[p] = { psi, chiSquare: chi, drifted, summary: { ...s, stdDev, sum: s.mean * s.count }, baseline: base };
        if (drifted)
            violations.push({
                feature_name: `image_${p}`,
                constraint_check_type: "baseline_drift_check",
                description:
                    `Image ${p} drifted: PSI ${fmt(psi)} > ${t.imagePropertyPsi} (${testName(chi)} p-value ${fmtP(chi.pValue)}); ` +
                    `mean ${fmt(s.mean)} vs ${fmt(base.mean)} in training` +
                    (measured.length < c.inputs ? ` (on a uniform sample of ${measured.length} of ${c.inputs} images)` : ""),
            });
    }

    const imageTypeCounts = Object.fromEntries([...imageTypes].sort());
    const unseen = Object.keys(imageTypeCounts).filter((type) => !(b.contentTypes[type] > 0));
    if (unseen.length)
        violations.push({
            feature_name: "content_type",
            constraint_check_type: "categorical_values_check",
            description:
                `Images of types never seen in training: ${unseen.map((u) => `${u} (${imageTypeCounts[u]})`).join(", ")}; ` +
                `training had ${Object.keys(b.contentTypes).join(", ") || "none"}` +
                (measured.length < c.inputs ? ` (counts from a uniform sample of ${state.imageSample.length} of ${c.inputs} images)` : ""),
        });

    // Undecodable images are known for the sample; scaled to the records with a readable input, they add to the exact count of the rest.
    const sampledFailures = state.imageSample.filter((m) => m.error).length;
    const imageFailureShare = state.imageSample.length ? sampledFailures / state.imageSample.length : 0;
    const decodeErrors = c.cheapFailures + Math.round(imageFailureShare * c.inputs);
    const decodeRate = c.records ? (c.cheapFailures + imageFailureShare * c.inputs) / c.records : 0;
    if (decodeErrors > 0 && decodeRate > t.decodeErrorRate)
        violations.push({
            feature_name: "payload",
            constraint_check_type: "completeness_check",
            description:
                `${decodeErrors} of ${c.records} records (${fmtPct(decodeRate)}) could not be decoded ` +
                `(allowed ${fmtPct(t.decodeErrorRate)}): ${c.inputTypeErrors + sampledFailures} input images` +
                (state.imageSample.length < c.inputs ? ` (${sampledFailures} of ${state.imageSample.length} sampled)` : "") +
                `, ${c.outputDecodeErrors} outputs, ${c.malformedLines} malformed lines`,
        });

    let quality: QualityResult | undefined;
    if (c.matched > 0) {
        const q = scoresOf(state.confusion);
        const drop = b.quality.accuracy - q.accuracy;
        const qJudged = c.matched >= t.minRecords;
        quality = {
            matched: c.matched,
            accuracy: q.accuracy,
            macroF1: q.macroF1,
            baselineAccuracy: b.quality.accuracy,
            baselineMacroF1: b.quality.macroF1,
            accuracyDrop: drop,
            confusion: state.confusion.map((row) => [...row]),
            judged: qJudged,
            rejectedLabels: j.labelProblems?.rejected ?? 0,
            rejectedLabelSamples: j.labelProblems?.samples ?? [],
        };
        if (qJudged && drop > t.accuracyDrop)
            violations.push({
                feature_name: "accuracy",
                constraint_check_type: "LessThanThreshold",
                description:
                    `Accuracy ${fmt(q.accuracy)} on ${c.matched} labelled requests is ${fmt(drop)} below the evaluation ` +
                    `baseline ${fmt(b.quality.accuracy)} (allowed drop ${t.accuracyDrop})`,
            });
    }

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

    const observed = { ...state.observedTypes.counts, ...(state.observedTypes.other ? { other: state.observedTypes.other } : {}) };
    return {
        window,
        endpoint: j.endpoint,
        schedule: j.schedule,
        classes,
        counts: {
            records: c.records,
            images: measured.length,
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
        minRecords: t.minRecords,
        judged,
        verdict,
        notJudgedReason,
        firstRecordAt: state.firstRecordAt,
        lastRecordAt: state.lastRecordAt,
        predictedClasses: { psi: classPsi, chiSquare: classChi, drifted: classDrift, counts: [...state.classCounts], baselineShares },
        confidence: {
            psi: confPsi,
            chiSquare: confChi,
            drifted: confDrift,
            histogram: { edges: [...CONFIDENCE_BINS], counts: [...state.confidence] },
            baseline: b.confidence,
            mean: confidenceMean,
            lowConfidenceRate: lowRate,
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

/** Sampled images shown per predicted class, lowest confidence, and per drifted property. */
const SHOTS_PER_STRIP = 8;

function shotsOf(state: WindowState, b: MonitoringBaseline, properties: Record<NumericProperty, PropertyResult>): MonitorResult["shots"] {
    const withThumbnail = state.imageSample.filter((m) => m.thumbnail);
    const byClass: Record<string, Shot[]> = {};
    for (const m of withThumbnail) {
        if (m.predicted === undefined) continue;
        const name = state.classes[m.predicted];
        const strip = (byClass[name] ??= []);
        if (strip.length < SHOTS_PER_STRIP) strip.push(shot(m));
    }
    const outliers: MonitorResult["shots"]["outliers"] = {};
    for (const p of NUMERIC_PROPERTIES) {
        if (!properties[p].drifted) continue;
        const base = b.properties[p];
        const total = sum(base.counts) || 1;
        // Furthest from training: in the bins training saw least, then furthest from the training mean.
        const rarity = (v: number) => base.counts[binIndex(base.edges, v)] / total;
        outliers[p] = withThumbnail
            .filter((m) => m.properties)
            .map((m) => ({ m, v: m.properties![p] }))
            .sort((x, y) => rarity(x.v) - rarity(y.v) || Math.abs(y.v - base.mean) - Math.abs(x.v - base.mean) || byPriority(x.m, y.m))
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

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
export const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
export const fmtP = (p: number) => (p < 1e-4 ? p.toExponential(2) : p.toFixed(4));
export const fmtPct = (x: number) => `${(x * 100).toFixed(1)}%`;
