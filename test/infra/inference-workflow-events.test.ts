import { expect } from "chai";
import { annotationEventPattern, correctionEventPattern, triggerEventPattern } from "../../infra/inference-workflow";
import { judgedCases } from "../support/event-patterns";

// The patterns judged by EventBridge's rules, moto's matcher in a python process standing in for TestEventPattern
// (test/infra/inference-workflow.test.ts pins the patterns themselves in-process).
describe("inference workflow events, as EventBridge matches them", () => {
    it("triggers on images under the prefix (never the prediction written next to them) and on this model's correction records", () => {
        const event = (key: string) => ({
            source: "aws.s3",
            "detail-type": "Object Created",
            detail: { bucket: { name: "raw" }, object: { key } },
        });
        const pattern = triggerEventPattern("raw", "incoming/signs/");
        const annotations = annotationEventPattern("raw", "signs");
        const corrections = correctionEventPattern("raw", "signs");
        // EventBridge's verdicts, moto's matcher standing in for TestEventPattern.
        expect(
            judgedCases({
                "incoming/signs/a/b.jpg": [pattern, event("incoming/signs/a/b.jpg")],
                "incoming/signs/b.PNG": [pattern, event("incoming/signs/b.PNG")],
                "incoming/signs/b.jpg.prediction.json": [pattern, event("incoming/signs/b.jpg.prediction.json")],
                "other/b.jpg": [pattern, event("other/b.jpg")],
                "signs/review/annotations/17": [annotations, event("signs/review/annotations/17")],
                "signs/review/tasks/x.json": [annotations, event("signs/review/tasks/x.json")],
                "signs/review/corrections/fix-0a1b.json": [corrections, event("signs/review/corrections/fix-0a1b.json")],
                "signs/review/corrections/fix-0a1b.jpg": [corrections, event("signs/review/corrections/fix-0a1b.jpg")],
                "cars/review/corrections/fix-0a1b.json": [corrections, event("cars/review/corrections/fix-0a1b.json")],
            }),
        ).to.deep.equal({
            "incoming/signs/a/b.jpg": true,
            "incoming/signs/b.PNG": true,
            "incoming/signs/b.jpg.prediction.json": false,
            "other/b.jpg": false,
            "signs/review/annotations/17": true,
            "signs/review/tasks/x.json": false,
            "signs/review/corrections/fix-0a1b.json": true,
            "signs/review/corrections/fix-0a1b.jpg": false,
            "cars/review/corrections/fix-0a1b.json": false,
        });
    });
});
