import { prefixes } from "./naming";

/**
 * The review queue's contract: where each object of a model's review queue lives (`prefixes.review*`, in the raw
 * bucket), and what it holds. The inference workflow writes and reads it; the prediction page sends a person's
 * correction through `correctionKeys` and `Correction`; Label Studio reads the tasks through its S3 source
 * storage and writes annotations through its S3 target storage.
 *
 * An item is one image waiting for, or given, a person's label. Its id is the inference workflow's execution
 * name: `img-<sha256 of the image>` for a low-confidence prediction, `fix-<hash of image and label>` for a
 * correction, so an item, its execution and its image name each other.
 *
 * - `pending/<item>.<ext>`: the image (copied there; the original stays where it was)
 * - `tasks/<item>.json`: the Label Studio task (`LabelStudioTask`)
 * - `waiting/<item>.json`: the task token of the execution waiting for it (`WaitingReview`)
 * - `annotations/<anything>`: Label Studio's export of a submitted annotation (`parseLabelStudioAnnotation`)
 * - `reviewed/<class>/<item>.<ext>` and `.json`: a labelled image and its `ReviewedItem`, until a batch takes it
 * - `batches/<batch>.json`: the reviewed items an ingest batch took (`ReviewBatch`)
 * - `closed/<item>.json`: an item that ended without a label (`ClosedItem`: not a valid image, review timed out)
 * - `corrections/<id>.<ext>`, then `corrections/<id>.json`: a person's correction (`Correction`); the record is
 *   written last and its arrival starts the item's review.
 */

/** `img-` or `fix-` and lowercase hex: an execution name too (Step Functions allows 80 characters). */
export const REVIEW_ITEM_ID = /^(img|fix)-[0-9a-f]{16,64}$/;

/** The Label Studio labelling interface's control names: the image and the single-choice class. */
export const LABEL_STUDIO_NAMES = { image: "image", choices: "label" } as const;

/**
 * The choice a reviewer picks for an image that is no valid example of any class (blank, corrupt, off-topic).
 * It starts with `_`, which no class name may (CLASS_NAME), so it can never be taken for a class.
 */
export const INVALID_IMAGE_CHOICE = "_invalid";

/** File extensions by media type, for images the queue stores. */
export const IMAGE_EXTENSIONS: Readonly<Record<string, string>> = { "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp" };

export function reviewItemId(kind: "img" | "fix", hexHash: string): string {
    const id = `${kind}-${hexHash.toLowerCase()}`;
    if (!REVIEW_ITEM_ID.test(id)) throw new Error(`${JSON.stringify(id)} is not a review item id (img- or fix- and 16-64 hex digits)`);
    return id;
}

function checkedItem(itemId: string): string {
    if (!REVIEW_ITEM_ID.test(itemId))
        throw new Error(`${JSON.stringify(itemId)} is not a review item id (img- or fix- and 16-64 hex digits)`);
    return itemId;
}

function extensionOf(contentType: string): string {
    const ext = IMAGE_EXTENSIONS[contentType];
    if (!ext) throw new Error(`the review queue stores JPEG, PNG and WebP images, not ${contentType}`);
    return ext;
}

/** Raw-bucket keys of one item. */
export const reviewKeys = {
    pendingImage: (model: string, itemId: string, contentType: string) =>
        `${prefixes.reviewPending(model)}${checkedItem(itemId)}${extensionOf(contentType)}`,
    task: (model: string, itemId: string) => `${prefixes.reviewTasks(model)}${checkedItem(itemId)}.json`,
    waiting: (model: string, itemId: string) => `${prefixes.reviewWaiting(model)}${checkedItem(itemId)}.json`,
    reviewedImage: (model: string, label: string, itemId: string, contentType: string) =>
        `${prefixes.reviewed(model)}${label}/${checkedItem(itemId)}${extensionOf(contentType)}`,
    reviewedRecord: (model: string, label: string, itemId: string) => `${prefixes.reviewed(model)}${label}/${checkedItem(itemId)}.json`,
    batch: (model: string, batchId: string) => `${prefixes.reviewBatches(model)}${batchId}.json`,
    closed: (model: string, itemId: string) => `${prefixes.reviewClosed(model)}${checkedItem(itemId)}.json`,
} as const;

/** The two objects of a correction: the image first, then the record whose arrival starts its review. */
export function correctionKeys(model: string, correctionId: string, contentType: string): { image: string; record: string } {
    checkedItem(correctionId);
    if (!correctionId.startsWith("fix-")) throw new Error(`correction ids start with fix-, not ${JSON.stringify(correctionId)}`);
    const base = `${prefixes.reviewCorrections(model)}${correctionId}`;
    return { image: `${base}${extensionOf(contentType)}`, record: `${base}.json` };
}

// ---------------------------------------------------------------------------------------------------------
// Label Studio

/** One class the model proposed, as the task shows it. */
export interface ProposedClass {
    readonly label: string;
    readonly confidence: number;
}

/** `data` of a task: what the labelling interface shows (`$image`, `$top_classes`) and what brings the label back. */
export interface LabelStudioTaskData {
    /** `s3://<raw bucket>/<model>/review/pending/<item>.<ext>`; Label Studio presigns it for the browser. */
    readonly image: string;
    readonly item_id: string;
    readonly model: string;
    /** Why a person is asked: the model was unsure, or someone said it was wrong. */
    readonly reason: "low-confidence" | "correction";
    /** The model's ranked classes as one line, e.g. "bicycle 61%, motorcycle 39%". */
    readonly top_classes: string;
    readonly inference_id?: string;
    readonly model_package?: string;
    /** Corrections: the class the person suggested, and who they are when known. */
    readonly suggested_label?: string;
    readonly suggested_by?: string;
}

/** One region of a result: a single choice of the `label` control on the `image` object. */
export interface LabelStudioChoiceResult {
    readonly from_name: string;
    readonly to_name: string;
    readonly type: "choices";
    readonly value: { readonly choices: readonly string[] };
}

/** A pre-annotation: Label Studio shows it as a suggestion the reviewer accepts or changes. */
export interface LabelStudioPrediction {
    readonly model_version: string;
    readonly score: number;
    readonly result: readonly LabelStudioChoiceResult[];
}

/** The task JSON Label Studio's S3 source storage imports (one task per file, "Treat every bucket object as a source file" off). */
export interface LabelStudioTask {
    readonly data: LabelStudioTaskData;
    readonly predictions: readonly LabelStudioPrediction[];
}

export interface TaskInput {
    readonly bucket: string;
    readonly model: string;
    readonly itemId: string;
    readonly contentType: string;
    readonly reason: LabelStudioTaskData["reason"];
    /** The model's classes, most probable first. */
    readonly top: readonly ProposedClass[];
    readonly inferenceId?: string;
    readonly modelPackage?: string;
    readonly suggestion?: { readonly label: string; readonly by?: string };
}

const choice = (label: string): LabelStudioChoiceResult => ({
    from_name: LABEL_STUDIO_NAMES.choices,
    to_name: LABEL_STUDIO_NAMES.image,
    type: "choices",
    value: { choices: [label] },
});

/** The task for one pending image: the person's suggestion (a correction) or the model's top class pre-selected. */
export function labelStudioTask(input: TaskInput): LabelStudioTask {
    if (input.top.length === 0 && !input.suggestion) throw new Error(`task ${input.itemId} needs the model's classes or a suggested class`);
    const modelVersion = input.modelPackage ?? "model";
    const predictions: LabelStudioPrediction[] = [];
    if (input.suggestion) predictions.push({ model_version: "correction", score: 1, result: [choice(input.suggestion.label)] });
    if (input.top.length > 0)
        predictions.push({ model_version: modelVersion, score: input.top[0].confidence, result: [choice(input.top[0].label)] });
    return {
        data: {
            image: `s3://${input.bucket}/${reviewKeys.pendingImage(input.model, input.itemId, input.contentType)}`,
            item_id: input.itemId,
            model: input.model,
            reason: input.reason,
            top_classes: input.top.map((c) => `${c.label} ${Math.round(c.confidence * 100)}%`).join(", ") || "(not classified)",
            ...(input.inferenceId ? { inference_id: input.inferenceId } : {}),
            ...(input.modelPackage ? { model_package: input.modelPackage } : {}),
            ...(input.suggestion ? { suggested_label: input.suggestion.label } : {}),
            ...(input.suggestion?.by ? { suggested_by: input.suggestion.by } : {}),
        },
        predictions,
    };
}

/** The labelling interface for a model's review project: the image, the model's guess, one class (or "not a valid image"). */
export function labelStudioLabelConfig(classes: readonly string[]): string {
    const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
    return [
        "<View>",
        `  <Image name="${LABEL_STUDIO_NAMES.image}" value="$image"/>`,
        '  <Header value="Model: $top_classes"/>',
        `  <Choices name="${LABEL_STUDIO_NAMES.choices}" toName="${LABEL_STUDIO_NAMES.image}" choice="single" required="true">`,
        ...classes.map((c) => `    <Choice value="${escape(c)}"/>`),
        `    <Choice value="Not a valid image" alias="${INVALID_IMAGE_CHOICE}"/>`,
        "  </Choices>",
        "</View>",
    ].join("\n");
}

/** What a submitted annotation says about its item. */
export type ReviewVerdict =
    | { readonly kind: "label"; readonly label: string }
    | { readonly kind: "invalid" }
    /** Skipped, cancelled or empty: the item keeps waiting. */
    | { readonly kind: "none" };

export interface ParsedAnnotation {
    readonly itemId: string;
    readonly verdict: ReviewVerdict;
    /** The reviewer's e-mail when Label Studio exports it, else `label-studio user <id>`. */
    readonly reviewer: string;
    readonly annotationId?: string;
    readonly taskId?: string;
}

/** A problem with an export that no retry fixes; the message names the object and what is wrong. */
export class AnnotationFormatError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "AnnotationFormatError";
    }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Reads one object of Label Studio's S3 target storage. Label Studio writes one per annotation, either as the
 * annotation with its task nested (`{"id", "result", "completed_by", "task": {"data": ...}}`, the default) or as
 * the task with its annotations (`{"data", "annotations": [...]}`, as in a JSON export). The item comes from
 * `data.item_id`; the verdict from the `label` control's choice.
 */
export function parseLabelStudioAnnotation(doc: unknown, source: string): ParsedAnnotation {
    if (!isObject(doc)) throw new AnnotationFormatError(`${source} is not a Label Studio annotation (expected a JSON object)`);
    let task: Json | undefined;
    let annotation: Json | undefined;
    if (isObject(doc.task) && Array.isArray(doc.result)) {
        task = doc.task;
        annotation = doc;
    } else if (isObject(doc.data) && Array.isArray(doc.annotations)) {
        task = doc;
        const annotations = doc.annotations.filter(isObject);
        annotation = [...annotations].reverse().find((a) => !a.was_cancelled) ?? annotations[annotations.length - 1];
    } else
        throw new AnnotationFormatError(
            `${source} is neither an annotation with its task ({"result", "task"}) nor a task with annotations ({"data", "annotations"})`,
        );
    const data = isObject(task.data) ? task.data : {};
    const itemId = data.item_id;
    if (typeof itemId !== "string" || !REVIEW_ITEM_ID.test(itemId))
        throw new AnnotationFormatError(
            `${source}: the task has no item_id of this review queue (data.item_id ${JSON.stringify(itemId)}); was it imported from the tasks/ prefix?`,
        );
    const base = { itemId, reviewer: reviewerOf(annotation), annotationId: idOf(annotation?.id), taskId: idOf(task.id) };
    if (!annotation || annotation.was_cancelled) return { ...base, verdict: { kind: "none" } };
    const choices = (Array.isArray(annotation.result) ? annotation.result : [])
        .filter((r): r is Json => isObject(r) && r.from_name === LABEL_STUDIO_NAMES.choices && r.type === "choices")
        .flatMap((r) => (isObject(r.value) && Array.isArray(r.value.choices) ? r.value.choices : []));
    const distinct = [...new Set(choices)];
    if (distinct.length === 0) return { ...base, verdict: { kind: "none" } };
    if (distinct.length > 1 || typeof distinct[0] !== "string")
        throw new AnnotationFormatError(
            `${source}: item ${itemId} has ${distinct.length} choices (${distinct.join(", ")}); pick exactly one class`,
        );
    const label = distinct[0] as string;
    return { ...base, verdict: label === INVALID_IMAGE_CHOICE ? { kind: "invalid" } : { kind: "label", label } };
}

function idOf(v: unknown): string | undefined {
    return typeof v === "number" || (typeof v === "string" && v !== "") ? String(v) : undefined;
}

function reviewerOf(annotation: Json | undefined): string {
    const by = annotation?.completed_by;
    if (isObject(by) && typeof by.email === "string" && by.email) return by.email;
    if (typeof annotation?.created_username === "string" && annotation.created_username) return annotation.created_username;
    const id = isObject(by) ? idOf(by.id) : idOf(by);
    return id ? `label-studio user ${id}` : "label-studio user (unknown)";
}

// ---------------------------------------------------------------------------------------------------------
// The queue's own records

/** `waiting/<item>.json`: what resumes the execution that waits for the item. */
export interface WaitingReview {
    readonly item_id: string;
    readonly task_token: string;
    readonly execution_arn: string;
    readonly waiting_since: string;
}

/** What a reviewer decided, as the waiting execution receives it (SendTaskSuccess output). */
export interface ReviewOutcome {
    readonly verdict: "label" | "invalid";
    readonly label?: string;
    readonly reviewer: string;
    readonly annotation_id?: string;
    readonly reviewed_at: string;
}

/** `reviewed/<class>/<item>.json`, beside the image: a person's label for it, and where it came from. */
export interface ReviewedItem {
    readonly version: 1;
    readonly item_id: string;
    readonly model: string;
    readonly label: string;
    readonly reviewer: string;
    readonly reviewed_at: string;
    /** Raw-bucket key of the labelled image (under `reviewed/<label>/`). */
    readonly image_key: string;
    readonly content_type: string;
    readonly sha256: string;
    readonly source: LabelStudioTaskData["reason"];
    /** The endpoint request's id (data capture's eventMetadata.inferenceId), to join with captured traffic. */
    readonly inference_id?: string;
    readonly annotation_id?: string;
    readonly model_package?: string;
    /** The model's top class when it was asked, and a correction's suggested class. */
    readonly predicted_label?: string;
    readonly suggested_label?: string;
}

/** `batches/<batch>.json`: the reviewed items one ingest batch took into the raw data. */
export interface ReviewBatch {
    readonly version: 1;
    readonly model: string;
    readonly batch_id: string;
    readonly written_at: string;
    /** `complete`: a new batch (its manifest starts training); `nothing-new`: every image was in a batch already. */
    readonly ingest: "complete" | "nothing-new";
    readonly manifest_key?: string;
    readonly items: readonly ReviewedItem[];
}

/** `closed/<item>.json`: an item that ended without a label. */
export interface ClosedItem {
    readonly version: 1;
    readonly item_id: string;
    readonly model: string;
    readonly reason: "invalid-image" | "review-timed-out";
    readonly closed_at: string;
    readonly reviewer?: string;
    readonly execution_arn?: string;
}

/** `corrections/<id>.json`: a person said the model was wrong about an image, and which class it is. */
export interface Correction {
    readonly version: 1;
    readonly id: string;
    readonly model: string;
    /** Raw-bucket key of the image, written before this record (`correctionKeys(...).image`). */
    readonly image_key: string;
    readonly content_type: string;
    readonly sha256: string;
    /** The class the person picked (one of the model's classes). */
    readonly label: string;
    readonly submitted_at: string;
    /** Who, when the page knows (the signed-in user's e-mail or subject). */
    readonly submitted_by?: string;
    /** What the model answered, when the page shows it: ranked classes, the inference id, the package. */
    readonly prediction?: {
        readonly top: readonly ProposedClass[];
        readonly inference_id?: string;
        readonly model_package?: string;
    };
}
