import { expect } from "chai";
import { CLASS_NAME } from "../../infra/config";
import { prefixes } from "../../infra/naming";
import {
    correctionKeys,
    INVALID_IMAGE_CHOICE,
    labelStudioLabelConfig,
    labelStudioTask,
    parseLabelStudioAnnotation,
    reviewItemId,
    reviewKeys,
} from "../../infra/review-contract";

const ITEM = `img-${"ab".repeat(32)}`;

describe("review queue contract", () => {
    it("keeps every object of a model's queue under its review prefix, one folder per kind", () => {
        const model = "bikes";
        expect(prefixes.reviewModel(model)).to.equal("bikes/review/");
        expect(reviewKeys.pendingImage(model, ITEM, "image/jpeg")).to.equal(`bikes/review/pending/${ITEM}.jpg`);
        expect(reviewKeys.task(model, ITEM)).to.equal(`bikes/review/tasks/${ITEM}.json`);
        expect(reviewKeys.waiting(model, ITEM)).to.equal(`bikes/review/waiting/${ITEM}.json`);
        expect(reviewKeys.reviewedImage(model, "bicycle", ITEM, "image/png")).to.equal(`bikes/review/reviewed/bicycle/${ITEM}.png`);
        expect(reviewKeys.reviewedRecord(model, "bicycle", ITEM)).to.equal(`bikes/review/reviewed/bicycle/${ITEM}.json`);
        expect(reviewKeys.closed(model, ITEM)).to.equal(`bikes/review/closed/${ITEM}.json`);
        expect(reviewKeys.batch(model, "review-20260101T000000Z")).to.equal("bikes/review/batches/review-20260101T000000Z.json");
        const fix = `fix-${"c".repeat(40)}`;
        expect(correctionKeys(model, fix, "image/webp")).to.deep.equal({
            image: `bikes/review/corrections/${fix}.webp`,
            record: `bikes/review/corrections/${fix}.json`,
        });
        // Nothing of the queue is under batches/, which the training trigger watches.
        for (const p of [prefixes.reviewPending, prefixes.reviewed, prefixes.reviewCorrections, prefixes.reviewBatches])
            expect(p(model).startsWith(prefixes.rawBatch(model, ""))).to.equal(false);
    });

    it("refuses item ids that are not an execution name of the workflow, and image types it does not store", () => {
        expect(reviewItemId("img", "AB".repeat(8))).to.equal(`img-${"ab".repeat(8)}`);
        expect(() => reviewItemId("img", "xyz")).to.throw(/not a review item id/);
        expect(() => reviewKeys.task("m", "../etc/passwd")).to.throw(/not a review item id/);
        expect(() => reviewKeys.pendingImage("m", ITEM, "image/gif")).to.throw(/JPEG, PNG and WebP images, not image\/gif/);
        expect(() => correctionKeys("m", ITEM, "image/jpeg")).to.throw(/start with fix-/);
        expect(`img-${"a".repeat(64)}`.length).to.be.at.most(80);
    });

    it("writes the task Label Studio's S3 source storage imports: data.image as an s3:// URI and the top class as a pre-annotation", () => {
        const task = labelStudioTask({
            bucket: "raw-bucket",
            model: "bikes",
            itemId: ITEM,
            contentType: "image/jpeg",
            reason: "low-confidence",
            top: [
                { label: "bicycle", confidence: 0.61 },
                { label: "motorcycle", confidence: 0.39 },
            ],
            inferenceId: "inf-1",
            modelPackage: "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
        });
        expect(task).to.deep.equal({
            data: {
                image: `s3://raw-bucket/bikes/review/pending/${ITEM}.jpg`,
                item_id: ITEM,
                model: "bikes",
                reason: "low-confidence",
                top_classes: "bicycle 61%, motorcycle 39%",
                inference_id: "inf-1",
                model_package: "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
            },
            predictions: [
                {
                    model_version: "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
                    score: 0.61,
                    result: [{ from_name: "label", to_name: "image", type: "choices", value: { choices: ["bicycle"] } }],
                },
            ],
        });
        const fix = labelStudioTask({
            bucket: "raw-bucket",
            model: "bikes",
            itemId: `fix-${"c".repeat(40)}`,
            contentType: "image/png",
            reason: "correction",
            top: [{ label: "bicycle", confidence: 0.9 }],
            suggestion: { label: "motorcycle", by: "ana@example.com" },
        });
        expect(fix.predictions.map((p) => [p.model_version, p.result[0].value.choices])).to.deep.equal([
            ["correction", ["motorcycle"]],
            ["model", ["bicycle"]],
        ]);
        expect(fix.data).to.include({ suggested_label: "motorcycle", suggested_by: "ana@example.com", reason: "correction" });
    });

    it("gives Label Studio a labelling interface whose control names and invalid choice match what the parser reads", () => {
        const xml = labelStudioLabelConfig(["bicycle", "motorcycle"]);
        expect(xml).to.contain('<Image name="image" value="$image"/>');
        expect(xml).to.contain('<Choices name="label" toName="image" choice="single" required="true">');
        expect(xml).to.contain('<Choice value="bicycle"/>');
        expect(xml).to.contain(`<Choice value="Not a valid image" alias="${INVALID_IMAGE_CHOICE}"/>`);
        // The invalid choice can never be a class.
        expect(CLASS_NAME.test(INVALID_IMAGE_CHOICE)).to.equal(false);
    });

    describe("reading Label Studio's target storage", () => {
        const result = (choice: string) => [{ from_name: "label", to_name: "image", type: "choices", value: { choices: [choice] } }];
        const task = { id: 7, data: { image: "s3://raw/bikes/review/pending/x.jpg", item_id: ITEM } };

        it("reads an annotation with its task nested (the default export of each annotation)", () => {
            const doc = {
                id: 1001,
                result: result("motorcycle"),
                was_cancelled: false,
                completed_by: { id: 3, email: "rev@example.com" },
                task,
            };
            expect(parseLabelStudioAnnotation(doc, "annotations/1001")).to.deep.equal({
                itemId: ITEM,
                verdict: { kind: "label", label: "motorcycle" },
                reviewer: "rev@example.com",
                annotationId: "1001",
                taskId: "7",
            });
        });

        it("reads a task with its annotations (the JSON export form), taking the last one that was not cancelled", () => {
            const doc = {
                ...task,
                annotations: [
                    { id: 1, result: result("bicycle"), completed_by: 4 },
                    { id: 2, result: result("motorcycle"), completed_by: 5 },
                    { id: 3, result: [], was_cancelled: true, completed_by: 6 },
                ],
            };
            expect(parseLabelStudioAnnotation(doc, "annotations/7.json")).to.deep.include({
                verdict: { kind: "label", label: "motorcycle" },
                reviewer: "label-studio user 5",
                annotationId: "2",
            });
        });

        it("tells a label, an invalid image and nothing decided apart", () => {
            const at = (r: unknown[], extra = {}) => parseLabelStudioAnnotation({ id: 1, result: r, task, ...extra }, "a").verdict;
            expect(at(result(INVALID_IMAGE_CHOICE))).to.deep.equal({ kind: "invalid" });
            expect(at([])).to.deep.equal({ kind: "none" });
            expect(at(result("bicycle"), { was_cancelled: true })).to.deep.equal({ kind: "none" });
            // Another control's choices are not the class.
            expect(at([{ from_name: "quality", to_name: "image", type: "choices", value: { choices: ["blurry"] } }])).to.deep.equal({
                kind: "none",
            });
        });

        it("refuses what it cannot file, naming the object", () => {
            expect(() => parseLabelStudioAnnotation([], "annotations/x")).to.throw(/annotations\/x is not a Label Studio annotation/);
            expect(() => parseLabelStudioAnnotation({ foo: 1 }, "annotations/x")).to.throw(/neither an annotation with its task/);
            expect(() =>
                parseLabelStudioAnnotation({ id: 1, result: [], task: { data: { image: "s3://b/k" } } }, "annotations/y"),
            ).to.throw(/annotations\/y: the task has no item_id of this review queue/);
            const two = [...result("bicycle"), ...result("motorcycle")];
            expect(() => parseLabelStudioAnnotation({ id: 1, result: two, task }, "annotations/z")).to.throw(
                /2 choices \(bicycle, motorcycle\)/,
            );
        });
    });
});
