import { expect } from "chai";
import { CLASS_NAME } from "../../infra/config";
import { prefixes } from "../../infra/naming";
import {
    AnnotationFormatError,
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

        it("takes the last annotation when every one was cancelled, and none at all when there are none", () => {
            const cancelled = (id: number, by: number) => ({ id, result: result("bicycle"), was_cancelled: true, completed_by: by });
            expect(parseLabelStudioAnnotation({ ...task, annotations: [cancelled(1, 4), cancelled(2, 5)] }, "a")).to.deep.equal({
                itemId: ITEM,
                verdict: { kind: "none" },
                reviewer: "label-studio user 5",
                annotationId: "2",
                taskId: "7",
            });
            expect(parseLabelStudioAnnotation({ ...task, annotations: [] }, "a")).to.deep.equal({
                itemId: ITEM,
                verdict: { kind: "none" },
                reviewer: "label-studio user (unknown)",
                annotationId: undefined,
                taskId: "7",
            });
            const withJunk = { ...task, annotations: [null, 3, { id: 9, result: result("bicycle"), completed_by: 2 }, "x"] };
            expect(parseLabelStudioAnnotation(withJunk, "a")).to.deep.include({
                verdict: { kind: "label", label: "bicycle" },
                annotationId: "9",
            });
        });

        it("reads the class from the label control's choices only, once however often it is given", () => {
            const at = (r: unknown[]) => parseLabelStudioAnnotation({ id: 1, result: r, task }, "a").verdict;
            const choices = (value: unknown, type = "choices") => ({ from_name: "label", to_name: "image", type, value });
            expect(at([choices({ choices: ["bicycle"] }, "textarea")]), "another type of result").to.deep.equal({ kind: "none" });
            expect(at([null, "label", choices("bicycle"), choices({ choices: "bicycle" })]), "no choices list").to.deep.equal({
                kind: "none",
            });
            expect(at([...result("bicycle"), ...result("bicycle")]), "the same class twice").to.deep.equal({
                kind: "label",
                label: "bicycle",
            });
            expect(() => at([choices({ choices: [5] })])).to.throw("a: item " + ITEM + " has 1 choices (5); pick exactly one class");
        });

        it("names the reviewer by e-mail, then user name, then Label Studio user id", () => {
            const reviewer = (extra: object) => parseLabelStudioAnnotation({ id: 1, result: [], task, ...extra }, "a").reviewer;
            expect(reviewer({ completed_by: { id: 3, email: "rev@example.com" }, created_username: "rev" })).to.equal("rev@example.com");
            expect(reviewer({ completed_by: { id: 3, email: "" }, created_username: "rev" })).to.equal("rev");
            expect(reviewer({ completed_by: 4, created_username: "" })).to.equal("label-studio user 4");
            expect(reviewer({ completed_by: { id: 3 } })).to.equal("label-studio user 3");
            expect(reviewer({ completed_by: { id: 3, email: 42 } }), "an e-mail that is no string").to.equal("label-studio user 3");
            expect(reviewer({ completed_by: "5" })).to.equal("label-studio user 5");
            expect(reviewer({ completed_by: "" })).to.equal("label-studio user (unknown)");
            expect(reviewer({ completed_by: { id: {} } })).to.equal("label-studio user (unknown)");
            expect(reviewer({})).to.equal("label-studio user (unknown)");
            expect(reviewer({ completed_by: null })).to.equal("label-studio user (unknown)");
        });

        it("keeps ids Label Studio gives as numbers or strings, including 0, and drops empty or other ones", () => {
            const ids = (id: unknown, taskId: unknown) => {
                const parsed = parseLabelStudioAnnotation({ id, result: [], task: { ...task, id: taskId } }, "a");
                return [parsed.annotationId, parsed.taskId];
            };
            expect(ids(0, "t-1")).to.deep.equal(["0", "t-1"]);
            expect(ids("", null)).to.deep.equal([undefined, undefined]);
            expect(ids({ n: 1 }, true)).to.deep.equal([undefined, undefined]);
        });

        it("refuses each shape it cannot read with an AnnotationFormatError whose message names the object and the fault", () => {
            const refusal = (doc: unknown) => {
                try {
                    parseLabelStudioAnnotation(doc, "annotations/q");
                } catch (e) {
                    expect(e).to.be.instanceOf(AnnotationFormatError);
                    expect((e as Error).name).to.equal("AnnotationFormatError");
                    return (e as Error).message;
                }
                throw new Error("not refused");
            };
            const neither =
                'annotations/q is neither an annotation with its task ({"result", "task"}) nor a task with annotations ({"data", "annotations"})';
            expect(refusal({ id: 1, result: "nope", task })).to.equal(neither);
            expect(refusal({ id: 1, result: [], task: [task] })).to.equal(neither);
            expect(refusal({ ...task, annotations: { id: 1 } })).to.equal(neither);
            expect(refusal({ annotations: [], data: [] })).to.equal(neither);
            expect(refusal(null)).to.equal("annotations/q is not a Label Studio annotation (expected a JSON object)");
            const noItem = (v: string) =>
                `annotations/q: the task has no item_id of this review queue (data.item_id ${v}); was it imported from the tasks/ prefix?`;
            expect(refusal({ id: 1, result: [], task: { data: "x" } })).to.equal(noItem("undefined"));
            expect(refusal({ id: 1, result: [], task: { data: { item_id: 7 } } })).to.equal(noItem("7"));
            expect(refusal({ id: 1, result: [], task: { data: { item_id: "img-xyz" } } })).to.equal(noItem('"img-xyz"'));
            for (const id of [`x${ITEM}`, `${ITEM}0`])
                expect(refusal({ id: 1, result: [], task: { data: { item_id: id } } })).to.equal(noItem(JSON.stringify(id)));
        });
    });

    it("writes a task for a correction with no model classes, and refuses one with neither", () => {
        const base = {
            bucket: "raw-bucket",
            model: "bikes",
            itemId: ITEM,
            contentType: "image/webp",
            reason: "correction" as const,
            top: [],
        };
        expect(labelStudioTask({ ...base, suggestion: { label: "motorcycle" } })).to.deep.equal({
            data: {
                image: `s3://raw-bucket/bikes/review/pending/${ITEM}.webp`,
                item_id: ITEM,
                model: "bikes",
                reason: "correction",
                top_classes: "(not classified)",
                suggested_label: "motorcycle",
            },
            predictions: [
                {
                    model_version: "correction",
                    score: 1,
                    result: [{ from_name: "label", to_name: "image", type: "choices", value: { choices: ["motorcycle"] } }],
                },
            ],
        });
        expect(() => labelStudioTask(base)).to.throw(`task ${ITEM} needs the model's classes or a suggested class`);
    });

    it("writes the labelling interface exactly, with class names escaped for XML attributes", () => {
        expect(labelStudioLabelConfig(["bicycle", 'a&b "c" <d>'])).to.equal(
            [
                "<View>",
                '  <Image name="image" value="$image"/>',
                '  <Header value="Model: $top_classes"/>',
                '  <Choices name="label" toName="image" choice="single" required="true">',
                '    <Choice value="bicycle"/>',
                '    <Choice value="a&amp;b &quot;c&quot; &lt;d>"/>',
                '    <Choice value="Not a valid image" alias="_invalid"/>',
                "  </Choices>",
                "</View>",
            ].join("\n"),
        );
    });
});
