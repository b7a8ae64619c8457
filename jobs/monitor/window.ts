import { cpus } from "os";
import { IN_PROCESS, Task, TaskRunner, transferable } from "../lib/workers";
import { binIndex, CONFIDENCE_BINS } from "../lib/histogram";
import { PropertySummary } from "../lib/baseline";
import {
    ImageDecodeError,
    ImageProperties,
    ImageShape,
    MEASUREMENT_VERSION,
    measureImage,
    NUMERIC_PROPERTIES,
    NumericProperty,
    thumbnailJpeg,
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
import { formatBytes } from "./format";
import { byPriority, DEFAULT_IMAGE_SAMPLE, insertBounded, mergeBounded, Ranked, samplePriority } from "./sample";
import { TimeWindow } from "./settings";
import { OutlierKey, outlierKeyOf, SHOTS_PER_STRIP } from "./shots";

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
    /** The image measurement's version (MEASUREMENT_VERSION): shards measured another way do not merge. */
    readonly version: typeof MEASUREMENT_VERSION;
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
        /** Report thumbnails made: of the members that could be shown, not of every decoded image. */
        thumbnails: number;
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

/** First error samples kept, and the length of each. */
export const MAX_SAMPLES = 10;
export const MAX_SAMPLE_TEXT = 300;
/** Distinct content-type headers tracked exactly; more go to "other" (callers control the header). */
export const MAX_TRACKED_TYPES = 20;
/** Encoded images waiting in the sample at most; beyond it the likeliest to stay are decoded early. */
const PAYLOAD_BUDGET = 128 * 1024 * 1024;
/** Images decoded at once (see preprocess: an image keeps a CPU busy for only part of its decode). */
const DECODE_IN_FLIGHT = 4 * cpus().length;
/** Lowest-confidence images kept for the report. */
const LOWEST_SHOWN = 8;
/** Confidences are summed in millionths, so shards add exactly. */
export const MICROS = 1_000_000;

/** What a window is compared with: the baseline's classes, and what its image properties were measured for and are. */
export interface WindowBaseline {
    readonly classes: readonly string[];
    /** Captured images are measured for this shape, as the baseline's images were. */
    readonly imageShape: ImageShape;
    /** The training summaries, which say which sampled images a report could show as outliers. */
    readonly properties: Record<NumericProperty, PropertySummary>;
}

/** A decoded sample member as the thumbnail rule sees it: its place in the sample and its outlier keys. */
interface DecodedMember extends Ranked {
    readonly keys: readonly OutlierKey[];
}

/** A captured image to measure for the baseline's image shape. */
interface CapturedImage {
    /** The encoded image (a Uint8Array once it has crossed to a worker thread). */
    readonly bytes: Uint8Array;
    readonly imageShape: ImageShape;
}

type MeasuredCapture = { error: string } | { properties: ImageProperties; thumbnail?: string };

/**
 * Measures a captured image and, if the thread that asked answers that a report could show it, makes its
 * thumbnail from the same pixels, which never leave the thread that decoded them.
 */
export const measureCapturedImageTask: Task<CapturedImage, MeasuredCapture, ImageProperties, boolean> = {
    name: "monitor.measure",
    async run({ bytes, imageShape }, mayBeShown) {
        let measured;
        try {
            measured = await measureImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), imageShape);
        } catch (e) {
            if (!(e instanceof ImageDecodeError)) throw e;
            return { error: e.message };
        }
        const { properties, pixels } = measured;
        if (!(await mayBeShown(properties))) return { properties };
        return { properties, thumbnail: (await thumbnailJpeg(pixels)).toString("base64") };
    },
};

export interface AnalysisOptions {
    /** Images decoded per window at most. Defaults to DEFAULT_IMAGE_SAMPLE. */
    readonly sampleSize?: number;
    /** Class index by inferenceId or eventId. */
    readonly labels?: ReadonlyMap<string, number>;
    /** The line bound the reader applies, for naming skipped lines. */
    readonly maxLineBytes?: number;
    /** Where images are decoded and measured: worker threads, or IN_PROCESS (the default). */
    readonly workers?: TaskRunner;
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
    private readonly workers: TaskRunner;
    private readonly observed = new Map<string, number>();
    /** Lowest-confidence candidates being decoded. */
    private pendingDecodes = 0;
    /** Encoded images of sample members not decoded yet, and their total size. */
    private readonly payloads = new Map<SampledImage, Buffer>();
    private readonly decoding = new Set<SampledImage>();
    private pendingBytes = 0;
    private readonly imageShape: ImageShape;
    private readonly keysOf: Array<(value: number) => OutlierKey>;
    /** Decoded sample members (and some evicted since, all of a greater priority than any member), by priority. */
    private readonly decoded: DecodedMember[] = [];
    /** The same, per predicted class. */
    private readonly decodedByClass: Ranked[][];

    constructor(baseline: WindowBaseline, window: TimeWindow, options: AnalysisOptions = {}) {
        const classes = baseline.classes;
        this.imageShape = baseline.imageShape;
        this.keysOf = NUMERIC_PROPERTIES.map((p) => outlierKeyOf(baseline.properties[p]));
        this.decodedByClass = classes.map(() => []);
        this.sampleSize = options.sampleSize ?? DEFAULT_IMAGE_SAMPLE;
        this.labels = options.labels;
        this.workers = options.workers ?? IN_PROCESS;
        this.oversizedKind = `line over ${formatBytes(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)}`;
        this.state = {
            version: MEASUREMENT_VERSION,
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
                thumbnails: 0,
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

    /**
     * Measures an image (on the workers; the encoded bytes are handed over, not copied); a sample member
     * (`member`) gets a thumbnail only if a report could show it, a lowest-confidence candidate always.
     */
    private async decode(
        bytes: Buffer,
        member?: SampledImage,
    ): Promise<{ properties?: ImageProperties; thumbnail?: string; error?: string }> {
        this.state.counts.decodes++;
        const measured = await this.workers.run(
            measureCapturedImageTask,
            { bytes, imageShape: this.imageShape },
            { transfer: transferable(bytes), label: member?.where, ask: (properties) => !member || this.decided(member, properties) },
        );
        if ("error" in measured) return measured;
        if (measured.thumbnail) this.state.counts.thumbnails++;
        return measured;
    }

    /** Records a decoded member for the thumbnail rule and says whether it gets a thumbnail (see mayBeShown). */
    private decided(member: SampledImage, properties: ImageProperties): boolean {
        const keys = NUMERIC_PROPERTIES.map((p, i) => this.keysOf[i](properties[p]));
        const shown = this.mayBeShown(member, keys);
        insertBounded(this.decoded, { priority: member.priority, where: member.where, keys }, Infinity, byPriority);
        if (member.predicted !== undefined) insertBounded(this.decodedByClass[member.predicted], member, Infinity, byPriority);
        return shown;
    }

    /**
     * Whether a report could show this member (see shotsOf): fewer than SHOTS_PER_STRIP decoded members of its
     * class come before it in the sample, or, for some property, fewer than SHOTS_PER_STRIP come before it and
     * rank as further from training. Only members before it count: if it stays in the sample, so do they (the
     * sample is the smallest priorities), in this run and in any merge of shards. Members not decoded yet are
     * not counted, so the answer errs towards a thumbnail, never away from one.
     */
    private mayBeShown(member: SampledImage, keys: readonly OutlierKey[]): boolean {
        if (member.predicted !== undefined && countBefore(this.decodedByClass[member.predicted], member) < SHOTS_PER_STRIP) return true;
        const ahead = keys.map(() => 0);
        let settled = 0;
        for (const d of this.decoded) {
            if (byPriority(d, member) >= 0) break;
            for (let p = 0; p < keys.length; p++) {
                if (ahead[p] >= SHOTS_PER_STRIP) continue;
                // Before it in the sample, so before it on a tie too (byOutlierKey).
                const k = d.keys[p];
                if (k.rarity < keys[p].rarity || (k.rarity === keys[p].rarity && k.distance >= keys[p].distance))
                    if (++ahead[p] === SHOTS_PER_STRIP && ++settled === keys.length) return false;
            }
        }
        return true;
    }

    private dropPayload(member: SampledImage): void {
        const bytes = this.payloads.get(member);
        if (bytes) this.pendingBytes -= bytes.length;
        this.payloads.delete(member);
    }

    /** Decodes sample members still waiting, smallest priorities first (the likeliest to stay), until `target` bytes wait. */
    private async decodePending(target: number): Promise<void> {
        const waiting = this.state.imageSample.filter((m) => this.payloads.has(m) && !this.decoding.has(m));
        let next = 0;
        // A pool rather than batches: a batch waits for its slowest image while the CPUs could start the next.
        const worker = async () => {
            while (next < waiting.length && this.pendingBytes > target) {
                const m = waiting[next++];
                const bytes = this.payloads.get(m);
                if (!bytes) continue;
                // Out of the waiting payloads before the decode, which may hand the buffer itself to a worker;
                // its bytes still count against the budget until the decode is done.
                const size = bytes.length;
                this.payloads.delete(m);
                this.decoding.add(m);
                try {
                    Object.assign(m, await this.decode(bytes, m));
                } finally {
                    this.decoding.delete(m);
                    this.pendingBytes -= size;
                }
            }
        };
        await Promise.all(Array.from({ length: DECODE_IN_FLIGHT }, worker));
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

/** How many items of a list sorted by priority come before `item`. */
function countBefore(items: readonly Ranked[], item: Ranked): number {
    let lo = 0,
        hi = items.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (byPriority(items[mid], item) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

export const byWhere = (a: { where: string }, b: { where: string }) => (a.where < b.where ? -1 : a.where > b.where ? 1 : 0);

/** Adds the states of a sharded run's instances; the same as one run over all their records. */
export function mergeStates(states: readonly WindowState[]): WindowState {
    if (states.length === 0) throw new Error("nothing to merge");
    const [first] = states;
    for (const s of states) {
        if (s.version !== MEASUREMENT_VERSION)
            throw new Error(
                `partial statistics of version ${String(s.version)}; this monitor reads version ${MEASUREMENT_VERSION} ` +
                    "(image properties measured another way): run every instance of the job with the same image",
            );
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
        version: MEASUREMENT_VERSION,
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
