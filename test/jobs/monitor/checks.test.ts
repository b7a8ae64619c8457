import { expect } from "chai";
import { contentTypeCheck, decodeErrorCheck, lowConfidenceCheck, qualityCheck } from "../../../jobs/monitor/checks";
import { MonitorThresholds } from "../../../jobs/monitor/settings";
import { WindowState } from "../../../jobs/monitor/window";

const thresholds: MonitorThresholds = {
    classPsi: 0.2,
    chiSquarePValue: 0.01,
    confidencePsi: 0.2,
    imagePropertyPsi: 0.25,
    lowConfidenceRate: 0.2,
    decodeErrorRate: 0.1,
    accuracyDrop: 0.05,
    minRecords: 30,
    confidenceThreshold: 0.8,
};

const counts = (over: Partial<WindowState["counts"]>): WindowState["counts"] => ({
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
    ...over,
});

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
