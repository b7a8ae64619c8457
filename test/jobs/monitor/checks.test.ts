import { expect } from "chai";
import { MonitoringBaseline } from "../../../jobs/lib/baseline";
import { PROPERTY_BINS } from "../../../jobs/lib/histogram";
import { ImageProperties, NUMERIC_PROPERTIES } from "../../../jobs/lib/image-properties";
import {
    checkLevels,
    confidenceCheck,
    contentTypeCheck,
    decodeErrorCheck,
    distributionCheck,
    imagePropertyChecks,
    lowConfidenceCheck,
    predictedClassCheck,
    qualityCheck,
} from "../../../jobs/monitor/checks";
import { SampledImage } from "../../../jobs/monitor/window";
import { counts, thresholds } from "./hand-state";

// Each check on its own, with figures worked out by hand.
describe("monitor checks, one at a time", () => {
    it("low confidence: 25 of 100 predictions below the threshold is over a 20% limit, 20 of 100 is not", () => {
        const over = lowConfidenceCheck(counts({ predictions: 100, lowConfidence: 25 }), { lowConfidenceRate: 0.05 }, thresholds, true);
        expect(over.rate).to.equal(0.25);
        expect(over.violation).to.deep.equal({
            feature_name: "low_confidence_rate",
            constraint_check_type: "GreaterThanThreshold",
            description: "25.0% of predictions are below the confidence threshold 0.8 (allowed 20.0%; test set 5.0%)",
        });
        expect(
            lowConfidenceCheck(counts({ predictions: 100, lowConfidence: 20 }), { lowConfidenceRate: 0 }, thresholds, true).violation,
        ).to.equal(undefined);
        expect(
            lowConfidenceCheck(counts({ predictions: 100, lowConfidence: 90 }), { lowConfidenceRate: 0 }, thresholds, false).violation,
        ).to.equal(undefined);
    });

    it("decode errors: cheap failures exactly, the sample's undecodable share scaled to the readable inputs", () => {
        // 200 records: 8 failed the cheap checks; 50 readable inputs, 10 sampled, 2 of them undecodable (20%) -> 10 more.
        const imageSample = Array.from({ length: 10 }, (_, i) => ({
            where: "f",
            eventId: `e${i}`,
            priority: i / 10,
            ...(i < 2 ? { error: "corrupt" } : {}),
        }));
        const r = decodeErrorCheck(
            { counts: counts({ records: 200, cheapFailures: 8, inputs: 50, inputTypeErrors: 3, outputDecodeErrors: 5 }), imageSample },
            thresholds,
        );
        expect(r.decodeErrors).to.equal(18);
        expect(r.rate).to.equal(0.09);
        expect(r.sampledFailures).to.equal(2);
        expect(r.violation).to.equal(undefined); // 9% is within the 10% allowed
        const strict = decodeErrorCheck(
            { counts: counts({ records: 200, cheapFailures: 8, inputs: 50, inputTypeErrors: 3, outputDecodeErrors: 5 }), imageSample },
            { ...thresholds, decodeErrorRate: 0.05 },
        );
        expect(strict.violation?.description).to.equal(
            "18 of 200 records (9.0%) could not be decoded (allowed 5.0%): 5 input images (2 of 10 sampled), 5 outputs, 0 malformed lines",
        );
    });

    it("quality: accuracy 0.85 on a 2-class confusion matrix is 0.1 below a 0.95 baseline, over the 0.05 allowed", () => {
        const confusion = [
            [16, 4],
            [2, 18],
        ];
        const r = qualityCheck({ counts: counts({ matched: 40 }), confusion }, { quality: { accuracy: 0.95, macroF1: 0.9 } }, thresholds);
        expect(r.quality).to.deep.include({ matched: 40, accuracy: 0.85, judged: true, baselineAccuracy: 0.95 });
        expect(r.quality!.accuracyDrop).to.be.closeTo(0.1, 1e-12);
        // F1: class 0 precision 16/18, recall 16/20; class 1 precision 18/22, recall 18/20.
        const f1 = (p: number, r: number) => (2 * p * r) / (p + r);
        expect(r.quality!.macroF1).to.be.closeTo((f1(16 / 18, 16 / 20) + f1(18 / 22, 18 / 20)) / 2, 1e-12);
        expect(r.violation?.description).to.equal(
            "Accuracy 0.850 on 40 labelled requests is 0.100 below the evaluation baseline 0.950 (allowed drop 0.05)",
        );
        expect(
            qualityCheck({ counts: counts({ matched: 0 }), confusion }, { quality: { accuracy: 0.95, macroF1: 0.9 } }, thresholds),
        ).to.deep.equal({});
        // Under minRecords labelled requests the figures are reported but not judged.
        const few = qualityCheck({ counts: counts({ matched: 20 }), confusion }, { quality: { accuracy: 0.95, macroF1: 0.9 } }, thresholds);
        expect([few.quality?.judged, few.violation]).to.deep.equal([false, undefined]);
    });

    it("content types: a type training never had is a violation naming its count and training's types", () => {
        const r = contentTypeCheck(
            { "image/jpeg": 40, "image/webp": 3 },
            { contentTypes: { "image/jpeg": 100 } },
            { measured: 43, sampled: 43, inputs: 43 },
        );
        expect(r.unseen).to.deep.equal(["image/webp"]);
        expect(r.violation?.description).to.equal("Images of types never seen in training: image/webp (3); training had image/jpeg");
        expect(
            contentTypeCheck({ "image/jpeg": 40 }, { contentTypes: { "image/jpeg": 100 } }, { measured: 40, sampled: 40, inputs: 40 }),
        ).to.deep.equal({
            unseen: [],
        });
    });
});

// PSI and p-values below from numpy/scipy (scipy.stats.chi2.sf on Pearson's statistic times (N - 1) / N, and
// scipy.stats.fisher_exact) on the tables written out in the comments.
describe("monitor distribution checks, one at a time", () => {
    it("runs the class check at the configured level and the ten others (confidence, nine image properties) at a tenth of it", () => {
        expect(checkLevels({ chiSquarePValue: 0.01 })).to.deep.equal({ classes: 0.01, shared: 0.001 });
    });

    it("calls drift only when the shift is both significant and large, and only when judged", () => {
        // 10,000 vs 10,000 split 53/47 against 50/50: p 2.3e-5 but PSI 0.0036.
        const significantSmall = distributionCheck([5000, 5000], [5300, 4700], 0.2, 0.01, true);
        expect(significantSmall.psi).to.be.closeTo(0.003604329355261904, 1e-12);
        expect(significantSmall.chiSquare.pValue).to.be.below(0.01);
        expect(significantSmall.drifted).to.equal(false);
        // PSI 0.1155 with a limit of 0.1, but on 30 records: Fisher p 0.295.
        const largeNotSignificant = distributionCheck([15, 15], [10, 20], 0.1, 0.01, true);
        expect(largeNotSignificant.psi).to.be.closeTo(0.11552453009332421, 1e-12);
        expect(largeNotSignificant.drifted).to.equal(false);
        const both = distributionCheck([15, 15], [10, 20], 0.1, 0.3, true);
        expect(both.drifted).to.equal(true);
        expect(distributionCheck([15, 15], [10, 20], 0.1, 0.3, false).drifted).to.equal(false);
    });

    const baseline = (over: Partial<MonitoringBaseline>): MonitoringBaseline =>
        ({
            imageCount: 0,
            confidence: { edges: [], counts: [] },
            predictedClassDistribution: {},
            contentTypes: {},
            properties: {},
            ...over,
        }) as unknown as MonitoringBaseline;

    it("predicted classes: drift names PSI, p-value, the number of predictions and the three classes that moved most", () => {
        // Test set 100 predictions, 40/30/20/10%; window 10/32/38/20: PSI 0.6020, Pearson on four bins p 6.33e-6.
        const b = baseline({
            predictedClassDistribution: { a: 0.4, b: 0.3, c: 0.2, d: 0.1 },
            confidence: { edges: [0, 0.5, 1], counts: [20, 80] },
        });
        const state = { classes: ["a", "b", "c", "d"], classCounts: [10, 32, 38, 20], counts: counts({ predictions: 100 }) };
        const r = predictedClassCheck(state, b, thresholds);
        expect(r.psi).to.be.closeTo(0.6020274963257443, 1e-12);
        expect(r.chiSquare.pValue).to.be.closeTo(6.3320578471889425e-6, 1e-15);
        expect([r.judged, r.drifted, r.counts, r.baselineShares]).to.deep.equal([true, true, [10, 32, 38, 20], [0.4, 0.3, 0.2, 0.1]]);
        expect(r.violation).to.deep.equal({
            feature_name: "predicted_class",
            constraint_check_type: "baseline_drift_check",
            description:
                "Predicted-class distribution drifted: PSI 0.602 > 0.2 and chi-square p-value 6.33e-6 < 0.01 over 100 predictions; " +
                "most changed: a 40.0% -> 10.0%, c 20.0% -> 38.0%, d 10.0% -> 20.0%",
        });
        // A baseline without a confidence histogram sizes the test set by its image count instead.
        const byImages = predictedClassCheck(state, { ...b, confidence: { edges: [], counts: [] }, imageCount: 100 }, thresholds);
        expect(byImages.chiSquare.pValue).to.be.closeTo(6.3320578471889425e-6, 1e-15);
    });

    it("predicted classes: judged from minRecords predictions on", () => {
        // 30 predictions 3/9/12/6 against the same test set: the bin of 16 joins the bin of 32; p 0.00272 on three bins.
        const b = baseline({ predictedClassDistribution: { a: 0.4, b: 0.3, c: 0.2, d: 0.1 }, confidence: { edges: [], counts: [100] } });
        const at = (predictions: number) =>
            predictedClassCheck(
                { classes: ["a", "b", "c", "d"], classCounts: [3, 9, 12, 6], counts: counts({ predictions }) },
                b,
                thresholds,
            );
        expect(at(30).chiSquare.pValue).to.be.closeTo(0.0027223766821383453, 1e-12);
        expect([at(30).judged, at(30).violation?.feature_name]).to.deep.equal([true, "predicted_class"]);
        expect([at(29).judged, at(29).violation]).to.deep.equal([false, undefined]);
    });

    it("confidence: the window's histogram and mean against the test set's, at the shared level", () => {
        // Test set 10/30/60 in the top three tenths; window spread from 0.4 up: PSI 5.7955, Pearson on six bins p 8.49e-22.
        const b = baseline({ confidence: { edges: [], counts: [0, 0, 0, 0, 0, 0, 0, 10, 30, 60] } });
        const state = {
            confidence: [0, 0, 0, 0, 10, 20, 30, 20, 10, 10],
            counts: counts({ predictions: 100, confidenceMicros: 65_500_000 }),
        };
        const r = confidenceCheck(state, b, thresholds, true);
        expect(r.psi).to.be.closeTo(5.79553169797473, 1e-12);
        expect(r.mean).to.equal(0.655);
        expect(r.histogram).to.deep.equal({ edges: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], counts: state.confidence });
        expect(r.violation).to.deep.equal({
            feature_name: "confidence",
            constraint_check_type: "baseline_drift_check",
            description: "Top-class confidence distribution drifted: PSI 5.796 > 0.2 (chi-square p-value 8.49e-22); mean confidence 0.655",
        });
        expect(confidenceCheck(state, b, thresholds, false).violation).to.equal(undefined);
        // 22/40/38 in the top three tenths: PSI 0.2239 and p 0.00449, significant at the classes' 0.01 but not at the shared 0.001.
        const moderate = confidenceCheck({ ...state, confidence: [0, 0, 0, 0, 0, 0, 0, 22, 40, 38] }, b, thresholds, true);
        expect(moderate.psi).to.be.closeTo(0.22386993903794777, 1e-12);
        expect(moderate.chiSquare.pValue).to.be.closeTo(0.0044872954784428275, 1e-12);
        expect(moderate.violation).to.equal(undefined);
        expect(
            confidenceCheck({ ...state, confidence: [0, 0, 0, 0, 0, 0, 0, 22, 40, 38] }, b, { ...thresholds, chiSquarePValue: 0.05 }, true)
                .violation,
        ).to.not.equal(undefined);
        expect(confidenceCheck({ ...state, counts: counts({}) }, b, thresholds, false).mean).to.equal(0);
    });

    it("image properties: summaries, spread and drift of the measured sample members", () => {
        // Training: 300 images 100 px wide, every other property constant. Window: 30 measured members, 15 of them 100 px
        // wide and 15 300 px (mean 200, standard deviation 100), and 10 undecodable; 500 inputs in all.
        const props = (width: number, format: string): ImageProperties => ({
            format,
            width,
            height: 100,
            aspect: 1,
            bytes: 5000,
            brightness: 120,
            contrast: 40,
            meanRed: 120,
            meanGreen: 120,
            meanBlue: 120,
        });
        const trained = props(100, "jpeg");
        const summaries = Object.fromEntries(
            NUMERIC_PROPERTIES.map((p) => {
                const edges = [...PROPERTY_BINS[p]];
                const counts = new Array(edges.length - 1).fill(0);
                const bin = edges.findIndex((e, i) => trained[p] >= e && trained[p] < edges[i + 1]);
                counts[bin] = 300;
                return [p, { edges, counts, count: 300, mean: trained[p], min: trained[p], max: trained[p] }];
            }),
        );
        const b = baseline({ properties: summaries as MonitoringBaseline["properties"] });
        const sample: SampledImage[] = Array.from({ length: 40 }, (_, i) => ({
            where: `f:${i}`,
            eventId: `e${i}`,
            priority: i / 40,
            ...(i < 30 ? { properties: props(i % 2 ? 300 : 100, i < 10 ? "png" : "jpeg") } : { error: "corrupt" }),
        }));
        const r = imagePropertyChecks(sample, 500, b, thresholds);
        expect([r.measured, r.judged]).to.deep.equal([30, true]);
        expect(Object.entries(r.imageTypes)).to.deep.equal([
            ["image/jpeg", 20],
            ["image/png", 10],
        ]);
        expect(r.properties.width.summary).to.deep.include({ count: 30, mean: 200, min: 100, max: 300, stdDev: 100, sum: 6000 });
        expect(r.properties.height.summary).to.deep.include({ mean: 100, stdDev: 0, sum: 3000 });
        // Width: 15 of 30 move two bins up (PSI 4.6043); the bin of 15 joins the training bin: Fisher (300, 0) vs (15, 15).
        expect(r.properties.width.psi).to.be.closeTo(4.60431846666895, 1e-9);
        expect(r.psiMax).to.equal(r.properties.width.psi);
        expect(NUMERIC_PROPERTIES.filter((p) => r.properties[p].drifted)).to.deep.equal(["width"]);
        expect(r.violations).to.deep.equal([
            {
                feature_name: "image_width",
                constraint_check_type: "baseline_drift_check",
                description:
                    "Image width drifted: PSI 4.604 > 0.25 (Fisher exact p-value 4.67e-18); mean 200 vs 100 in training " +
                    "(on a uniform sample of 30 of 500 images)",
            },
        ]);
        // Every input measured: no sample clause. Under minRecords members: reported, not judged.
        expect(imagePropertyChecks(sample.slice(0, 30), 30, b, thresholds).violations[0].description).to.match(/in training$/);
        const few = imagePropertyChecks(sample.slice(0, 29), 29, b, thresholds);
        expect([few.judged, few.violations]).to.deep.equal([false, []]);
    });

    it("calls drift only strictly above the PSI limit and strictly below the significance level", () => {
        const check = distributionCheck([15, 15], [10, 20], 0.1, 0.3, true);
        expect(check.drifted).to.equal(true);
        expect(distributionCheck([15, 15], [10, 20], check.psi, 0.3, true).drifted).to.equal(false);
        expect(distributionCheck([15, 15], [10, 20], 0.1, check.chiSquare.pValue, true).drifted).to.equal(false);
    });
});

describe("monitor checks at their boundaries", () => {
    it("low confidence: a rate equal to the limit, or a window not judged, reports the rate alone", () => {
        expect(
            lowConfidenceCheck(counts({ predictions: 100, lowConfidence: 20 }), { lowConfidenceRate: 0 }, thresholds, true),
        ).to.deep.equal({ rate: 0.2 });
        expect(lowConfidenceCheck(counts({ predictions: 0 }), { lowConfidenceRate: 0 }, thresholds, true)).to.deep.equal({ rate: 0 });
    });

    it("content types: a type training counted zero times is unseen; the violation names the sample and 'none'", () => {
        const r = contentTypeCheck(
            { "image/png": 2, "image/gif": 1 },
            { contentTypes: { "image/png": 0 } },
            { measured: 3, sampled: 3, inputs: 300 },
        );
        expect(r).to.deep.equal({
            unseen: ["image/png", "image/gif"],
            violation: {
                feature_name: "content_type",
                constraint_check_type: "categorical_values_check",
                description:
                    "Images of types never seen in training: image/png (2), image/gif (1); training had image/png " +
                    "(counts from a uniform sample of 3 of 300 images)",
            },
        });
        expect(
            contentTypeCheck({ "image/png": 1 }, { contentTypes: {} }, { measured: 1, sampled: 1, inputs: 1 }).violation?.description,
        ).to.equal("Images of types never seen in training: image/png (1); training had none");
    });

    it("decode errors: none counted is no violation whatever the rate; a rate equal to the limit is allowed", () => {
        const sample = (n: number, failed: number) =>
            Array.from({ length: n }, (_, i) => ({
                where: "f",
                eventId: `e${i}`,
                priority: i / n,
                ...(i < failed ? { error: "corrupt" } : {}),
            }));
        // One of 10 sampled undecodable, 4 inputs: 0.4 images, rounded to none; the rate 0.4 / 100 is above a limit of 0.
        const rounded = decodeErrorCheck(
            { counts: counts({ records: 100, inputs: 4 }), imageSample: sample(10, 1) },
            { ...thresholds, decodeErrorRate: 0 },
        );
        expect([rounded.decodeErrors, rounded.rate, rounded.violation]).to.deep.equal([0, 0.004, undefined]);
        const atLimit = decodeErrorCheck({ counts: counts({ records: 100, cheapFailures: 10 }), imageSample: [] }, thresholds);
        expect(atLimit).to.deep.equal({ decodeErrors: 10, rate: 0.1, sampledFailures: 0 });
        // Every input sampled: no sample clause.
        const all = decodeErrorCheck(
            { counts: counts({ records: 10, inputs: 10, cheapFailures: 1, outputDecodeErrors: 1 }), imageSample: sample(10, 2) },
            thresholds,
        );
        expect(all.violation).to.deep.equal({
            feature_name: "payload",
            constraint_check_type: "completeness_check",
            description: "3 of 10 records (30.0%) could not be decoded (allowed 10.0%): 2 input images, 1 outputs, 0 malformed lines",
        });
    });

    it("quality: judged from exactly minRecords labels, a drop equal to the allowed one passes, label problems are carried", () => {
        // 30 labelled, 15 right: accuracy 0.5 against a baseline of 0.75, a drop of exactly 0.25.
        // F1: class 0 precision 10/20, recall 10/15 -> 4/7; class 1 precision 5/10, recall 5/15 -> 0.4.
        const confusion = [
            [10, 5],
            [10, 5],
        ];
        const b = { quality: { accuracy: 0.75, macroF1: 0.7 } };
        const at = (matched: number, accuracyDrop: number) =>
            qualityCheck(
                { counts: counts({ matched }), confusion },
                b,
                { ...thresholds, accuracyDrop },
                { rejected: 2, samples: ["x", "y"] },
            );
        const passing = at(30, 0.25);
        expect(passing.violation).to.equal(undefined);
        expect(passing.quality).to.deep.include({
            matched: 30,
            accuracy: 0.5,
            baselineAccuracy: 0.75,
            baselineMacroF1: 0.7,
            accuracyDrop: 0.25,
            confusion: [
                [10, 5],
                [10, 5],
            ],
            judged: true,
            rejectedLabels: 2,
            rejectedLabelSamples: ["x", "y"],
        });
        expect(passing.quality!.macroF1).to.be.closeTo((4 / 7 + 0.4) / 2, 1e-12);
        expect(passing.quality!.confusion).to.not.equal(confusion);
        expect(at(30, 0.24).violation).to.deep.equal({
            feature_name: "accuracy",
            constraint_check_type: "LessThanThreshold",
            description: "Accuracy 0.500 on 30 labelled requests is 0.250 below the evaluation baseline 0.750 (allowed drop 0.24)",
        });
        expect(at(29, 0.24).violation).to.equal(undefined);
        const plain = qualityCheck({ counts: counts({ matched: 30 }), confusion }, b, thresholds);
        expect([plain.quality?.rejectedLabels, plain.quality?.rejectedLabelSamples]).to.deep.equal([0, []]);
    });
});
