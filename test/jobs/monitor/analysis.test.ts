import { expect } from "chai";
import { MonitoringBaseline } from "../../../jobs/lib/baseline";
import { binIndex, PROPERTY_BINS } from "../../../jobs/lib/histogram";
import { ImageProperties, NUMERIC_PROPERTIES, NumericProperty } from "../../../jobs/lib/image-properties";
import { judgeWindow, JudgeInput } from "../../../jobs/monitor/analysis";
import { SampledImage, WindowState } from "../../../jobs/monitor/window";
import { handBaseline } from "./hand-baseline";
import { counts, thresholds as checkThresholds, windowState } from "./hand-state";

/**
 * judgeWindow on window states written out by hand: the verdict and its reason, which metrics a run reports, how the
 * counts, samples and content types reach the result, and which images the report gets. The checks' own figures are
 * pinned in checks.test.ts; here they only decide which violations exist.
 */
/** The checks' thresholds, judging from 2 records on. */
const thresholds = { ...checkThresholds, minRecords: 2 };

/** Each property's value in the sampled images below, and a baseline that saw only that value's bin (so no drift)... */
const VALUES: Record<NumericProperty, number> = {
    width: 224,
    height: 224,
    aspect: 1,
    bytes: 20_000,
    brightness: 200,
    contrast: 40,
    meanRed: 100,
    meanGreen: 100,
    meanBlue: 100,
};
/** ...except brightness, whose training images were all near 10. */
function baseline(over: Partial<MonitoringBaseline> = {}): MonitoringBaseline {
    const b = handBaseline() as unknown as MonitoringBaseline;
    const properties = Object.fromEntries(
        NUMERIC_PROPERTIES.map((p) => {
            const edges = [...PROPERTY_BINS[p]];
            const counts = new Array(edges.length - 1).fill(0);
            const at = p === "brightness" ? 10 : VALUES[p];
            counts[binIndex(edges, at)] = 1000;
            return [p, { edges, counts, count: 1000, mean: at, min: at, max: at }];
        }),
    );
    return { ...b, properties, ...over } as MonitoringBaseline;
}

const state = (countsOver: Partial<WindowState["counts"]> = {}, over: Partial<WindowState> = {}): WindowState =>
    windowState({ counts: counts(countsOver), ...over });

const input = (over: Partial<JudgeInput> = {}): JudgeInput => ({
    baseline: baseline(),
    thresholds,
    endpoint: "ep",
    schedule: "sch",
    ...over,
});

/** A decoded sample member: the VALUES with brightness `brightness`, a PNG. */
const decoded = (i: number, brightness: number, predicted?: number): SampledImage => ({
    where: `c.jsonl:${i}`,
    eventId: `e${i}`,
    priority: i / 100,
    thumbnail: `t${i}`,
    predicted,
    confidence: predicted === undefined ? undefined : 0.9,
    properties: { ...VALUES, brightness, format: "png" } as ImageProperties,
});

/** Five predictions in the baseline's shares (3 stop, 2 yield) with the baseline's confidence shares (40% at 0.8-0.9, 60% above). */
const asInBaseline = {
    classCounts: [3, 2],
    confidence: [0, 0, 0, 0, 0, 0, 0, 0, 2, 3],
};

describe("monitor judgement of a window state", () => {
    it("says a window without records is not judged, where it looked and what it passed over", () => {
        const none = judgeWindow(state({ files: 2, outsideWindow: 3 }), input({ capture: "s3://capture/ep/" }));
        expect([none.judged, none.verdict]).to.deep.equal([false, "not-judged"]);
        expect(none.notJudgedReason).to.equal(
            "no capture records of ep between 2026-01-10T12:00:00.000Z and 2026-01-10T13:00:00.000Z under s3://capture/ep/ " +
                "(2 capture files, 3 records outside the window); check the endpoint's data capture and the capture prefix",
        );
        expect(none.metrics).to.deep.equal({ records: 0, unseenContentTypes: 0, violations: 0, notJudged: 1 });
        expect(judgeWindow(state(), input()).notJudgedReason).to.equal(
            "no capture records of ep between 2026-01-10T12:00:00.000Z and 2026-01-10T13:00:00.000Z " +
                "(0 capture files); check the endpoint's data capture and the capture prefix",
        );
    });

    it("judges drift from minRecords records on, and below it says how many there were", () => {
        const few = judgeWindow(state({ records: 1, files: 1 }), input());
        expect([few.judged, few.verdict]).to.deep.equal([false, "not-judged"]);
        expect(few.notJudgedReason).to.equal("1 records, fewer than minRecords (2): drift was not judged, only defects");
        expect(few.metrics).to.deep.equal({ records: 1, unseenContentTypes: 0, violations: 0, notJudged: 1, decodeErrorRate: 0 });
        const enough = judgeWindow(state({ records: 2, files: 1 }), input());
        expect([enough.judged, enough.verdict, enough.notJudgedReason]).to.deep.equal([true, "clean", undefined]);
        expect(enough.metrics).to.deep.equal({ records: 2, unseenContentTypes: 0, violations: 0, notJudged: 0, decodeErrorRate: 0 });
    });

    it("calls a window like its baseline clean, and reports the class and confidence metrics once it has minRecords predictions", () => {
        const r = judgeWindow(state({ records: 5, predictions: 5, files: 1 }, asInBaseline), input());
        expect([r.judged, r.verdict, r.violations]).to.deep.equal([true, "clean", []]);
        expect(Object.keys(r.metrics).sort()).to.deep.equal([
            "classChiSquarePValue",
            "classPsi",
            "confidencePsi",
            "decodeErrorRate",
            "driftDetected",
            "lowConfidenceRate",
            "notJudged",
            "records",
            "unseenContentTypes",
            "violations",
        ]);
        expect(r.metrics).to.deep.include({
            records: 5,
            notJudged: 0,
            violations: 0,
            decodeErrorRate: 0,
            lowConfidenceRate: 0,
            driftDetected: 0,
        });
        expect(r.metrics.classPsi).to.be.closeTo(0, 1e-9);
        expect(r.metrics.confidencePsi).to.be.closeTo(0, 1e-9);
        expect(r.predictedClasses).to.deep.include({ counts: [3, 2], baselineShares: [0.6, 0.4], drifted: false });
        expect(r.confidence).to.deep.include({ lowConfidenceRate: 0, baselineLowConfidenceRate: 0.1, threshold: 0.8, drifted: false });
        expect(r.confidence.histogram.counts).to.deep.equal(asInBaseline.confidence);
    });

    it("lists the violations in a fixed order (low confidence, then images, types and payloads) and counts them in the metrics", () => {
        // Every prediction is below the threshold; 2 of 5 records failed the cheap checks; the images are PNGs of another brightness.
        const sample = [decoded(1, 200, 0), decoded(2, 201, 1)];
        const r = judgeWindow(
            state(
                { records: 5, predictions: 5, lowConfidence: 5, cheapFailures: 2, inputs: 2, files: 1 },
                { ...asInBaseline, imageSample: sample },
            ),
            input(),
        );
        expect(r.verdict).to.equal("violations");
        expect(r.violations.map((v) => v.feature_name)).to.deep.equal([
            "low_confidence_rate",
            "image_brightness",
            "content_type",
            "payload",
        ]);
        expect(r.metrics).to.deep.include({
            violations: 4,
            unseenContentTypes: 1,
            driftDetected: 1,
            lowConfidenceRate: 1,
            decodeErrorRate: 0.4,
        });
        expect(r.metrics).to.have.property("imagePropertyPsiMax", r.properties.brightness.psi);
        expect(r.contentTypes).to.deep.equal({
            observed: {},
            images: { "image/png": 2 },
            baseline: { "image/jpeg": 10 },
            unseen: ["image/png"],
        });
        expect(r.counts).to.deep.equal({
            records: 5,
            images: 2,
            predictions: 5,
            decodeErrors: 2,
            malformedLines: 0,
            inputDecodeErrors: 0,
            outputDecodeErrors: 0,
            outsideWindow: 0,
            files: 1,
            inputs: 2,
            sampled: 2,
        });
    });

    it("reports the drift metric when only the images were judged, and the quality metrics once enough labels matched", () => {
        const images = judgeWindow(state({ records: 2, inputs: 2 }, { imageSample: [decoded(1, 200), decoded(2, 200)] }), input());
        expect(images.metrics).to.deep.include({ driftDetected: 1 });
        expect(images.metrics).to.not.have.any.keys("classPsi", "lowConfidenceRate", "accuracy");
        const confusion = [
            [1, 1],
            [0, 2],
        ];
        const labelled = judgeWindow(state({ records: 4, predictions: 4, matched: 4 }, { classCounts: [1, 3], confusion }), input());
        expect(labelled.metrics).to.deep.include({ accuracy: 0.75 });
        expect(labelled.metrics.accuracyDrop).to.be.closeTo(0.15, 1e-12);
        expect(labelled.metrics).to.have.property("macroF1").that.is.a("number");
        const one = judgeWindow(
            state(
                { records: 4, predictions: 4, matched: 1 },
                {
                    classCounts: [1, 3],
                    confusion: [
                        [1, 0],
                        [0, 0],
                    ],
                },
            ),
            input(),
        );
        expect(one.quality?.judged).to.equal(false);
        expect(one.metrics).to.not.have.any.keys("accuracy", "accuracyDrop", "macroF1");
    });

    it("carries the counts, times and sample figures through, and sums the sample's undecodable images into the input errors", () => {
        const broken: SampledImage = { where: "c.jsonl:1", eventId: "e1", priority: 0.01, error: "corrupt" };
        const r = judgeWindow(
            state(
                {
                    records: 10,
                    inputs: 4,
                    inputTypeErrors: 1,
                    outputDecodeErrors: 2,
                    malformedLines: 3,
                    outsideWindow: 4,
                    files: 5,
                    decodes: 6,
                    thumbnails: 7,
                },
                {
                    imageSample: [broken, decoded(2, 200, 0)],
                    sampleSize: 50,
                    firstRecordAt: "2026-01-10T12:01:00.000Z",
                    lastRecordAt: "2026-01-10T12:59:00.000Z",
                    malformed: { "not JSON": 3 },
                },
            ),
            input({ endpoint: "ep-2", schedule: "sch-2" }),
        );
        expect(r.counts).to.deep.include({
            images: 1,
            inputDecodeErrors: 2,
            outputDecodeErrors: 2,
            malformedLines: 3,
            outsideWindow: 4,
            files: 5,
            sampled: 2,
        });
        expect(r).to.deep.include({
            endpoint: "ep-2",
            schedule: "sch-2",
            classes: ["stop", "yield"],
            sampleSize: 50,
            decodes: 6,
            thumbnails: 7,
            minRecords: 2,
            firstRecordAt: "2026-01-10T12:01:00.000Z",
            lastRecordAt: "2026-01-10T12:59:00.000Z",
            malformed: { "not JSON": 3 },
            thresholds,
        });
        expect(r.window).to.deep.equal({ start: new Date("2026-01-10T12:00:00.000Z"), end: new Date("2026-01-10T13:00:00.000Z") });
        // Only the undecodable member of the sample is an error sample.
        expect(r.decodeErrorSamples).to.deep.equal(["c.jsonl:1: event e1: input corrupt"]);
    });

    it("puts the sample's undecodable images among the first error samples, in file order, ten at most", () => {
        const errorSamples = [{ where: "c.jsonl:2", text: "c.jsonl:2: not JSON" }];
        const broken: SampledImage = { where: "c.jsonl:1", eventId: "e1", priority: 0.5, error: "corrupt" };
        const r = judgeWindow(state({ records: 2, inputs: 1 }, { errorSamples, imageSample: [broken] }), input());
        expect(r.decodeErrorSamples).to.deep.equal(["c.jsonl:1: event e1: input corrupt", "c.jsonl:2: not JSON"]);
        const long: SampledImage = { ...broken, error: "x".repeat(400) };
        const [text] = judgeWindow(state({ records: 1, inputs: 1 }, { imageSample: [long] }), input()).decodeErrorSamples;
        expect(text).to.have.length(300);
        expect(text.startsWith("c.jsonl:1: event e1: input xxx")).to.equal(true);
        const many = Array.from({ length: 12 }, (_, i) => ({ where: `c.jsonl:${10 + i}`, text: `line ${10 + i}` }));
        expect(judgeWindow(state({ records: 12 }, { errorSamples: many }), input()).decodeErrorSamples).to.deep.equal(
            many.slice(0, 10).map((s) => s.text),
        );
    });

    it("reports the request content types with the rest under other, only when there is a rest", () => {
        const counted = { counts: { "image/jpeg": 3 }, other: 2 };
        expect(judgeWindow(state({ records: 5 }, { observedTypes: counted }), input()).contentTypes.observed).to.deep.equal({
            "image/jpeg": 3,
            other: 2,
        });
        expect(
            judgeWindow(state({ records: 3 }, { observedTypes: { counts: { "image/jpeg": 3 }, other: 0 } }), input()).contentTypes.observed,
        ).to.deep.equal({ "image/jpeg": 3 });
    });

    it("gives the report the first eight decoded images per class, the lowest confidences, and the outliers of drifted properties only", () => {
        // Ten decoded images, brightness 200 to 209 (training: near 10), the first nine predicted stop; one undecodable.
        const sample = [
            ...Array.from({ length: 9 }, (_, i) => decoded(i, 200 + i, 0)),
            decoded(9, 209),
            { where: "c.jsonl:10", eventId: "e10", priority: 0.1, predicted: 1, error: "corrupt" },
        ];
        const lowest = [{ where: "c.jsonl:3", eventId: "e3", priority: 0.03, thumbnail: "t3", predicted: 0, confidence: 0.2 }];
        const r = judgeWindow(
            state({ records: 11, predictions: 10, inputs: 11 }, { imageSample: sample, lowestConfidence: lowest }),
            input({ baseline: baseline({ examples: { stop: ["training-stop"] } }) }),
        );
        const shot = (i: number) => ({ where: `c.jsonl:${i}`, eventId: `e${i}`, thumbnail: `t${i}`, predicted: 0, confidence: 0.9 });
        expect(r.shots.byClass).to.deep.equal({ stop: [0, 1, 2, 3, 4, 5, 6, 7].map(shot) });
        expect(r.shots.lowestConfidence).to.deep.equal([
            { where: "c.jsonl:3", eventId: "e3", thumbnail: "t3", predicted: 0, confidence: 0.2 },
        ]);
        expect(r.shots.trainingExamples).to.deep.equal({ stop: ["training-stop"] });
        expect(Object.keys(r.shots.outliers)).to.deep.equal(["brightness"]);
        // All in bins training never saw: the furthest from training's mean first, eight of them.
        expect(r.shots.outliers.brightness!.map((s) => [s.eventId, s.value])).to.deep.equal([
            ["e9", 209],
            ["e8", 208],
            ["e7", 207],
            ["e6", 206],
            ["e5", 205],
            ["e4", 204],
            ["e3", 203],
            ["e2", 202],
        ]);
        expect(r.shots.outliers.brightness![0]).to.deep.equal({
            where: "c.jsonl:9",
            eventId: "e9",
            thumbnail: "t9",
            predicted: undefined,
            confidence: undefined,
            value: 209,
        });
        expect(judgeWindow(state({ records: 1 }), input()).shots).to.deep.equal({
            byClass: {},
            lowestConfidence: [],
            outliers: {},
            trainingExamples: {},
        });
    });

    it("says the image types were counted on a sample when fewer images were measured than had inputs", () => {
        const r = judgeWindow(state({ records: 5, inputs: 5 }, { imageSample: [decoded(1, 200), decoded(2, 200)] }), input());
        expect(r.violations.find((v) => v.feature_name === "content_type")?.description).to.equal(
            "Images of types never seen in training: image/png (2); training had image/jpeg (counts from a uniform sample of 2 of 5 images)",
        );
    });

    it("detects drift when the predicted classes alone moved", () => {
        // 100 predictions all of stop against 60/40 in the baseline; confidence as in the baseline; no images.
        const r = judgeWindow(
            state({ records: 100, predictions: 100 }, { classCounts: [100, 0], confidence: [0, 0, 0, 0, 0, 0, 0, 0, 40, 60] }),
            input(),
        );
        expect([r.predictedClasses.drifted, r.confidence.drifted]).to.deep.equal([true, false]);
        expect(r.violations.map((v) => v.feature_name)).to.deep.equal(["predicted_class"]);
        expect(r.metrics).to.deep.include({ driftDetected: 1, violations: 1 });
        expect(r.metrics).to.not.have.any.keys("imagePropertyPsiMax");
    });
});
